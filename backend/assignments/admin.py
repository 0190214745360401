"""Admin for assignments and their audit trail.

Every write goes through `backend.assignments.services`, never through the ORM: the admin is one
more adapter, so a status change here leaves the same AssignmentEvent and notice as one by SMS.
"""

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from backend.core.admin import ReadOnlyInline, ScopedAdmin, subtree_filter
from backend.core.exceptions import ApplicationError
from backend.permissions import Action, can
from backend.tableday.services import watcher_check_in

from . import services
from .models import Assignment, AssignmentEvent, AssignmentStatus, EventSource, Shift

_EVENT_FIELDS = ("created_at", "kind", "from_status", "to_status", "actor", "source", "reason")


class AssignmentEventInline(ReadOnlyInline):
    model = AssignmentEvent
    fields = _EVENT_FIELDS
    readonly_fields = _EVENT_FIELDS
    ordering = ["created_at", "id"]


class AssignmentAddForm(forms.ModelForm):
    """Creating an assignment in the admin calls `assignment_create`, so the rules and the audit
    row are the service's; its ApplicationError becomes a form error instead of a 500."""

    # The whole day unless a shift is chosen (a form posted without the field keeps working).
    shift = forms.ChoiceField(label=_("turno"), choices=Shift.choices, required=False, initial=Shift.DAY)

    class Meta:
        model = Assignment
        fields = ["volunteer", "place", "table", "role", "shift", "locked", "reason"]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            # The admin's add view runs in one transaction: if anything after this fails, the
            # assignment, its event and its notice roll back together.
            self.instance = services.assignment_create(
                volunteer=cleaned["volunteer"],
                place=cleaned["place"],
                table=cleaned.get("table"),
                role=cleaned["role"],
                shift=cleaned.get("shift") or Shift.DAY,
                locked=cleaned.get("locked", False),
                reason=cleaned.get("reason", ""),
                actor=self.request_user,
                source=EventSource.ADMIN,
            )
        except ApplicationError as exc:
            raise forms.ValidationError(str(exc.message), code=exc.code) from exc
        return cleaned

    def _post_clean(self):
        # The service already validated and saved; model validation would re-check our own row.
        pass


