"""Outbound SMS: notices to messages, sending once per row, status callbacks, reconciliation.

Callers: Celery tasks (sms.tasks) and the webhooks (sms.views). Every function owns its
transaction; sends are queued after commit.
"""

import logging
import random
import time
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Mod
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.services import magic_link_issue
from backend.assignments.models import AssignmentRole, AssignmentStatus, EventSource, Shift
from backend.assignments.selectors import assignment_get_active_for_volunteer
from backend.assignments.services import assignment_transition
from backend.core.exceptions import ApplicationError
from backend.core.jobs import task_queue
from backend.messaging import channels
from backend.messaging.encoding import segment_info
from backend.messaging.models import STATUS_RANK, MessageChannel, OutboundMessage, OutboundStatus, TemplateKind
from backend.messaging.senders import Lane, sender_pool
from backend.messaging.texts import DAY_NAMES, render_kind, template_get
from backend.notices.models import Notice, NoticeKind
from backend.volunteers.services import volunteer_opt_out

from . import ratelimit
from .backends import backend
from .client import Accepted, SendError

logger = logging.getLogger(__name__)

# Twilio error codes that will never succeed on a retry.
OPTED_OUT_CODE = 21610
PERMANENT_CODES = {21610, 21211, 21614, 21408}

# Twilio's message statuses mapped onto ours.
TWILIO_TO_OURS = {
    "accepted": "sent",
    "scheduled": "sent",
    "queued": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
}
# Finer order of Twilio's own statuses, so provider_status also only moves forward.
PROVIDER_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "canceled": 4,
    "read": 5,
}


def _lower_statuses(status: str) -> list[str]:
    return [s for s, rank in STATUS_RANK.items() if rank < STATUS_RANK[status]]


def _lower_provider(status: str) -> list[str]:
    rank = PROVIDER_RANK.get(status, 0)
    return ["", *[s for s, r in PROVIDER_RANK.items() if r < rank]]


# --- Rendering --------------------------------------------------------------------------------


def assignment_context(*, volunteer, assignment=None, link: str = "") -> dict:
    """The variables of every text for one volunteer: {nombre} {escuela} {direccion} {mesa} {link}..."""
    context = {"nombre": volunteer.first_name.split(" ")[0] if volunteer.first_name else "", "link": link}
    if assignment is not None:
        place, election = assignment.place, assignment.election
        table_number = assignment.table.number if assignment.table_id else ""
        context.update(
            escuela=place.name,
            direccion=place.address,
            mesa=table_number,
            rol=_("de mesa %(n)s") % {"n": table_number} if assignment.role == AssignmentRole.TABLE else _("general"),
            dia=f"{DAY_NAMES[election.date.weekday()]} {election.date:%d/%m}",
            hora=f"{election.check_in_time.hour}:{election.check_in_time.minute:02d}",
            estado=AssignmentStatus(assignment.status).label,
        )
    return context


def _shift_start(*, assignment, shift: str) -> tuple[str, str]:
    """The shift's name, lower case, and its start: the election's check-in time, or the handover for the afternoon."""
    election = assignment.election
    start = election.shift_handover_time if shift == Shift.AFTERNOON else election.check_in_time
    return str(Shift(shift).label).lower(), f"{start.hour}:{start.minute:02d}"


def link_for_text(volunteer, body: str) -> str:
    if "{link}" not in body:
        return ""
    try:
        return magic_link_issue(volunteer=volunteer)
    except ApplicationError:  # rate-limited: the text goes without its link
        return ""


# Reminders before a shift handover (backend.notices.reminders.reminders_shift), by the notice's "which".
SHIFT_REMINDERS = {"shift_in": TemplateKind.SHIFT_INCOMING, "shift_out": TemplateKind.SHIFT_OUTGOING}


def _template_kind_for(notice: Notice) -> str:
    if notice.kind == NoticeKind.CHANGE and notice.payload.get("shift") in Shift.values:
        return TemplateKind.SHIFT_CHANGED
    if notice.kind == NoticeKind.REMINDER and notice.payload.get("which") == "eve":
        return TemplateKind.REMINDER_EVE
    if notice.kind == NoticeKind.REMINDER and notice.payload.get("which") in SHIFT_REMINDERS:
        return SHIFT_REMINDERS[notice.payload["which"]]
    return str(notice.kind)


# --- Queueing ---------------------------------------------------------------------------------


