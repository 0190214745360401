"""What may this user see and change: the one answer every adapter asks.

API views, web pages, WebSocket consumers and SMS commands all call `can()` for one object and
`visible()` for a queryset. Roles: a lead sees everything; a coordinator sees the area subtrees of
their scopes; a volunteer sees their own record, their own assignments, and the place (and its
thread) of their active assignment.

It sits above the models it reasons about and imports them plainly; `backend.accounts` keeps
users, roles and scopes, and no model imports this module.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.db.models import Model, Q, QuerySet

from backend.accounts.models import CoordinatorScope, Role, User
from backend.assignments.models import ACTIVE_STATUSES, Assignment, AssignmentEvent, AssignmentRole
from backend.core.exceptions import PermissionDenied
from backend.core.prepared import PreparedQuery
from backend.elections.models import Area, Election, PollingPlace, Table
from backend.incidents.models import Incident, IncidentEvent
from backend.messaging.models import Broadcast
from backend.notices.models import Notice
from backend.tableday.models import TableDay, TableReport
from backend.threads.models import AnnouncementDelivery, Message, Thread, ThreadModerationEvent, ThreadMute
from backend.volunteers.models import Volunteer


class Action(StrEnum):
    VIEW = "view"
    CHANGE = "change"
    # A volunteer answering their own assignment: confirm, decline, check in.
    RESPOND = "respond"
    # Writing in a station thread.
    POST = "post"
    # Hiding messages, muting members, announcements.
    MODERATE = "moderate"
    # Letting a large broadcast go (leads only).
    APPROVE = "approve"


# How to reach (the election id, the area path of the polling place) from each model, for scope filters.
_AREA_PATH_LOOKUP: dict[type[Model], tuple[str, str]] = {
    Area: ("election_id", "path"),
    PollingPlace: ("election_id", "area__path"),
    Table: ("election_id", "place__area__path"),
    Assignment: ("election_id", "place__area__path"),
    AssignmentEvent: ("assignment__election_id", "assignment__place__area__path"),
    Thread: ("election_id", "place__area__path"),
    Message: ("thread__election_id", "thread__place__area__path"),
    ThreadModerationEvent: ("thread__election_id", "thread__place__area__path"),
    ThreadMute: ("thread__election_id", "thread__place__area__path"),
    AnnouncementDelivery: ("message__thread__election_id", "message__thread__place__area__path"),
    TableReport: ("table__election_id", "table__place__area__path"),
    TableDay: ("table__election_id", "table__place__area__path"),
    Incident: ("election_id", "place__area__path"),
    IncidentEvent: ("incident__election_id", "incident__place__area__path"),
}


def role_of(user: Any) -> str | None:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return Role.LEAD
    return user.role


# Compiled once: read on every API request that asks about scope (`GET /api/me/`: building the
# queryset was about a third of its view's CPU, py-spy on bench/fixed_cost.py).
_SCOPE_AREAS = PreparedQuery(
    lambda user_id: CoordinatorScope.objects.filter(user_id=user_id).values_list("area__election_id", "area__path"),
    "user_id",
)


def scope_areas(user: Any) -> list[tuple[int, str]]:
    """(election id, area path) of each subtree the coordinator holds; cached on the user object."""
    cached = getattr(user, "_fz_scope_areas", None)
    if cached is None:
        cached = _SCOPE_AREAS.rows(user_id=user.pk)
        user._fz_scope_areas = cached
    return cached


def permissions_forget(user: Any) -> None:
    """Drop what was cached on `user`: a long-lived socket re-reads scopes after they changed."""
    for name in ("_fz_scope_areas", "_fz_volunteer"):
        if hasattr(user, name):
            delattr(user, name)


def _in_scope(user: Any, election_id: int, path: str) -> bool:
    return any(election_id == e and path.startswith(p) for e, p in scope_areas(user))


def _volunteer_of(user: Any) -> Volunteer | None:
    """The user's volunteer record, or None; cached on the user object."""
    if not hasattr(user, "_fz_volunteer"):
        # A user loaded from its volunteer's side (select_related("user")) already knows it.
        known = isinstance(user, User) and User.volunteer.is_cached(user)
        user._fz_volunteer = user.volunteer if known else Volunteer.objects.filter(user=user).first()
    return user._fz_volunteer


