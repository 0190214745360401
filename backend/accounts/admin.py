"""Admin for users and their coordinator scopes: leads manage coordinators here."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from backend.core.admin import ScopedAdmin

from .models import CoordinatorScope, User
from .services import coordinator_scope_add, coordinator_scope_change, coordinator_scope_remove


class CoordinatorScopeInline(admin.TabularInline):
    model = CoordinatorScope
    extra = 1
    autocomplete_fields = ["area"]
    fields = ["area", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(User)
class UserAdmin(ScopedAdmin, DjangoUserAdmin):
    coordinator_rights = frozenset()
    list_display = ["username", "first_name", "last_name", "role", "phone", "is_active", "is_staff", "last_login"]
    list_filter = ["role", "is_active", "is_staff", "scopes__area__election"]
    search_fields = ["username", "first_name", "last_name", "email", "phone"]
    ordering = ["username"]
    inlines = [CoordinatorScopeInline]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Datos personales"), {"fields": ("first_name", "last_name", "email", "phone", "language")}),
        (_("Rol y acceso"), {"fields": ("role", "is_active", "is_staff", "is_superuser", "groups")}),
        (_("Fechas"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "role", "usable_password", "password1", "password2")}),
    )
    readonly_fields = ["last_login", "date_joined"]

    def save_formset(self, request, form, formset, change):
        """Scopes go through their services, so the coordinator's open sockets hear of every change."""
        if formset.model is not CoordinatorScope:
            return super().save_formset(request, form, formset, change)
        instances = formset.save(commit=False)
        for scope in formset.deleted_objects:
            coordinator_scope_remove(scope=scope, actor=request.user)
        for scope in instances:
            if scope.pk is None:
                coordinator_scope_add(user=form.instance, area=scope.area, actor=request.user)
            else:
                original = CoordinatorScope.objects.get(pk=scope.pk)
                coordinator_scope_change(scope=original, area=scope.area, actor=request.user)
        formset.save_m2m()
