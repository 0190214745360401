"""Role-based Django permissions: a lead holds every model permission, as a superuser does.

Coordinators hold none; the admin and the API ask `backend.permissions` for them.
"""

from django.contrib.auth.backends import BaseBackend

from .models import Role


class LeadPermissionBackend(BaseBackend):
    """Authenticates nobody; answers permission questions for active leads."""

    def has_perm(self, user_obj, perm, obj=None):
        return bool(user_obj.is_active and getattr(user_obj, "role", None) == Role.LEAD)

    def has_module_perms(self, user_obj, app_label):
        return bool(user_obj.is_active and getattr(user_obj, "role", None) == Role.LEAD)