def _active_place_ids(volunteer: Volunteer) -> set[int]:
    return set(
        Assignment.objects.filter(volunteer=volunteer, status__in=ACTIVE_STATUSES).values_list("place_id", flat=True)
    )


def _place_of(obj: Model) -> PollingPlace | None:
    if isinstance(obj, PollingPlace):
        return obj
    if isinstance(obj, Table | Assignment | Thread | Incident):
        return obj.place
    return None


def _volunteer_in_scope(user: Any, volunteer: Any) -> bool:
    if volunteer.area_id and _in_scope(user, volunteer.area.election_id, volunteer.area.path):
        return True
    if volunteer.votes_at_id and _in_scope(user, volunteer.votes_at.election_id, volunteer.votes_at.area.path):
        return True
    return any(
        _in_scope(user, a.election_id, a.place.area.path)
        for a in volunteer.assignments.filter(status__in=ACTIVE_STATUSES).select_related("place__area")
    )


def can_import(user: Any) -> bool:
    """May `user` upload and apply spreadsheets (station lists, rosters) and read import reports? Leads only."""
    return role_of(user) == Role.LEAD


# One active assignment as `backend.count.selectors.assignment_tables_for_volunteer` reads it:
# (election id, role, place id, table id or None, table number or None).
Duty = tuple[int, str, int, int | None, int | None]


def can_submit_sheet(user: Any, table: Table, *, duties: list[Duty] | None = None) -> bool:
    """May `user` submit a result sheet for `table`? Its table watcher, its place's fiscal general,
    a data-entry volunteer or coordinator whose scope covers it, and leads.

    `duties`: `user`'s own active assignments when the caller has just read them (the SMS door finds
    the sender's table through them), so that they are not read again."""
    return _may_act_for_table(user, table, staff={Role.COORDINATOR, Role.DATA_ENTRY}, duties=duties)


def can_report_table(user: Any, table: Table, *, on_duty: bool | None = None) -> bool:
    """May `user` report `table`'s state (opened, closed, counted...)? Its table watcher, its place's
    fiscal general, a coordinator whose scope covers it, and leads: the same people by SMS (whose
    keywords find only the sender's own tables), on the watcher's page and through the API.

    `on_duty`: whether `user` holds one of those two assignments, when the caller read it with the
    table (`backend.tableday.selectors.table_for_report`)."""
    return _may_act_for_table(user, table, staff={Role.COORDINATOR}, on_duty=on_duty)


def _may_act_for_table(
    user: Any, table: Table, *, staff: set[str], duties: list[Duty] | None = None, on_duty: bool | None = None
) -> bool:
    role = role_of(user)
    if role is None:
        return False
    if role == Role.LEAD:
        return True
    if role in staff:
        return _in_scope(user, table.election_id, table.place.area.path)
    if on_duty is not None:
        return on_duty
    if duties is not None:
        return any(
            place_id == table.place_id
            and (duty == AssignmentRole.PLACE or (duty == AssignmentRole.TABLE and table_id == table.pk))
            for _election_id, duty, place_id, table_id, _number in duties
        )
    # The user's active assignment at the table's place, as its place's fiscal general or as this
    # table's watcher: one statement compiled once, through the volunteer's user (a volunteer has at
    # most one user), instead of the volunteer's row and then an ORM-built EXISTS on every request.
    return bool(_TABLE_DUTY.rows(user_id=user.pk, place_id=table.place_id, table_id=table.pk))


_TABLE_DUTY = PreparedQuery(
    lambda user_id, place_id, table_id: (
        Assignment.objects.filter(volunteer__user_id=user_id, status__in=ACTIVE_STATUSES, place_id=place_id)
        .filter(Q(role=AssignmentRole.PLACE) | Q(role=AssignmentRole.TABLE, table_id=table_id))
        .values_list("pk")[:1]
    ),
    "user_id",
    "place_id",
    "table_id",
)


