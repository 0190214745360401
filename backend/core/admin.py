"""Admin building blocks shared by the domain apps: scoping by role and an area-subtree filter.

Coordinators are staff users, but they hold no Django model permissions: what they may see and do
in the admin comes from their role and scopes through `backend.permissions`, exactly as
in the API. Leads (and superusers) see everything.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import Role
from backend.elections.models import Area
from backend.permissions import Action, can, role_of, visible


class ScopedAdmin(admin.ModelAdmin):
    """A ModelAdmin whose rows and rights follow the permission module.

    `coordinator_rights` lists what a coordinator may do here ("view", "add", "change",
    "delete"); "change" and "delete" are further checked per object with `can()`.
    `lead_rights` does the same for leads (audit rows are read-only even for them).
    """

    coordinator_rights: frozenset[str] = frozenset({"view"})
    lead_rights: frozenset[str] = frozenset({"view", "add", "change", "delete"})
    list_per_page = 50
    show_full_result_count = False  # a COUNT(*) over a national roster on every page is not free

    def _rights(self, request: HttpRequest) -> frozenset[str]:
        role = role_of(request.user)
        if role == Role.LEAD:
            return self.lead_rights
        if role == Role.COORDINATOR and request.user.is_staff:
            return self.coordinator_rights
        return frozenset()

    def _object_allowed(self, request: HttpRequest, obj: Model | None, action: Action) -> bool:
        if obj is None or role_of(request.user) == Role.LEAD:
            return True
        return can(request.user, action, self._object_target(obj))

    def _object_target(self, obj: Model) -> Model:
        """The object the permission module judges (a message is judged by its thread)."""
        return obj

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(self._rights(request))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Objects outside the user's scope never reach here: get_object() reads get_queryset().
        return "view" in self._rights(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return "add" in self._rights(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return "change" in self._rights(request) and self._object_allowed(request, obj, Action.CHANGE)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return "delete" in self._rights(request) and self._object_allowed(request, obj, Action.CHANGE)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return visible(request.user, super().get_queryset(request))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Choices (and what a coordinator may submit) are limited to what they can see, not only
        # what the autocomplete widget offers.
        if "queryset" not in kwargs and role_of(request.user) != Role.LEAD:
            kwargs["queryset"] = visible(request.user, db_field.remote_field.model._default_manager.all())
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReadOnlyInline(admin.TabularInline):
    """An inline of audit rows: shown, never added, changed or deleted."""

    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AreaSubtreeFilter(admin.SimpleListFilter):
    """Filter by a district or department (the two upper levels), including everything below it.

    A plain related-field filter would list every locality of the country; the subtree filter
    lists the upper levels the user can see and matches by materialised path prefix.
    """

    title = _("área")
    parameter_name = "area_path"
    path_lookup = "area__path"
    max_depth = 1

    def lookups(self, request, model_admin):
        areas = visible(request.user, Area.objects.filter(depth__lte=self.max_depth)).order_by("election_id", "path")
        return [(str(area.pk), ("— " * area.depth) + area.name) for area in areas[:300]]

    def queryset(self, request, queryset):
        if not self.value() or not str(self.value()).isdigit():
            return queryset
        area = Area.objects.filter(pk=self.value()).first()
        if area is None:
            return queryset.none()
        # "area__path" -> "area__election_id": the same geography may repeat in another election.
        election_lookup = self.path_lookup.removesuffix("path") + "election_id"
        return queryset.filter(**{f"{self.path_lookup}__startswith": area.path, election_lookup: area.election_id})


def subtree_filter(path_lookup: str) -> type[AreaSubtreeFilter]:
    """An AreaSubtreeFilter for a model whose area path is reached through `path_lookup`."""
    return type(f"AreaSubtreeFilter_{path_lookup}", (AreaSubtreeFilter,), {"path_lookup": path_lookup})


admin.site.site_header = _("Fiscaliza")
admin.site.site_title = _("Fiscaliza")
admin.site.index_title = _("Administración de la elección")
