"""Writes on coordinator scopes: add, change, remove. Called by the admin (and any future screen).

A scope decides which places' threads and boards a coordinator may watch, so every change tells
the coordinator's open sockets after commit (`membership.changed` on `threads.user.<id>`): they
re-check and close what the new scope no longer covers.
"""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError
from backend.core.live import MEMBERSHIP_CHANGED, live_send, user_group

from .models import CoordinatorScope


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