def outbound_queue(
    *, volunteer, kind: str, body: str, segments: int, encoding: str, notice=None, context: dict | None = None
) -> OutboundMessage:
    """Store one message to send, on the volunteer's channel; its send task is queued after commit.

    `context`: the text's values, for the variables of a WhatsApp template (outside the 24-hour window).
    The body is kept in every case: it is what /dev/sms/ shows and what an SMS fallback carries.
    """
    # Without a context (a text written whole), a template's {texto} carries the text itself.
    route = channels.route(volunteer=volunteer, kind=kind, context={"texto": body, **(context or {})})
    whatsapp = route.channel == channels.WHATSAPP
    message = OutboundMessage.objects.create(
        volunteer=volunteer,
        to=volunteer.phone,
        body=body,
        kind=kind,
        notice=notice,
        # WhatsApp bills and paces per message, whatever its length.
        segments=1 if whatsapp else segments,
        encoding=encoding,
        channel=route.channel,
        content_sid=route.content_sid,
        content_variables=route.content_variables,
        sender=channels.whatsapp_lane().key if whatsapp else sender_pool().lane_for(volunteer.phone or "").key,
    )
    transaction.on_commit(lambda: _enqueue_send(message.pk))
    return message


def _enqueue_send(message_id: int, countdown: float | None = None) -> None:
    task_queue("sms.send_outbound", message_id, countdown=countdown or None)


def notice_deliver(*, notice: Notice) -> OutboundMessage | None:
    """Turn one notice into a queued message (or nothing: opted out, no phone, no assignment)."""
    volunteer = notice.volunteer
    if volunteer.opted_out or not volunteer.phone:
        return None
    kind = _template_kind_for(notice)
    if kind not in TemplateKind.values:
        return None
    if not volunteer.phone_verified:
        return _verify_phone_queue(volunteer=volunteer, notice=notice)
    assignment = notice.assignment or assignment_get_active_for_volunteer(volunteer=volunteer)
    body, _translit = template_get(kind)
    context = assignment_context(volunteer=volunteer, assignment=assignment, link=link_for_text(volunteer, body))
    # Instructions carry "text"; thread announcements (backend.threads) carry "body" and "place_name".
    context["texto"] = str(notice.payload.get("text") or notice.payload.get("body") or "")
    if notice.payload.get("place_name"):
        context["escuela"] = notice.payload["place_name"]
    # Shift reminders: the handover time and the other watcher of the table.
    if notice.payload.get("time"):
        context["hora"] = notice.payload["time"]
    if notice.payload.get("other"):
        context["otro"] = notice.payload["other"]
    # A shift change: the new part of the day and when it starts.
    if kind == TemplateKind.SHIFT_CHANGED and assignment is not None:
        context["texto"], context["hora"] = _shift_start(assignment=assignment, shift=notice.payload["shift"])
    rendered = render_kind(kind, context)
    return outbound_queue(
        volunteer=volunteer,
        kind=kind,
        body=rendered.body,
        segments=rendered.segments,
        encoding=rendered.encoding,
        notice=notice,
        context=context,
    )


def _verify_phone_queue(*, volunteer, notice: Notice) -> OutboundMessage | None:
    """A guessed number gets one question, no name, place or link: the person may be a stranger.

    Their SI (sms.commands) verifies the number and answers with the assignment itself.
    """
    if OutboundMessage.objects.filter(volunteer=volunteer, kind=TemplateKind.VERIFY_PHONE).exists():
        return None
    rendered = render_kind(TemplateKind.VERIFY_PHONE, {})
    return outbound_queue(
        volunteer=volunteer,
        kind=TemplateKind.VERIFY_PHONE,
        body=rendered.body,
        segments=rendered.segments,
        encoding=rendered.encoding,
        notice=notice,
    )


def notices_relay(*, limit: int = 500) -> int:
    """Deliver unprocessed notices (the outbox relay). Safe to run concurrently and repeatedly."""
    ids = list(Notice.objects.filter(processed_at__isnull=True).order_by("id").values_list("id", flat=True)[:limit])
    delivered = 0
    for notice_id in ids:
        with transaction.atomic():
            # The conditional update is the claim: a second relay finds nothing to do.
            if not Notice.objects.filter(pk=notice_id, processed_at__isnull=True).update(processed_at=timezone.now()):
                continue
            notice = Notice.objects.select_related("volunteer", "assignment__place", "assignment__election").get(
                pk=notice_id
            )
            if notice_deliver(notice=notice) is not None:
                delivered += 1
    return delivered


# --- Sending ----------------------------------------------------------------------------------


def _backoff(attempt: int) -> float:
    base = float(settings.SMS_RETRY_BACKOFF)
    return min(600.0, base * (2 ** max(0, attempt - 1))) * (0.5 + random.random() / 2)


