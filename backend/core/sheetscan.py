"""Streaming scans that bound what a workbook reader would build, before it builds anything.

calamine reads a whole sheet into memory at once: every cell of the used range (about 32 bytes
each, empty or not) and a copy of its text for every cell that shows it. A 7.5 KB xlsx with one
1,000,000-character shared string shown by a few hundred cells, an ods cell repeated a million
times with `number-columns-repeated`, or two values at A1 and XFD1048576 inflate to gigabytes
from a file that passes every size and compression check. So the XML is scanned first, a chunk at
a time (the largest chunk is bounded, so the scan itself needs a few megabytes), and the file is
refused as soon as a budget is exceeded:

- cells: rows x columns of the range between the first and last cells holding a value;
- text: bytes of text in all cells, a shared string counted once per cell that shows it;
- one cell: bytes of one cell's text (a generous upper bound of IMPORT_MAX_CELL_CHARS characters;
  the exact character count is checked again on every row as it is read).
"""

from __future__ import annotations

import posixpath
import re
import struct
import zipfile
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

CHUNK = 1024 * 1024
# Raw XML bytes one character may take: four in UTF-8, six as an entity such as &#x1F600;... or &amp;.
BYTES_PER_CHAR = 6


class BudgetExceeded(Exception):
    """A scan found more than a budget allows; `what` is "rows", "cells", "text" or "cell"."""

    def __init__(self, what: str, *, row: int = 0):
        super().__init__(what)
        self.what = what
        self.row = row


@dataclass
class Budget:
    max_rows: int
    max_cells: int
    max_text: int
    max_cell_chars: int

    @property
    def max_cell_bytes(self) -> int:
        return self.max_cell_chars * BYTES_PER_CHAR


class _Range:
    """The bounding box of the cells holding a value, checked against the budget as it grows."""

    def __init__(self, budget: Budget):
        self.budget = budget
        self.top = self.left = 1 << 30
        self.bottom = self.right = 0
        self.text = 0

    def add(self, row: int, col: int, text: int, *, rows: int = 1, cols: int = 1) -> None:
        budget = self.budget
        if text > budget.max_cell_bytes:
            raise BudgetExceeded("cell", row=row)
        self.text += text * rows * cols
        if self.text > budget.max_text:
            raise BudgetExceeded("text", row=row)
        changed = False
        if row < self.top:
            self.top, changed = row, True
        if row + rows - 1 > self.bottom:
            self.bottom, changed = row + rows - 1, True
        if col < self.left:
            self.left, changed = col, True
        if col + cols - 1 > self.right:
            self.right, changed = col + cols - 1, True
        if changed:
            if self.bottom > budget.max_rows + 1:
                raise BudgetExceeded("rows", row=self.bottom)
            if (self.bottom - self.top + 1) * (self.right - self.left + 1) > budget.max_cells:
                raise BudgetExceeded("cells", row=self.bottom)


def _chunks(handle: IO[bytes], *, limit: int) -> Iterator[bytes]:
    """The stream in pieces that each end just before a '<' (so no tag or text run is split).

    A piece with no '<' in `limit` bytes can only be one enormous text node: refused as a cell."""
    rest = b""
    while True:
        block = handle.read(CHUNK)
        if not block:
            if rest:
                yield rest + b"<"
            return
        rest += block
        cut = rest.rfind(b"<")
        if cut <= 0:
            if len(rest) > limit:
                raise BudgetExceeded("cell")
            continue
        yield rest[: cut + 1]  # the '<' closes the last text run; it is scanned again with the rest
        rest = rest[cut:]


_ATTR_R = re.compile(rb'\br="([A-Za-z]{0,3})(\d{0,7})"')
_ATTR_T = re.compile(rb'\bt="([A-Za-z]+)"')
_XLSX_SST = re.compile(rb"<(?:[\w.-]+:)?(si|t)(?=[\s/>])([^>]*)>(?:([^<]*)(?=<))?")
_XLSX_SHEET = re.compile(rb"<(?:[\w.-]+:)?(row|c|v|t)(?=[\s/>])([^>]*)>(?:([^<]*)(?=<))?")
_COLUMNS: dict[bytes, int] = {}


