"""The assignment rules in one place: eligibility, cost of a volunteer at a place, slot weights, reasons.

Eligibility is one function (`eligibility_problems`) and cost is one function (`pair_cost_arrays`,
over arrays of pairs): the solver's snapshot and candidates, the candidate lists of the console and
the API, and the manual services all call them, so no two doors can disagree.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
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


# --- eligibility: the one rule --------------------------------------------------------------------


class VolunteerFacts(NamedTuple):
    """What eligibility looks at, read from a model instance or straight from a `values_list` row."""

    excluded: bool
    opted_out: bool
    availability: str
    roles_accepted: str
    trained: bool
    home_path: str | None
    # Marked absent (`no_show`) in this election: not offered again that day unless a coordinator says so.
    absent: bool = False


class Problem(NamedTuple):
    code: str
    text: str


PROBLEM_ABSENT = "absent"


def volunteer_facts(volunteer, *, absent: bool = False) -> VolunteerFacts:
    return VolunteerFacts(
        excluded=volunteer.excluded,
        opted_out=volunteer.opted_out,
        availability=volunteer.availability,
        roles_accepted=volunteer.roles_accepted,
        trained=volunteer.trained,
        home_path=volunteer_home_path(volunteer),
        absent=absent,
    )


def eligibility_problems(
    facts: VolunteerFacts,
    *,
    requires_training: bool,
    role: str | None = None,
    slot: int | None = None,
    place_path: str | None = None,
    has_substitute_slots: bool = False,
    allow_absent: bool = False,
    shift: str | None = None,
) -> list[Problem]:
    """Why a volunteer may not take a slot, in words for the coordinator (empty list: eligible).

    The one eligibility rule: the solver's snapshot (with no role, slot or place: whether the
    volunteer may take any slot at all), the candidate lists and the manual services call it.
    `slot=None` asks about any slot: a half-day volunteer fits only where the election has
    substitute slots. `shift` (a manual assignment's part of the day; the engine asks about whole
    days): a half-day volunteer may hold a titular slot's morning or afternoon, the half they are free.
    """
    problems = []
    if facts.excluded:
        problems.append(Problem("excluded", _("está excluido/a por coordinación")))
    if facts.opted_out:
        problems.append(Problem("opted_out", _("se dio de baja")))
    if facts.absent and not allow_absent:
        problems.append(Problem(PROBLEM_ABSENT, _("fue marcado/a ausente hoy")))
    if facts.availability == Availability.UNAVAILABLE:
        problems.append(Problem("unavailable", _("no está disponible")))
    elif shift in PARTIAL_AVAILABILITY:
        if facts.availability in PARTIAL_AVAILABILITY and facts.availability != shift:
            problems.append(
                Problem(
                    "half_day",
                    _("solo está disponible a la mañana")
                    if facts.availability == Availability.MORNING
                    else _("solo está disponible a la tarde"),
                )
            )
    elif facts.availability in PARTIAL_AVAILABILITY and (slot == 0 or (slot is None and not has_substitute_slots)):
        problems.append(
            Problem("half_day", _("solo está disponible medio día; un puesto titular necesita todo el día"))
        )
    if role is not None and not accepts_role(facts.roles_accepted, role):
        problems.append(
            Problem(
                "role",
                _("no acepta el rol de fiscal general") if role == "place" else _("no acepta el rol de fiscal de mesa"),
            )
        )
    if requires_training and not facts.trained:
        problems.append(Problem("training", _("no está capacitado/a y esta elección lo exige")))
    if place_path is not None and facts.home_path and district_code(facts.home_path) != district_code(place_path):
        problems.append(Problem("district", _("es de otro distrito")))
    return problems


def volunteer_home_path(volunteer) -> str | None:
    if volunteer.area_id:
        return volunteer.area.path
    if volunteer.votes_at_id:
        return volunteer.votes_at.area.path
    return None


# --- cost: the one rule ---------------------------------------------------------------------------

# How a pair's cost was found (the reason is worded from it).
KIND_VOTES, KIND_GEO, KIND_TREE, KIND_UNKNOWN = 0, 1, 2, 3
_TREE_COSTS = np.array(TREE_COST_M, dtype=np.float64)


def pair_cost_arrays(
    *, votes_here: np.ndarray, geo_m: np.ndarray, levels_up: np.ndarray, home_known: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Cost in metres and its kind for many (volunteer, place) pairs at once: the one cost rule.

    Where the volunteer votes costs nothing; otherwise the great-circle distance when both sides
    have coordinates (`geo_m`, NaN when not); otherwise the distance in the area tree by how many
    levels the lowest common area sits above the place (`levels_up`, -1 across districts: an
    infinite cost); a volunteer with no known home costs the farthest tree distance. The solver
    (vectorised over its candidates), the candidate lists and the manual services all call it.
    """
    votes_here = np.asarray(votes_here, dtype=bool)
    geo_m = np.asarray(geo_m, dtype=np.float64)
    levels_up = np.asarray(levels_up, dtype=np.int64)
    home_known = np.asarray(home_known, dtype=bool)
    cost = np.full(len(votes_here), np.inf)
    kind = np.full(len(votes_here), KIND_TREE, dtype=np.int8)
    tree = home_known & (levels_up >= 0)
    cost[tree] = _TREE_COSTS[np.clip(levels_up[tree], 0, len(_TREE_COSTS) - 1)]
    unknown = ~home_known
    cost[unknown] = float(TREE_COST_M[-1])
    kind[unknown] = KIND_UNKNOWN
    geo = np.isfinite(geo_m)
    cost[geo] = geo_m[geo]
    kind[geo] = KIND_GEO
    cost[votes_here] = 0.0
    kind[votes_here] = KIND_VOTES
    return cost, kind


