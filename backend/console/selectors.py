"""Reads the console pages need beyond the domain selectors: one place's board, volunteer search
and history, accreditation rows, watchers late on election day. Every function takes the user and
narrows with `backend.accounts.permissions.visible`.
"""

import datetime
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from backend.accounts.permissions import visible
from backend.assignments.models import ACTIVE_STATUSES, Assignment, AssignmentEvent, AssignmentRole, AssignmentStatus
from backend.elections.models import Area, Election, PollingPlace, Table
from backend.volunteers.models import Volunteer

_DIGITS = re.compile(r"\D+")


@dataclass
class Slot:
    """One position to fill: a table's watcher (table set) or a place watcher (table None)."""

    place: PollingPlace
    role: str
    slot: int
    table: Table | None = None
    assignment: Assignment | None = None

    @property
    def state(self) -> str:
        if self.assignment is None:
            return "open"
        if self.assignment.status in {AssignmentStatus.CONFIRMED, AssignmentStatus.CHECKED_IN}:
            return "good"
        return "covered"


@dataclass
class PlaceBoard:
    place: PollingPlace
    place_slots: list[Slot] = field(default_factory=list)
    table_slots: list[Slot] = field(default_factory=list)

    @property
    def slots(self) -> list[Slot]:
        return self.place_slots + self.table_slots

    @property
    def open_count(self) -> int:
        return sum(1 for s in self.slots if s.assignment is None)

    @property
    def state(self) -> str:
        """vacío / incompleto / completo, the three states coordinators name a place by."""
        filled = sum(1 for s in self.slots if s.assignment is not None)
        if filled == 0:
            return "empty"
        return "complete" if filled == len(self.slots) else "partial"


def place_board_get(*, place: PollingPlace) -> PlaceBoard:
    """The slots of one place with their active assignments; the caller has checked `can(VIEW)`."""
    election = place.election
    active = (
        Assignment.objects.filter(place=place, status__in=ACTIVE_STATUSES)
        .select_related("volunteer", "table")
        .order_by("role", "table__number", "slot")
    )
    by_key = {(a.role, a.table_id, a.slot): a for a in active}
    board = PlaceBoard(place=place)
    for n in range(election.place_watchers_per_place):
        board.place_slots.append(
            Slot(place=place, role=AssignmentRole.PLACE, slot=n, assignment=by_key.get((AssignmentRole.PLACE, None, n)))
        )
    for table in place.tables.order_by("number"):
        for n in range(election.table_watchers_per_table):
            board.table_slots.append(
                Slot(
                    place=place,
                    role=AssignmentRole.TABLE,
                    slot=n,
                    table=table,
                    assignment=by_key.get((AssignmentRole.TABLE, table.pk, n)),
                )
            )
    return board


def place_list_in_area(*, user, election: Election, area: Area) -> QuerySet[PollingPlace]:
    return visible(user, PollingPlace.objects.filter(election=election, area__path__startswith=area.path)).order_by(
        "area__path", "code"
    )


def volunteer_search(*, user, query: str, limit: int = 50) -> QuerySet[Volunteer]:
    """Name (any words, accents optional), DNI or phone digits; only volunteers in the user's scope."""
    qs = visible(user, Volunteer.objects.all())
    query = (query or "").strip()
    if query:
        digits = _DIGITS.sub("", query)
        if digits and len(digits) >= 4 and len(digits) * 2 >= len(query.replace(" ", "")):
            qs = qs.filter(Q(dni__startswith=digits) | Q(phone__contains=digits))
        else:
            for word in query.split():
                qs = qs.filter(Q(first_name__icontains=word) | Q(last_name__icontains=word))
    return qs.select_related("area", "votes_at").order_by("last_name", "first_name", "pk")[:limit]


def volunteer_assignments_with_events(*, volunteer: Volunteer) -> QuerySet[Assignment]:
    events = AssignmentEvent.objects.select_related("actor").order_by("created_at", "id")
    return (
        volunteer.assignments.select_related("place", "table", "election")
        .prefetch_related(Prefetch("events", queryset=events))
        .order_by("-created_at", "-id")
    )


def accreditation_rows(*, user, election: Election, area: Area | None = None) -> list[tuple]:
    """(last name, first name, DNI, place code, place name, address, table, role) of active watchers."""
    qs = visible(user, Assignment.objects.filter(election=election, status__in=ACTIVE_STATUSES))
    if area is not None:
        qs = qs.filter(place__area__path__startswith=area.path)
    qs = qs.select_related("volunteer", "place", "table").order_by("place__code", "role", "table__number", "slot")
    return [
        (
            a.volunteer.last_name,
            a.volunteer.first_name,
            a.volunteer.dni,
            a.place.code,
            a.place.name,
            a.place.address,
            a.table.number if a.table_id else None,
            str(AssignmentRole(a.role).label),
        )
        for a in qs
    ]


def check_in_deadline(*, election: Election) -> datetime.datetime:
    """When a watcher who has not checked in counts as missing: check-in time plus the configured grace."""
    grace = datetime.timedelta(minutes=settings.CONSOLE_CHECK_IN_GRACE_MINUTES)
    start = datetime.datetime.combine(election.date, election.check_in_time)
    return timezone.make_aware(start, timezone.get_default_timezone()) + grace


def late_assignments(*, user, election: Election, area: Area | None = None, now=None) -> list[Assignment]:
    """Active assignments not checked in once the deadline has passed (empty before it)."""
    now = now or timezone.now()
    if now < check_in_deadline(election=election):
        return []
    qs = visible(
        user,
        Assignment.objects.filter(
            election=election,
            status__in=[AssignmentStatus.PROPOSED, AssignmentStatus.NOTIFIED, AssignmentStatus.CONFIRMED],
        ),
    )
    if area is not None:
        qs = qs.filter(place__area__path__startswith=area.path)
    return list(qs.select_related("volunteer", "place", "table").order_by("place__code", "table__number"))


def open_table_slots(*, user, election: Election, area: Area | None = None, limit: int = 200) -> list[Table]:
    """Tables of the user's scope with no active watcher (for the election-day board)."""
    qs = visible(user, Table.objects.filter(election=election))
    if area is not None:
        qs = qs.filter(place__area__path__startswith=area.path)
    qs = qs.exclude(
        assignments__status__in=ACTIVE_STATUSES,
    )
    return list(qs.select_related("place").order_by("place__code", "number")[:limit])
