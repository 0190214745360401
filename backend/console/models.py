"""The console's own record: every spreadsheet that left the system with personal data."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ExportKind(models.TextChoices):
    COVERAGE = "coverage", _("Cobertura")
    ACCREDITATION = "accreditation", _("Acreditación de fiscales")
    INCIDENTS = "incidents", _("Incidentes")
    DISCREPANCIES = "discrepancies", _("Diferencias con el escrutinio oficial")


class ExportLog(models.Model):
    """Who exported what, when, and how many rows: least privilege needs an audit trail."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("usuario")
    )
    kind = models.CharField(_("tipo"), max_length=32, choices=ExportKind.choices)
    election = models.ForeignKey(
        "elections.Election", on_delete=models.CASCADE, related_name="+", verbose_name=_("elección")
    )
    area = models.ForeignKey(
        "elections.Area", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("área")
    )
    filters = models.JSONField(_("filtros"), default=dict, blank=True)
    rows = models.PositiveIntegerField(_("filas"), default=0)
    created_at = models.DateTimeField(_("cuándo"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("exportación")
        verbose_name_plural = _("exportaciones")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.user} · {self.created_at:%Y-%m-%d %H:%M}"


class ExportState(models.TextChoices):
    QUEUED = "queued", _("En cola")
    RUNNING = "running", _("Generando")
    DONE = "done", _("Listo")
    FAILED = "failed", _("Falló")


class ExportJob(models.Model):
    """A large spreadsheet written by the worker: the page polls `state` and `done`/`total`, then the
    person who asked downloads the file (it holds what their scope lets them see, nobody else's)."""

    kind = models.CharField(_("tipo"), max_length=32, choices=ExportKind.choices)
    election = models.ForeignKey("elections.Election", on_delete=models.CASCADE, related_name="+")
    area = models.ForeignKey("elections.Area", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=8, choices=ExportState.choices, default=ExportState.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("exportación en segundo plano")
        verbose_name_plural = _("exportaciones en segundo plano")

    def __str__(self) -> str:
        return f"{self.pk} {self.kind} {self.state} {self.done}/{self.total}"

    @property
    def percent(self) -> int:
        return 100 if self.state == ExportState.DONE else int(100 * self.done / self.total) if self.total else 0

    @property
    def running(self) -> bool:
        return self.state in {ExportState.QUEUED, ExportState.RUNNING}