def can_report_incident(user: Any, place: PollingPlace) -> bool:
    """May `user` report an incident at `place`? Whoever may change the place (a coordinator whose
    scope covers it, leads) and every volunteer with an active assignment there."""
    if role_of(user) is None:
        return False
    return can(user, Action.CHANGE, place) or bool(_PLACE_DUTY.rows(user_id=user.pk, place_id=place.pk))


_PLACE_DUTY = PreparedQuery(
    lambda user_id, place_id: Assignment.objects.filter(
        volunteer__user_id=user_id, status__in=ACTIVE_STATUSES, place_id=place_id
    ).values_list("pk")[:1],
    "user_id",
    "place_id",
)


def can_transcribe(user: Any) -> bool:
    """May `user` work at the transcription desk (photos of sheets in their scopes)?"""
    return role_of(user) in {Role.LEAD, Role.COORDINATOR, Role.DATA_ENTRY}


def can_resolve_sheets(user: Any, table: Table) -> bool:
    """May `user` choose which of a table's differing sheets stands? Coordinators in scope and leads."""
    role = role_of(user)
    if role == Role.LEAD:
        return True
    return role == Role.COORDINATOR and _in_scope(user, table.election_id, table.place.area.path)


def can(user: Any, action: Action | str, obj: Model) -> bool:
    """May `user` perform `action` on `obj` (an area, place, table, volunteer, assignment or thread)?"""
    action = Action(action)
    role = role_of(user)
    if role is None:
        return False
    if role == Role.LEAD:
        return True

    if role == Role.COORDINATOR:
        if isinstance(obj, Broadcast):
            # A coordinator's own instructions: see, send, cancel; approval is a lead's.
            return action in {Action.VIEW, Action.CHANGE} and obj.created_by_id == user.pk
        if action in {Action.RESPOND, Action.APPROVE}:
            return False
        if isinstance(obj, Volunteer):
            return action in {Action.VIEW, Action.CHANGE} and _volunteer_in_scope(user, obj)
        if isinstance(obj, Area):
            return action in {Action.VIEW, Action.CHANGE} and _in_scope(user, obj.election_id, obj.path)
        place = _place_of(obj)
        if place is None:
            return False
        if isinstance(obj, Thread):
            return action in thread_actions(user, in_scope=_in_scope(user, place.election_id, place.area.path))
        if action in {Action.POST, Action.MODERATE}:
            return False
        return _in_scope(user, place.election_id, place.area.path)

    # Volunteers: only their own things, never another person's data.
    volunteer = _volunteer_of(user)
    if volunteer is None:
        return False
    if isinstance(obj, Volunteer):
        return action == Action.VIEW and obj.pk == volunteer.pk
    if isinstance(obj, Assignment):
        return obj.volunteer_id == volunteer.pk and action in {Action.VIEW, Action.RESPOND}
    if isinstance(obj, PollingPlace):
        return action == Action.VIEW and obj.pk in _active_place_ids(volunteer)
    if isinstance(obj, Table):
        return action == Action.VIEW and obj.place_id in _active_place_ids(volunteer)
    if isinstance(obj, Thread):
        return action in thread_actions(user, assigned_here=obj.place_id in _active_place_ids(volunteer))
    return False


def thread_actions(user: Any, *, in_scope: bool = False, assigned_here: bool = False) -> frozenset[Action]:
    """What `user` may do in a station thread, from the two facts that decide it.

    `in_scope`: a scope of the (coordinator) user covers the thread's place; `assigned_here`: the
    user's volunteer record holds an active assignment at that place. `can()` looks the facts up;
    the thread socket reads them with its user in one query (`thread_member_for_session`).
    """
    role = role_of(user)
    if role is None:
        return frozenset()
    if role == Role.LEAD:
        return frozenset(Action)
    if role == Role.COORDINATOR:
        return _COORDINATOR_THREAD_ACTIONS if in_scope else frozenset()
    return _VOLUNTEER_THREAD_ACTIONS if assigned_here else frozenset()


