"""Reads for "Mi asignación"."""

from dataclasses import dataclass
from urllib.parse import quote_plus

from django.utils import timezone

from backend.accounts.models import ShortLink, link_key_hash
from backend.assignments.models import ACTIVE_STATUSES, Assignment, AssignmentRole, AssignmentStatus, Shift
from backend.assignments.selectors import assignment_get_active_for_volunteer
from backend.elections.models import Table
from backend.incidents.models import Incident, IncidentStatus
from backend.tableday.models import TableState
from backend.tableday.selectors import shift_entries_of_place, shift_partner, table_days_of_place


@dataclass
class MyAssignment:
    assignment: Assignment
    place_watcher: object | None
    map_url: str
    can_confirm: bool
    can_decline: bool
    can_check_in: bool
    is_election_day: bool
    # A shift: the other half of the table's day (who takes over, or whom they take over from).
    partner: Assignment | None = None
    can_hand_over: bool = False


def map_url_for(place) -> str:
    if place.latitude is not None and place.longitude is not None:
        query = f"{place.latitude},{place.longitude}"
    else:
        query = f"{place.name}, {place.address}, {place.area.name}"
    return f"https://www.google.com/maps/search/?api=1&query={quote_plus(query)}"


def my_assignment_get(*, volunteer) -> MyAssignment | None:
    assignment = assignment_get_active_for_volunteer(volunteer=volunteer)
    if assignment is None:
        return None
    place_watcher = None
    if assignment.role == AssignmentRole.TABLE:
        row = (
            Assignment.objects.filter(place=assignment.place, role=AssignmentRole.PLACE, status__in=ACTIVE_STATUSES)
            .select_related("volunteer")
            .order_by("slot")
            .first()
        )
        place_watcher = row.volunteer if row else None
    election_day = timezone.localdate() == assignment.election.date
    status = assignment.status
    partner = shift_partner(assignment=assignment)
    return MyAssignment(
        partner=partner,
        can_hand_over=election_day
        and assignment.shift == Shift.MORNING
        and status == AssignmentStatus.CHECKED_IN
        and partner is not None,
        assignment=assignment,
        place_watcher=place_watcher,
        map_url=map_url_for(assignment.place),
        can_confirm=status in {AssignmentStatus.PROPOSED, AssignmentStatus.NOTIFIED},
        can_decline=status in {AssignmentStatus.PROPOSED, AssignmentStatus.NOTIFIED, AssignmentStatus.CONFIRMED},
        can_check_in=election_day and status in {AssignmentStatus.NOTIFIED, AssignmentStatus.CONFIRMED},
        is_election_day=election_day,
    )


def my_finished_shift_get(*, volunteer) -> Assignment | None:
    """Today's morning shift the volunteer already handed over (their page thanks them instead of
    saying they have no place)."""
    return (
        Assignment.objects.filter(
            volunteer=volunteer,
            shift=Shift.MORNING,
            status=AssignmentStatus.DONE,
            election__date=timezone.localdate(),
        )
        .select_related("table", "place")
        .order_by("-id")
        .first()
    )


def short_link_user_get(*, key: str):
    """The user a short link signs in, or None when the key is unknown, expired or revoked."""
    row = (
        ShortLink.objects.filter(key_hash=link_key_hash(key), revoked_at__isnull=True, expires_at__gt=timezone.now())
        .select_related("user")
        .first()
    )
    if row is None or not row.user.is_active:
        return None
    return row.user


def school_overview(*, place) -> dict:
    """The fiscal general's school: each table's state and watchers, and the school's open incidents."""
    days = table_days_of_place(place=place)
    watchers: dict[int | None, list[Assignment]] = {}
    for a in (
        Assignment.objects.filter(place=place, role=AssignmentRole.TABLE, status__in=ACTIVE_STATUSES)
        .select_related("volunteer")
        .order_by("slot")
    ):
        watchers.setdefault(a.table_id, []).append(a)
    shift_entries = shift_entries_of_place(place=place)
    tables = []
    for table in Table.objects.filter(place=place).order_by("number"):
        day = days.get(table.pk)
        state = day.state if day is not None else TableState.WAITING
        tables.append(
            {
                "table": table,
                "state": state,
                "state_label": TableState(state).label,
                "absent": day.watcher_absent if day is not None else "",
                "watchers": watchers.get(table.pk, []),
                "shift_entries": shift_entries.get(table.pk, []),
            }
        )
    incidents = (
        Incident.objects.filter(place=place)
        .exclude(status=IncidentStatus.RESOLVED)
        .select_related("category", "table", "owner")
        .order_by("-id")[:20]
    )
    return {"tables": tables, "incidents": list(incidents), "uncovered": [t for t in tables if not t["watchers"]]}