def _column(letters: bytes) -> int:
    number = _COLUMNS.get(letters)
    if number is None:
        number = 0
        for ch in letters.upper():
            number = number * 26 + ch - 64
        _COLUMNS[letters] = number
    return number


def _xlsx_shared_strings(archive: zipfile.ZipFile, name: str | None, budget: Budget) -> array:
    """Bytes of text of every shared string, in order."""
    lengths = array("q")
    if name is None:
        return lengths
    total = 0
    with archive.open(name) as handle:
        for piece in _chunks(handle, limit=budget.max_cell_bytes):
            for tag, _attrs, text in _XLSX_SST.findall(piece):
                if tag == b"si":
                    lengths.append(0)
                elif text and lengths:
                    lengths[-1] += len(text)
                    total += len(text)
                    if lengths[-1] > budget.max_cell_bytes:
                        raise BudgetExceeded("cell")
                    if total > budget.max_text:
                        raise BudgetExceeded("text")
    return lengths


def xlsx_parts(archive: zipfile.ZipFile) -> tuple[str | None, str | None]:
    """(first sheet, shared strings) member names, resolved through the workbook's relationships."""
    from xml.etree import ElementTree

    names = set(archive.namelist())

    def small_xml(name: str):
        info = archive.getinfo(name)
        if info.file_size > 8 * 1024 * 1024:
            raise BudgetExceeded("cells")
        return ElementTree.fromstring(archive.read(name))

    rels: dict[str, tuple[str, str]] = {}
    if "xl/_rels/workbook.xml.rels" in names:
        for rel in small_xml("xl/_rels/workbook.xml.rels"):
            target = rel.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            rels[rel.get("Id", "")] = (rel.get("Type", "").rsplit("/", 1)[-1], path)
    sheet = None
    for element in small_xml("xl/workbook.xml").iter():
        if element.tag.endswith("}sheet") or element.tag == "sheet":
            rid = next((v for k, v in element.attrib.items() if k.endswith("}id")), "")
            sheet = rels.get(rid, ("", ""))[1] or None
            break
    if sheet not in names:
        sheet = "xl/worksheets/sheet1.xml" if "xl/worksheets/sheet1.xml" in names else None
    shared = next((path for kind, path in rels.values() if kind == "sharedStrings" and path in names), None)
    if shared is None and "xl/sharedStrings.xml" in names:
        shared = "xl/sharedStrings.xml"
    return sheet, shared


class _NotPlain(Exception):
    """The sheet is not in the plain shape the fast scan counts exactly (prefixes, cells without r=...)."""


# The plain shape every common writer produces: <c r="B7" s="1" t="s"><v>12</v></c>, unprefixed, r first.
# (Empty styled cells count in the range here though calamine skips them: a cautious over-count.)
_C_ROW = re.compile(rb'<c r="[A-Z]{1,3}(\d{1,7})"')
_C_COL = re.compile(rb'<c r="([A-Z]{1,3})\d')
_C_SHARED_INDEX = re.compile(rb'<c r="[A-Z]{1,3}\d{1,7}"[^>]*? t="s"[^>]*><v>(\d+)</v>')
_TEXT = re.compile(rb">([^<]+)<")


