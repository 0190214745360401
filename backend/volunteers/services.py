"""Writes on volunteers that the SMS side needs: the phone verified, or refused by its owner."""

from django.utils import timezone

from .models import Volunteer


def volunteer_phone_verify(*, volunteer: Volunteer) -> Volunteer:
    """The person answered SI from a number completed with a guessed area code: it is theirs.

    Called by the inbound SMS handler; nothing else happens after commit (the reply carries the
    assignment).
    """
    Volunteer.objects.filter(pk=volunteer.pk).update(phone_verified=True, updated_at=timezone.now())
    volunteer.phone_verified = True
    return volunteer


def volunteer_phone_refuse(*, volunteer: Volunteer) -> Volunteer:
    """Whoever holds a guessed number said it is not a volunteer's: nothing more is sent to it.

    Called by the inbound SMS handler. The number stays unverified and the volunteer is marked
    opted out, so no text reaches that stranger; the console lists them for a coordinator to fix.
    """
    Volunteer.objects.filter(pk=volunteer.pk).update(opted_out=True, updated_at=timezone.now())
    volunteer.opted_out = True
    return volunteer
