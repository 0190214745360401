"""Reading spreadsheets (xlsx, xls, ods, csv) into rows of plain values, safely.

python-calamine reads workbooks (an order of magnitude faster than openpyxl's read-only mode);
csv goes through the standard library. Formulas are never evaluated or kept: calamine returns
the cached value of a cell (empty when the workbook has none).

The file is judged by its content, not its name: a PDF or a Word document renamed `.xlsx`, a
truncated download, a password-protected workbook (an encrypted OLE container), a zip or XML
bomb and a sheet over the configured row limit are refused with a specific error before
anything is read into memory.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError
from backend.core.memory import release_freed_memory
from backend.core.sheetscan import CHUNK, Budget, BudgetExceeded, scan_ods, scan_xls, scan_xlsx, xlsx_parts
from backend.core.text import header_key

HEADER_SCAN_ROWS = 30
WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods"}
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
# Signatures of files people upload by mistake, to name what the file really is.
OTHER_MAGIC = {
    b"%PDF": "PDF",
    b"\x89PNG": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF8": "GIF",
    b"Rar!": "RAR",
    b"7z\xbc\xaf": "7z",
    b"\x1f\x8b": "gzip",
}


class HeaderError(StrEnum):
    MISSING_COLUMNS = "missing_columns"
    NO_HEADER = "no_header"


class SpreadsheetError(StrEnum):
    EMPTY = "empty_file"
    TOO_BIG = "file_too_big"
    UNSUPPORTED = "unsupported_format"
    NOT_A_SPREADSHEET = "not_a_spreadsheet"
    TRUNCATED = "truncated_file"
    PASSWORD = "password_protected"
    BOMB = "compression_bomb"
    XML_ENTITIES = "xml_entities"
    TOO_MANY_ROWS = "too_many_rows"
    TOO_MANY_CELLS = "too_many_cells"
    TOO_MUCH_TEXT = "too_much_text"
    CELL_TOO_LONG = "cell_too_long"
    NUL_BYTES = "nul_bytes"
    NO_DATA = "no_data_rows"
    UNREADABLE = "unreadable_spreadsheet"


def _limit(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def budget() -> Budget:
    """The configured reading budgets (see backend.core.sheetscan)."""
    return Budget(
        max_rows=_limit("IMPORT_MAX_ROWS", 200_000),
        max_cells=_limit("IMPORT_MAX_CELLS", 4_000_000),
        max_text=_limit("IMPORT_MAX_TEXT_BYTES", 64 * 1024 * 1024),
        max_cell_chars=_limit("IMPORT_MAX_CELL_CHARS", 32_767),
    )


class Sheet:
    """The first sheet of a file: `height` rows (header included), read lazily by `rows()`.

    Every call to `rows()` reads the file again from its bytes, a row at a time for csv and a
    piece at a time for a large xlsx; cell text is checked against the one-cell limit as it is
    read. A large xlsx counts its `height` only when asked (one more read)."""

    def __init__(self, kind: str, height: int | Callable[[], int], rows: Callable[[], Iterable[list]]):
        self.kind = kind  # "xlsx", "xls", "ods" or "csv"
        self._height = height
        self._rows = rows

    @property
    def height(self) -> int:
        if callable(self._height):
            self._height = self._height()
        return self._height

    def rows(self) -> Iterator[list]:
        max_chars = budget().max_cell_chars
        try:
            for number, row in enumerate(self._rows(), start=1):
                for value in row:
                    if type(value) is str and len(value) > max_chars:
                        raise _cell_too_long(number, max_chars)
                yield row
        except ApplicationError:
            raise
        except Exception as exc:  # calamine raises its own error types for damaged sheet data
            raise ApplicationError(
                _("No se pudo leer la planilla: el archivo está dañado."), code=SpreadsheetError.UNREADABLE
            ) from exc


def _fail(message: str, code: SpreadsheetError, **extra) -> ApplicationError:
    return ApplicationError(message, code=code, extra=extra)


def _cell_too_long(row: int, max_chars: int) -> ApplicationError:
    where = _(" (fila %(row)s)") % {"row": row} if row else ""
    return _fail(
        _("Una celda%(where)s tiene más de %(max)s caracteres, el máximo permitido en una celda.")
        % {"where": where, "max": f"{max_chars:,}".replace(",", ".")},
        SpreadsheetError.CELL_TOO_LONG,
        row=row or None,
        max_chars=max_chars,
    )


def _over_budget(exc: BudgetExceeded, limits: Budget) -> ApplicationError:
    if exc.what == "rows":
        return _too_many_rows(limits.max_rows)
    if exc.what == "cell":
        return _cell_too_long(exc.row, limits.max_cell_chars)
    if exc.what == "text":
        return _fail(
            _(
                "La planilla tiene más de %(mb)s MB de texto en sus celdas, el máximo permitido. "
                "Dividila en varios archivos."
            )
            % {"mb": limits.max_text // (1024 * 1024)},
            SpreadsheetError.TOO_MUCH_TEXT,
            max_text_bytes=limits.max_text,
        )
    return _fail(
        _(
            "La planilla ocupa más de %(max)s celdas (filas por columnas usadas), el máximo permitido. "
            "Borrá las filas y columnas que sobran o dividila en varios archivos."
        )
        % {"max": f"{limits.max_cells:,}".replace(",", ".")},
        SpreadsheetError.TOO_MANY_CELLS,
        max_cells=limits.max_cells,
    )


def _encoding(data: bytes) -> str:
    """utf-16 (with its BOM), utf-8 or cp1252, checked a megabyte at a time (never the whole text at once)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates: tuple[str, ...] = ("utf-16",)
    else:
        candidates = ("utf-8-sig", "cp1252")
    for encoding in candidates:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            for start in range(0, len(data), CHUNK):
                text = decoder.decode(data[start : start + CHUNK], final=start + CHUNK >= len(data))
                if "\x00" in text:
                    raise _fail(
                        _(
                            "El archivo tiene caracteres nulos (NUL): no es un texto CSV válido. "
                            "Exportalo de nuevo como CSV UTF-8."
                        ),
                        SpreadsheetError.NUL_BYTES,
                    )
        except UnicodeDecodeError:
            continue
        return encoding
    raise _fail(_("El archivo no es una planilla ni un texto CSV legible."), SpreadsheetError.NOT_A_SPREADSHEET)


