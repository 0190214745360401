"""A large xlsx is read a piece of rows at a time (backend.core.spreadsheets): the same rows as the
whole-sheet read, with row numbers kept across blank stretches, pieces and shared strings."""

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from backend.core.spreadsheets import open_sheet


def _write(path: Path) -> bytes:
    workbook = Workbook()  # the normal writer: shared strings, styles, dates
    sheet = workbook.active
    sheet.append(["Padrón"])
    sheet.append([])
    sheet.append(["DNI", "Nombre", "Fecha", "Monto", "Notas"])
    for n in range(1, 1200):
        if n % 97 == 0:
            continue  # a blank row now and then, some at the edge of a piece
        notes = "" if n % 5 else f"nota {n % 13}"
        sheet.append([str(20_000_000 + n), f"Persona {n % 150}", dt.datetime(2027, 1, 1 + n % 28), n * 1.5, notes])
    # A long blank stretch, then rows written from column C only (a piece whose column A is empty).
    for n in range(1500, 1540):
        sheet.cell(row=n, column=3, value=f"solo C {n}")
        sheet.cell(row=n, column=5, value=n)
    workbook.create_sheet("Otra").append(["no", "se", "lee"])
    workbook.save(path)
    return path.read_bytes()


def _trimmed(rows) -> list[list]:
    out = []
    for row in rows:
        row = list(row)
        while row and row[-1] in ("", None):
            row.pop()
        out.append(row)
    while out and not out[-1]:
        out.pop()
    return out


@pytest.mark.parametrize("piece_bytes", [2_000, 9_000, 40_000])
def test_pieces_give_the_rows_and_height_of_the_whole_read(tmp_path, settings, piece_bytes):
    data = _write(tmp_path / "big.xlsx")
    settings.IMPORT_XLSX_PIECE_BYTES = 10**9
    whole = open_sheet(data, filename="big.xlsx")
    whole_rows = _trimmed(whole.rows())

    settings.IMPORT_XLSX_PIECE_BYTES = piece_bytes
    pieced = open_sheet(data, filename="big.xlsx")
    assert callable(pieced._height)  # really read in pieces (height counted on demand)
    assert _trimmed(pieced.rows()) == whole_rows
    assert pieced.height == whole.height == 1539
    assert whole_rows[1499] == ["", "", "solo C 1500", "", 1500]
    assert whole_rows[4][2] == dt.date(2027, 1, 3)  # styles travel with each piece: dates stay dates


def test_a_sheet_without_row_and_cell_numbers_is_read_whole(tmp_path, settings):
    """Rows without `r` would restart their numbering in every piece: such a sheet is not cut."""
    data = _write(tmp_path / "big.xlsx")
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                # Only the first rows (no stretch of blank rows) keep their meaning without numbers.
                head, _sep, rest = content.partition(b"<sheetData>")
                rows = re.findall(rb"<row .*?</row>", rest)[:1000]
                content = head + b"<sheetData>" + b"".join(re.sub(rb' r="[A-Z]*\d+"', b"", r) for r in rows)
                content += b"</sheetData></worksheet>"
            target.writestr(info, content)
    settings.IMPORT_XLSX_PIECE_BYTES = 2_000
    sheet = open_sheet(out.getvalue(), filename="big.xlsx")
    assert not callable(sheet._height)
    settings.IMPORT_XLSX_PIECE_BYTES = 10**9
    filled = [row for row in _trimmed(open_sheet(data, filename="big.xlsx").rows()) if row]
    assert [row for row in _trimmed(sheet.rows()) if row] == filled[:1000]
