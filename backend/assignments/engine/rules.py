"""The assignment rules in one place: eligibility, cost of a volunteer at a place, slot weights, reasons.

The solver applies them vectorised (numpy) and the manual services one volunteer at a time; both
read the constants and helpers here so the two never disagree.
"""

from __future__ import annotations

import math

from django.utils.formats import get_format
from django.utils.translation import gettext as _

from backend.elections.models import Area
from backend.volunteers.models import Availability, RolesAccepted

EARTH_RADIUS_M = 6_371_000.0

# Tree distance when coordinates are missing, by how many levels the lowest common area sits
# above the place's own area: 0 = same locality (or whatever the leaf level is), 1 = same
# department/section, 2 = same district... Chosen to sit above typical in-city travel so that a
# known distance of a few km is preferred to "somewhere in the same department".
TREE_COST_M = (2_000, 15_000, 40_000, 60_000, 80_000)

# Bonus (in metres of travel) for keeping a volunteer on their current slot when re-running: a
# move must save more than this to happen. Larger once the volunteer has been told.
STAY_BONUS_M = {"proposed": 500, "notified": 2_000}

# Cost resolution of the solver: 100 m. Coverage always dominates cost (see solver.py).
COST_UNIT_M = 100

# Only a full-day volunteer may hold a titular slot (slot 0); a half-day one may take a substitute
# slot (slot >= 1), when the election has substitutes.
PARTIAL_AVAILABILITY = frozenset({Availability.MORNING, Availability.AFTERNOON})

# Phrase for a lowest common area, by the area's kind.
_SAME_AREA = {
    "localidad": "misma localidad",
    "ciudad": "misma localidad",
    "municipio": "misma localidad",
    "circuito": "mismo circuito",
    "departamento": "mismo departamento",
    "partido": "mismo departamento",
    "seccion": "misma sección",
    "distrito": "mismo distrito",
    "provincia": "mismo distrito",
}


def tree_cost_m(levels_up: int) -> int:
    return TREE_COST_M[min(max(levels_up, 0), len(TREE_COST_M) - 1)]


def great_circle_m(lat1, lon1, lat2, lon2):
    """Haversine distance in metres; works on floats and numpy arrays alike."""
    import numpy as np

    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2) - np.radians(lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def slot_weight(*, priority: int, role: str, electors: int | None, slot: int) -> int:
    """Coverage weight of one slot: coordinator priority first, then a place's general, then bigger tables.

    `priority` is the sum of the area priorities along the path plus the place's (and table's).
    Each priority step is worth one plain slot; substitutes count a third of a titular. Electors
    count by hundreds: a table of 340 and one of 350 tie, so travel (and the stay bonus) decide
    between them and re-runs do not shuffle people between similar tables.
    """
    level = max(-9, min(20, int(priority)))
    bonus = 60 if role == "place" else min(int(electors or 0), 399) // 100 * 10
    weight = 100 * (10 + level) + bonus
    return weight if slot == 0 else max(1, weight // 3)


def area_phrase(kind: str, name: str) -> str:
    phrase = _SAME_AREA.get(kind)
    if phrase:
        return _(phrase)
    return _("misma zona (%(name)s)") % {"name": name}


def distance_phrase(metres: float) -> str:
    if metres < 1000:
        return _("a %(m)s m") % {"m": int(round(metres / 10.0) * 10)}
    km = f"{metres / 1000:.1f}".replace(".", str(get_format("DECIMAL_SEPARATOR")))
    return _("a %(km)s km") % {"km": km}


VOTES_HERE = "vota en este establecimiento"


def votes_here_phrase() -> str:
    return _(VOTES_HERE)


def accepts_role(roles_accepted: str, role: str) -> bool:
    return roles_accepted == RolesAccepted.ANY or roles_accepted == role


def district_code(path: str | None) -> str | None:
    """The root segment of an area path ("/cordoba/capital/" -> "cordoba")."""
    if not path:
        return None
    parts = path.strip("/").split("/")
    return parts[0] if parts and parts[0] else None


def eligibility_problems(*, volunteer, election, role: str, slot: int = 0, place=None) -> list[str]:
    """Why `volunteer` may not take this slot, in words for the coordinator (empty list: eligible).

    The vectorised twin of these rules is in snapshot.py; tests check both against each other.
    """
    problems = []
    if volunteer.excluded:
        problems.append(_("está excluido/a por coordinación"))
    if volunteer.opted_out:
        problems.append(_("se dio de baja"))
    if volunteer.availability == Availability.UNAVAILABLE:
        problems.append(_("no está disponible"))
    elif slot == 0 and volunteer.availability in PARTIAL_AVAILABILITY:
        problems.append(_("solo está disponible medio día; un puesto titular necesita todo el día"))
    if not accepts_role(volunteer.roles_accepted, role):
        problems.append(
            _("no acepta el rol de fiscal general") if role == "place" else _("no acepta el rol de fiscal de mesa")
        )
    if election.requires_training and not volunteer.trained:
        problems.append(_("no está capacitado/a y esta elección lo exige"))
    if place is not None:
        home = volunteer_home_path(volunteer)
        if home and district_code(home) != district_code(place.area.path):
            problems.append(_("es de otro distrito"))
    return problems


def volunteer_home_path(volunteer) -> str | None:
    if volunteer.area_id:
        return volunteer.area.path
    if volunteer.votes_at_id:
        return volunteer.votes_at.area.path
    return None


def pair_cost(*, volunteer, place) -> tuple[float, str]:
    """Cost in metres and the reason, for one volunteer at one place (manual assignments, candidates)."""
    if volunteer.votes_at_id and volunteer.votes_at_id == place.pk:
        return 0.0, votes_here_phrase()
    if None not in (volunteer.latitude, volunteer.longitude, place.latitude, place.longitude):
        metres = float(great_circle_m(volunteer.latitude, volunteer.longitude, place.latitude, place.longitude))
        return metres, distance_phrase(metres)
    home = None
    if volunteer.area_id:
        home = volunteer.area
    elif volunteer.votes_at_id:
        home = volunteer.votes_at.area
    if home is None:
        return float(TREE_COST_M[-1]), _("sin datos de ubicación")
    a, b = home.path.strip("/").split("/"), place.area.path.strip("/").split("/")
    common = 0
    while common < min(len(a), len(b)) and a[common] == b[common]:
        common += 1
    if common == 0:
        return math.inf, _("es de otro distrito")
    lca_path = "/" + "/".join(b[:common]) + "/"
    lca = Area.objects.filter(election_id=place.election_id, path=lca_path).only("kind", "name").first()
    levels_up = len(b) - common
    phrase = area_phrase(lca.kind, lca.name) if lca else _("misma zona")
    return float(tree_cost_m(levels_up)), phrase
