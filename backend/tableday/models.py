"""The table's timeline on election day: append-only reports, the current state derived from them."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from backend.assignments.models import EventSource
from backend.elections.models import Table


class TableState(models.TextChoices):
    WAITING = "waiting", _("En espera")
    OPEN = "open", _("Abierta")
    CLOSED = "closed", _("Cerrada")
    COUNTED = "counted", _("Escrutada")
    SHEET_SENT = "sheet_sent", _("Acta enviada")
    NO_WATCHER = "no_watcher", _("Sin fiscal")
    WATCHER_LEFT = "watcher_left", _("El fiscal se retiró")
    # Shift handover, on the timeline only (they never change the table's state).
    SHIFT_ARRIVED = "shift_arrived", _("Llegó el fiscal del turno")
    HANDED_OVER = "handed_over", _("Cambio de turno")


# The table's progress; a report never moves a table back along it (only a correction does).
PROGRESS = [TableState.WAITING, TableState.OPEN, TableState.CLOSED, TableState.COUNTED, TableState.SHEET_SENT]
RANK = {state: i for i, state in enumerate(PROGRESS)}
# Whether someone watches the table; these do not move the progress.
PRESENCE = {TableState.NO_WATCHER, TableState.WATCHER_LEFT}
# Timeline entries written by the shift services (an arrival, a handover): never a state of the table.
SHIFT_ENTRIES = {TableState.SHIFT_ARRIVED, TableState.HANDED_OVER}


class TableReport(models.Model):
    """One report about one table: who said what, from which channel, when. Never updated or deleted."""

    table = models.ForeignKey(Table, on_delete=models.CASCADE, related_name="reports", verbose_name=_("mesa"))
    state = models.CharField(_("estado"), max_length=16, choices=TableState.choices)
    channel = models.CharField(_("canal"), max_length=8, choices=EventSource.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("informado por"),
    )
    # A coordinator's correction may move the table back; it needs a reason, kept as the audit.
    correction = models.BooleanField(_("corrección"), default=False)
    note = models.CharField(_("nota"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("informado"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("informe de mesa")
        verbose_name_plural = _("informes de mesa")
        ordering = ["table_id", "id"]
        indexes = [models.Index(fields=["table", "id"], name="tablereport_table_id")]

    def __str__(self) -> str:
        return f"{self.table} {self.state}"


class TableDay(models.Model):
    """The table's current state and the time it reached each step, kept beside the reports.

    Written in the same transaction as each report (under the table's lock), so the board counts
    113,000 tables with one grouped query instead of folding every timeline. Derived: it can be
    rebuilt from the reports at any time (`table_day_rebuild`). A table without a row is waiting.
    """

    table = models.OneToOneField(
        Table, on_delete=models.CASCADE, primary_key=True, related_name="day", verbose_name=_("mesa")
    )
    state = models.CharField(_("estado"), max_length=16, choices=TableState.choices, default=TableState.WAITING)
    watcher_absent = models.CharField(_("ausencia del fiscal"), max_length=16, blank=True)
    opened_at = models.DateTimeField(_("abierta"), null=True, blank=True)
    closed_at = models.DateTimeField(_("cerrada"), null=True, blank=True)
    counted_at = models.DateTimeField(_("escrutada"), null=True, blank=True)
    sheet_sent_at = models.DateTimeField(_("acta enviada"), null=True, blank=True)
    updated_at = models.DateTimeField(_("actualizado"), auto_now=True)

    class Meta:
        verbose_name = _("estado de mesa")
        verbose_name_plural = _("estados de mesa")
        indexes = [models.Index(fields=["state"], name="tableday_state")]

    def __str__(self) -> str:
        return f"{self.table_id} {self.state}"


# Which TableDay field keeps the time each step was first reached.
STEP_TIME_FIELD = {
    TableState.OPEN: "opened_at",
    TableState.CLOSED: "closed_at",
    TableState.COUNTED: "counted_at",
    TableState.SHEET_SENT: "sheet_sent_at",
}