def _fail(message_id: int, *, error: str, code: int | None = None) -> None:
    OutboundMessage.objects.filter(pk=message_id, status=OutboundStatus.SENDING).update(
        status=OutboundStatus.FAILED, error_code=code, error_message=error[:255], updated_at=timezone.now()
    )


def _mark_opted_out(volunteer_id: int | None) -> None:
    if volunteer_id:
        volunteer_opt_out(
            volunteer_id=volunteer_id, source="system", reason=_("el operador informa que el número se dio de baja")
        )


def message_lane(*, sender: str, to: str) -> Lane:
    """The lane a message leaves from: the one fixed at queueing, or the recipient's if the pool changed since."""
    if sender.startswith(channels.WHATSAPP_PREFIX):
        return channels.whatsapp_lane()
    pool = sender_pool()
    return pool.lane(sender) or pool.lane_for(to)


def outbound_send(*, message_id: int, checked: tuple[str, str, int] | None = None) -> str:
    """Send one queued message at most once. Called by the send task and the drain loop.

    Returns what happened: "sent", "skipped" (not queued, or another worker claimed it), "retry",
    "failed" or "unknown" (the request may have reached Twilio; reconciliation looks it up).
    `checked`: the caller just read the row as queued (the drain) with its (sender, to, segments),
    so the pre-check is skipped.
    """
    now = timezone.now()
    due = Q(pk=message_id, status=OutboundStatus.QUEUED) & (Q(not_before__isnull=True) | Q(not_before__lte=now))
    # Cheap pre-check, so a duplicate task does not spend a rate-limit token.
    if checked is None:
        checked = OutboundMessage.objects.filter(due).values_list("sender", "to", "segments").first()
        if checked is None:
            return "skipped"
    sender, to, segments = checked
    lane = message_lane(sender=sender, to=to)
    if settings.SMS_BACKEND != "local":  # the provider's pace; nothing leaves the machine locally
        # The lane's segments, not messages: a two-segment text takes two seconds of a long code.
        ratelimit.acquire(lane=lane, segments=segments)
    now = timezone.now()
    # The claim: only one worker moves the row from queued to sending; only that one calls Twilio.
    claimed = OutboundMessage.objects.filter(due).update(
        status=OutboundStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1, updated_at=now
    )
    if not claimed:
        return "skipped"
    message = OutboundMessage.objects.select_related("volunteer").get(pk=message_id)
    if message.volunteer is not None and message.volunteer.opted_out:
        _fail(message_id, error=_("El fiscal se dio de baja de los SMS."))
        return "failed"
    try:
        accepted = backend().send(message, lane=lane)
    except SendError as err:
        return _send_failed(message, err)
    # Usual case in one UPDATE: still ours, in `sending`, no SID yet (no callback overtook us).
    target = TWILIO_TO_OURS.get(accepted.status, OutboundStatus.SENT)
    now = timezone.now()
    fields = {"sid": accepted.sid, "status": target, "provider_status": accepted.status, "sent_at": now}
    if target == OutboundStatus.DELIVERED:
        fields["delivered_at"] = now
    fast = OutboundMessage.objects.filter(pk=message_id, status=OutboundStatus.SENDING, sid__isnull=True)
    if fast.update(updated_at=now, **fields):
        if message.notice_id:
            _after_sent(message_id)
    else:
        outbound_accepted(message_id=message_id, accepted=accepted)
    return "sent"


def _send_failed(message: OutboundMessage, err: SendError) -> str:
    now = timezone.now()
    if err.outcome_unknown:
        OutboundMessage.objects.filter(pk=message.pk, status=OutboundStatus.SENDING).update(
            error_message=err.message[:255], updated_at=now
        )
        return "unknown"
    if err.code in PERMANENT_CODES or not err.retryable or message.attempts >= settings.SMS_MAX_ATTEMPTS:
        _fail(message.pk, error=err.message, code=err.code)
        if message.channel == MessageChannel.WHATSAPP:
            # Not on WhatsApp, template refused, ...: the SMS still arrives.
            transaction.on_commit(partial(whatsapp_fallback, message_id=message.pk))
        elif err.code == OPTED_OUT_CODE:
            _mark_opted_out(message.volunteer_id)
        return "failed"
    delay = _backoff(message.attempts)
    OutboundMessage.objects.filter(pk=message.pk, status=OutboundStatus.SENDING).update(
        status=OutboundStatus.QUEUED,
        error_code=err.code,
        error_message=err.message[:255],
        not_before=now + timedelta(seconds=delay),
        updated_at=now,
    )
    _enqueue_send(message.pk, countdown=delay)
    return "retry"


