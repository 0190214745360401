"""Incident categories: the Argentine defaults and the guess from a watcher's own words."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from backend.core.text import fold

from .models import IncidentCategory, Severity

OTHER = "other"

# (code, name, severity, folded word stems). A stem matches any word starting with it.
DEFAULTS = [
    ("ballot_shortage", _("Faltan boletas"), Severity.HIGH, "boleta faltan falta robaron robo sin boleta agotad"),
    ("late_opening", _("Apertura demorada"), Severity.MEDIUM, "demora tarde abre abrio apertura autoridad presidente"),
    (
        "denied_entry",
        _("No dejan entrar al fiscal"),
        Severity.HIGH,
        "entrar entrada ingres dejan impid echaron poder credencial",
    ),
    (
        "campaigning",
        _("Propaganda en el establecimiento"),
        Severity.MEDIUM,
        "propaganda afiche boca urna campan volante",
    ),
    (
        "voting_irregularity",
        _("Irregularidad en la votación"),
        Severity.MEDIUM,
        "padron dni cuarto oscuro sobre identidad cadena voto votacion",
    ),
    (
        "counting_irregularity",
        _("Irregularidad en el escrutinio"),
        Severity.HIGH,
        "escrut conteo recuento acta impugn nulo",
    ),
    ("violence", _("Violencia"), Severity.HIGH, "violen golpe amenaz pelea agresi arma policia"),
    (OTHER, _("Otro"), Severity.LOW, ""),
]


def categories_for(election) -> list[IncidentCategory]:
    """The election's categories (`election`: an Election or its id, which needs no read), creating
    the defaults the first time an election needs them."""
    election_id = election if isinstance(election, int) else election.pk
    rows = list(IncidentCategory.objects.filter(election_id=election_id))
    if rows:
        return rows
    IncidentCategory.objects.bulk_create(
        [
            IncidentCategory(
                election_id=election_id, code=code, name=str(name), severity=severity, keywords=words, position=i
            )
            for i, (code, name, severity, words) in enumerate(DEFAULTS)
        ],
        ignore_conflicts=True,  # two first reports at once: one set of defaults
    )
    return list(IncidentCategory.objects.filter(election_id=election_id))


@dataclass(frozen=True)
class Guess:
    category: IncidentCategory
    confident: bool


def category_guess(text: str, categories: list[IncidentCategory]) -> Guess:
    """The category whose stems the text mentions most. Weak (ask to confirm): no stem matched, or a tie."""
    words = fold(text).split()
    scores = []
    for category in categories:
        stems = category.keywords.split()
        scores.append((sum(1 for w in words if any(w.startswith(s) for s in stems)), category))
    scores.sort(key=lambda pair: (-pair[0], pair[1].position))
    best_score, best = scores[0]
    tie = len(scores) > 1 and scores[1][0] == best_score
    if best_score == 0:
        other = next((c for c in categories if c.code == OTHER), best)
        return Guess(other, False)
    return Guess(best, not tie)