@admin.register(Assignment)
class AssignmentAdmin(ScopedAdmin):
    coordinator_rights = frozenset({"view", "add", "change"})
    lead_rights = frozenset({"view", "add", "change"})  # cancel instead of delete: the trail stays
    list_display = ["volunteer", "place", "table", "role", "shift", "status", "locked", "status_changed_at"]
    list_filter = ["election", "status", "role", "shift", "locked", subtree_filter("place__area__path")]
    search_fields = [
        "volunteer__last_name",
        "volunteer__first_name",
        "volunteer__dni",
        "volunteer__phone",
        "place__name",
        "place__code",
    ]
    autocomplete_fields = ["volunteer", "place", "table"]
    list_select_related = ["volunteer", "place", "table"]
    inlines = [AssignmentEventInline]
    actions = ["confirm", "check_in", "mark_no_show", "cancel", "lock", "unlock"]

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = AssignmentAddForm
        form = super().get_form(request, obj, change=change, **kwargs)
        form.request_user = request.user
        return form

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # Status moves by the actions (through the services); only the lock is edited in place.
        return [
            "election",
            "volunteer",
            "place",
            "table",
            "role",
            "slot",
            "shift",
            "status",
            "reason",
            "cost",
            "created_by",
            "created_at",
            "status_changed_at",
        ]

    def get_fields(self, request, obj=None):
        if obj is None:
            return AssignmentAddForm.Meta.fields
        return [*self.get_readonly_fields(request, obj), "locked"]

    def save_model(self, request, obj, form, change):
        if not change:
            return  # created by AssignmentAddForm.clean through the service
        if "locked" in form.changed_data:
            try:
                services.assignment_set_locked(
                    assignment=obj, locked=obj.locked, actor=request.user, source=EventSource.ADMIN
                )
            except ApplicationError as exc:  # a shift stays pinned: say so instead of failing the page
                messages.error(request, str(exc.message))

    def save_related(self, request, form, formsets, change):
        # Events are read-only: nothing related is written from the form.
        pass

    def _apply(self, request, queryset, *, service, done_message: Callable[[int], str], **kwargs):
        done, failed = 0, []
        for assignment in queryset.select_related("volunteer", "place__area"):
            if not can(request.user, Action.CHANGE, assignment):
                failed.append(f"{assignment}: {_('No tenés permiso para hacer esto.')}")
                continue
            try:
                service(assignment=assignment, actor=request.user, source=EventSource.ADMIN, **kwargs)
                done += 1
            except ApplicationError as exc:
                failed.append(f"{assignment}: {exc.message}")
        if done:
            self.message_user(request, done_message(done))
        for line in failed[:20]:
            self.message_user(request, line, level=messages.ERROR)

    def _transition(self, request, queryset, to_status: str, done_message: Callable[[int], str]):
        def service(**kwargs):
            return services.assignment_transition(to_status=to_status, **kwargs)

        self._apply(request, queryset, service=service, done_message=done_message)

    @admin.action(description=_("Confirmar las asignaciones elegidas"))
    def confirm(self, request, queryset):
        self._apply(
            request,
            queryset,
            service=services.assignment_confirm,
            done_message=lambda n: (
                ngettext("%(n)d asignación confirmada.", "%(n)d asignaciones confirmadas.", n) % {"n": n}
            ),
        )

    @admin.action(description=_("Marcar presentes"))
    def check_in(self, request, queryset):
        self._apply(
            request,
            queryset,
            service=watcher_check_in,
            done_message=lambda n: (
                ngettext("%(n)d fiscal marcado presente.", "%(n)d fiscales marcados presentes.", n) % {"n": n}
            ),
        )

    @admin.action(description=_("Marcar ausentes"))
    def mark_no_show(self, request, queryset):
        self._transition(
            request,
            queryset,
            AssignmentStatus.NO_SHOW,
            lambda n: ngettext("%(n)d fiscal marcado ausente.", "%(n)d fiscales marcados ausentes.", n) % {"n": n},
        )

    @admin.action(description=_("Cancelar las asignaciones elegidas"))
    def cancel(self, request, queryset):
        # The same service as the console's and the API's "quitar": a locked assignment is refused.
        self._apply(
            request,
            queryset,
            service=services.assignment_unassign,
            done_message=lambda n: (
                ngettext("%(n)d asignación cancelada.", "%(n)d asignaciones canceladas.", n) % {"n": n}
            ),
        )

    @admin.action(description=_("Fijar (el asignador automático no las mueve)"))
    def lock(self, request, queryset):
        self._apply(
            request,
            queryset,
            service=services.assignment_set_locked,
            locked=True,
            done_message=lambda n: ngettext("%(n)d asignación fijada.", "%(n)d asignaciones fijadas.", n) % {"n": n},
        )

    @admin.action(description=_("Liberar (el asignador automático puede moverlas)"))
    def unlock(self, request, queryset):
        self._apply(
            request,
            queryset,
            service=services.assignment_set_locked,
            locked=False,
            done_message=lambda n: (
                ngettext("%(n)d asignación liberada.", "%(n)d asignaciones liberadas.", n) % {"n": n}
            ),
        )


@admin.register(AssignmentEvent)
class AssignmentEventAdmin(ScopedAdmin):
    """The audit trail: read-only for everyone."""

    lead_rights = frozenset({"view"})
    list_display = ["created_at", "assignment", "kind", "from_status", "to_status", "actor", "source", "reason"]
    list_filter = ["kind", "source", "to_status"]
    search_fields = ["assignment__volunteer__last_name", "assignment__volunteer__dni", "reason"]
    list_select_related = ["assignment__volunteer", "assignment__place", "assignment__table", "actor"]
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]