def _looks_like_text(data: bytes) -> bool:
    head = data[:4096]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    return b"\x00" not in head and not any(head.startswith(m) for m in (ZIP_MAGIC, OLE_MAGIC, *OTHER_MAGIC))


def _delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the most consistent number of columns (csv.Sniffer
    guesses wrong when cells hold commas, as Spanish text and formulas do)."""
    lines = [line[:4096] for line in text[:65536].splitlines()[:30] if line.strip()]
    best, best_score = ",", (0, 0)
    for delimiter in (";", ",", "\t", "|"):
        widths = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        if not widths:
            continue
        mode = max(set(widths), key=lambda w: (widths.count(w), w))
        score = (widths.count(mode), mode) if mode > 1 else (0, 0)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _csv_sheet(data: bytes) -> Sheet:
    """Scan the whole csv once, a row at a time, against the budgets; rows() parses it again lazily."""
    encoding = _encoding(data)
    head = codecs.getincrementaldecoder(encoding)(errors="replace").decode(data[:65536])
    delimiter = _delimiter(head)
    limits = budget()
    # Every delimiter starts a cell: refused before the csv module builds a row of millions of them.
    raw = {"utf-8-sig": "utf-8", "utf-16": "utf-16-le" if data.startswith(codecs.BOM_UTF16_LE) else "utf-16-be"}
    if data.count(delimiter.encode(raw.get(encoding, encoding))) > limits.max_cells:
        raise _over_budget(BudgetExceeded("cells"), limits)

    def rows() -> Iterator[list]:
        stream = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
        reader = csv.reader(stream, delimiter=delimiter)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                # The csv module's own limit (131,072 characters) is above ours: the same clear error.
                if "field larger" in str(exc):
                    raise _cell_too_long(reader.line_num, limits.max_cell_chars) from exc
                raise _fail(
                    _("No se pudo leer el CSV en la línea %(line)s: %(error)s")
                    % {"line": reader.line_num, "error": exc},
                    SpreadsheetError.UNREADABLE,
                ) from exc
            yield row

    height = cells = 0
    for row in rows():
        height += 1
        cells += len(row)
        if height > limits.max_rows + 1:
            raise _too_many_rows(limits.max_rows)
        if cells > limits.max_cells:
            raise _over_budget(BudgetExceeded("cells"), limits)
        for value in row:
            if len(value) > limits.max_cell_chars:
                raise _cell_too_long(height, limits.max_cell_chars)
    return Sheet("csv", height, rows)


def _too_many_rows(max_rows: int) -> ApplicationError:
    return _fail(
        _("La planilla tiene más de %(max)s filas, el máximo permitido. Dividila en varios archivos.")
        % {"max": f"{max_rows:,}".replace(",", ".")},
        SpreadsheetError.TOO_MANY_ROWS,
        max_rows=max_rows,
    )


def _check_zip(data: bytes, *, scan: bool = True) -> str:
    """Refuse damaged archives and bombs before calamine inflates anything; return 'xlsx' or 'ods'."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise _fail(
            _("El archivo está incompleto o dañado (¿se cortó la descarga?). Volvé a exportarlo y subilo de nuevo."),
            SpreadsheetError.TRUNCATED,
        ) from exc
    names = {m.filename for m in members}
    if "xl/workbook.xml" in names:
        kind = "xlsx"
    elif "content.xml" in names and "mimetype" in names:
        kind = "ods"
    else:
        what = (
            _("un documento de Word")
            if "word/document.xml" in names
            else _("una presentación")
            if "ppt/presentation.xml" in names
            else _("un archivo comprimido (zip)")
        )
        raise _fail(
            _("El archivo no es una planilla: es %(what)s con otro nombre.") % {"what": what},
            SpreadsheetError.NOT_A_SPREADSHEET,
        )
    max_total = _limit("IMPORT_MAX_UNCOMPRESSED_BYTES", 400 * 1024 * 1024)
    max_ratio = _limit("IMPORT_MAX_COMPRESSION_RATIO", 200)
    total = sum(m.file_size for m in members)
    if len(members) > 10_000 or total > max_total:
        raise _bomb()
    for member in members:
        # A tiny member inflating to megabytes is how zip bombs look; real sheets compress about 10:1.
        if member.file_size > 1024 * 1024 and member.file_size > max_ratio * max(member.compress_size, 1):
            raise _bomb()
    for member in members:
        if member.filename.endswith((".xml", ".rels")):
            try:
                with archive.open(member) as handle:
                    head = handle.read(2048)
            except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError, RuntimeError) as exc:
                raise _fail(
                    _("El archivo está incompleto o dañado. Volvé a exportarlo y subilo de nuevo."),
                    SpreadsheetError.TRUNCATED,
                ) from exc
            if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                raise _fail(
                    _("La planilla contiene declaraciones XML no permitidas (posible ataque). No se importó nada."),
                    SpreadsheetError.XML_ENTITIES,
                )
    try:
        bad = archive.testzip() if len(data) < 5 * 1024 * 1024 else None
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError, RuntimeError):
        bad = "?"
    if bad:
        raise _fail(
            _("El archivo está incompleto o dañado. Volvé a exportarlo y subilo de nuevo."), SpreadsheetError.TRUNCATED
        )
    limits = budget()
    try:
        if scan:
            (scan_xlsx if kind == "xlsx" else scan_ods)(archive, limits)
    except BudgetExceeded as exc:
        raise _over_budget(exc, limits) from None
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError, RuntimeError, SyntaxError) as exc:
        raise _fail(
            _("No se pudo leer la planilla: el archivo está dañado o no es una planilla válida."),
            SpreadsheetError.UNREADABLE,
        ) from exc
    return kind


