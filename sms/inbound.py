"""Receiving texts: store first, then act once per MessageSid; never lose one to an error.

The row is written before anything else, already claimed by the request that wrote it (a retry
of a row left failed, or stale in "processing", claims it with a conditional UPDATE); it fetches
any MMS photos (outside the transaction: it is network), then acts and records the reply in one
transaction. An error rolls the action back and marks the row failed with the error, and the
volunteer gets a short apology instead of a 500; a retry of the same SID by Twilio processes a
failed row again (it changed nothing) and answers a processed one with its stored reply.
"""

import logging
import traceback
from contextlib import nullcontext
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError
from backend.core.rows import row_insert, row_update, transaction_not_begun
from backend.core.text import clean_text
from backend.messaging import channels
from backend.messaging.models import InboundMessage, InboundStatus, TemplateKind
from backend.messaging.texts import render_kind
from backend.volunteers.services import volunteer_whatsapp_seen

from .client import MediaError, media_fetch
from .commands import inbound_command, volunteer_for_phone

logger = logging.getLogger(__name__)

# A row left in "processing" this long (its worker died) may be taken again by a retry.
STALE_CLAIM = timedelta(minutes=2)
BODY_MAX_LENGTH = 1600


def inbound_receive(*, params: dict) -> str:
    """Store one inbound SMS or WhatsApp message and act on it; returns the reply text ("" for none).

    Called by the signed webhook (and, through it, by the development page). A WhatsApp message
    (From=whatsapp:+549...) is the same text from the same volunteer; it also opens WhatsApp's
    24-hour window for free text to them.
    """
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    if not sid:
        raise ApplicationError(_("Falta MessageSid."), code="missing_sid")
    # Twilio joins long texts up to 1,600 characters; anything else it sends is kept, cleaned and bounded.
    params = {
        key: clean_text(value, max_length=BODY_MAX_LENGTH, multiline=True, truncate=True)
        for key, value in params.items()
    }
    from_number = params.get("From", "")
    channel, phone = channels.phone_of(from_number)
    volunteer = volunteer_for_phone(phone)
    # An SMS's row is one INSERT: no transaction of its own (BEGIN and COMMIT are two round trips per
    # text); inside a caller's transaction the savepoint lets a repeated SID roll back alone.
    atomic = channel == channels.WHATSAPP or transaction.get_connection().in_atomic_block
    try:
        with transaction.atomic() if atomic else nullcontext():
            # Stored already claimed by this request (the claim of `inbound_process`, without its
            # three queries): a retry of the SID finds it processing, or failed, or processed.
            message = InboundMessage(
                sid=sid[:64],
                from_number=from_number[:32],
                to_number=params.get("To", "")[:32],
                body=params.get("Body", "") or "",
                volunteer=volunteer,
                params=params,
                media_count=_media_count(params),
                channel=channel,
                status=InboundStatus.PROCESSING,
                claimed_at=timezone.now(),
                attempts=1,
            )
            row_insert(message)
            if volunteer is not None and channel == channels.WHATSAPP:
                volunteer_whatsapp_seen(volunteer_id=volunteer.pk)
    except IntegrityError:
        message = InboundMessage.objects.get(sid=sid[:64])
        if message.status == InboundStatus.PROCESSED:
            return message.reply
        return inbound_process(message_id=message.pk)
    return _process(message)


def _media_count(params: dict) -> int:
    value = str(params.get("NumMedia") or "0")
    return min(int(value), 99) if value.isdigit() else 0


def inbound_process(*, message_id: int) -> str:
    """Process one stored inbound row, once. Returns the reply ("" when another request has it)."""
    now = timezone.now()
    claimable = InboundMessage.objects.filter(pk=message_id).filter(
        status__in=[InboundStatus.RECEIVED, InboundStatus.FAILED]
    ) | InboundMessage.objects.filter(pk=message_id, status=InboundStatus.PROCESSING, claimed_at__lt=now - STALE_CLAIM)
    # The claim: of two concurrent deliveries of one SID only one gets past here.
    if not InboundMessage.objects.filter(pk__in=claimable.values("pk")).update(
        status=InboundStatus.PROCESSING, claimed_at=now
    ):
        return ""
    message = InboundMessage.objects.select_related("volunteer__user").get(pk=message_id)
    InboundMessage.objects.filter(pk=message_id).update(attempts=message.attempts + 1)
    return _process(message)


def _process(message: InboundMessage) -> str:
    """Act on a row this request has claimed, and record the outcome on it."""
    message_id = message.pk
    try:
        attachments, refused = _photos(message)
        with transaction.atomic():
            if refused and not attachments and not message.body.strip():
                reply_text, label = render_kind(TemplateKind.MEDIA_REFUSED, {"texto": refused}).body, "media"
            else:
                reply = inbound_command(
                    volunteer=message.volunteer, body=message.body, params=message.params, attachments=attachments
                )
                reply_text, label = reply.text, reply.keyword
            # After a command that sent no statement (the help text, an unknown sender's text) the outcome
            # goes after the still empty transaction, alone: one statement instead of BEGIN, UPDATE, COMMIT.
            alone = transaction_not_begun()
            if not alone:
                _processed(message_id, label=label, reply_text=reply_text)
        if alone:
            _processed(message_id, label=label, reply_text=reply_text)
        return reply_text
    except Exception as exc:
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        logger.error("inbound message %s failed: %s", message_id, type(exc).__name__)
        opted_out = message.volunteer is not None and message.volunteer.opted_out
        reply_text = "" if opted_out else render_kind(TemplateKind.INBOUND_FAILED, {}).body
        row_update(InboundMessage, message_id, status=InboundStatus.FAILED, error=error[:2000], reply=reply_text)
        return reply_text


def _processed(message_id: int, *, label: str, reply_text: str) -> None:
    row_update(
        InboundMessage,
        message_id,
        status=InboundStatus.PROCESSED,
        handled_at=timezone.now(),
        keyword=label[:16],
        reply=reply_text,
        error="",
    )


def _photos(message: InboundMessage) -> tuple[list[tuple[str, bytes]], str]:
    """The MMS photos of `message` (content type, bytes), and why any was refused ("" if none)."""
    photos: list[tuple[str, bytes]] = []
    refused = ""
    for index in range(min(message.media_count, settings.SMS_MEDIA_MAX_PER_MESSAGE)):
        url = str(message.params.get(f"MediaUrl{index}") or "")
        if not url:
            continue
        try:
            photos.append(media_fetch(url=url, max_bytes=settings.SMS_MEDIA_MAX_BYTES))
        except MediaError as exc:
            refused = exc.message
    return photos, refused
