"""Admin for volunteers: search by name, DNI (with or without dots) and phone (any format)."""

import re

from django import forms
from django.contrib import admin
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import Role
from backend.assignments.models import Assignment
from backend.core.admin import ReadOnlyInline, ScopedAdmin, subtree_filter
from backend.core.exceptions import ApplicationError
from backend.core.text import clean_text
from backend.permissions import role_of

from . import services
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
    """Checks the changed values with the same rules `volunteer_update` applies (any phone notation).

    Names and free text typed here first get the same cleaning as imported cells (controls out, NFC).
    """

    LINES = {"notes"}

    class Meta:
        model = Volunteer
        # The admin's fieldsets choose what is shown; the form knows every editable field.
        exclude: list[str] = []

    def clean(self):
        cleaned = super().clean()
        for name in ("first_name", "last_name", "address", "notes", "excluded_reason"):
            value = cleaned.get(name)
            if isinstance(value, str):
                cleaned[name] = clean_text(value, max_length=len(value), multiline=name in self.LINES).strip()
        changes = {n: cleaned[n] for n in self.changed_data if n in services.EDITABLE_FIELDS and n in cleaned}
        try:
            values = services.volunteer_changes_clean(volunteer=self.instance, changes=changes)
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None
        cleaned.update({n: v for n, v in values.items() if n in cleaned})
        return cleaned


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

    def save_model(self, request, obj, form, change):
        """Every change goes through the volunteer services, so the admin leaves the same audit rows."""
        if not change:
            values = {n: getattr(obj, n) for n in form.cleaned_data if n not in {"dni", "id"} and hasattr(obj, n)}
            created = services.volunteer_create(actor=request.user, source="admin", dni=obj.dni, **values)
            obj.pk = created.pk
            return
        edits = {n: form.cleaned_data[n] for n in form.changed_data if n in services.EDITABLE_FIELDS}
        if edits:
            services.volunteer_update(volunteer=obj, actor=request.user, source="admin", **edits)
        if "opted_out" in form.changed_data:
            toggle = services.volunteer_opt_out if obj.opted_out else services.volunteer_opt_in
            toggle(volunteer_id=obj.pk, actor=request.user, source="admin")
        if "user" in form.changed_data:
            services.volunteer_user_link(volunteer=Volunteer.objects.get(pk=obj.pk), user=obj.user)

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
