"""Who watches what: assignments, their status lifecycle and their audit trail."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class AssignmentRole(models.TextChoices):
    TABLE = "table", _("Fiscal de mesa")
    PLACE = "place", _("Fiscal general")


class AssignmentStatus(models.TextChoices):
    PROPOSED = "proposed", _("Propuesta")
    NOTIFIED = "notified", _("Notificada")
    CONFIRMED = "confirmed", _("Confirmada")
    DECLINED = "declined", _("Rechazada")
    CHECKED_IN = "checked_in", _("Presente")
    DONE = "done", _("Finalizada")
    NO_SHOW = "no_show", _("Ausente")
    CANCELLED = "cancelled", _("Cancelada")


class Shift(models.TextChoices):
    """Which part of the day an assignment covers; a table's slot is covered by one whole-day watcher
    or by a morning and an afternoon watcher who hand over at the election's `shift_handover_time`."""

    DAY = "day", _("Todo el día")
    MORNING = "morning", _("Turno mañana")
    AFTERNOON = "afternoon", _("Turno tarde")


# The shifts that cannot share one slot with each shift (a whole-day watcher excludes both halves).
SHIFT_OVERLAPS: dict[str, tuple[str, ...]] = {
    Shift.DAY: (Shift.DAY, Shift.MORNING, Shift.AFTERNOON),
    Shift.MORNING: (Shift.DAY, Shift.MORNING),
    Shift.AFTERNOON: (Shift.DAY, Shift.AFTERNOON),
}


# Statuses that hold a slot: the unique constraints below apply only to them.
ACTIVE_STATUSES = (
    AssignmentStatus.PROPOSED,
    AssignmentStatus.NOTIFIED,
    AssignmentStatus.CONFIRMED,
    AssignmentStatus.CHECKED_IN,
)

# The lifecycle of DESIGN.md; anything else is refused by assignment_transition.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    AssignmentStatus.PROPOSED: frozenset({"notified", "confirmed", "declined", "checked_in", "cancelled"}),
    AssignmentStatus.NOTIFIED: frozenset({"confirmed", "declined", "checked_in", "no_show", "cancelled"}),
    AssignmentStatus.CONFIRMED: frozenset({"declined", "checked_in", "no_show", "cancelled"}),
    AssignmentStatus.CHECKED_IN: frozenset({"done", "cancelled"}),
    AssignmentStatus.DECLINED: frozenset(),
    AssignmentStatus.DONE: frozenset(),
    AssignmentStatus.NO_SHOW: frozenset(),
    AssignmentStatus.CANCELLED: frozenset(),
}

_active = Q(status__in=[s.value for s in ACTIVE_STATUSES])


