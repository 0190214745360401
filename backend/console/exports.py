"""Spreadsheets the console hands out: written with openpyxl, escaped, and logged.

Every cell that a spreadsheet program could read as a formula (it starts with =, +, -, @, a tab
or a carriage return) is prefixed with an apostrophe, so a volunteer called "=HYPERLINK(...)"
stays text. Numbers we write ourselves stay numbers.

`EXPORTS` names each workbook the console offers (title, header, rows, file name): the export
views write a small one while the person waits, and hand a large one to the worker
(`services.export_job_start`), both from the same description.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import IO

from django.http import HttpResponse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from backend.core.text import spreadsheet_cell

from .models import ExportKind, ExportLog
from .selectors import accreditation_count, accreditation_rows, coverage_count, coverage_rows

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def escape_cell(value):
    """Text that would start a formula becomes literal text, without what xlsx cannot hold; other values pass."""
    return spreadsheet_cell(value)


def xlsx_bytes(*, title: str, header: Sequence[str], rows: Iterable[Sequence]) -> tuple[bytes, int]:
    """One sheet: a bold header row, then `rows`, every cell escaped. Returns (bytes, row count)."""
    buffer = BytesIO()
    count = xlsx_write(buffer, title=title, header=header, rows=rows)
    return buffer.getvalue(), count


PROGRESS_EVERY = 2000


def xlsx_write(
    target: IO[bytes],
    *,
    title: str,
    header: Sequence[str],
    rows: Iterable[Sequence],
    on_progress: Callable[[int], object] | None = None,
) -> int:
    """Write the sheet of `xlsx_bytes` into `target`; `on_progress(rows written)` every few thousand rows.

    Written in openpyxl's write-only mode (streamed, several times faster on large exports), so
    column widths are measured before the first row goes out. XlsxWriter was measured for the
    national coverage workbook (14,887 rows): only about 20% less CPU than this, not worth a second
    writer; large workbooks go to the worker instead (README, console pages at national size).
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
    for i, row in enumerate(values, start=1):
        sheet.append(row)
        if on_progress is not None and i % PROGRESS_EVERY == 0:
            on_progress(i)
    workbook.save(target)
    return len(values)


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


@dataclass(frozen=True)
class ExportSpec:
    """One workbook the console offers: its sheet title, header, file name stem, and its rows (and
    their count) as the person who asks may see them."""

    kind: str
    title: Promise
    header: tuple[Promise, ...]
    stem: str
    rows: Callable[..., list[tuple]]
    count: Callable[..., int]


EXPORTS: dict[str, ExportSpec] = {
    ExportKind.COVERAGE: ExportSpec(
        kind=ExportKind.COVERAGE,
        title=gettext_lazy("Cobertura"),
        header=(
            gettext_lazy("Área"),
            gettext_lazy("Código"),
            gettext_lazy("Establecimiento"),
            gettext_lazy("Dirección"),
            gettext_lazy("Puestos"),
            gettext_lazy("Asignados"),
            gettext_lazy("Confirmados"),
            gettext_lazy("Presentes"),
            gettext_lazy("Sin cubrir"),
        ),
        stem="cobertura",
        rows=coverage_rows,
        count=coverage_count,
    ),
    ExportKind.ACCREDITATION: ExportSpec(
        kind=ExportKind.ACCREDITATION,
        title=gettext_lazy("Fiscales"),
        header=(
            gettext_lazy("Apellido"),
            gettext_lazy("Nombre"),
            gettext_lazy("DNI"),
            gettext_lazy("Código establecimiento"),
            gettext_lazy("Establecimiento"),
            gettext_lazy("Dirección"),
            gettext_lazy("Mesa"),
            gettext_lazy("Rol"),
        ),
        stem="acreditacion-fiscales",
        rows=accreditation_rows,
        count=accreditation_count,
    ),
}
