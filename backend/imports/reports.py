"""The per-row xlsx report of a batch: row number, status, reason and the original row, escaped.

Written by openpyxl in write-only mode. Every text cell that a spreadsheet program would run as a
formula (starting with =, +, -, @, tab or carriage return) is prefixed with an apostrophe and
stored as text: the report carries people's data and must never execute it.
"""

from __future__ import annotations

import datetime
import io

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from backend.core.spreadsheets import Sheet
from backend.core.text import spreadsheet_cell

from .models import ROW_STATUS_BY_CODE, ImportBatch, RowStatus

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: object) -> object:
    """A value safe to put in a spreadsheet cell: text that could run as a formula gets a leading apostrophe."""
    if isinstance(value, str):
        return spreadsheet_cell(value)
    if value is None or isinstance(value, (int, float, bool, datetime.date, datetime.datetime, datetime.time)):
        return value
    return escape_cell(str(value))


def _cell(sheet, value: object, *, bold: bool = False) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=escape_cell(value))
    if isinstance(cell.value, str):
        cell.data_type = "s"  # never a formula, whatever the text
    if bold:
        cell.font = Font(bold=True)
    return cell


def build_report(*, batch: ImportBatch, sheet: Sheet) -> bytes:
    labels = {status: str(label) for status, label in RowStatus.choices}
    reasons = dict(batch.rows.values_list("row_number", "reason"))
    codes = batch.row_statuses
    header_row = batch.header_row or 0
    workbook = Workbook(write_only=True)
    out = workbook.create_sheet(_("Informe"))
    out.freeze_panes = "A2"
    original_header: list = []
    body = []
    for number, row in enumerate(sheet.rows(), start=1):
        if number < header_row:
            continue
        if number == header_row:
            original_header = list(row)
            continue
        if all(c in (None, "") for c in row):
            continue
        code = codes[number - 1] if number - 1 < len(codes) else "."
        status = ROW_STATUS_BY_CODE.get(code, RowStatus.SKIPPED)
        body.append((number, labels[status], reasons.get(number, ""), row))
    out.append(
        [_cell(out, text, bold=True) for text in (_("Fila"), _("Estado"), _("Motivo"))]
        + [_cell(out, value, bold=True) for value in original_header]
    )
    for number, label, reason, row in body:
        out.append([_cell(out, number), _cell(out, label), _cell(out, reason)] + [_cell(out, v) for v in row])
    summary = workbook.create_sheet(_("Resumen"))
    for label, value in (
        (_("Lote"), batch.pk),
        (_("Archivo"), batch.file_name),
        (_("SHA-256"), batch.file_hash),
        (_("Resumen"), batch.summary),
    ):
        summary.append([_cell(summary, label, bold=True), _cell(summary, value)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
