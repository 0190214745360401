"""The console's own record: every spreadsheet that left the system with personal data."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from backend.core.models import FileJob


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


class ExportJob(FileJob):
    """A large spreadsheet written by the worker: the page polls `state` and `done`/`total`, then the
    person who asked downloads the file (it holds what their scope lets them see, nobody else's)."""

    kind = models.CharField(_("tipo"), max_length=32, choices=ExportKind.choices)

    class Meta:
        verbose_name = _("exportación en segundo plano")
        verbose_name_plural = _("exportaciones en segundo plano")

    def __str__(self) -> str:
        return f"{self.pk} {self.kind} {self.state} {self.done}/{self.total}"
