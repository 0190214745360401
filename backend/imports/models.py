"""Import batches: one uploaded spreadsheet, its dry run and its application, with a per-row report."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ImportKind(models.TextChoices):
    STATIONS = "stations", _("Establecimientos y mesas")
    ROSTER = "roster", _("Fiscales (padrón de voluntarios)")


class BatchStatus(models.TextChoices):
    PENDING = "pending", _("En cola")
    RUNNING = "running", _("Procesando")
    PREVIEWED = "previewed", _("Vista previa lista")
    APPLIED = "applied", _("Aplicado")
    FAILED = "failed", _("Falló")


class RowStatus(models.TextChoices):
    NEW = "new", _("nuevo")
    UPDATED = "updated", _("actualizado")
    UNCHANGED = "unchanged", _("sin cambios")
    MERGED = "merged", _("fusionado")
    REJECTED = "rejected", _("rechazado")
    SKIPPED = "skipped", _("omitido")


# One character per sheet row in ImportBatch.row_statuses (compact: 100,000 rows are 100 KB).
ROW_STATUS_CODES = {
    RowStatus.NEW: "n",
    RowStatus.UPDATED: "u",
    RowStatus.UNCHANGED: "=",
    RowStatus.MERGED: "m",
    RowStatus.REJECTED: "r",
    RowStatus.SKIPPED: ".",
}
ROW_STATUS_BY_CODE = {code: status for status, code in ROW_STATUS_CODES.items()}


def _upload_to(batch: "ImportBatch", filename: str) -> str:
    return f"imports/{batch.election_id}/{batch.file_hash[:16]}-{filename[-80:]}"


class ImportBatch(models.Model):
    kind = models.CharField(_("tipo"), max_length=16, choices=ImportKind.choices)
    election = models.ForeignKey(
        "elections.Election", on_delete=models.CASCADE, related_name="import_batches", verbose_name=_("elección")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="import_batches",
        verbose_name=_("subido por"),
    )
    created_at = models.DateTimeField(_("subido"), auto_now_add=True)
    applied_at = models.DateTimeField(_("aplicado"), null=True, blank=True)
    file_name = models.CharField(_("nombre del archivo"), max_length=255)
    file_hash = models.CharField(_("SHA-256 del archivo"), max_length=64, db_index=True)
    file = models.FileField(_("archivo"), upload_to=_upload_to, max_length=300)
    report = models.FileField(_("informe"), upload_to="imports/reports/", max_length=300, blank=True)
    dry_run = models.BooleanField(_("solo vista previa"), default=True)
    status = models.CharField(_("estado"), max_length=16, choices=BatchStatus.choices, default=BatchStatus.PENDING)
    language = models.CharField(_("idioma"), max_length=8, default="es-ar")
    default_area_code = models.CharField(_("código de área por defecto"), max_length=5, blank=True)
    total_rows = models.PositiveIntegerField(_("filas"), default=0)
    rows_done = models.PositiveIntegerField(_("filas procesadas"), default=0)
    created = models.PositiveIntegerField(_("nuevos"), default=0)
    updated = models.PositiveIntegerField(_("actualizados"), default=0)
    unchanged = models.PositiveIntegerField(_("sin cambios"), default=0)
    merged = models.PositiveIntegerField(_("filas fusionadas"), default=0)
    warnings = models.PositiveIntegerField(_("filas con advertencias"), default=0)
    rejected = models.PositiveIntegerField(_("rechazados"), default=0)
    details = models.JSONField(_("detalle"), default=dict, blank=True)
    summary = models.TextField(_("resumen"), blank=True)
    error_code = models.CharField(_("código de error"), max_length=64, blank=True)
    error_message = models.TextField(_("error"), blank=True)
    header_row = models.PositiveIntegerField(_("fila de encabezados"), null=True, blank=True)
    row_statuses = models.TextField(_("estado por fila"), blank=True, editable=False)

    class Meta:
        verbose_name = _("importación")
        verbose_name_plural = _("importaciones")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["election", "kind", "-created_at"], name="batch_election_kind")]
        constraints = [
            models.CheckConstraint(condition=Q(rows_done__lte=models.F("total_rows")), name="batch_progress_bounded"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} {self.file_name}"

    @property
    def finished(self) -> bool:
        return self.status in {BatchStatus.PREVIEWED, BatchStatus.APPLIED, BatchStatus.FAILED}

    @property
    def progress(self) -> int:
        """Percentage of rows processed (0-100)."""
        if self.finished:
            return 100
        return int(100 * self.rows_done / self.total_rows) if self.total_rows else 0


class ImportRow(models.Model):
    """A row worth a sentence in the report: rejected, merged, updated (with the fields) or warned."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="rows", verbose_name=_("lote"))
    row_number = models.PositiveIntegerField(_("fila"))
    status = models.CharField(_("estado"), max_length=16, choices=RowStatus.choices)
    reason = models.TextField(_("motivo"), blank=True)
    has_warning = models.BooleanField(_("con advertencias"), default=False)

    class Meta:
        verbose_name = _("fila importada")
        verbose_name_plural = _("filas importadas")
        ordering = ["batch", "row_number"]
        constraints = [models.UniqueConstraint(fields=["batch", "row_number"], name="import_row_unique_number")]

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.row_number} {self.status}"