def _scan_xlsx_plain(handle: IO[bytes], lengths: array, budget: Budget) -> None:
    """The fast scan: a few regular expressions per megabyte, no Python work per cell."""
    used = _Range(budget)
    first = True
    rest = b""
    while True:
        block = handle.read(CHUNK)
        rest += block
        if block:
            cut = rest.rfind(b"<c ")  # pieces end before a cell, so no cell is split
            if cut <= 0:
                if len(rest) > budget.max_cell_bytes + CHUNK:
                    raise BudgetExceeded("cell")
                continue
            piece, rest = rest[:cut], rest[cut:]
        else:
            piece, rest = rest + b"<", b""
        if first:
            if re.search(rb"<[\w.-]+:sheetData", piece):
                raise _NotPlain
            first = False
        rows = _C_ROW.findall(piece)
        if piece.count(b"<c ") + piece.count(b"<c>") + piece.count(b"<c/>") != len(rows):
            raise _NotPlain
        if rows:
            numbers = list(map(int, rows))
            columns = list(map(_column, set(_C_COL.findall(piece))))
            used.add(min(numbers), min(columns), 0)
            used.add(max(numbers), max(columns), 0)
        shared = piece.count(b' t="s"')
        if shared:
            indexes = _C_SHARED_INDEX.findall(piece)
            if len(indexes) != shared:
                raise _NotPlain
            try:
                sizes = list(map(lengths.__getitem__, map(int, indexes)))
            except IndexError:
                raise ValueError("shared string index out of range") from None
            used.add(used.top, used.left, max(sizes))
            used.text += sum(sizes)
        texts = _TEXT.findall(piece)  # inline strings and values (shared string indexes too: a few bytes)
        if texts:
            used.add(used.top, used.left, max(map(len, texts)))
            used.text += sum(map(len, texts))
        if used.text > budget.max_text:
            raise BudgetExceeded("text")
        if not block:
            return


def scan_xlsx(archive: zipfile.ZipFile, budget: Budget) -> None:
    """Raise BudgetExceeded when reading the first sheet would build more than `budget` allows."""
    sheet, shared = xlsx_parts(archive)
    lengths = _xlsx_shared_strings(archive, shared, budget)
    if sheet is None:
        return
    try:
        with archive.open(sheet) as handle:
            _scan_xlsx_plain(handle, lengths, budget)
            return
    except _NotPlain:
        pass
    used = _Range(budget)
    row = col = 0
    cell_type = b""
    cell_text = -1  # bytes of text of the current cell; -1 until it shows a value
    cell_row = cell_col = 0

    def flush() -> None:
        if cell_text >= 0:
            used.add(cell_row, cell_col, cell_text)

    with archive.open(sheet) as handle:
        for piece in _chunks(handle, limit=budget.max_cell_bytes):
            for tag, attrs, text in _XLSX_SHEET.findall(piece):
                if tag == b"c":
                    flush()
                    ref = _ATTR_R.search(attrs)
                    if ref and ref.group(1):
                        col = _column(ref.group(1))
                        if ref.group(2):
                            row = int(ref.group(2))
                    else:
                        col += 1
                    kind = _ATTR_T.search(attrs)
                    cell_type = kind.group(1) if kind else b""
                    cell_row, cell_col, cell_text = row, col, -1
                elif tag == b"row":
                    flush()
                    cell_text = -1
                    ref = _ATTR_R.search(attrs)
                    row = int(ref.group(2)) if ref and ref.group(2) else row + 1
                    col = 0
                elif tag == b"v":
                    if cell_type == b"s":
                        index = int(text) if text.strip().isdigit() else -1
                        size = lengths[index] if 0 <= index < len(lengths) else 0
                    else:
                        size = len(text)
                    cell_text = max(cell_text, 0) + size
                elif tag == b"t" and not attrs.endswith(b"/"):
                    cell_text = max(cell_text, 0) + len(text)
                if cell_text > budget.max_cell_bytes:
                    raise BudgetExceeded("cell", row=cell_row)
            # Cells end inside a piece; a cell still open at its end is flushed by the next tag.
        flush()


_ODS = re.compile(
    rb"<(/?)(table:table|table:table-row|table:table-cell|table:covered-table-cell|text:s|text:tab|text:line-break)"
    rb"(?=[\s/>])([^>]*)>(?:([^<]*)(?=<))?|>([^<]+)(?=<)"
)
_ODS_ROWS = re.compile(rb'table:number-rows-repeated="(\d+)"')
_ODS_COLS = re.compile(rb'table:number-columns-repeated="(\d+)"')
_ODS_SPACES = re.compile(rb'text:c="(\d+)"')
_ODS_VALUE = re.compile(rb"office:value-type=")