def cost_reason(kind: int, cost_m: float, *, lca_kind: str = "", lca_name: str = "") -> str:
    """The reason shown beside a cost, in words (the engine, the candidate lists and manual assignments)."""
    if kind == KIND_VOTES:
        return votes_here_phrase()
    if kind == KIND_GEO:
        return distance_phrase(cost_m)
    if kind == KIND_UNKNOWN:
        return _("sin datos de ubicación")
    if not math.isfinite(cost_m):
        return _("es de otro distrito")
    return area_phrase(lca_kind, lca_name) if lca_kind else _("misma zona")


def levels_above(home_path: str | None, place_path: str) -> tuple[int, str | None]:
    """(levels from the place's area up to the lowest common area, that area's path); (-1, None) across districts."""
    if not home_path:
        return -1, None
    a, b = home_path.strip("/").split("/"), place_path.strip("/").split("/")
    common = 0
    while common < min(len(a), len(b)) and a[common] == b[common]:
        common += 1
    if common == 0:
        return -1, None
    return len(b) - common, "/" + "/".join(b[:common]) + "/"


def pair_cost(*, volunteer, place) -> tuple[float, str]:
    """Cost in metres and the reason, for one volunteer at one place (manual assignments, swaps)."""
    home = volunteer_home_path(volunteer)
    levels, lca_path = levels_above(home, place.area.path)
    geo = np.nan
    if None not in (volunteer.latitude, volunteer.longitude, place.latitude, place.longitude):
        geo = float(great_circle_m(volunteer.latitude, volunteer.longitude, place.latitude, place.longitude))
    cost, kind = pair_cost_arrays(
        votes_here=np.array([bool(volunteer.votes_at_id) and volunteer.votes_at_id == place.pk]),
        geo_m=np.array([geo]),
        levels_up=np.array([levels]),
        home_known=np.array([home is not None]),
    )
    lca_kind = lca_name = ""
    if kind[0] == KIND_TREE and lca_path is not None:
        lca = Area.objects.filter(election_id=place.election_id, path=lca_path).only("kind", "name").first()
        if lca is not None:
            lca_kind, lca_name = lca.kind, lca.name
    return float(cost[0]), cost_reason(int(kind[0]), float(cost[0]), lca_kind=lca_kind, lca_name=lca_name)
