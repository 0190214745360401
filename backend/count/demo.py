"""Election night for the Córdoba demo: the real 2019 governor figures per table.

Every table with a watcher sends its sheet (the real figures, by web or SMS, alternately), a few
with the mistakes real sheets have (a digit typed twice, a total copied from another category);
then the official file, the real one with a few tables where our votes went to another list, is
uploaded and applied by the demo's lead through the console's door (an `OfficialImport`), so the
discrepancies page has something to show. Idempotent: a second run finds the sheets and changes
nothing.
"""

import csv
import gzip
import io
import random
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile

from backend.accounts.models import Role, User
from backend.assignments.models import ACTIVE_STATUSES, Assignment, AssignmentRole
from backend.core.exceptions import ApplicationError
from backend.elections.models import Election

from .models import BallotList, Category, OfficialImportLayout, OfficialImportState, ResultSheet, SheetSource
from .results_import import WIDE_IGNORED, official_import_file
from .services import SheetFigures, sheet_submit

GOVERNOR_RESULTS = Path(settings.BASE_DIR) / "fixtures" / "results" / "gobernador-cordoba-2019.csv.gz"
OURS = "Hacemos por Córdoba"
RIVAL = "Córdoba Cambia"
TOTAL_COLUMNS = {
    "Voto en BLANCO": "blank",
    "Votos NULOS": "null",
    "Votos RECURRIDOS": "contested",
    "Votos IMPUGNADOS": "challenged",
    "cant_votantes": "voters",
}
KNOWN = {"mesa", "id_ubicacion", "cargo", *TOTAL_COLUMNS}


@dataclass
class ElectionNight:
    sheets: int
    flagged: int
    official: int
    changed_official: list[int]


def _rows() -> tuple[list[str], list[dict]]:
    with gzip.open(GOVERNOR_RESULTS, "rt", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def election_night_play(*, election: Election, seed: int = 2019, errors: int = 6, changed: int = 8) -> ElectionNight:
    """Build the ballot, send the watchers' sheets and import the official file (see the module)."""
    header, rows = _rows()
    parties = [c for c in header if c not in KNOWN and c.replace("_", "").lower() not in WIDE_IGNORED]
    category, _ = Category.objects.get_or_create(election=election, code="GOB", defaults={"name": "Gobernador"})
    lists = {}
    for position, name in enumerate(parties):
        lists[name], _ = BallotList.objects.get_or_create(
            category=category, district=None, name=name, defaults={"position": position, "ours": name == OURS}
        )
    if ResultSheet.objects.filter(category=category).exists():
        return ElectionNight(0, 0, 0, [])
    rng = random.Random(seed)
    by_key = {(r["id_ubicacion"].rsplit(".", 1)[0], int(r["mesa"])): r for r in rows}
    watchers = list(
        Assignment.objects.filter(
            election=election, role=AssignmentRole.TABLE, status__in=ACTIVE_STATUSES, table__isnull=False
        )
        .select_related("table__place__area", "volunteer__user")
        .order_by("table__number")
    )
    mistaken = set(rng.sample(range(len(watchers)), min(errors, len(watchers))))
    sent = flagged = 0
    for index, assignment in enumerate(watchers):
        table = assignment.table
        assert table is not None  # filtered above
        row = by_key.get((table.place.code, table.number))
        if row is None:
            continue
        figures = SheetFigures(
            votes={lists[p].pk: int(row[p] or 0) for p in parties},
            **{name: int(row[column] or 0) for column, name in TOTAL_COLUMNS.items()},
        )
        if index in mistaken:
            # A digit typed twice ("65" as "665"), or the voters copied wrong: the checks catch both.
            if index % 2:
                figures.votes[lists[RIVAL].pk] = int(f"{figures.votes[lists[RIVAL].pk]}5")
            else:
                figures.voters = (figures.voters or 0) + 10
        result = sheet_submit(
            table=table,
            category=category,
            figures=figures,
            source=SheetSource.WEB if index % 2 else SheetSource.SMS,
            actor=assignment.volunteer.user,
        )
        sent += 1
        flagged += int(not result.accepted)
    # The official file: the real one, with our votes moved to the rival at a few watched tables.
    watched = [t for t in (a.table for a in watchers) if t is not None and (t.place.code, t.number) in by_key]
    moved_tables = rng.sample(watched, min(changed, len(watched)))
    moved = {(t.place.code, t.number): rng.randint(3, 25) for t in moved_tables}
    out = io.StringIO()
    writer = csv.DictWriter(out, header, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        key = (row["id_ubicacion"].rsplit(".", 1)[0], int(row["mesa"]))
        if key in moved:
            shift = min(moved[key], int(row[OURS] or 0))
            row = {**row, OURS: int(row[OURS] or 0) - shift, RIVAL: int(row[RIVAL] or 0) + shift}
        writer.writerow(row)
    # Uploaded by the demo's lead through the console's door: the console lists it under Oficial.
    lead = User.objects.filter(role=Role.LEAD).order_by("id").first()
    job = official_import_file(
        election=election,
        layout=OfficialImportLayout.WIDE,
        upload=ContentFile(out.getvalue().encode(), name="oficial-gobernador-2019.csv"),
        actor=lead,
        category=category,
    )
    if job.state != OfficialImportState.APPLIED:
        raise ApplicationError(job.error_message, code=job.error_code)
    return ElectionNight(sent, flagged, job.result["sheets"], sorted(t.number for t in moved_tables))