def _bomb() -> ApplicationError:
    return _fail(
        _("El archivo se descomprime a un tamaño desmedido (posible bomba zip). No se importó nada."),
        SpreadsheetError.BOMB,
    )


def _workbook_sheet(data: bytes, kind: str) -> Sheet:
    from python_calamine import CalamineWorkbook

    if kind == "xlsx":
        pieces = _xlsx_pieces_sheet(data)
        if pieces is not None:
            return pieces
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = workbook.get_sheet_by_index(0)
        # iter_rows() pads the empty rows above the used range, so count them to keep row numbers exact.
        height = sheet.height + (sheet.start[0] if sheet.start else 0)
    except Exception as exc:  # calamine raises several error types for broken files
        raise _fail(
            _("No se pudo leer la planilla: el archivo está dañado o no es una planilla válida."),
            SpreadsheetError.UNREADABLE,
        ) from exc
    max_rows = _limit("IMPORT_MAX_ROWS", 200_000)
    if height > max_rows + 1:
        raise _too_many_rows(max_rows)
    return Sheet(kind, height, sheet.iter_rows)


# --- a large xlsx, a piece at a time -------------------------------------------------------------
#
# calamine builds a whole sheet at once: at 200,000 rows its cells take about 120 MB and parsing
# them about 190 MB. A large sheet is therefore cut, between rows, into pieces of about
# XLSX_PIECE_BYTES of XML; each piece is wrapped with the workbook's own small parts (workbook,
# relationships, styles, shared strings) into a tiny stored zip that calamine reads on its own,
# and only that piece's cells are held at once. Rows keep their numbers (`r="..."`): the gap
# before a piece's first row (empty rows) is filled with empty rows, and its columns are padded
# to their absolute position. Only the plain shape every common writer produces is cut
# (unprefixed tags, `r` on every row and cell, no CDATA); any other sheet is read whole.

