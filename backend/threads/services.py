"""Writes on station threads: posting, announcements, moderation, read receipts, membership events.

Every write arrives here from the page, the REST API, the WebSocket consumer, the inbound SMS
webhook or a Celery task. Each service owns its transaction; the real-time broadcast to the
thread's group (`thread.<id>`) and the announcement SMS are after-commit effects, so nothing is
broadcast that was not stored.
"""

from __future__ import annotations

import datetime
import json
from functools import partial

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.assignments.selectors import assignment_get_active_for_volunteer
from backend.core.exceptions import ApplicationError
from backend.core.jobs import task_queue
from backend.core.live import THREAD_MEMBERS_GROUP, live_send, membership_changed, thread_group
from backend.core.text import clean_text
from backend.elections.models import PollingPlace
from backend.notices.models import NoticeKind
from backend.notices.services import notice_create
from backend.permissions import Action, require
from backend.volunteers.models import Volunteer
from backend.volunteers.services import volunteer_seen_on_web

from .errors import ThreadErrorCode
from .models import (
    MESSAGE_MAX_LENGTH,
    AnnouncementDelivery,
    Attachment,
    Message,
    MessageSource,
    ModerationKind,
    Thread,
    ThreadModerationEvent,
    ThreadMute,
    ThreadReadState,
)
from .payloads import message_payload
from .selectors import thread_volunteer_members


def thread_get_or_create(*, place) -> Thread:
    """The place's thread. Every place gets one when it is created (`threads_create_for_places`),
    so this creates only for a place written some other way."""
    thread, _created = Thread.objects.get_or_create(place=place, defaults={"election_id": place.election_id})
    return thread


def threads_create_for_places(*, election) -> int:
    """Create the thread of every place of `election` that has none; returns how many.

    Called where places are created (the station import, the admin, the demo) inside their
    transaction, so reading a thread never has to write one. Idempotent.
    """
    missing = PollingPlace.objects.filter(election=election, thread__isnull=True).values_list("pk", flat=True)
    threads = [Thread(election_id=election.pk, place_id=pk) for pk in missing.iterator(chunk_size=5000)]
    Thread.objects.bulk_create(threads, batch_size=2000)
    return len(threads)


def _clean_body(body: str) -> str:
    # Controls removed, NFC, lone surrogates refused: the length is checked below with its own message.
    body = clean_text(body or "", max_length=10 * MESSAGE_MAX_LENGTH, multiline=True).strip()
    if not body:
        raise ApplicationError(_("El mensaje está vacío."), code=ThreadErrorCode.EMPTY_MESSAGE)
    if len(body) > MESSAGE_MAX_LENGTH:
        raise ApplicationError(
            _("El mensaje supera los %(max)s caracteres.") % {"max": MESSAGE_MAX_LENGTH},
            code=ThreadErrorCode.MESSAGE_TOO_LONG,
        )
    return body


def _broadcast(thread_id: int, event_type: str, payload: dict) -> None:
    event = {"type": event_type, "message": payload}
    if event_type == "message.created":
        # Serialised once here rather than once per open socket of the thread.
        event["frame"] = json.dumps({"type": "message", "message": payload}, ensure_ascii=False)
    live_send(thread_group(thread_id), event)


def message_post(
    *,
    thread: Thread,
    body: str,
    source: str,
    author_user=None,
    author_volunteer=None,
    announcement: bool = False,
    staff_only: bool = False,
    attachments: list[tuple[str, bytes]] | None = None,
) -> Message:
    """Store a message in a station thread; broadcast `message.created` to `thread.<id>` after commit.

    The storing primitive: callers have already checked membership (`message_post_as` for people
    on the web, `message_post_from_sms` for SMS). An announcement also schedules its SMS copy for
    members who have not seen it on the web (see `announcement_sms_dispatch`). `attachments` are
    (content type, bytes) photos stored with the message; a photo alone gets a short body.
    """
    if attachments and not (body or "").strip():
        body = _("(foto)")
    body = _clean_body(body)
    with transaction.atomic():
        # Posts to one thread take its row lock, so they commit in id order: a client that has seen
        # id N has seen every earlier message, and "everything after N" misses nothing.
        Thread.objects.select_for_update().filter(pk=thread.pk).values_list("pk", flat=True).first()
        message = Message.objects.create(
            thread=thread,
            body=body,
            source=source,
            author_user=author_user,
            author_volunteer=author_volunteer,
            announcement=announcement,
            staff_only=staff_only,
            has_attachments=bool(attachments),
        )
        for index, (content_type, data) in enumerate(attachments or []):
            extension = content_type.rsplit("/", 1)[-1].replace("jpeg", "jpg")
            Attachment.objects.create(
                message=message,
                file=ContentFile(data, name=f"m{message.pk}-{index}.{extension}"),
                content_type=content_type,
                size=len(data),
            )
        payload = message_payload(message)
        _broadcast(thread.pk, "message.created", payload)
        if announcement:
            transaction.on_commit(partial(_schedule_announcement_sms, message.pk))
    return message