class Assignment(models.Model):
    # No index of its own: every index below starts with the election, and a bare one drew the
    # planners to read whole elections' rows where a covering index would do.
    election = models.ForeignKey(
        "elections.Election",
        on_delete=models.CASCADE,
        related_name="assignments",
        verbose_name=_("elección"),
        db_index=False,
    )
    volunteer = models.ForeignKey(
        "volunteers.Volunteer", on_delete=models.CASCADE, related_name="assignments", verbose_name=_("fiscal")
    )
    place = models.ForeignKey(
        "elections.PollingPlace",
        on_delete=models.CASCADE,
        related_name="assignments",
        verbose_name=_("establecimiento"),
    )
    table = models.ForeignKey(
        "elections.Table",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="assignments",
        verbose_name=_("mesa"),
    )
    role = models.CharField(_("rol"), max_length=8, choices=AssignmentRole.choices)
    # Position among the slots of the same table or place (0 = titular; 1.. = substitutes).
    slot = models.PositiveSmallIntegerField(_("puesto"), default=0)
    # A table slot may be split in two shifts (manual or imported assignments; the engine fills whole days).
    shift = models.CharField(
        _("turno"), max_length=10, choices=Shift.choices, default=Shift.DAY, db_default=Shift.DAY.value
    )
    status = models.CharField(
        _("estado"), max_length=16, choices=AssignmentStatus.choices, default=AssignmentStatus.PROPOSED, db_index=True
    )
    locked = models.BooleanField(_("fijada"), default=False, help_text=_("La asignación automática no la mueve."))
    reason = models.CharField(_("motivo"), max_length=255, blank=True)
    cost = models.FloatField(
        _("costo"), null=True, blank=True, help_text=_("Distancia estimada usada por el asignador.")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("creada por"),
    )
    # The declined (or cancelled) assignment this one was proposed to replace.
    replaces = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replacements",
        verbose_name=_("reemplaza a"),
    )
    created_at = models.DateTimeField(_("creada"), auto_now_add=True)
    updated_at = models.DateTimeField(_("actualizada"), auto_now=True)
    status_changed_at = models.DateTimeField(_("cambio de estado"), auto_now_add=True)

    # Not a field: assignment_decline() sets it on the declined assignment it returns (the proposed
    # replacement, or None). Durably, the replacement is in `replacements`.
    replacement: "Assignment | None"

    class Meta:
        verbose_name = _("asignación")
        verbose_name_plural = _("asignaciones")
        ordering = ["place_id", "role", "table_id", "slot"]
        constraints = [
            models.UniqueConstraint(
                fields=["election", "volunteer"], condition=_active, name="assignment_one_active_per_volunteer"
            ),
            # One watcher per table slot and part of the day: a whole-day watcher holds both halves,
            # so each half's index also covers "day" (a morning and an afternoon watcher may share it).
            models.UniqueConstraint(
                fields=["table", "slot"],
                condition=_active & Q(role="table", shift__in=["day", "morning"]),
                name="assignment_one_active_per_table_slot",
            ),
            models.UniqueConstraint(
                fields=["table", "slot"],
                condition=_active & Q(role="table", shift__in=["day", "afternoon"]),
                name="assignment_one_active_per_table_slot_pm",
            ),
            models.UniqueConstraint(
                fields=["place", "slot"],
                condition=_active & Q(role="place"),
                name="assignment_one_active_per_place_slot",
            ),
            models.CheckConstraint(
                condition=Q(role="table", table__isnull=False) | Q(role="place", table__isnull=True),
                name="assignment_table_matches_role",
            ),
            models.CheckConstraint(condition=Q(status__in=AssignmentStatus.values), name="assignment_status_valid"),
            # Shifts are for table watchers; the fiscal general stays the whole day.
            models.CheckConstraint(
                condition=Q(shift="day") | Q(role="table", shift__in=["morning", "afternoon"]),
                name="assignment_shift_valid",
            ),
        ]
        indexes = [
            # Coverage counts active assignments per place and status from this index alone, place
            # by place in order (no sort). An (election, status) index is left out: it only
            # repeated a prefix of the next one and drew the planners away from the covering ones.
            models.Index(fields=["election", "place", "status"], name="assignment_coverage"),
            # The election-day board's latest check-ins: newest first without sorting every one.
            models.Index(fields=["election", "status", "status_changed_at"], name="assignment_recent_status"),
            # Coverage corrects its counts for split slots from the few shift rows alone.
            models.Index(fields=["election", "table"], condition=~Q(shift="day"), name="assignment_shift_rows"),
            # Lists by place (the API's cursor, the board's late watchers): read in order, not sorted.
            models.Index(fields=["election", "place", "role", "table", "slot", "id"], name="assignment_by_place"),
        ]

    def __str__(self) -> str:
        where = f"{self.place.name} / {self.table}" if self.table_id else self.place.name
        return f"{self.volunteer} → {where}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class EventSource(models.TextChoices):
    WEB = "web", _("Web")
    API = "api", _("API")
    SMS = "sms", _("SMS")
    ADMIN = "admin", _("Admin")
    ENGINE = "engine", _("Asignador automático")
    SYSTEM = "system", _("Sistema")


class AssignmentEvent(models.Model):
    """One row per change of an assignment: who, when, from, to, why."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Creada")
        STATUS = "status", _("Cambio de estado")
        LOCKED = "locked", _("Fijada")
        UNLOCKED = "unlocked", _("Liberada")
        MOVED = "moved", _("Movida")
        SHIFT = "shift", _("Cambio de turno")

    assignment = models.ForeignKey(
        Assignment, on_delete=models.CASCADE, related_name="events", verbose_name=_("asignación")
    )
    kind = models.CharField(_("tipo"), max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("quién"),
    )
    source = models.CharField(_("origen"), max_length=8, choices=EventSource.choices)
    from_status = models.CharField(_("estado anterior"), max_length=16, blank=True)
    to_status = models.CharField(_("estado nuevo"), max_length=16, blank=True)
    reason = models.CharField(_("motivo"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("cuándo"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("evento de asignación")
        verbose_name_plural = _("eventos de asignación")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.from_status} → {self.to_status}"