XLSX_PIECE_BYTES = 4 * 1024 * 1024
_SHEET_DATA = b"<sheetData>"
_SHEET_DATA_END = b"</sheetData>"
_DIMENSION = re.compile(rb"<dimension\b[^>]*/>")
# Parts a piece does not need: the other sheets and what only they use.
_SKIPPED_PARTS = (
    "xl/worksheets/",
    "xl/chartsheets/",
    "xl/media/",
    "xl/drawings/",
    "xl/charts/",
    "xl/pivot",
    "docProps/",
)


class _NotPieceable(Exception):
    """The sheet is not in the plain shape that can be cut between rows."""


# A row or cell tag without `r` first, or a CDATA section (which may hide "</row>"): not plain.
_NOT_PLAIN = re.compile(rb'<(?:row|c)(?=[\s>/])(?! r=")|<!\[CDATA\[')


def _plain_rows(piece: bytes) -> bool:
    return _NOT_PLAIN.search(piece) is None


def _xlsx_pieces_sheet(data: bytes) -> Sheet | None:
    """A Sheet read a piece at a time, or None when the sheet is small or not plain enough to cut."""
    piece_bytes = _limit("IMPORT_XLSX_PIECE_BYTES", XLSX_PIECE_BYTES)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        sheet_name, shared = xlsx_parts(archive)
        if sheet_name is None:
            return None
        sheet_size = archive.getinfo(sheet_name).file_size
        # The shared strings are parsed again with every piece: pieces at least twice their size.
        if shared is not None:
            piece_bytes = max(piece_bytes, 2 * archive.getinfo(shared).file_size)
        if sheet_size <= 2 * piece_bytes:
            return None
        with archive.open(sheet_name) as handle:
            start = handle.read(CHUNK)
    except (BudgetExceeded, zipfile.BadZipFile, KeyError, EOFError, ValueError, SyntaxError, OSError):
        return None  # the whole read reports what is wrong with the file
    at = start.find(_SHEET_DATA)
    if at < 0 or not start.lstrip().startswith((b"<?xml", b"<worksheet")) or b"<worksheet" not in start[:at]:
        return None
    if not _plain_rows(start[at:].rpartition(b"</row>")[0]):
        return None
    head = _DIMENSION.sub(b"", start[: at + len(_SHEET_DATA)])
    parts = {
        info.filename: archive.read(info)
        for info in archive.infolist()
        if info.filename != sheet_name and not info.filename.startswith(_SKIPPED_PARTS) and not info.is_dir()
    }
    max_rows = _limit("IMPORT_MAX_ROWS", 200_000)

    def pieces() -> Iterator[bytes]:
        """The sheet's rows, each piece a whole worksheet document of complete rows."""
        with zipfile.ZipFile(io.BytesIO(data)) as source, source.open(sheet_name) as handle:
            handle.read(at + len(_SHEET_DATA))
            blocks: list[bytes] = []
            size = 0
            wanted = CHUNK  # the first piece is small: the upload's check stops after two filled rows
            while True:
                block = handle.read(CHUNK)
                # "</sheetData>" may straddle two blocks: look from just before this one.
                tail = blocks[-1][-len(_SHEET_DATA_END) :] if blocks else b""
                done = not block or _SHEET_DATA_END in tail + block
                blocks.append(block)
                size += len(block)
                if not done and size < wanted:
                    continue
                rest = b"".join(blocks)
                if done:
                    end = rest.find(_SHEET_DATA_END)
                    rows = rest[:end] if end >= 0 else rest
                    while len(rows) > wanted:  # what is left after a large last block, cut as usual
                        cut = rows.rfind(b"</row>", 0, wanted) + len(b"</row>")
                        if cut < len(b"</row>"):
                            break
                        yield rows[:cut]
                        rows = rows[cut:]
                    yield rows
                    return
                cut = rest.rfind(b"</row>") + len(b"</row>")
                if cut < len(b"</row>"):
                    blocks = [rest]  # one long row: keep reading until it ends
                    continue
                yield rest[:cut]
                blocks = [rest[cut:]]
                size = len(blocks[0])
                wanted = piece_bytes

    def workbooks() -> Iterator[tuple[int, int, list[list]]]:
        """(first row, first column, rows) of each piece's used range (0-based)."""
        from python_calamine import CalamineWorkbook

        expected = 0
        for rows_xml in pieces():
            # The first piece was checked whole; the others are checked where it matters, cheaply: a
            # CDATA section could hide a cut, and rows without numbers would restart at 0 (below).
            if b"<![CDATA[" in rows_xml:
                raise _NotPieceable
            out = io.BytesIO()
            with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as piece:
                for name, content in parts.items():
                    piece.writestr(name, content)
                piece.writestr(sheet_name, b"".join((head, rows_xml, _SHEET_DATA_END, b"</worksheet>")))
            del rows_xml
            out.seek(0)
            sheet = CalamineWorkbook.from_filelike(out).get_sheet_by_index(0)
            if sheet.start is None:
                continue
            top, left = sheet.start
            if top < expected:
                raise _NotPieceable
            if top > max_rows:
                raise _too_many_rows(max_rows)
            piece_rows = sheet.to_python(skip_empty_area=True)
            expected = top + len(piece_rows)
            yield top, left, piece_rows

    def rows() -> Iterator[list]:
        expected = 0
        for top, left, piece_rows in workbooks():
            while expected < top:
                yield []
                expected += 1
            pad = [""] * left
            for row in piece_rows:
                yield pad + row if left else row
            expected = top + len(piece_rows)

    def height() -> int:
        last = 0
        for top, _left, piece_rows in workbooks():
            last = top + len(piece_rows)
        # calamine's buffers, freed, stay in the C heap (glibc keeps them for its own reuse, which
        # Python's objects never make): given back now, or the upload leaves the worker ~40 MB larger.
        release_freed_memory()
        if last > max_rows + 1:
            raise _too_many_rows(max_rows)
        return last

    return Sheet("xlsx", height, rows)


