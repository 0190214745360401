"""Reads the console needs beyond the domain selectors: volunteer search and history, accreditation
rows, watchers late on election day. Every function takes the user and narrows with
`backend.permissions.visible`.
"""

import datetime

from django.conf import settings
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from backend.assignments.models import (
    ACTIVE_STATUSES,
    Assignment,
    AssignmentEvent,
    AssignmentRole,
    AssignmentStatus,
    Shift,
)
from backend.assignments.selectors import coverage_map_by_place
from backend.elections.models import Area, Election, PollingPlace
from backend.permissions import visible
from backend.volunteers.models import Volunteer


def place_list_in_area(*, user, election: Election, area: Area) -> QuerySet[PollingPlace]:
    return visible(user, PollingPlace.objects.filter(election=election, area__path__startswith=area.path)).order_by(
        "area__path", "code"
    )


def volunteer_details(*, volunteers: list[Volunteer], election: Election | None, place=None) -> dict[int, dict]:
    """What tells namesakes apart, per volunteer id: locality, the last digits of the DNI, whether
    they vote at `place`, and their active assignment in `election` (so nobody assigned looks free)."""
    active: dict[int, Assignment] = {}
    if election is not None and volunteers:
        rows = Assignment.objects.filter(
            election=election, status__in=ACTIVE_STATUSES, volunteer_id__in=[v.pk for v in volunteers]
        ).select_related("place", "table")
        active = {a.volunteer_id: a for a in rows}

    def locality(v: Volunteer) -> str:
        if v.area is not None:
            return v.area.name
        return v.votes_at.area.name if v.votes_at is not None else ""

    return {
        v.pk: {
            "locality": locality(v),
            "dni_tail": v.dni[-3:],
            "votes_here": place is not None and v.votes_at_id == place.pk,
            "assignment": active.get(v.pk),
        }
        for v in volunteers
    }


def volunteer_assignments_with_events(*, volunteer: Volunteer) -> QuerySet[Assignment]:
    events = AssignmentEvent.objects.select_related("actor").order_by("created_at", "id")
    return (
        volunteer.assignments.select_related("place", "table", "election")
        .prefetch_related(Prefetch("events", queryset=events))
        .order_by("-created_at", "-id")
    )


def _accreditation_assignments(*, user, election: Election, area: Area | None) -> QuerySet[Assignment]:
    qs = visible(user, Assignment.objects.filter(election=election, status__in=ACTIVE_STATUSES))
    if area is not None:
        qs = qs.filter(place__area__path__startswith=area.path)
    return qs


def accreditation_count(*, user, election: Election, area: Area | None = None) -> int:
    """How many rows `accreditation_rows` would give: one count, to choose between the file now and a job."""
    return _accreditation_assignments(user=user, election=election, area=area).count()


def accreditation_rows(*, user, election: Election, area: Area | None = None) -> list[tuple]:
    """(last name, first name, DNI, place code, place name, address, table, role) of active watchers."""
    qs = _accreditation_assignments(user=user, election=election, area=area)
    qs = qs.select_related("volunteer", "place", "table").order_by("place__code", "role", "table__number", "slot")
    return [
        (
            a.volunteer.last_name,
            a.volunteer.first_name,
            a.volunteer.dni,
            a.place.code,
            a.place.name,
            a.place.address,
            a.table.number if a.table is not None else None,
            str(AssignmentRole(a.role).label),
        )
        for a in qs
    ]


def _coverage_places(*, user, election: Election, area: Area | None) -> QuerySet[PollingPlace]:
    places = visible(user, PollingPlace.objects.filter(election=election))
    if area is not None:
        places = places.filter(area__path__startswith=area.path)
    return places


def coverage_count(*, user, election: Election, area: Area | None = None) -> int:
    """How many rows `coverage_rows` would give (one per visible place), in one count."""
    return _coverage_places(user=user, election=election, area=area).count()