def outbound_accepted(*, message_id: int, accepted: Accepted) -> None:
    """Record Twilio's acceptance (the SID) and move the status forward."""
    target = TWILIO_TO_OURS.get(accepted.status, OutboundStatus.SENT)
    now = timezone.now()
    with transaction.atomic():
        OutboundMessage.objects.filter(pk=message_id, sid__isnull=True).update(sid=accepted.sid, updated_at=now)
        fields = {"status": target, "updated_at": now, "sent_at": now}
        if target == OutboundStatus.DELIVERED:
            fields["delivered_at"] = now
        moved = OutboundMessage.objects.filter(pk=message_id, status__in=_lower_statuses(target)).update(**fields)
        OutboundMessage.objects.filter(pk=message_id, provider_status__in=_lower_provider(accepted.status)).update(
            provider_status=accepted.status
        )
        if moved:
            _after_sent(message_id)


def _after_sent(message_id: int) -> None:
    """An assignment text that reached Twilio moves the assignment from proposed to notified."""
    message = OutboundMessage.objects.select_related("notice__assignment").get(pk=message_id)
    notice = message.notice
    if notice is None or notice.kind != NoticeKind.ASSIGNMENT or notice.assignment is None:
        return
    if message.kind == TemplateKind.VERIFY_PHONE:
        return  # the person has not been told the assignment yet, only asked who they are
    if notice.assignment.status == AssignmentStatus.PROPOSED:
        try:
            assignment_transition(
                assignment=notice.assignment, to_status=AssignmentStatus.NOTIFIED, source=EventSource.SYSTEM
            )
        except ApplicationError:
            logger.info("assignment %s moved on before its notice was sent", notice.assignment_id)


def status_apply(*, sid: str, status: str, error_code: int | None = None, message_id: int | None = None) -> bool:
    """A delivery status callback. Statuses only move forward; repeats and late arrivals change nothing.

    `message_id` comes from our own callback URL: it recovers a row whose worker died before it
    could record the SID.
    """
    target = TWILIO_TO_OURS.get(status)
    if target is None or not sid:
        return False
    rows = OutboundMessage.objects.filter(sid=sid)
    if message_id is not None and not rows.exists():
        OutboundMessage.objects.filter(pk=message_id, sid__isnull=True).update(sid=sid)
    row = OutboundMessage.objects.filter(sid=sid).values("pk", "volunteer_id", "channel").first()
    if row is None:
        return False
    now = timezone.now()
    fields: dict = {"status": target, "updated_at": now}
    if target == OutboundStatus.SENT:
        fields["sent_at"] = now
    if target == OutboundStatus.DELIVERED:
        fields["delivered_at"] = now
    if error_code:
        fields["error_code"] = error_code
    with transaction.atomic():
        moved = OutboundMessage.objects.filter(pk=row["pk"], status__in=_lower_statuses(target)).update(**fields)
        OutboundMessage.objects.filter(pk=row["pk"], provider_status__in=_lower_provider(status)).update(
            provider_status=status
        )
        if moved and target == OutboundStatus.SENT:
            _after_sent(row["pk"])
    if row["channel"] == MessageChannel.WHATSAPP:
        if moved and target in {OutboundStatus.FAILED, OutboundStatus.UNDELIVERED}:
            whatsapp_fallback(message_id=row["pk"])
    elif error_code == OPTED_OUT_CODE:
        _mark_opted_out(row["volunteer_id"])
    return bool(moved)


# --- WhatsApp fallback ------------------------------------------------------------------------


def whatsapp_fallback(*, message_id: int) -> OutboundMessage | None:
    """Send a WhatsApp message that failed (or never showed delivered) again by SMS: once, ever.

    The SMS row points at the WhatsApp one through a unique key, so two callers (a callback and
    the sweep, twice each) create one row between them. Returns it, or None when nothing is sent.
    """
    original = OutboundMessage.objects.select_related("volunteer").filter(pk=message_id).first()
    if original is None or original.channel != MessageChannel.WHATSAPP or original.status == OutboundStatus.DELIVERED:
        return None
    volunteer = original.volunteer
    if volunteer is None or volunteer.opted_out or not volunteer.phone:
        return None
    info = segment_info(original.body)
    try:
        with transaction.atomic():
            if OutboundMessage.objects.filter(fallback_of=original).exists():
                return None
            message = OutboundMessage.objects.create(
                volunteer=volunteer,
                to=volunteer.phone,
                body=original.body,
                kind=original.kind,
                broadcast_id=original.broadcast_id,
                segments=info.segments,
                encoding=info.encoding,
                channel=MessageChannel.SMS,
                fallback_of=original,
                sender=sender_pool().lane_for(volunteer.phone).key,
            )
    except IntegrityError:  # the other caller's row won
        return None
    transaction.on_commit(partial(_enqueue_send, message.pk))
    return message


