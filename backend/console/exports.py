"""Spreadsheets the console hands out: written with openpyxl, escaped, and logged.

Every cell that a spreadsheet program could read as a formula (it starts with =, +, -, @, a tab
or a carriage return) is prefixed with an apostrophe, so a volunteer called "=HYPERLINK(...)"
stays text. Numbers we write ourselves stay numbers.
"""

from collections.abc import Iterable, Sequence
from io import BytesIO

from django.http import HttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from backend.core.text import spreadsheet_cell

from .models import ExportLog

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def escape_cell(value):
    """Text that would start a formula becomes literal text, without what xlsx cannot hold; other values pass."""
    return spreadsheet_cell(value)


def xlsx_bytes(*, title: str, header: Sequence[str], rows: Iterable[Sequence]) -> tuple[bytes, int]:
    """One sheet: a bold header row, then `rows`, every cell escaped. Returns (bytes, row count).

    Written in openpyxl's write-only mode (streamed, several times faster on large exports), so
    column widths are measured before the first row goes out.
    """
    values = [[escape_cell(v) for v in row] for row in rows]
    widths = [len(str(h)) for h in header]
    for row in values:
        for i, v in enumerate(row[: len(widths)]):
            widths[i] = max(widths[i], min(len(str(v if v is not None else "")), 50))
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width + 2
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    cells = []
    for h in header:
        cell = WriteOnlyCell(sheet, value=str(h))
        cell.font = bold
        cells.append(cell)
    sheet.append(cells)
    for row in values:
        sheet.append(row)
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), len(values)


def export_log(*, user, kind: str, election, area=None, filters: dict | None = None, rows: int) -> ExportLog:
    """Record an export; called by the export views before the file is sent."""
    return ExportLog.objects.create(
        user=user if getattr(user, "is_authenticated", False) else None,
        kind=kind,
        election=election,
        area=area,
        filters=filters or {},
        rows=rows,
    )


def xlsx_response(content: bytes, *, stem: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX_TYPE)
    filename = f"{stem}-{timezone.localtime():%Y%m%d-%H%M}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
