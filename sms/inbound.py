"""Receiving texts: store first, then act once per MessageSid."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError
from backend.core.text import clean_text
from backend.messaging.models import InboundMessage

from .commands import inbound_command, volunteer_for_phone

BODY_MAX_LENGTH = 1600


def inbound_receive(*, params: dict) -> str:
    """Store one inbound SMS and act on it; returns the reply text ("" for none).

    Called by the signed webhook (and, through it, by the development page). The same
    MessageSid again returns the stored reply and acts on nothing.
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
    volunteer = volunteer_for_phone(from_number)
    try:
        with transaction.atomic():
            message = InboundMessage.objects.create(
                sid=sid[:64],
                from_number=from_number[:32],
                to_number=params.get("To", "")[:32],
                body=params.get("Body", ""),
                volunteer=volunteer,
                params=params,
            )
    except IntegrityError:
        return InboundMessage.objects.filter(sid=sid).values_list("reply", flat=True).first() or ""
    with transaction.atomic():
        # Only the first request for this SID acts, even if Twilio retried it concurrently.
        if not InboundMessage.objects.filter(pk=message.pk, handled_at__isnull=True).update(handled_at=timezone.now()):
            return ""
        reply = inbound_command(volunteer=volunteer, body=message.body, params=params)
        InboundMessage.objects.filter(pk=message.pk).update(keyword=reply.keyword, reply=reply.text)
    return reply.text
