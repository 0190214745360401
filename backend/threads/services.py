"""Writes on station threads."""

from django.db import transaction
from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError

from .models import MESSAGE_MAX_LENGTH, Message, Thread


def thread_get_or_create(*, place) -> Thread:
    thread, _created = Thread.objects.get_or_create(place=place, defaults={"election_id": place.election_id})
    return thread


def message_post(*, thread: Thread, body: str, source: str, author_user=None, author_volunteer=None, announcement: bool = False) -> Message:
    """Store a message in a station thread. Callers check membership with the permission module."""
    body = (body or "").strip()
    if not body:
        raise ApplicationError(_("El mensaje está vacío."), code="empty_message")
    if len(body) > MESSAGE_MAX_LENGTH:
        raise ApplicationError(_("El mensaje supera los %(max)s caracteres.") % {"max": MESSAGE_MAX_LENGTH}, code="message_too_long")
    with transaction.atomic():
        return Message.objects.create(
            thread=thread, body=body, source=source, author_user=author_user, author_volunteer=author_volunteer,
            announcement=announcement,
        )
