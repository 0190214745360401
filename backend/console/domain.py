"""The one place the console reaches into the other teams' services and selectors.

Views call these functions; each one delegates to the domain (engine, imports, sms). Keeping the
seams here means a page never re-implements a rule the domain already owns.
"""

from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils.translation import gettext as _

from backend.assignments.models import ACTIVE_STATUSES, Assignment, AssignmentStatus
from backend.core.exceptions import ApplicationError
from backend.elections.models import Area, Election, PollingPlace, Table


@dataclass
class Coverage:
    slots: int = 0
    assigned: int = 0
    confirmed: int = 0
    checked_in: int = 0

    @property
    def uncovered(self) -> int:
        return max(self.slots - self.assigned, 0)

    @property
    def unconfirmed(self) -> int:
        return max(self.assigned - self.confirmed, 0)

    def add(self, other: "Coverage") -> None:
        self.slots += other.slots
        self.assigned += other.assigned
        self.confirmed += other.confirmed
        self.checked_in += other.checked_in


# A checked-in watcher has confirmed by arriving.
_CONFIRMED = (AssignmentStatus.CONFIRMED, AssignmentStatus.CHECKED_IN)


def coverage_by_place(*, election: Election, path: str) -> dict[int, Coverage]:
    """Coverage of every place under the area `path` (TEMPORARY stand-in until the engine's selector lands)."""
    result: dict[int, Coverage] = {}
    places = PollingPlace.objects.filter(election=election, area__path__startswith=path)
    for place_id in places.values_list("id", flat=True):
        result[place_id] = Coverage(slots=election.place_watchers_per_place)
    tables = (
        Table.objects.filter(election=election, place__area__path__startswith=path)
        .values("place_id")
        .annotate(n=Count("id"))
    )
    for row in tables:
        result[row["place_id"]].slots += row["n"] * election.table_watchers_per_table
    counts = (
        Assignment.objects.filter(election=election, status__in=ACTIVE_STATUSES, place__area__path__startswith=path)
        .values("place_id")
        .annotate(
            assigned=Count("id"),
            confirmed=Count("id", filter=Q(status__in=_CONFIRMED)),
            checked_in=Count("id", filter=Q(status=AssignmentStatus.CHECKED_IN)),
        )
    )
    for row in counts:
        cov = result.setdefault(row["place_id"], Coverage())
        cov.assigned += row["assigned"]
        cov.confirmed += row["confirmed"]
        cov.checked_in += row["checked_in"]
    return result


def coverage_by_area(*, election: Election, areas: list[Area]) -> dict[int, Coverage]:
    """Coverage rolled up for each of `areas` (TEMPORARY stand-in until the engine's selector lands)."""
    areas = list({area.pk: area for area in areas}.values())
    result = {area.pk: Coverage() for area in areas}
    if not areas:
        return result
    common = min((a.path for a in areas), key=len)
    per_place = coverage_by_place(
        election=election, path=common if all(a.path.startswith(common) for a in areas) else "/"
    )
    paths = dict(PollingPlace.objects.filter(pk__in=per_place).values_list("id", "area__path"))
    for place_id, cov in per_place.items():
        for area in areas:
            if paths[place_id].startswith(area.path):
                result[area.pk].add(cov)
    return result


# --- Writes: every one goes through a domain service ---------------------------------------------
SOURCE = "web"


def assign(*, volunteer, place, table, role: str, actor) -> Assignment:
    from backend.assignments.services import assignment_create

    return assignment_create(
        volunteer=volunteer,
        place=place,
        table=table,
        role=role,
        actor=actor,
        source=SOURCE,
        locked=True,
        reason=_("Asignación manual"),
    )


def unassign(*, assignment: Assignment, actor, reason: str = "") -> Assignment:
    from backend.assignments.services import assignment_transition

    return assignment_transition(
        assignment=assignment,
        to_status=AssignmentStatus.CANCELLED,
        actor=actor,
        source=SOURCE,
        reason=reason or _("Liberada desde la consola"),
    )


def set_locked(*, assignment: Assignment, locked: bool, actor) -> Assignment:
    from backend.assignments.services import assignment_set_locked

    return assignment_set_locked(assignment=assignment, locked=locked, actor=actor, source=SOURCE)


def check_in(*, assignment: Assignment, actor) -> Assignment:
    from backend.assignments.services import assignment_check_in

    return assignment_check_in(assignment=assignment, actor=actor, source=SOURCE)


def swap(*, first: Assignment, second: Assignment, actor):
    raise ApplicationError(_("El intercambio todavía no está disponible."), code="not_available")


# --- Reads from other teams ------------------------------------------------------------------------


def candidates_for_slot(*, user, place, role: str, table=None, limit: int = 8) -> tuple[list[dict], bool]:
    """The engine's ranked volunteers for one slot, narrowed to those the user may see.

    Returns (candidates, available): `available` is False while the engine's selector is missing.
    """
    return [], False


def thread_url(*, place) -> str | None:
    """The station thread page, one click from the board (None until the threads app has it)."""
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse("threads:thread", args=[place.pk])
    except NoReverseMatch:
        return None


@dataclass
class MessageLine:
    direction: str  # "out" or "in"
    body: str
    status: str
    created_at: object


def volunteer_messages(*, volunteer) -> list[MessageLine] | None:
    """SMS sent to and received from a volunteer, newest first (None until the sms app has its models)."""
    return None


def replace_absent(*, assignment: Assignment, volunteer, actor) -> Assignment:
    """Mark a late watcher absent and give the slot to `volunteer` (engine's replacement service when it lands)."""
    raise ApplicationError(_("El reemplazo todavía no está disponible."), code="not_available")


def imports_url() -> str | None:
    from django.urls import NoReverseMatch, reverse

    for name in ("imports:upload", "imports:index", "imports:home"):
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return None


def broadcasts_available() -> bool:
    return False


def auto_assign_available() -> bool:
    return False
