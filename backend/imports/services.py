"""Import batches: upload, dry run, apply, record. The only writers of ImportBatch and ImportRow.

Adapters (the API, the upload page, the management commands, the Celery task) call
`batch_create` then `batch_start` (or `batch_apply` for a previewed batch). Small files run
inline; files over `IMPORT_ASYNC_ROW_THRESHOLD` rows go to the Celery task `imports.run_batch`,
queued after commit, which saves progress (rows done / total) on the batch as it reads.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from enum import StrEnum

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from backend.core.bulk import insert_rows
from backend.core.exceptions import ApplicationError, PermissionDenied
from backend.core.jobs import task_queue
from backend.core.spreadsheets import Sheet, SpreadsheetError, open_sheet
from backend.elections.models import Election
from backend.elections.station_columns import check_mapping
from backend.elections.stations import stations_read, stations_write
from backend.permissions import can_import

from .bundle import bundle_files, is_bundle, open_bundle
from .models import ROW_STATUS_CODES, BatchStatus, ImportBatch, ImportKind, ImportRow, RowStatus
from .reports import build_report
from .roster import roster_import

logger = logging.getLogger(__name__)
FIRST_PROBLEMS = 20


class ImportErrorCode(StrEnum):
    BAD_KIND = "bad_import_kind"
    BAD_AREA_CODE = "bad_area_code"
    BAD_MAPPING = "bad_mapping"
    NOT_STATIONS = "bundle_only_for_stations"
    NOT_PREVIEWED = "batch_not_previewed"
    ALREADY_APPLIED = "already_applied"
    RUNNING = "batch_running"


def async_threshold() -> int:
    return int(getattr(settings, "IMPORT_ASYNC_ROW_THRESHOLD", 5000))


def batch_create(
    *,
    actor,
    election: Election,
    kind: str,
    file_name: str = "",
    data: bytes = b"",
    files: list[tuple[str, bytes]] | None = None,
    dry_run: bool = True,
    default_area_code: str = "",
    language: str = "es-ar",
    mapping: dict[str, str] | None = None,
    all_or_nothing: bool = False,
) -> ImportBatch:
    """Check the file (type, size, bombs, row limit), store it and record the batch. Writes nothing else.

    `actor` is None for the management commands (run by an operator on the server). A station
    list may come as several `files` (or one zip): they are stored together as one zip. `mapping`
    (header -> field, "" to ignore) and `all_or_nothing` are kept on the batch for its runs.
    """
    if actor is not None and not can_import(actor):
        raise PermissionDenied(_("Solo los responsables pueden importar planillas."))
    if kind not in ImportKind.values:
        raise ApplicationError(
            _("Tipo de importación desconocido: %(kind)s") % {"kind": kind}, code=ImportErrorCode.BAD_KIND
        )
    default_area_code = (default_area_code or "").strip().lstrip("0")
    if default_area_code and not (default_area_code.isdigit() and 2 <= len(default_area_code) <= 4):
        raise ApplicationError(
            _("Código de área inválido: «%(code)s» (2 a 4 dígitos, p. ej. 351).") % {"code": default_area_code},
            code=ImportErrorCode.BAD_AREA_CODE,
        )
    if files:
        file_name, data = bundle_files(files)
    mapping = {str(k): str(v) for k, v in (mapping or {}).items()}
    try:
        check_mapping(mapping)
    except ValueError as exc:
        raise ApplicationError(str(exc), code=ImportErrorCode.BAD_MAPPING) from exc
    if kind == ImportKind.STATIONS:
        sheets = open_bundle(data, filename=file_name)  # raises before anything is stored
        height = max(sheet.height for _name, sheet in sheets)
    else:
        if is_bundle(data) and files:
            raise ApplicationError(
                _("Varios archivos juntos solo se aceptan para listas de establecimientos."),
                code=ImportErrorCode.NOT_STATIONS,
            )
        height = open_sheet(data, filename=file_name).height  # raises before anything is stored
    batch = ImportBatch(
        kind=kind,
        election=election,
        created_by=actor,
        file_name=file_name[-255:],
        file_hash=hashlib.sha256(data).hexdigest(),
        dry_run=dry_run,
        default_area_code=default_area_code,
        language=language,
        total_rows=height,
        details={"mapping": mapping, "all_or_nothing": all_or_nothing} if kind == ImportKind.STATIONS else {},
    )
    batch.file.save(file_name.rsplit("/", 1)[-1] or "planilla", ContentFile(data), save=False)
    batch.save()
    return batch


def batch_start(*, batch: ImportBatch, dry_run: bool | None = None) -> ImportBatch:
    """Run the batch now when small, or queue the Celery task after commit when large."""
    dry_run = batch.dry_run if dry_run is None else dry_run
    if batch.total_rows > async_threshold():
        ImportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.PENDING, rows_done=0)
        batch.status, batch.rows_done = BatchStatus.PENDING, 0
        transaction.on_commit(lambda: task_queue("imports.run_batch", batch.pk, dry_run))
        return batch
    return batch_run(batch=batch, dry_run=dry_run)


def batch_apply(*, batch: ImportBatch, actor) -> ImportBatch:
    """Apply a previewed batch (the lead pressed Apply after the dry run)."""
    if actor is not None and not can_import(actor):
        raise PermissionDenied(_("Solo los responsables pueden importar planillas."))
    if batch.status == BatchStatus.APPLIED:
        raise ApplicationError(_("Este lote ya fue aplicado."), code=ImportErrorCode.ALREADY_APPLIED)
    if batch.status in (BatchStatus.PENDING, BatchStatus.RUNNING):
        raise ApplicationError(_("El lote todavía se está procesando."), code=ImportErrorCode.RUNNING)
    if batch.status != BatchStatus.PREVIEWED:
        raise ApplicationError(_("Solo se puede aplicar un lote con vista previa."), code=ImportErrorCode.NOT_PREVIEWED)
    return batch_start(batch=batch, dry_run=False)


def _batch_data(batch: ImportBatch) -> bytes:
    with batch.file.open("rb") as handle:
        return handle.read()


def batch_remap(*, batch: ImportBatch, actor, mapping: dict[str, str]) -> ImportBatch:
    """A new preview of a station batch's same files with columns chosen by hand (the preview page).

    The hand mapping adds to the batch's earlier one. The caller starts it (`batch_start`).
    """
    if actor is not None and not can_import(actor):
        raise PermissionDenied(_("Solo los responsables pueden importar planillas."))
    if batch.kind != ImportKind.STATIONS:
        raise ApplicationError(
            _("Solo las listas de establecimientos admiten elegir columnas a mano."), code=ImportErrorCode.BAD_KIND
        )
    options = batch.details or {}
    return batch_create(
        actor=actor,
        election=batch.election,
        kind=batch.kind,
        file_name=batch.file_name,
        data=_batch_data(batch),
        dry_run=True,
        language=batch.language,
        mapping={**(options.get("mapping") or {}), **mapping},
        all_or_nothing=bool(options.get("all_or_nothing")),
    )


def open_batch_sheet(batch: ImportBatch) -> Sheet:
    """The first sheet of the batch's stored file (checked again: the file may have changed on disk).

    For a station list sent with companion files, the sheet of places and tables.
    """
    data = _batch_data(batch)
    if batch.kind == ImportKind.STATIONS and is_bundle(data):
        sheets = dict(open_bundle(data, filename=batch.file_name))
        station = (batch.details or {}).get("station_file", "")
        return sheets.get(station) or next(iter(sheets.values()))
    # The same bytes passed the budget scan when the batch was created: a second scan would double its cost.
    scanned = hashlib.sha256(data).hexdigest() == batch.file_hash
    return open_sheet(data, filename=batch.file_name, scanned=scanned)


def batch_run(
    *, batch: ImportBatch, dry_run: bool, on_progress: Callable[[int, int], None] | None = None
) -> ImportBatch:
    """Read and import the batch's file (inline, or inside the Celery task). Bad files end as FAILED.

    `on_progress(rows done, total rows)` is called as a station list is read (the command's bar).
    """
    ImportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING, rows_done=0)
    batch.status = BatchStatus.RUNNING
    try:
        with override(batch.language):
            if batch.kind == ImportKind.ROSTER:
                # The importer opens the sheet itself, so that it can let the cells go once they are read.
                return roster_import(
                    batch=batch, open_sheet=lambda: open_batch_sheet(batch), dry_run=dry_run, finish_batch=finish_batch
                )
            return _stations(batch=batch, dry_run=dry_run, on_progress=on_progress)
    except ApplicationError as exc:
        with override(batch.language):
            message = str(exc.message)
        if exc.code == ImportErrorCode.ALREADY_APPLIED:
            batch.refresh_from_db()
            raise
        details = batch.details or {}
        if "files" in exc.extra:  # the columns as read, so the lead can map them by hand
            details = {**details, "files": exc.extra["files"]}
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=BatchStatus.FAILED, error_code=exc.code, error_message=message, rows_done=0, details=details
        )
        batch.refresh_from_db()
        raise
    except Exception:
        # A bug or an outage must not leave the batch "processing" forever; the lead sees it failed.
        logger.exception("import batch %s failed", batch.pk)
        with override(batch.language):
            message = _("Error inesperado al procesar el archivo. No se guardó nada; avisá al equipo técnico.")
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=BatchStatus.FAILED, error_code="internal_error", error_message=message, rows_done=0
        )
        raise


def _stations(
    *, batch: ImportBatch, dry_run: bool, on_progress: Callable[[int, int], None] | None = None
) -> ImportBatch:
    total = batch.total_rows
    sheets = open_bundle(_batch_data(batch), filename=batch.file_name)
    options = batch.details or {}

    def progress(line: int) -> None:
        ImportBatch.objects.filter(pk=batch.pk).update(rows_done=min(line, total))
        if on_progress:
            on_progress(min(line, total), total)

    # Read and check first, outside the transaction, so the progress saved above is seen by the page.
    plan = stations_read(
        election=batch.election,
        files=[(name, sheet.rows()) for name, sheet in sheets],
        mapping=options.get("mapping") or {},
        all_or_nothing=bool(options.get("all_or_nothing")),
        on_progress=progress,
    )
    with transaction.atomic():
        if not dry_run:
            locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
            if locked.status == BatchStatus.APPLIED:
                raise ApplicationError(_("Este lote ya fue aplicado."), code=ImportErrorCode.ALREADY_APPLIED)
        result = stations_write(plan=plan, dry_run=dry_run)
        batch.details = {
            "mapping": options.get("mapping") or {},
            "all_or_nothing": bool(options.get("all_or_nothing")),
            **result.details(),
        }
        if result.aborted:
            # The lead asked for all or nothing and some row was rejected: the batch is a preview.
            dry_run = True
        return finish_batch(batch=batch, outcome=result, header_row=result.header_row, dry_run=dry_run)


def finish_batch(*, batch: ImportBatch, outcome, header_row: int, dry_run: bool) -> ImportBatch:
    """Save counts, per-row statuses and problem rows on the batch (inside the caller's transaction)."""
    statuses: dict[int, str] = outcome.statuses
    if all(status == RowStatus.SKIPPED for status in statuses.values()):
        # Only titles, a header and blank rows: an "applied" batch of nothing would read as a success.
        raise ApplicationError(
            _("La planilla no tiene filas de datos debajo de los encabezados (fila %(row)s). No se importó nada.")
            % {"row": header_row},
            code=SpreadsheetError.NO_DATA,
        )
    counts = {status: 0 for status in RowStatus.values}
    for status in statuses.values():
        counts[status] += 1
    warned = {row for row in outcome.warned if statuses.get(row) != RowStatus.REJECTED}
    height = max(statuses, default=0)
    codes = [ROW_STATUS_CODES[RowStatus.SKIPPED]] * height
    for row, status in statuses.items():
        codes[row - 1] = ROW_STATUS_CODES[RowStatus(status)]
    batch.row_statuses = "".join(codes)
    batch.header_row = header_row
    batch.created = counts[RowStatus.NEW]
    batch.updated = counts[RowStatus.UPDATED]
    batch.unchanged = counts[RowStatus.UNCHANGED]
    batch.merged = counts[RowStatus.MERGED]
    batch.rejected = counts[RowStatus.REJECTED]
    batch.warnings = len(warned)
    batch.dry_run = dry_run
    batch.status = BatchStatus.PREVIEWED if dry_run else BatchStatus.APPLIED
    batch.applied_at = None if dry_run else timezone.now()
    batch.rows_done = batch.total_rows
    batch.error_code = batch.error_message = ""
    batch.report = ""
    previous = (
        ImportBatch.objects.filter(election=batch.election, kind=batch.kind, file_hash=batch.file_hash)
        .filter(status=BatchStatus.APPLIED)
        .exclude(pk=batch.pk)
        .order_by("-applied_at")
        .first()
    )
    batch.details = {**(batch.details or {}), "same_file_as": previous.pk if previous else None}
    batch.summary = batch_summary(batch, previous=previous)
    batch.save()
    ImportRow.objects.filter(batch=batch).delete()
    rows = [
        (batch.pk, row, str(statuses[row]), outcome.reasons.get(row, ""), row in warned)
        for row in sorted(set(outcome.reasons) | warned)
        if statuses.get(row) in (RowStatus.REJECTED, RowStatus.MERGED, RowStatus.UPDATED) or row in warned
    ]
    # Plain tuples: a warning on a fifth of 100,000 rows is 20,000 report lines to store quickly.
    insert_rows(ImportRow._meta.db_table, ["batch_id", "row_number", "status", "reason", "has_warning"], rows)
    return batch


def batch_summary(batch: ImportBatch, *, previous: ImportBatch | None = None) -> str:
    """One sentence for the lead, in the batch's language."""
    with override(batch.language):
        counts = _(
            "%(new)s nuevos, %(updated)s actualizados, %(unchanged)s sin cambios, "
            "%(warnings)s con advertencias, %(rejected)s rechazados"
        ) % {
            "new": batch.created,
            "updated": batch.updated,
            "unchanged": batch.unchanged,
            "warnings": batch.warnings,
            "rejected": batch.rejected,
        }
        if batch.merged:
            counts += _(", %(merged)s filas fusionadas por DNI repetido") % {"merged": batch.merged}
        nothing = not batch.created and not batch.updated
        if batch.status == BatchStatus.PREVIEWED:
            text = _("Vista previa: %(counts)s. Todavía no se guardó nada.") % {"counts": counts}
            if nothing:
                text += " " + _("Aplicarlo no cambiaría nada.")
        else:
            text = _("Importación aplicada: %(counts)s.") % {"counts": counts}
            if nothing:
                text = _("Sin cambios: todo ya estaba importado (%(counts)s).") % {"counts": counts}
        if (batch.details or {}).get("aborted"):
            text = _("No se guardó nada: pediste todo o nada y hay %(rejected)s filas rechazadas (%(counts)s).") % {
                "rejected": batch.rejected,
                "counts": counts,
            }
        if previous is not None:
            text += " " + _("Es el mismo archivo que el lote #%(id)s.") % {"id": previous.pk}
        return text


def problem_rows(batch: ImportBatch, limit: int = FIRST_PROBLEMS) -> list[ImportRow]:
    """Rejected, merged and warned rows in sheet order (updates alone are not problems)."""
    return list(
        batch.rows.filter(Q(status__in=[RowStatus.REJECTED, RowStatus.MERGED]) | Q(has_warning=True)).order_by(
            "row_number"
        )[:limit]
    )


def batch_report(*, batch: ImportBatch, actor=None) -> ImportBatch:
    """Write (once) and return the batch with its xlsx report: every row, its number, status and reason."""
    if batch.report:
        return batch
    with override(batch.language):
        content = build_report(batch=batch, sheet=open_batch_sheet(batch))
    batch.report.save(f"informe-lote-{batch.pk}.xlsx", ContentFile(content), save=False)
    ImportBatch.objects.filter(pk=batch.pk).update(report=batch.report.name)
    logger.info("import report %s generated for %s", batch.pk, getattr(actor, "pk", None))
    return batch
