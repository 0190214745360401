"""Magic links: a password-less way into "Mi asignación" for a volunteer.

Tokens are django-sesame v2 tokens: the user's primary key, a timestamp and a 128-bit keyed
BLAKE2 signature (SESAME_SIGNATURE_SIZE = 16). Nothing is stored: the signature is checked against
the server's secret, so there is no token table to leak; tokens expire after SESAME_MAX_AGE and
are bound to the volunteer's own user (created on demand, with no usable password).
"""

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from sesame.utils import get_token

from backend.accounts.models import Role, User
from backend.core.exceptions import ApplicationError

from .errors import PortalErrorCode

SCOPE = "portal"


def _username(volunteer) -> str:
    return f"fiscal-{volunteer.pk}"


def volunteer_user_ensure(*, volunteer) -> User:
    """The volunteer's login user, created on demand (no usable password: links only)."""
    if volunteer.user_id is not None:
        return volunteer.user
    with transaction.atomic():
        user, _created = User.objects.get_or_create(
            username=_username(volunteer),
            defaults={
                "role": Role.VOLUNTEER,
                "first_name": volunteer.first_name[:150],
                "last_name": volunteer.last_name[:150],
                "password": make_password(None),
            },
        )
        volunteer.user = user
        volunteer.save(update_fields=["user", "updated_at"])
    return user


def _link_for(user) -> str:
    return f"{settings.PUBLIC_BASE_URL}/a/{get_token(user, scope=SCOPE)}"


def magic_link_issue(*, volunteer) -> str:
    """A link that logs `volunteer` in. Called by SMS texts (MESA, notices) and the console.

    Rate-limited per volunteer (MAGIC_LINK_RATE_PER_HOUR): a flood of MESA texts or clicks on
    "send link" cannot mint tokens without end.
    """
    window = timezone.now().strftime("%Y%m%d%H")
    key = f"portal:links:{volunteer.pk}:{window}"
    cache.add(key, 0, timeout=3600)
    try:
        issued = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=3600)
        issued = 1
    if issued > settings.MAGIC_LINK_RATE_PER_HOUR:
        raise ApplicationError(
            _("Se pidieron demasiados enlaces; probá de nuevo en una hora."), code=PortalErrorCode.LINK_RATE_LIMITED
        )
    return _link_for(volunteer_user_ensure(volunteer=volunteer))


def magic_links_bulk(*, volunteers) -> dict[int, str]:
    """Links for many volunteers at once (broadcasts with {link}): missing users are bulk-created.

    Not rate-limited per person: a broadcast is already gated by scope and, when large, approval.
    """
    volunteers = list(volunteers)
    missing = [v for v in volunteers if v.user_id is None]
    if missing:
        with transaction.atomic():
            password = make_password(None)
            User.objects.bulk_create(
                [
                    User(
                        username=_username(v),
                        role=Role.VOLUNTEER,
                        first_name=v.first_name[:150],
                        last_name=v.last_name[:150],
                        password=password,
                    )
                    for v in missing
                ],
                batch_size=1000,
                ignore_conflicts=True,
            )
            users = User.objects.in_bulk([_username(v) for v in missing], field_name="username")
            for v in missing:
                v.user = users[_username(v)]
            type(missing[0]).objects.bulk_update(missing, ["user"], batch_size=1000)
    users_by_id = User.objects.in_bulk([v.user_id for v in volunteers])
    return {v.pk: _link_for(users_by_id[v.user_id]) for v in volunteers}
