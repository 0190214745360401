"""Reads the console needs beyond the domain selectors: volunteer search and history, accreditation
rows, watchers late on election day. Every function takes the user and narrows with
`backend.permissions.visible`.
"""

import datetime
import re

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from backend.assignments.models import ACTIVE_STATUSES, Assignment, AssignmentEvent, AssignmentRole, AssignmentStatus
from backend.elections.models import Area, Election, PollingPlace
from backend.permissions import visible
from backend.volunteers.models import Volunteer

_DIGITS = re.compile(r"\D+")


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


def late_assignments(*, user, election: Election, area: Area | None = None, now=None) -> QuerySet[Assignment]:
    """Active assignments not checked in once the deadline has passed (none before it), by place and table."""
    now = now or timezone.now()
    if now < check_in_deadline(election=election):
        return Assignment.objects.none()
    qs = visible(
        user,
        Assignment.objects.filter(
            election=election,
            status__in=[AssignmentStatus.PROPOSED, AssignmentStatus.NOTIFIED, AssignmentStatus.CONFIRMED],
        ),
    )
    if area is not None:
        qs = qs.filter(place__area__path__startswith=area.path)
    return qs.select_related("volunteer", "place", "table").order_by("place__code", "table__number", "slot")