def thread_post_system_notice(*, place, body: str, staff_only: bool = True) -> Message:
    """A line from Fiscaliza itself (no author) in a place's thread, seen live by its coordinators.

    Called by domain services that must tell the coordinators of a place something, such as a
    decline. By default only the coordination sees it (the place's coordinators, leads and its
    fiscal general), never every volunteer of the school: such a line names a person.
    """
    return message_post(
        thread=thread_get_or_create(place=place), body=body, source=MessageSource.WEB, staff_only=staff_only
    )


def _volunteer_of_user(user):
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return Volunteer.objects.filter(user=user).first()


def _is_muted(*, thread: Thread, user=None, volunteer=None) -> bool:
    if volunteer is not None and ThreadMute.objects.filter(thread=thread, volunteer=volunteer).exists():
        return True
    return user is not None and ThreadMute.objects.filter(thread=thread, user=user).exists()


def _refuse_if_muted(*, thread: Thread, user=None, volunteer=None) -> None:
    if _is_muted(thread=thread, user=user, volunteer=volunteer):
        raise ApplicationError(
            _("Un coordinador te silenció en este hilo: podés leer pero no escribir."), code=ThreadErrorCode.MUTED
        )


def message_post_as(*, actor, thread: Thread, body: str, announcement: bool = False) -> Message:
    """A member writes on the web (page, REST API or WebSocket). Announcements are for coordinators."""
    require(actor, Action.POST, thread)
    if announcement:
        require(actor, Action.MODERATE, thread)
    volunteer = _volunteer_of_user(actor)
    _refuse_if_muted(thread=thread, user=actor, volunteer=volunteer)
    return message_post(
        thread=thread,
        body=body,
        source=MessageSource.WEB,
        author_user=actor,
        author_volunteer=volunteer,
        announcement=announcement,
    )


def message_post_from_sms(*, volunteer, body: str, attachments: list[tuple[str, bytes]] | None = None):
    """Free text from an assigned volunteer's phone goes to their station's thread.

    Called by the inbound SMS handler. Returns the stored message, or None when the volunteer has
    no active assignment (the caller then answers with help text). A muted volunteer gets an
    ApplicationError the SMS side renders as a short reply. Broadcast after commit, like the web.
    """
    assignment = assignment_get_active_for_volunteer(volunteer=volunteer)
    if assignment is None:
        return None
    thread = thread_get_or_create(place=assignment.place)
    _refuse_if_muted(thread=thread, volunteer=volunteer)
    return message_post(
        thread=thread,
        body=(body or "")[:MESSAGE_MAX_LENGTH],
        source=MessageSource.SMS,
        author_volunteer=volunteer,
        attachments=attachments,
    )


# --- moderation (coordinators and leads; every action leaves a ThreadModerationEvent) -----------


def _moderation_record(*, thread, kind, actor, message=None, target_user=None, target_volunteer=None, reason=""):
    return ThreadModerationEvent.objects.create(
        thread=thread,
        kind=kind,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        message=message,
        target_user=target_user,
        target_volunteer=target_volunteer,
        reason=str(reason or "")[:255],
    )


def _message_set_flag(*, actor, message: Message, field: str, value: bool, kinds: tuple[str, str], reason: str):
    require(actor, Action.MODERATE, message.thread)
    with transaction.atomic():
        row = (
            Message.objects.select_for_update(of=("self",))
            .select_related("author_user", "author_volunteer")
            .get(pk=message.pk)
        )
        if getattr(row, field) == value:
            return row
        setattr(row, field, value)
        row.save(update_fields=[field])
        _moderation_record(
            thread=row.thread, kind=kinds[0] if value else kinds[1], actor=actor, message=row, reason=reason
        )
        _broadcast(row.thread_id, "message.updated", message_payload(row))
    return row


def message_set_hidden(*, actor, message: Message, hidden: bool, reason: str = "") -> Message:
    """A coordinator hides (or shows again) a message; members' pages drop it live."""
    return _message_set_flag(
        actor=actor,
        message=message,
        field="hidden",
        value=hidden,
        kinds=(ModerationKind.HIDE, ModerationKind.UNHIDE),
        reason=reason,
    )


def message_set_pinned(*, actor, message: Message, pinned: bool, reason: str = "") -> Message:
    """A coordinator pins (or unpins) a message at the top of the thread."""
    return _message_set_flag(
        actor=actor,
        message=message,
        field="pinned",
        value=pinned,
        kinds=(ModerationKind.PIN, ModerationKind.UNPIN),
        reason=reason,
    )