_COORDINATOR_THREAD_ACTIONS = frozenset({Action.VIEW, Action.CHANGE, Action.POST, Action.MODERATE})
_VOLUNTEER_THREAD_ACTIONS = frozenset({Action.VIEW, Action.POST})


_PLACE_AREA_PATH = "place__area__path"


def _scope_lookup(path_lookup: str, election_id: int, path: str) -> dict[str, Any]:
    """The filter keeping rows under the area `path`. Rows reached through a polling place are
    matched by place id against the scope's places (one small subquery), not by joining every
    row to its place and area: that join made the planners walk every assignment of the election
    on a coordinator's pages."""
    if not path_lookup.endswith(_PLACE_AREA_PATH):
        return {f"{path_lookup}__startswith": path}
    place = path_lookup.removesuffix("__area__path")
    places = PollingPlace.objects.filter(election_id=election_id, area__path__startswith=path).values("pk")
    return {f"{place}__in": places}


def visible(user: Any, queryset: QuerySet) -> QuerySet:
    """`queryset` narrowed to what `user` may see.

    Knows elections, areas, places, tables, volunteers, assignments and their events, notices,
    threads and messages, and broadcasts (a coordinator's own); any other model is visible to leads only.
    """
    role = role_of(user)
    if role is None:
        return queryset.none()
    if role == Role.LEAD:
        return queryset
    model = queryset.model

    if role == Role.COORDINATOR:
        scopes = scope_areas(user)
        if not scopes:
            return queryset.none()
        if model is Volunteer:
            q = Q()
            for election_id, path in scopes:
                q |= Q(area__election_id=election_id, area__path__startswith=path)
                q |= Q(votes_at__election_id=election_id, votes_at__area__path__startswith=path)
                q |= Q(
                    assignments__election_id=election_id,
                    assignments__status__in=ACTIVE_STATUSES,
                    assignments__place__area__path__startswith=path,
                )
            return queryset.filter(q).distinct()
        if model is Election:
            return queryset.filter(pk__in={election_id for election_id, _path in scopes})
        if model is Broadcast:
            return queryset.filter(created_by=user)
        if model is Notice:
            return queryset.filter(volunteer__in=visible(user, Volunteer.objects.all()).values("pk"))
        lookups = _AREA_PATH_LOOKUP.get(model)
        if lookups is None:
            return queryset.none()
        election_lookup, path_lookup = lookups
        q = Q()
        for election_id, path in scopes:
            q |= Q(**{election_lookup: election_id, **_scope_lookup(path_lookup, election_id, path)})
        return queryset.filter(q)

    volunteer = _volunteer_of(user)
    if volunteer is None:
        return queryset.none()
    if model is Volunteer:
        return queryset.filter(pk=volunteer.pk)
    if model is Assignment or model is Notice:
        return queryset.filter(volunteer=volunteer)
    place_ids = _active_place_ids(volunteer)
    if model is PollingPlace:
        return queryset.filter(pk__in=place_ids)
    if model is Table or model is Thread:
        return queryset.filter(place_id__in=place_ids)
    if model is Message:
        # Lines for the coordination (a decline names a person) reach only the place's fiscal general.
        general_of = Assignment.objects.filter(
            volunteer=volunteer, role=AssignmentRole.PLACE, status__in=ACTIVE_STATUSES
        ).values("place_id")
        return queryset.filter(thread__place_id__in=place_ids, hidden=False).filter(
            Q(staff_only=False) | Q(thread__place_id__in=general_of)
        )
    if model is Election:
        return queryset.filter(places__in=place_ids).distinct()
    return queryset.none()


def require(user: Any, action: Action | str, obj: Model) -> None:
    """Raise PermissionDenied (an ApplicationError) unless `can(user, action, obj)`."""
    if not can(user, action, obj):
        raise PermissionDenied()