def whatsapp_fallback_sweep(*, older_than_seconds: float | None = None) -> int:
    """WhatsApp messages with no "delivered" WHATSAPP_FALLBACK_AFTER seconds after Twilio took them,
    and failed ones whose callback never came back to us: by SMS, once."""
    after = settings.WHATSAPP_FALLBACK_AFTER if older_than_seconds is None else older_than_seconds
    cutoff = timezone.now() - timedelta(seconds=after)
    stale = OutboundMessage.objects.filter(
        channel=MessageChannel.WHATSAPP,
        fallback__isnull=True,
        status__in=[OutboundStatus.SENT, OutboundStatus.FAILED, OutboundStatus.UNDELIVERED],
        sent_at__lte=cutoff,
    )
    ids = list(stale.order_by("id").values_list("id", flat=True)[:500])
    return sum(1 for message_id in ids if whatsapp_fallback(message_id=message_id) is not None)


def outbound_reconcile(*, older_than_seconds: float | None = None) -> dict:
    """Rows stuck in `sending` (a worker died, a read timed out): ask Twilio, never resend blindly.

    Found by SID (or by recipient and text when the SID was never recorded): adopt Twilio's
    status. Not found after the grace period: Twilio never accepted it, so it is queued again.
    """
    grace = settings.SMS_RECONCILE_AFTER if older_than_seconds is None else older_than_seconds
    cutoff = timezone.now() - timedelta(seconds=grace)
    result = {"found": 0, "requeued": 0, "errors": 0}
    stuck = OutboundMessage.objects.filter(status=OutboundStatus.SENDING, claimed_at__lte=cutoff).order_by("id")
    for message in stuck[:500]:
        try:
            found = backend().lookup(message)
        except Exception:  # network trouble: try again on the next run
            logger.exception("SMS reconcile look-up failed for %s", message.pk)
            result["errors"] += 1
            continue
        if found is not None:
            outbound_accepted(message_id=message.pk, accepted=found)
            result["found"] += 1
        else:
            moved = OutboundMessage.objects.filter(pk=message.pk, status=OutboundStatus.SENDING, sid__isnull=True)
            if moved.update(status=OutboundStatus.QUEUED, updated_at=timezone.now()):
                transaction.on_commit(partial(_enqueue_send, message.pk))
                result["requeued"] += 1
    return result


def _lane_rows(sender: str) -> Q:
    """The rows a drain of `sender` takes: its own, and for the pool's first lane also the rows whose
    sender left the pool (a restart with another SMS_SENDERS) or predate it, so none is stranded."""
    lanes = sender_pool().lanes
    if sender != lanes[0].key:
        return Q(sender=sender)
    # WhatsApp rows have their own lane and drain.
    own = [lane.key for lane in lanes] + [channels.whatsapp_lane().key]
    return Q(sender=sender) | ~Q(sender__in=own)


def outbound_drain(
    *,
    broadcast_id: int | None = None,
    limit: int = 1000,
    deadline: float | None = None,
    shard: tuple[int, int] | None = None,
    sender: str | None = None,
) -> int:
    """Send queued messages in id order until none is left, `limit` is reached or `deadline` passes.

    `sender`: only the rows of one lane of the pool, so a drainer waits only for its own number's
    bucket (drainers of several numbers would block each other behind a slow one).
    `shard=(k, n)`: only rows with id % n == k, so n drainers share a broadcast without colliding
    (the claim would keep them safe anyway; sharding keeps them from wasting turns).
    """
    sent = 0
    while sent < limit and (deadline is None or time.monotonic() < deadline):
        now = timezone.now()
        queryset = OutboundMessage.objects.filter(status=OutboundStatus.QUEUED).filter(
            Q(not_before__isnull=True) | Q(not_before__lte=now)
        )
        if broadcast_id is not None:
            queryset = queryset.filter(broadcast_id=broadcast_id)
        if sender is not None:
            queryset = queryset.filter(_lane_rows(sender))
        if shard is not None and shard[1] > 1:
            queryset = queryset.alias(shard_key=Mod("id", shard[1])).filter(shard_key=shard[0])
        rows = list(queryset.order_by("id").values_list("id", "sender", "to", "segments")[: min(200, limit - sent)])
        if not rows:
            break
        for message_id, sender_key, to, segments in rows:
            if deadline is not None and time.monotonic() >= deadline:
                break
            if outbound_send(message_id=message_id, checked=(sender_key, to, segments)) != "skipped":
                sent += 1
    return sent
