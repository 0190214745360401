"""Reads of the messaging domain: what a volunteer was sent and sent back, the broadcasts a user sees."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from backend.accounts.models import Role
from backend.permissions import role_of

from .models import Broadcast, InboundMessage, OutboundMessage


def broadcast_can_view(user, broadcast: Broadcast) -> bool:
    """Leads see every broadcast; a coordinator sees the ones they wrote."""
    role = role_of(user)
    return role == Role.LEAD or (role == Role.COORDINATOR and broadcast.created_by_id == user.pk)


def broadcast_can_approve(user) -> bool:
    """Only a lead approves a broadcast that waits for approval."""
    return role_of(user) == Role.LEAD


def broadcast_list_visible_to(*, user, election, limit: int = 20) -> QuerySet[Broadcast]:
    """The election's broadcasts `user` may open (as `broadcast_can_view`), newest first."""
    rows = Broadcast.objects.filter(election=election).select_related("created_by").order_by("-created_at", "-id")
    role = role_of(user)
    if role == Role.COORDINATOR:
        rows = rows.filter(created_by=user)
    elif role != Role.LEAD:
        rows = rows.none()
    return rows[:limit]


@dataclass
class MessageLine:
    direction: str  # "out" or "in"
    body: str
    status: str
    created_at: datetime


def message_list_for_volunteer(*, volunteer, limit: int = 50) -> list[MessageLine]:
    """SMS sent to and received from a volunteer, newest first."""
    sent = [
        MessageLine("out", m.body, m.get_status_display(), m.created_at)
        for m in OutboundMessage.objects.filter(volunteer=volunteer).order_by("-created_at", "-id")[:limit]
    ]
    received = [
        MessageLine("in", m.body, m.keyword, m.received_at)
        for m in InboundMessage.objects.filter(volunteer=volunteer).order_by("-received_at", "-id")[:limit]
    ]
    return sorted(sent + received, key=lambda line: line.created_at, reverse=True)[:limit]
