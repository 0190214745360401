"""Writes on station threads."""

from django.db import transaction
from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError

from .models import MESSAGE_MAX_LENGTH, Message, Thread


def thread_get_or_create(*, place) -> Thread:
    thread, _created = Thread.objects.get_or_create(place=place, defaults={"election_id": place.election_id})
    return thread


def message_post(
    *, thread: Thread, body: str, source: str, author_user=None, author_volunteer=None, announcement: bool = False
) -> Message:
    """Store a message in a station thread. Callers check membership with the permission module."""
    body = (body or "").strip()
    if not body:
        raise ApplicationError(_("El mensaje está vacío."), code="empty_message")
    if len(body) > MESSAGE_MAX_LENGTH:
        raise ApplicationError(
            _("El mensaje supera los %(max)s caracteres.") % {"max": MESSAGE_MAX_LENGTH}, code="message_too_long"
        )
    with transaction.atomic():
        return Message.objects.create(
            thread=thread,
            body=body,
            source=source,
            author_user=author_user,
            author_volunteer=author_volunteer,
            announcement=announcement,
        )


def message_post_from_sms(*, volunteer, body: str):
    """Free text from an assigned volunteer's phone goes to their station's thread.

    Called by the inbound SMS handler. Returns the stored message, or None when the volunteer has
    no active assignment (the caller then answers with help text).
    """
    from backend.assignments.selectors import assignment_get_active_for_volunteer

    assignment = assignment_get_active_for_volunteer(volunteer=volunteer)
    if assignment is None:
        return None
    thread = thread_get_or_create(place=assignment.place)
    return message_post(thread=thread, body=body[:MESSAGE_MAX_LENGTH], source="sms", author_volunteer=volunteer)