def member_set_muted(*, actor, thread: Thread, muted: bool, volunteer=None, user=None, reason: str = "") -> bool:
    """A coordinator silences a member (a volunteer, or a user) in one thread, or lifts it. Audited."""
    require(actor, Action.MODERATE, thread)
    if (volunteer is None) == (user is None):
        raise ApplicationError(_("Indicá a quién silenciar."), code=ThreadErrorCode.NOT_A_MEMBER)
    target = {"volunteer": volunteer} if volunteer is not None else {"user": user}
    with transaction.atomic():
        existing = ThreadMute.objects.select_for_update().filter(thread=thread, **target).first()
        if muted == (existing is not None):
            return muted
        if muted:
            ThreadMute.objects.create(
                thread=thread, created_by=actor if getattr(actor, "is_authenticated", False) else None, **target
            )
        elif existing is not None:
            existing.delete()
        _moderation_record(
            thread=thread,
            kind=ModerationKind.MUTE if muted else ModerationKind.UNMUTE,
            actor=actor,
            target_user=user,
            target_volunteer=volunteer,
            reason=reason,
        )
    return muted


# --- read receipts and presence ----------------------------------------------------------------


def thread_mark_seen(*, user, now: datetime.datetime | None = None) -> None:
    """The person is on the web right now (a socket opened, a page was shown, an announcement reached
    their screen): announcements after this moment still go by SMS, earlier ones no longer do."""
    volunteer_seen_on_web(user=user, now=now)


def thread_mark_read(*, user, thread: Thread, last_id: int, now: datetime.datetime | None = None) -> int:
    """Read receipt: the member has read the thread up to message `last_id` (never goes back)."""
    now = now or timezone.now()
    last_id = int(last_id)
    # A receipt may not claim messages that do not exist yet.
    newest = Message.objects.filter(thread=thread).order_by("-id").values_list("id", flat=True).first() or 0
    last_id = max(0, min(last_id, newest))
    with transaction.atomic():
        state, _created = ThreadReadState.objects.select_for_update().get_or_create(thread=thread, user=user)
        if last_id > state.last_read_id:
            state.last_read_id = last_id
        state.last_seen_at = now
        state.save(update_fields=["last_read_id", "last_seen_at"])
        thread_mark_seen(user=user, now=now)
    return state.last_read_id


# --- membership follows assignments ------------------------------------------------------------


def thread_membership_changed(*, volunteer_id: int) -> None:
    """An assignment of this volunteer was created, cancelled, declined or moved.

    Called inside their transaction by the assignment services; after commit, every open socket of
    the volunteer re-checks its membership and closes when the volunteer left that thread.
    """
    live_send(THREAD_MEMBERS_GROUP, membership_changed(volunteer_id=volunteer_id))


# --- SMS bridge for announcements --------------------------------------------------------------


def _schedule_announcement_sms(message_id: int) -> None:
    delay = int(settings.THREADS_ANNOUNCEMENT_SMS_DELAY.total_seconds())
    task_queue("threads.announcement_sms_dispatch", message_id, countdown=delay)


def announcement_sms_dispatch(*, message: Message, now: datetime.datetime | None = None) -> int:
    """Send an announcement by SMS (a Notice of kind `announcement`) to every volunteer member who
    has not been seen on the web since it was posted, at most once per member.

    Called by a Celery task `THREADS_ANNOUNCEMENT_SMS_DELAY` after the post and by the periodic
    sweep; a run before that delay does nothing, so web readers get a chance first. Idempotent:
    `AnnouncementDelivery` is unique per (announcement, volunteer). Returns notices created.
    """
    now = now or timezone.now()
    if not message.announcement or message.hidden:
        return 0
    if message.created_at > now - settings.THREADS_ANNOUNCEMENT_SMS_DELAY:
        return 0
    thread = message.thread
    read = ThreadReadState.objects.filter(thread=thread, last_read_id__gte=message.pk)
    read_by_user = set(read.values_list("user_id", flat=True))
    already = set(AnnouncementDelivery.objects.filter(message=message).values_list("volunteer_id", flat=True))
    created = 0
    for volunteer in thread_volunteer_members(thread=thread):
        if volunteer.pk in already or volunteer.pk == message.author_volunteer_id or not volunteer.phone:
            continue
        if volunteer.last_seen_web_at and volunteer.last_seen_web_at >= message.created_at:
            continue
        if volunteer.user_id and volunteer.user_id in read_by_user:
            continue
        with transaction.atomic():
            delivery, is_new = AnnouncementDelivery.objects.get_or_create(message=message, volunteer=volunteer)
            if not is_new:
                continue
            delivery.notice = notice_create(
                volunteer=volunteer,
                kind=NoticeKind.ANNOUNCEMENT,
                payload={
                    "message_id": message.pk,
                    "thread_id": thread.pk,
                    "place_id": thread.place_id,
                    "place_name": thread.place.name,
                    "body": message.body,
                },
            )
            delivery.save(update_fields=["notice"])
        created += 1
    return created


def announcements_sms_sweep(*, now: datetime.datetime | None = None) -> int:
    """Dispatch every due announcement of the last day (the beat task; catches lost countdown tasks)."""
    now = now or timezone.now()
    due = Message.objects.filter(
        announcement=True,
        hidden=False,
        created_at__lte=now - settings.THREADS_ANNOUNCEMENT_SMS_DELAY,
        created_at__gte=now - datetime.timedelta(days=1),
    ).select_related("thread__place")
    return sum(announcement_sms_dispatch(message=m, now=now) for m in due)