def scan_ods(archive: zipfile.ZipFile, budget: Budget) -> None:
    """Raise BudgetExceeded when reading the first table of an ods would build more than `budget` allows.

    Repeated rows and cells (`number-rows-repeated`, `number-columns-repeated`) and repeated spaces
    (`<text:s text:c="N"/>`) count as many times as the reader will copy them."""
    used = _Range(budget)
    depth = 0  # inside the first table
    done = False
    row = 0
    row_repeat = 1
    col = 0
    in_cell = False
    cell_repeat = 1
    cell_text = 0
    cell_valued = False

    def close_cell() -> None:
        if cell_valued or cell_text:
            used.add(row, col, cell_text, rows=row_repeat, cols=cell_repeat)

    with archive.open("content.xml") as handle:
        for piece in _chunks(handle, limit=budget.max_cell_bytes):
            if done:
                break
            for closing, tag, attrs, text, loose in _ODS.findall(piece):
                if not tag:
                    if in_cell:
                        cell_text += len(loose)
                        if cell_text > budget.max_cell_bytes:
                            raise BudgetExceeded("cell", row=row)
                    continue
                self_closing = attrs.endswith(b"/")
                if tag == b"table:table":
                    if closing:
                        depth -= 1
                        if depth == 0:
                            done = True
                            break
                    elif not self_closing:
                        depth += 1
                    continue
                if depth != 1 and tag in (b"table:table-row", b"table:table-cell", b"table:covered-table-cell"):
                    continue
                if tag == b"table:table-row":
                    if closing:
                        row += row_repeat - 1
                        continue
                    found = _ODS_ROWS.search(attrs)
                    row += 1
                    row_repeat = min(int(found.group(1)), 1 << 24) if found else 1
                    col = 0
                    if self_closing:
                        row += row_repeat - 1
                    continue
                if tag in (b"table:table-cell", b"table:covered-table-cell"):
                    if closing:
                        if in_cell:
                            close_cell()
                            col += cell_repeat - 1
                        in_cell = False
                        continue
                    found = _ODS_COLS.search(attrs)
                    col += 1
                    cell_repeat = min(int(found.group(1)), 1 << 24) if found else 1
                    cell_valued = bool(_ODS_VALUE.search(attrs))
                    cell_text = len(text)
                    if self_closing:
                        in_cell = True
                        close_cell()
                        in_cell = False
                        col += cell_repeat - 1
                    else:
                        in_cell = True
                    continue
                if in_cell:  # text:s, text:tab, text:line-break inside a cell
                    spaces = _ODS_SPACES.search(attrs) if tag == b"text:s" else None
                    cell_text += (min(int(spaces.group(1)), 1 << 30) if spaces else 1) + len(text)
                    if cell_text > budget.max_cell_bytes:
                        raise BudgetExceeded("cell", row=row)


# --- xls (BIFF8) ------------------------------------------------------------------------------------

_BIFF_SST, _BIFF_CONTINUE, _BIFF_BOUNDSHEET, _BIFF_EOF = 0x00FC, 0x003C, 0x0085, 0x000A
_BIFF_LABELSST, _BIFF_LABEL, _BIFF_RSTRING, _BIFF_STRING = 0x00FD, 0x0204, 0x00D6, 0x0207
# Cell records that hold a value, each opening with (row, column); MULRK holds several columns.
_BIFF_VALUES = {0x0203, 0x027E, 0x0205, 0x0006, 0x00BD, _BIFF_LABELSST, _BIFF_LABEL, _BIFF_RSTRING}


def _biff_records(stream: bytes, start: int = 0) -> Iterator[tuple[int, int, bytes]]:
    """(offset, record type, payload) from `start`; a record running past the end ends the walk."""
    offset = start
    while offset + 4 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, offset)
        payload = stream[offset + 4 : offset + 4 + size]
        if len(payload) < size:
            return
        yield offset, kind, payload
        offset += 4 + size