def coverage_rows(*, user, election: Election, area: Area | None = None) -> list[tuple]:
    """Per visible place under `area`: area, code, name, address, slots, assigned, confirmed,
    checked in, uncovered. A fixed number of queries whatever the number of districts."""
    per_place = coverage_map_by_place(user=user, election=election, area=area)
    rows = []
    places = _coverage_places(user=user, election=election, area=area)
    for area_name, pk, code, name, address in places.order_by("area__path", "code").values_list(
        "area__name", "pk", "code", "name", "address"
    ):
        cov = per_place.get(pk)
        if cov is None:
            continue
        rows.append(
            (area_name, code, name, address, cov.slots, cov.assigned, cov.confirmed, cov.checked_in, cov.uncovered)
        )
    return rows


def check_in_deadline(*, election: Election) -> datetime.datetime:
    """When a watcher who has not checked in counts as missing: check-in time plus the configured grace."""
    grace = datetime.timedelta(minutes=settings.CONSOLE_CHECK_IN_GRACE_MINUTES)
    start = datetime.datetime.combine(election.date, election.check_in_time)
    return timezone.make_aware(start, timezone.get_default_timezone()) + grace


def handover_deadline(*, election: Election) -> datetime.datetime:
    """When an afternoon watcher who has not checked in counts as missing: the handover plus the grace."""
    grace = datetime.timedelta(minutes=settings.CONSOLE_CHECK_IN_GRACE_MINUTES)
    start = datetime.datetime.combine(election.date, election.shift_handover_time)
    return timezone.make_aware(start, timezone.get_default_timezone()) + grace


TOLD = (AssignmentStatus.NOTIFIED, AssignmentStatus.CONFIRMED)


def late_assignments(*, user, election: Election, area: Area | None = None, now=None) -> QuerySet[Assignment]:
    """Watchers who were told and have not arrived by the check-in time plus grace, by place and table.

    Only notified or confirmed assignments count: a proposal nobody was told of is not a missing
    person. Each one's clock starts at the later of the check-in time and the moment they were
    told (a replacement notified at 10:40 is late at 10:40 plus the grace, not at once). Empty
    before the election's own deadline. An afternoon-shift watcher is expected at the handover
    time instead: late from the handover plus the grace.
    """
    now = now or timezone.now()
    if now < check_in_deadline(election=election):
        return Assignment.objects.none()
    grace = datetime.timedelta(minutes=settings.CONSOLE_CHECK_IN_GRACE_MINUTES)
    cutoff = now - grace
    qs = visible(user, Assignment.objects.filter(election=election, status__in=TOLD))
    if now < handover_deadline(election=election):
        qs = qs.exclude(shift=Shift.AFTERNOON)
    if area is not None:
        # The area's places as an id list: the assignment's place index then reads the district's
        # rows alone (a join on the area path made SQLite walk every late watcher of the country).
        places = PollingPlace.objects.filter(election=election, area__path__startswith=area.path).values("pk")
        qs = qs.filter(place_id__in=places)
    # Told no later than the last status change: whoever changed status before the cutoff is late
    # without looking up when they were told. Otherwise: told before the cutoff, i.e. some "told"
    # event before it (the first one is the earliest). A filter, not a column: computing "when were
    # they told" for every row before sorting cost most of the country's page.
    told_before = AssignmentEvent.objects.filter(assignment=OuterRef("pk"), to_status__in=TOLD, created_at__lte=cutoff)
    qs = qs.filter(Q(status_changed_at__lte=cutoff) | Exists(told_before))
    # By place (in the official list's order, the place ids), then general before tables, table,
    # slot: the order the assignment's place index gives without sorting every late watcher (the
    # place code, in another table, made the country's page sort 57,000 rows for its first 20).
    return qs.select_related("volunteer", "place__area", "place__election", "table").order_by(*LATE_ORDER)


LATE_ORDER = ("place_id", "role", "table_id", "slot", "id")


def late_ahead_of(*, user, late: Assignment, now=None) -> int | None:
    """How many late watchers of the same place, role and slot come before `late` on the board, or
    None when `late` is not (or no longer) late: which pair of proposals is theirs."""
    ids = list(
        late_assignments(user=user, election=late.election, now=now)
        .filter(place_id=late.place_id, role=late.role, slot=late.slot)
        .values_list("pk", flat=True)
    )
    return ids.index(late.pk) if late.pk in ids else None
