"""Admin for volunteers: search by name, DNI (with or without dots) and phone (any format)."""

import re

from django import forms
from django.contrib import admin
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import Role
from backend.assignments.models import Assignment
from backend.core.admin import ReadOnlyInline, ScopedAdmin, subtree_filter
from backend.core.text import clean_text
from backend.permissions import role_of

from .models import Volunteer

_NON_DIGITS = re.compile(r"\D+")


_ASSIGNMENT_FIELDS = ("election", "place", "table", "role", "status", "locked", "status_changed_at")


class AssignmentInline(ReadOnlyInline):
    model = Assignment
    fk_name = "volunteer"
    fields = _ASSIGNMENT_FIELDS
    readonly_fields = _ASSIGNMENT_FIELDS
    show_change_link = True
    verbose_name_plural = _("asignaciones")


class VolunteerAdminForm(forms.ModelForm):
    """Names and free text typed here get the same cleaning as imported cells (controls out, NFC)."""

    LINES = {"notes"}

    def clean(self):
        data = super().clean()
        for name in ("first_name", "last_name", "address", "notes", "excluded_reason"):
            value = data.get(name)
            if isinstance(value, str):
                data[name] = clean_text(value, max_length=len(value), multiline=name in self.LINES).strip()
        return data


@admin.register(Volunteer)
class VolunteerAdmin(ScopedAdmin):
    form = VolunteerAdminForm
    coordinator_rights = frozenset({"view", "add", "change"})
    list_display = ["last_name", "first_name", "dni", "phone", "area", "availability", "trained", "opted_out"]
    list_filter = [
        subtree_filter("area__path"),
        "availability",
        "roles_accepted",
        "trained",
        "opted_out",
        "excluded",
    ]
    search_fields = ["last_name", "first_name", "dni", "phone", "email"]
    search_help_text = _("Nombre, apellido, DNI (con o sin puntos), celular o email.")
    autocomplete_fields = ["area", "votes_at", "user"]
    list_select_related = ["area"]
    readonly_fields = ["votes_at_score", "last_seen_web_at", "created_at", "updated_at"]
    inlines = [AssignmentInline]
    fieldsets = (
        (None, {"fields": ("dni", "first_name", "last_name", "phone", "email")}),
        (_("Dónde"), {"fields": ("address", "latitude", "longitude", "area", "votes_at", "votes_at_score")}),
        (_("Disponibilidad"), {"fields": ("availability", "roles_accepted", "trained", "tags", "notes")}),
        (_("Estado"), {"fields": ("opted_out", "excluded", "excluded_reason", "user", "last_seen_web_at")}),
        (_("Fechas"), {"fields": ("created_at", "updated_at")}),
    )

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        # Linking a login account is a lead's job; a coordinator cannot even list accounts.
        if role_of(request.user) != Role.LEAD:
            fields.append("user")
        return fields

    def get_search_results(self, request, queryset, search_term):
        filtered, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # "20.123.456" or "351 500-0001": people type DNIs with dots and phones with spaces.
        digits = _NON_DIGITS.sub("", search_term)
        if len(digits) >= 6 and digits != search_term.strip():
            filtered |= queryset.filter(Q(dni=digits) | Q(phone__endswith=digits))
        return filtered, may_have_duplicates
