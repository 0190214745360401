"""Writes of the accounts app: coordinator scopes and volunteers' magic links.

Scopes decide which places' threads and boards a coordinator may watch, so every change tells the
coordinator's open sockets after commit (`membership.changed` on `threads.user.<id>`): they
re-check and close what the new scope no longer covers.

Magic links are a password-less way into "Mi asignación" for a volunteer: django-sesame v2 tokens
(the user's primary key, a timestamp and a 128-bit keyed BLAKE2 signature). Nothing is stored: the
signature is checked against the server's secret, so there is no token table to leak; tokens
expire after SESAME_MAX_AGE and are bound to the volunteer's own user (created on demand, with no
usable password).
"""

from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from sesame.utils import get_token

from backend.accounts.models import Role, User
from backend.core.bulk import bulk_insert
from backend.core.exceptions import ApplicationError
from backend.core.live import MEMBERSHIP_CHANGED, live_send, user_group
from backend.volunteers.services import volunteer_user_link, volunteers_user_link_by_username

from .errors import PortalErrorCode
from .models import CoordinatorScope

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


def magic_links_bulk(*, volunteers: list[dict]) -> dict[int, str]:
    """Links for many volunteers at once (broadcasts with {link}); missing users are bulk-created.

    `volunteers` are rows with id, first_name, last_name, user_id and, when they have one, their
    user's password hash as user__password (no model instances: a
    national broadcast mints 100,000 links). Not rate-limited per person: a broadcast is already
    gated by scope and, when large, by a lead's approval.
    """
    missing = [v for v in volunteers if v["user_id"] is None]
    user_ids = {v["id"]: v["user_id"] for v in volunteers}
    passwords: dict[int, str] = {}
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
                passwords.update(dict.fromkeys(created.values(), password))
                found.update(created)
            for volunteer_id, username in names.items():
                user_ids[volunteer_id] = found[username]
            volunteers_user_link_by_username(volunteer_ids=list(names), prefix="fiscal-")
    passwords.update({v["user_id"]: v["user__password"] for v in volunteers if v.get("user__password")})
    unknown = [user_id for user_id in user_ids.values() if user_id not in passwords]
    if unknown:
        passwords.update(User.objects.filter(pk__in=unknown).values_list("pk", "password"))
    return {
        volunteer_id: _link_for(SimpleNamespace(pk=user_id, password=passwords[user_id]))
        for volunteer_id, user_id in user_ids.items()
    }


# --- Coordinator scopes ---------------------------------------------------------------------------


def _scope_changed(user_id: int) -> None:
    live_send(user_group(user_id), MEMBERSHIP_CHANGED)


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