def _biff_shared_strings(segments: list[bytes], budget: Budget) -> array:
    """Bytes of every string of the SST (its first segment after the two counts, then its CONTINUE records).

    A string's characters may go on in the next record, which then opens with a new flags byte."""
    lengths = array("q")
    if not segments:
        return lengths
    index, pos = 0, 8
    total = 0

    def advance(count: int) -> None:
        nonlocal index, pos
        while count > 0 and index < len(segments):
            room = len(segments[index]) - pos
            if count < room:
                pos += count
                return
            count -= room
            index, pos = index + 1, 0

    (unique,) = struct.unpack_from("<I", segments[0], 4) if len(segments[0]) >= 8 else (0,)
    for _ in range(min(unique, 1 << 24)):
        while index < len(segments) and pos >= len(segments[index]):
            index, pos = index + 1, 0  # a new string may open the next CONTINUE record
        if index >= len(segments) or pos + 3 > len(segments[index]):
            break
        segment = segments[index]
        chars, flags = struct.unpack_from("<HB", segment, pos)
        pos += 3
        runs = ext = 0
        if flags & 0x08 and pos + 2 <= len(segment):
            (runs,) = struct.unpack_from("<H", segment, pos)
            pos += 2
        if flags & 0x04 and pos + 4 <= len(segment):
            (ext,) = struct.unpack_from("<I", segment, pos)
            pos += 4
        wide = flags & 0x01
        remaining = chars
        while remaining > 0 and index < len(segments):
            available = (len(segments[index]) - pos) // (2 if wide else 1)
            taken = min(remaining, available)
            pos += taken * (2 if wide else 1)
            remaining -= taken
            if remaining > 0:
                index += 1
                if index >= len(segments):
                    break
                wide = segments[index][0] & 0x01 if segments[index] else 0
                pos = 1
        size = chars * (2 if flags & 0x01 else 1)
        if size > budget.max_cell_bytes:
            raise BudgetExceeded("cell")
        total += size
        if total > budget.max_text:
            raise BudgetExceeded("text")
        lengths.append(size)
        advance(4 * runs + ext)
    return lengths


def scan_xls(data: bytes, budget: Budget) -> None:
    """Raise BudgetExceeded when reading the first sheet of an .xls would build more than `budget` allows."""
    import olefile

    with olefile.OleFileIO(data) as ole:
        name = "Workbook" if ole.exists("Workbook") else "Book" if ole.exists("Book") else None
        if name is None:
            raise ValueError("no workbook stream")
        stream = ole.openstream(name).read()
    segments: list[bytes] = []
    sheet_at = None
    collecting = False
    for _offset, kind, payload in _biff_records(stream):
        if kind == _BIFF_SST:
            segments, collecting = [payload], True
            continue
        if kind == _BIFF_CONTINUE and collecting:
            segments.append(payload)
            continue
        collecting = False
        if kind == _BIFF_BOUNDSHEET and sheet_at is None and len(payload) >= 4:
            (sheet_at,) = struct.unpack_from("<I", payload)
        elif kind == _BIFF_EOF:
            break
    lengths = _biff_shared_strings(segments, budget)
    if sheet_at is None:
        return
    used = _Range(budget)
    for _offset, kind, payload in _biff_records(stream, sheet_at):
        if kind == _BIFF_EOF:
            break
        if kind not in _BIFF_VALUES or len(payload) < 6:
            continue
        row, col = struct.unpack_from("<HH", payload)
        last = col
        size = 0
        if kind == 0x00BD and len(payload) >= 6:  # MULRK: its last column closes the record
            (last,) = struct.unpack_from("<H", payload, len(payload) - 2)
        elif kind == _BIFF_LABELSST and len(payload) >= 10:
            (index,) = struct.unpack_from("<I", payload, 6)
            size = lengths[index] if index < len(lengths) else 0
        elif kind in (_BIFF_LABEL, _BIFF_RSTRING) and len(payload) >= 8:
            (chars,) = struct.unpack_from("<H", payload, 6)
            size = chars * 2
        used.add(row + 1, col + 1, size, cols=max(1, last - col + 1))
