"""Reading spreadsheets (xlsx, xls, ods, csv) into rows of plain values.

python-calamine reads workbooks (an order of magnitude faster than openpyxl's read-only mode);
csv goes through the standard library. Formulas are never evaluated or kept: calamine returns
the cached value of a cell.
"""

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError

WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods"}


def _rows_from_csv(data: bytes) -> Iterator[list]:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    yield from csv.reader(io.StringIO(text), dialect)


def _rows_from_workbook(data: bytes) -> Iterator[list]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = workbook.get_sheet_by_index(0)
        rows = sheet.to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises several error types for broken files
        raise ApplicationError(
            _("No se pudo leer la planilla: el archivo está dañado, protegido con contraseña o no es una planilla."),
            code="unreadable_spreadsheet",
        ) from exc
    yield from rows


def read_rows(source: str | Path | BinaryIO, *, filename: str | None = None) -> Iterator[list]:
    """Every row of the first sheet (or of the csv) as a list of Python values."""
    if isinstance(source, (str, Path)):
        filename = filename or str(source)
        data = Path(source).read_bytes()
    else:
        data = source.read()
    suffix = Path(filename or "").suffix.lower()
    if suffix == ".csv":
        return _rows_from_csv(data)
    if suffix in WORKBOOK_SUFFIXES or data[:4] == b"PK\x03\x04":
        return _rows_from_workbook(data)
    raise ApplicationError(_("Formato no admitido: subí un archivo .xlsx o .csv."), code="unsupported_format")
