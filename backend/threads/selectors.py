"""Reads on station threads: membership, history pages, the unread-announcement escalation."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, load_backend
from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from backend.accounts.models import CoordinatorScope, Role, User
from backend.assignments.models import ACTIVE_STATUSES, Assignment, AssignmentRole
from backend.core.prepared import PreparedQuery
from backend.elections.models import PollingPlace
from backend.permissions import Action, can, permissions_forget, role_of, thread_actions, visible
from backend.volunteers.models import Volunteer

from .models import AnnouncementDelivery, Attachment, Message, Thread, ThreadMute, ThreadReadState

HISTORY_PAGE_MAX = 200


@dataclass(frozen=True)
class Membership:
    """What an open socket needs to know about its member, resolved once at connect."""

    thread_id: int
    place_id: int
    place_name: str
    user_id: int
    volunteer_id: int | None
    can_post: bool
    moderator: bool
    # Sees the lines meant for the place's coordination (a decline): moderators and the fiscal general.
    sees_staff: bool = False
    # The thread's newest message id (any visibility) when the socket's membership was read; 0 for none.
    newest_message_id: int = 0


def thread_member_get(*, user, place_id: int) -> Membership | None:
    """The thread of `place_id` as seen by `user`, or None when they are not a member.

    Members: volunteers with an active assignment at the place, coordinators whose scope covers
    it, leads (all through the permission module). Reads only: every place has its thread from
    the moment it is created.
    """
    # The thread with its place and area in one query (this runs for every socket that connects).
    thread = Thread.objects.select_related("place__area").filter(place_id=place_id).first()
    if thread is None:
        return None
    place = thread.place
    # Whoever may post may read; asking POST first saves a second permission query per connection.
    can_post = can(user, Action.POST, thread)
    if not can_post and not can(user, Action.VIEW, thread):
        return None
    # The permission module has just looked the volunteer up and keeps it on the user object.
    volunteer = getattr(user, "_fz_volunteer", None)
    moderator = can(user, Action.MODERATE, thread)
    return Membership(
        thread_id=thread.pk,
        place_id=place.pk,
        place_name=place.name,
        user_id=user.pk,
        volunteer_id=volunteer.pk if volunteer else None,
        can_post=can_post,
        moderator=moderator,
        sees_staff=moderator or (volunteer is not None and _is_place_watcher(volunteer=volunteer, place=place)),
    )


def thread_member_for_session(*, session_key: str, place_id: int) -> tuple[User, Membership] | None:
    """Who holds this session and may they join the thread of `place_id`: the thread socket's one question.

    Answers what AuthMiddlewareStack and `thread_member_get` answered in two thread hops and six
    queries (session, user, thread, volunteer, active assignments, place watcher) with two: the
    session, then the user with every fact the permission rules need (`thread_actions`). The
    session is judged as `django.contrib.auth.get_user` judges it: unknown or expired key, a
    backend no longer configured, an inactive user or a password changed since the login
    (the session's auth hash, current secret or a fallback) all mean nobody. Returns None for
    nobody and for a stranger to the thread.
    """
    session = _session_data(session_key)
    user_id, backend_path = session.get(SESSION_KEY), session.get(BACKEND_SESSION_KEY)
    if user_id is None or backend_path not in settings.AUTHENTICATION_BACKENDS:
        return None
    backend = load_backend(backend_path)
    if not isinstance(backend, ModelBackend):  # backends that authenticate nobody have no user to give
        return None
    try:
        user_pk = User._meta.pk.to_python(user_id)
    except ValidationError:
        return None
    rows = _socket_user_facts_query.rows(user_pk=user_pk, place_id=place_id)
    if not rows:
        return None
    user = User.from_db(connection.alias, _USER_COLUMNS, rows[0][: len(_USER_COLUMNS)])
    facts = dict(zip(_SOCKET_FACTS, rows[0][len(_USER_COLUMNS) :], strict=True))
    if not backend.user_can_authenticate(user) or not _session_hash_verified(session, user):
        return None
    if facts["fz_thread_id"] is None:
        return None
    actions = thread_actions(user, in_scope=facts["fz_in_scope"], assigned_here=facts["fz_assigned_here"])
    if Action.VIEW not in actions:
        return None
    moderator = Action.MODERATE in actions
    volunteer_id = facts["fz_volunteer_id"]
    return user, Membership(
        thread_id=facts["fz_thread_id"],
        place_id=place_id,
        place_name=facts["fz_place_name"],
        user_id=user.pk,
        volunteer_id=volunteer_id,
        can_post=Action.POST in actions,
        moderator=moderator,
        sees_staff=moderator or (volunteer_id is not None and facts["fz_place_watcher"]),
        newest_message_id=facts["fz_newest_message_id"] or 0,
    )


def _socket_user_facts(*, user_pk, place_id: int) -> QuerySet[User]:
    """The user, annotated with the place's thread, its newest message and what decides their rights there:
    one query."""
    place = PollingPlace.objects.filter(pk=place_id)
    thread_id = Thread.objects.filter(place_id=place_id).values("pk")[:1]
    active_here = Assignment.objects.filter(
        volunteer__user_id=OuterRef("pk"), place_id=place_id, status__in=ACTIVE_STATUSES
    )
    covering = place.filter(election_id=OuterRef("area__election_id"), area__path__startswith=OuterRef("area__path"))
    return User.objects.filter(pk=user_pk).annotate(
        fz_thread_id=Subquery(thread_id),
        # Lets a socket that already holds everything skip its catch-up query (the consumer's connect).
        fz_newest_message_id=Subquery(
            Message.objects.filter(thread_id=Subquery(thread_id)).order_by("-pk").values("pk")[:1]
        ),
        fz_place_name=Subquery(place.values("name")[:1]),
        fz_volunteer_id=Subquery(Volunteer.objects.filter(user_id=OuterRef("pk")).values("pk")[:1]),
        fz_assigned_here=Exists(active_here),
        fz_place_watcher=Exists(active_here.filter(role=AssignmentRole.PLACE)),
        fz_in_scope=Exists(CoordinatorScope.objects.filter(user_id=OuterRef("pk")).filter(Exists(covering))),
    )


_USER_COLUMNS = tuple(field.attname for field in User._meta.concrete_fields)
_SOCKET_FACTS = (
    "fz_thread_id",
    "fz_newest_message_id",
    "fz_place_name",
    "fz_volunteer_id",
    "fz_assigned_here",
    "fz_place_watcher",
    "fz_in_scope",
)
# Compiling that annotated query took most of a connect's CPU (py-spy, 2,000 sockets): its SQL is
# the same for every socket but for the two ids. Read as plain rows, the user built with `from_db`
# (a raw queryset re-resolved its columns and converters on every call).
_socket_user_facts_query = PreparedQuery(
    lambda user_pk, place_id: _socket_user_facts(user_pk=user_pk, place_id=place_id).values_list(
        *_USER_COLUMNS, *_SOCKET_FACTS
    ),
    "user_pk",
    "place_id",
)


def _session_data(session_key: str) -> dict:
    """The session's data, or {} when the key is unknown or expired."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if settings.SESSION_ENGINE != "django.contrib.sessions.backends.db":
        return dict(store(session_key=session_key).items())
    # The database engine's own load builds and compiles its query each time: the same row, read plainly.
    table = connection.ops.quote_name(Session._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT session_data FROM {table} WHERE session_key = %s AND expire_date > %s",
            [session_key, connection.ops.adapt_datetimefield_value(timezone.now())],
        )
        row = cursor.fetchone()
    return store().decode(row[0]) if row else {}


def _session_hash_verified(session, user) -> bool:
    """The session's auth hash matches the user's password now (with the current secret or a fallback)."""
    session_hash = session.get(HASH_SESSION_KEY)
    if not session_hash:
        return False
    if constant_time_compare(session_hash, user.get_session_auth_hash()):
        return True
    return any(constant_time_compare(session_hash, h) for h in user.get_session_auth_fallback_hash())


def _is_place_watcher(*, volunteer, place) -> bool:
    return Assignment.objects.filter(
        volunteer=volunteer, place=place, role=AssignmentRole.PLACE, status__in=ACTIVE_STATUSES
    ).exists()


def thread_is_member(*, user, thread_id: int) -> bool:
    """Re-checked when an assignment of the person changes: does the socket stay open?"""
    thread = Thread.objects.select_related("place__area").filter(pk=thread_id).first()
    if thread is None:
        return False
    # The socket's user object lives as long as the socket: forget its cached scopes and volunteer.
    permissions_forget(user)
    return can(user, Action.VIEW, thread)


def message_list(
    *,
    thread: Thread | int,
    moderator: bool,
    before: int | None = None,
    after: int | None = None,
    limit: int = 50,
    staff: bool | None = None,
) -> list[Message]:
    """One page of a thread in id order: the newest `limit`, or those before / after a cursor id.

    Hidden messages are left out for everyone but moderators; lines for the coordination
    (`staff_only`) for everyone but `staff` (moderators and the fiscal general; default: moderators).
    """
    limit = max(1, min(int(limit), HISTORY_PAGE_MAX))
    qs = Message.objects.filter(thread=thread).select_related("author_user", "author_volunteer")
    if not moderator:
        qs = qs.filter(hidden=False)
    if not (moderator if staff is None else staff):
        qs = qs.filter(staff_only=False)
    if after is not None:
        return list(qs.filter(id__gt=after).order_by("id")[:limit])
    if before is not None:
        qs = qs.filter(id__lt=before)
    return list(reversed(qs.order_by("-id")[:limit]))


# The columns of a catch-up page: what `payloads.message_payload_from_row` needs, nothing more.
PAGE_COLUMNS = (
    "id",
    "thread_id",
    "body",
    "source",
    "announcement",
    "pinned",
    "hidden",
    "staff_only",
    "has_attachments",
    "created_at",
    "author_user_id",
    "author_volunteer_id",
    "author_volunteer__first_name",
    "author_volunteer__last_name",
    "author_user__first_name",
    "author_user__last_name",
    "author_user__username",
)


def _page_after_query(*, moderator: bool, staff: bool, limit: int) -> PreparedQuery:
    def build(*, thread_id: int, after: int) -> QuerySet:
        qs = Message.objects.filter(thread_id=thread_id, id__gt=after)
        if not moderator:
            qs = qs.filter(hidden=False)
        if not staff:
            qs = qs.filter(staff_only=False)
        return qs.order_by("id").values_list(*PAGE_COLUMNS)[:limit]

    return PreparedQuery(build, "thread_id", "after")


_page_after_queries: dict[tuple[bool, bool, int], PreparedQuery] = {}


def message_rows_after(*, thread_id: int, after: int, moderator: bool, staff: bool, limit: int) -> list[dict]:
    """The messages after id `after` in id order, as `message_list(after=...)` returns them, as plain rows
    (PAGE_COLUMNS, and `attachments` where there are any): the catch-up of every socket that connects."""
    limit = max(1, min(int(limit), HISTORY_PAGE_MAX))
    key = (moderator, staff, limit)
    query = _page_after_queries.get(key)
    if query is None:
        query = _page_after_queries[key] = _page_after_query(moderator=moderator, staff=staff, limit=limit)
    rows = [dict(zip(PAGE_COLUMNS, row, strict=True)) for row in query.rows(thread_id=thread_id, after=after)]
    with_files = [row["id"] for row in rows if row["has_attachments"]]
    if with_files:
        files: dict[int, list[Attachment]] = {}
        for attachment in Attachment.objects.filter(message_id__in=with_files).order_by("pk"):
            files.setdefault(attachment.message_id, []).append(attachment)
        for row in rows:
            row["attachments"] = files.get(row["id"], [])
    return rows


def message_list_pinned(*, thread: Thread) -> list[Message]:
    return list(
        Message.objects.filter(thread=thread, pinned=True, hidden=False, staff_only=False)
        .select_related("author_user", "author_volunteer")
        .order_by("-id")[:5]
    )


def thread_volunteer_members(*, thread: Thread) -> QuerySet:
    """Volunteers with an active assignment at the thread's place."""
    return (
        Volunteer.objects.filter(assignments__place_id=thread.place_id, assignments__status__in=ACTIVE_STATUSES)
        .distinct()
        .order_by("last_name", "first_name", "id")
    )


def thread_muted_volunteer_ids(*, thread: Thread) -> set[int]:
    return set(ThreadMute.objects.filter(thread=thread, volunteer__isnull=False).values_list("volunteer_id", flat=True))


def thread_list_for_user(*, user) -> QuerySet:
    return visible(user, Thread.objects.select_related("place"))


@dataclass(frozen=True)
class UnreadAnnouncement:
    message_id: int
    thread_id: int
    place_id: int
    place_name: str
    announced_at: datetime.datetime
    volunteer_id: int
    volunteer_name: str
    volunteer_phone: str


def announcement_unread_list(
    *, user, now: datetime.datetime | None = None, window: datetime.timedelta = datetime.timedelta(days=2)
) -> list[UnreadAnnouncement]:
    """Announcements a member has neither read on the web nor received by SMS within
    `THREADS_UNREAD_ESCALATION_AFTER`: the coordinator should call them. Scoped to `user`'s threads.

    Read on the web: a read receipt at or past the announcement. Received by SMS: its announcement
    notice was processed by the SMS side (`Notice.processed_at`).
    """
    if role_of(user) not in {Role.LEAD, Role.COORDINATOR}:
        return []
    now = now or timezone.now()
    cutoff = now - settings.THREADS_UNREAD_ESCALATION_AFTER
    announcements = (
        Message.objects.filter(
            thread__in=visible(user, Thread.objects.all()),
            announcement=True,
            hidden=False,
            created_at__lte=cutoff,
            created_at__gte=now - window,
        )
        .select_related("thread__place")
        .order_by("id")
    )
    rows: list[UnreadAnnouncement] = []
    for message in announcements:
        thread = message.thread
        read = ThreadReadState.objects.filter(thread=thread, last_read_id__gte=message.pk)
        read_users = set(read.values_list("user_id", flat=True))
        by_sms = set(
            AnnouncementDelivery.objects.filter(message=message, notice__processed_at__isnull=False).values_list(
                "volunteer_id", flat=True
            )
        )
        for volunteer in thread_volunteer_members(thread=thread):
            if volunteer.pk == message.author_volunteer_id or volunteer.pk in by_sms:
                continue
            if volunteer.user_id and volunteer.user_id in read_users:
                continue
            rows.append(
                UnreadAnnouncement(
                    message_id=message.pk,
                    thread_id=thread.pk,
                    place_id=thread.place_id,
                    place_name=thread.place.name,
                    announced_at=message.created_at,
                    volunteer_id=volunteer.pk,
                    volunteer_name=volunteer.full_name,
                    volunteer_phone=volunteer.phone or "",
                )
            )
    return rows
