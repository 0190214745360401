"""Writes of the accounts app: coordinator scopes and volunteers' magic links.

Scopes decide which places' threads and boards a coordinator may watch, so every change tells the
coordinator's open sockets after commit (`membership.changed` on `threads.user.<id>`): they
re-check and close what the new scope no longer covers.

Magic links: a link is PUBLIC_BASE_URL + "/" + a random key of 22 base-62 characters (131 bits):
a path of 23 characters, so the SMS keeps its room for the school's full name. Only the key's
SHA-256 is stored (`ShortLink`), mapped to the volunteer's own user (created on demand, with no
usable password); a link expires after MAGIC_LINK_MAX_AGE and a coordinator can revoke them all.
"""

import secrets
import string
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Role, User
from backend.core.bulk import bulk_insert
from backend.core.exceptions import ApplicationError
from backend.core.live import MEMBERSHIP_CHANGED, THREAD_MEMBERS_GROUP, live_send, membership_changed, user_group
from backend.permissions import Action, require
from backend.volunteers.services import volunteer_user_link, volunteers_user_link_by_username

from .errors import PortalErrorCode
from .models import CoordinatorScope, ShortLink, link_key_hash

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
        volunteer_user_link(volunteer=volunteer, user=user)
    return user


KEY_ALPHABET = string.ascii_letters + string.digits
KEY_LENGTH = 22  # 22 * log2(62) = 131 bits


def link_key_new() -> str:
    return "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_LENGTH))


def link_url(key: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}/{key}"


def _expiry():
    return timezone.now() + timedelta(seconds=settings.MAGIC_LINK_MAX_AGE)


def _link_for(*, volunteer_id: int, user_id: int) -> str:
    key = link_key_new()
    ShortLink.objects.create(
        key_hash=link_key_hash(key), volunteer_id=volunteer_id, user_id=user_id, expires_at=_expiry()
    )
    return link_url(key)


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
    user = volunteer_user_ensure(volunteer=volunteer)
    return _link_for(volunteer_id=volunteer.pk, user_id=user.pk)


def magic_links_revoke(*, volunteer, actor) -> int:
    """Revoke every link of `volunteer` and end the sessions they opened. Called by the console.

    A coordinator whose scope covers the volunteer (or a lead) may do it: a phone was lost, a
    link was forwarded. The user's unusable password is renewed, which changes the session hash
    Django checks on each request, so browsers already signed in by a link are signed out.
    """
    require(actor, Action.CHANGE, volunteer)
    now = timezone.now()
    with transaction.atomic():
        revoked = ShortLink.objects.filter(volunteer=volunteer, revoked_at__isnull=True).update(
            revoked_at=now, revoked_by=actor
        )
        if volunteer.user_id is not None:
            User.objects.filter(pk=volunteer.user_id).update(password=make_password(None))
    return revoked


def magic_links_bulk(*, volunteers: list[dict]) -> dict[int, str]:
    """Links for many volunteers at once (broadcasts with {link}); missing users are bulk-created.

    `volunteers` are rows with id, first_name, last_name and user_id (no model instances: a
    national broadcast mints 100,000 links, one ShortLink row each, inserted in bulk). Not
    rate-limited per person: a broadcast is already gated by scope and, when large, by a lead's
    approval.
    """
    missing = [v for v in volunteers if v["user_id"] is None]
    user_ids = {v["id"]: v["user_id"] for v in volunteers}
    if missing:
        with transaction.atomic():
            names = {v["id"]: f"fiscal-{v['id']}" for v in missing}
            found = dict(User.objects.filter(username__in=names.values()).values_list("username", "pk"))
            password = make_password(None)
            fresh = [v for v in missing if names[v["id"]] not in found]
            bulk_insert(
                User,
                [
                    {
                        "username": names[v["id"]],
                        "role": Role.VOLUNTEER.value,
                        "first_name": (v["first_name"] or "")[:150],
                        "last_name": (v["last_name"] or "")[:150],
                        "password": password,
                    }
                    for v in fresh
                ],
            )
            if fresh:
                created = dict(
                    User.objects.filter(username__in=[names[v["id"]] for v in fresh]).values_list("username", "pk")
                )
                found.update(created)
            for volunteer_id, username in names.items():
                user_ids[volunteer_id] = found[username]
            volunteers_user_link_by_username(volunteer_ids=list(names), prefix="fiscal-")
    expires_at = _expiry()
    keys = {volunteer_id: link_key_new() for volunteer_id in user_ids}
    bulk_insert(
        ShortLink,
        [
            {
                "key_hash": link_key_hash(keys[volunteer_id]),
                "volunteer_id": volunteer_id,
                "user_id": user_id,
                "expires_at": expires_at,
            }
            for volunteer_id, user_id in user_ids.items()
        ],
    )
    return {volunteer_id: link_url(key) for volunteer_id, key in keys.items()}


# --- Coordinator scopes ---------------------------------------------------------------------------


def _scope_changed(user_id: int) -> None:
    live_send(user_group(user_id), MEMBERSHIP_CHANGED)  # the console's sockets
    live_send(THREAD_MEMBERS_GROUP, membership_changed(user_id=user_id))  # the thread sockets


def coordinator_scope_add(*, user, area, actor=None) -> CoordinatorScope:
    """Give `user` the subtree under `area`; their open sockets re-check after commit."""
    try:
        with transaction.atomic():
            scope = CoordinatorScope.objects.create(user=user, area=area)
            _scope_changed(user.pk)
    except IntegrityError as exc:
        raise ApplicationError(
            _("%(user)s ya coordina %(area)s.") % {"user": user, "area": area}, code="scope_exists"
        ) from exc
    return scope


def coordinator_scope_change(*, scope: CoordinatorScope, area, actor=None) -> CoordinatorScope:
    """Move a scope to another area (narrow or widen it); the coordinator's open sockets re-check."""
    if scope.area_id == area.pk:
        return scope
    try:
        with transaction.atomic():
            scope.area = area
            scope.save(update_fields=["area"])
            _scope_changed(scope.user_id)
    except IntegrityError as exc:
        raise ApplicationError(
            _("%(user)s ya coordina %(area)s.") % {"user": scope.user, "area": area}, code="scope_exists"
        ) from exc
    return scope


def coordinator_scope_remove(*, scope: CoordinatorScope, actor=None) -> None:
    """Take a subtree away; the coordinator's sockets of places it covered close after commit."""
    with transaction.atomic():
        user_id = scope.user_id
        scope.delete()
        _scope_changed(user_id)
