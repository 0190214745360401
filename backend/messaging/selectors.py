"""Reads of the messaging domain: what a volunteer was sent and sent back."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Sum

from .models import InboundMessage, OutboundMessage, OutboundStatus, keyword_label


@dataclass
class MessageLine:
    direction: str  # "out" or "in"
    body: str
    status: str
    created_at: datetime
    channel: str  # "SMS" or "WhatsApp", in the page's language
    # An SMS that carried a failed WhatsApp message again says so: the coordinator sees both.
    resend_of_whatsapp: bool = False


def message_list_for_volunteer(*, volunteer, limit: int = 50) -> list[MessageLine]:
    """Messages (SMS and WhatsApp) sent to and received from a volunteer, newest first."""
    sent = [
        MessageLine(
            "out",
            m.body,
            m.get_status_display(),
            m.created_at,
            m.get_channel_display(),
            resend_of_whatsapp=m.fallback_of_id is not None,
        )
        for m in OutboundMessage.objects.filter(volunteer=volunteer).order_by("-created_at", "-id")[:limit]
    ]
    received = [
        MessageLine("in", m.body, keyword_label(m.keyword), m.received_at, m.get_channel_display())
        for m in InboundMessage.objects.filter(volunteer=volunteer).order_by("-received_at", "-id")[:limit]
    ]
    return sorted(sent + received, key=lambda line: line.created_at, reverse=True)[:limit]


def queued_segments() -> int:
    """Segments waiting to leave the sender pool (queued, or being handed to Twilio)."""
    waiting = OutboundMessage.objects.filter(status__in=(OutboundStatus.QUEUED, OutboundStatus.SENDING))
    return int(waiting.aggregate(n=Sum("segments"))["n"] or 0)