def open_sheet(data: bytes, *, filename: str = "", scanned: bool = False) -> Sheet:
    """Judge `data` by its content and open its first sheet, or raise a specific ApplicationError.

    A sheet needs a header and at least one row below it (two rows that are not blank). `scanned`
    skips the budget scan of a workbook whose very bytes already passed it (a stored batch file)."""
    sheet = _open_sheet(data, filename=filename, scanned=scanned)
    filled = 0
    for row in sheet.rows():
        if any(cell not in (None, "") and not (isinstance(cell, str) and not cell.strip()) for cell in row):
            filled += 1
            if filled == 2:
                return sheet
    raise _fail(
        _("La planilla no tiene filas de datos: solo encabezados, o nada. No se importó nada."),
        SpreadsheetError.NO_DATA,
    )


def _open_sheet(data: bytes, *, filename: str, scanned: bool) -> Sheet:
    if not data.strip():
        raise _fail(_("El archivo está vacío."), SpreadsheetError.EMPTY)
    max_bytes = _limit("IMPORT_MAX_FILE_BYTES", 50 * 1024 * 1024)
    if len(data) > max_bytes:
        raise _fail(
            _("El archivo pesa más de %(mb)s MB, el máximo permitido.") % {"mb": max_bytes // (1024 * 1024)},
            SpreadsheetError.TOO_BIG,
        )
    suffix = Path(filename).suffix.lower()
    if data.startswith(ZIP_MAGIC):
        return _workbook_sheet(data, _check_zip(data, scan=not scanned))
    if data.startswith(OLE_MAGIC):
        # Excel stores a password-protected xlsx as an OLE container with an encrypted package.
        if "EncryptedPackage".encode("utf-16-le") in data or b"EncryptionInfo" in data:
            raise _fail(
                _("La planilla está protegida con contraseña. Quitale la contraseña en Excel y subila de nuevo."),
                SpreadsheetError.PASSWORD,
            )
        limits = budget()
        try:
            if not scanned:
                scan_xls(data, limits)
        except BudgetExceeded as exc:
            raise _over_budget(exc, limits) from None
        except Exception as exc:  # olefile and the record walk fail in many ways on a damaged file
            raise _fail(
                _("No se pudo leer la planilla: el archivo está dañado o no es una planilla válida."),
                SpreadsheetError.UNREADABLE,
            ) from exc
        return _workbook_sheet(data, "xls")
    for magic, what in OTHER_MAGIC.items():
        if data.startswith(magic):
            raise _fail(
                _("El archivo no es una planilla: es un %(what)s con otro nombre.") % {"what": what},
                SpreadsheetError.NOT_A_SPREADSHEET,
            )
    if suffix in WORKBOOK_SUFFIXES and not _looks_like_text(data):
        raise _fail(_("El archivo no es una planilla válida."), SpreadsheetError.NOT_A_SPREADSHEET)
    if suffix in {".csv", ".txt", ".tsv", ""} or _looks_like_text(data):
        return _csv_sheet(data)
    raise _fail(_("Formato no admitido: subí un archivo .xlsx o .csv."), SpreadsheetError.UNSUPPORTED)


def read_rows(source: str | Path | BinaryIO | bytes, *, filename: str | None = None) -> Iterator[list]:
    """Every row of the first sheet (or of the csv) as a list of Python values.

    Checks the file eagerly (errors are raised here, not at the first row).
    """
    if isinstance(source, (str, Path)):
        filename = filename or str(source)
        data = Path(source).read_bytes()
    elif isinstance(source, bytes):
        data = source
    else:
        data = source.read()
    return open_sheet(data, filename=filename or "").rows()


# --- headers -----------------------------------------------------------------------------------


_DECORATION = re.compile(r"\([^)]*\)|\[[^\]]*\]")


def match_headers(row: list, headers: dict[str, tuple[str, ...]]) -> dict[str, int]:
    """field -> column index for the cells of `row` that name a known column.

    Whole keys only, never prefixes (a prefix took `mesa_desde` for the table and `Movilidad` for
    a phone); a decoration in parentheses is dropped first ("Celular (con código de área)" ->
    phone). The first column that matches a field keeps it.
    """
    exact = {key: field for field, keys in headers.items() for key in keys}
    columns: dict[str, int] = {}
    for index, cell in enumerate(row):
        if not isinstance(cell, str):
            continue
        field = exact.get(header_key(cell)) or exact.get(header_key(_DECORATION.sub(" ", cell)))
        if field and field not in columns:
            columns[field] = index
    return columns


def _missing(columns: dict[str, int], required) -> list[str]:
    return [label for label, options in required if not any(all(f in columns for f in opt) for opt in options)]


@dataclass
class Header:
    index: int  # 0-based index of the header row
    columns: dict[str, int]
    cells: list


def find_header(rows: Iterator[list], headers: dict[str, tuple[str, ...]], required) -> Header:
    """The header row below title and blank rows (`rows` is left just after it); raise naming missing columns."""
    best: tuple[int, dict[str, int]] | None = None
    for index, row in enumerate(rows):
        columns = match_headers(row, headers)
        if columns and not _missing(columns, required):
            return Header(index, columns, list(row))
        if columns and (best is None or len(columns) > len(best[1])):
            best = (index, columns)
        if index + 1 >= HEADER_SCAN_ROWS:
            break
    if best is None:
        raise ApplicationError(
            _("No se encontró la fila de encabezados en las primeras %(n)s filas. Columnas necesarias: %(cols)s.")
            % {"n": HEADER_SCAN_ROWS, "cols": ", ".join(label for label, _ in required)},
            code=HeaderError.NO_HEADER,
        )
    missing = _missing(best[1], required)
    raise ApplicationError(
        _("Falta la columna obligatoria: %(cols)s (encabezados en la fila %(row)s).")
        % {"cols": ", ".join(missing), "row": best[0] + 1},
        code=HeaderError.MISSING_COLUMNS,
        extra={"missing": missing, "header_row": best[0] + 1},
    )
