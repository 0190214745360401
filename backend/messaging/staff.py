"""Messages to staff (coordinators, leads) through the same outbox as every SMS to volunteers.

A coordinator is a User with a phone, not a Volunteer: the message is stored as an
OutboundMessage without a volunteer and sent by the same send task (rate limit, retries, status
callbacks, reconciliation), queued after commit. Nothing here talks to Twilio.
"""

from django.db import transaction

from backend.core.jobs import task_queue
from backend.core.phones import normalize_phone
from backend.core.text import clean_text

from .encoding import segment_info
from .models import OutboundMessage, TemplateKind
from .senders import sender_pool

STAFF_SMS_MAX = 480  # three segments at most: an alert, not a letter


def staff_sms_queue(*, user, text: str) -> OutboundMessage | None:
    """Queue `text` to `user`'s phone; None when they have no usable phone (nothing to send to)."""
    phone = normalize_phone(getattr(user, "phone", "") or "").e164
    if not phone or not getattr(user, "is_active", False):
        return None
    body = clean_text(text, max_length=STAFF_SMS_MAX, multiline=True, truncate=True).strip()
    if not body:
        return None
    info = segment_info(body)
    message = OutboundMessage.objects.create(
        volunteer=None,
        to=phone,
        body=body,
        kind=TemplateKind.STAFF_ALERT,
        segments=info.segments,
        encoding=info.encoding,
        sender=sender_pool().lane_for(phone).key,
    )
    transaction.on_commit(lambda: task_queue("sms.send_outbound", message.pk))
    return message
