"""Spreadsheets built byte by byte, in the shapes an attacker (or a strange exporter) would send.

openpyxl refuses to write most of these (a huge shared string referenced many times, repeated
cells, control characters), so the XML is written here directly, as a zip like any xlsx or ods.
"""

from __future__ import annotations

import io
import struct
import zipfile
from xml.sax.saxutils import escape

_CT = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
    '<sheet name="Hoja1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
    'Target="sharedStrings.xml"/></Relationships>'
)


def column_letters(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def xlsx_cell(row: int, col: int, value) -> str:
    """One <c> element at (row, col), 1-based; str values are inline, ("s", n) references shared string n."""
    ref = f"{column_letters(col - 1)}{row}"
    if isinstance(value, tuple):
        return f'<c r="{ref}" t="s"><v>{value[1]}</v></c>'
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(value)}</t></is></c>'


def xlsx_raw(cells: dict[int, str], shared: list[str]) -> bytes:
    """An xlsx whose first sheet holds `cells` (row number -> the row's <c> elements) and `shared` strings."""
    sheet_rows = "".join(f'<row r="{row}">{xml}</row>' for row, xml in sorted(cells.items()))
    strings = "".join(f'<si><t xml:space="preserve">{escape(s)}</t></si>' for s in shared)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CT)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr(
            "xl/sharedStrings.xml",
            '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
            f'main" count="{len(shared)}" uniqueCount="{len(shared)}">{strings}</sst>',
        )
        archive.writestr(
            "xl/worksheets/sheet1.xml",
            '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
            f'2006/main"><sheetData>{sheet_rows}</sheetData></worksheet>',
        )
    return buffer.getvalue()


def xlsx_rows(rows: list[list]) -> bytes:
    """An xlsx of plain rows (inline strings, numbers), written without openpyxl's checks."""
    return xlsx_raw(
        {
            r: "".join(xlsx_cell(r, c, v) for c, v in enumerate(row, start=1) if v is not None)
            for r, row in enumerate(rows, 1)
        },
        [],
    )


def shared_string_trick(*, length: int, cells: int) -> bytes:
    """The attack of issue 14: one `length`-character shared string shown by `cells` cells (a few KB)."""
    return xlsx_raw({row: xlsx_cell(row, 1, ("s", 0)) for row in range(1, cells + 1)}, ["x" * length])


_ODS_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
)


def ods_cell(value, *, repeat: int = 1) -> str:
    repeated = f' table:number-columns-repeated="{repeat}"' if repeat > 1 else ""
    if value is None:
        return f"<table:table-cell{repeated}/>"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        kind, text = f'float" office:value="{value}', str(value)
    else:
        kind, text = "string", escape(str(value))
    return f'<table:table-cell office:value-type="{kind}"{repeated}><text:p>{text}</text:p></table:table-cell>'


def ods_row(cells: str, *, repeat: int = 1) -> str:
    repeated = f' table:number-rows-repeated="{repeat}"' if repeat > 1 else ""
    return f"<table:table-row{repeated}>{cells}</table:table-row>"


def ods_raw(body: str) -> bytes:
    """An ods whose first table holds `body` (table-row elements)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr(
            "META-INF/manifest.xml",
            '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
            'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry '
            'manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
            '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
            "</manifest:manifest>",
        )
        archive.writestr(
            "content.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODS_NS} office:version="1.2">'
            f'<office:body><office:spreadsheet><table:table table:name="Hoja1">{body}</table:table>'
            "</office:spreadsheet></office:body></office:document-content>",
        )
    return buffer.getvalue()


def ods_rows(rows: list[list]) -> bytes:
    return ods_raw("".join(ods_row("".join(ods_cell(v) for v in row)) for row in rows))


# --- xls (BIFF8 in an OLE compound file), written by hand: nothing in the dependencies writes .xls ----


def _record(kind: int, payload: bytes) -> bytes:
    return struct.pack("<HH", kind, len(payload)) + payload


def _bof(kind: int) -> bytes:
    return _record(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 0x06))


def _sst(strings: list[str]) -> bytes:
    """SST and CONTINUE records; a long string goes on in CONTINUE records, each opening with its flags byte."""
    records: list[bytes] = []
    current = bytearray(struct.pack("<II", len(strings), len(strings)))
    limit = 8224
    for text in strings:
        encoded = text.encode("latin-1")
        if len(current) + 3 + 1 > limit:
            records.append(bytes(current))
            current = bytearray()
        current += struct.pack("<HB", len(encoded), 0)
        while encoded:
            room = limit - len(current)
            current += encoded[:room]
            encoded = encoded[room:]
            if encoded:
                records.append(bytes(current))
                current = bytearray(b"\x00")  # the continued characters' flags: 8-bit
    records.append(bytes(current))
    return _record(0x00FC, records[0]) + b"".join(_record(0x003C, r) for r in records[1:])


def xls_raw(cells: list[tuple[int, int, object]], shared: list[str]) -> bytes:
    """An .xls whose first sheet holds `cells` ((row, col, value), 0-based; ("s", n) is shared string n)."""
    sheet = bytearray(_bof(0x0010))
    for row, col, value in cells:
        if isinstance(value, tuple):
            sheet += _record(0x00FD, struct.pack("<HHHI", row, col, 0, value[1]))
        elif isinstance(value, (int, float)):
            sheet += _record(0x0203, struct.pack("<HHHd", row, col, 0, float(value)))
        else:
            encoded = str(value).encode("latin-1", "replace")[:255]
            sheet += _record(0x0204, struct.pack("<HHHHB", row, col, 0, len(encoded), 0) + encoded)
    sheet += _record(0x000A, b"")
    name = b"Hoja1"
    globals_head = _bof(0x0005)
    boundsheet_size = 4 + 4 + 2 + 2 + len(name)
    sst = _sst(shared)
    offset = len(globals_head) + boundsheet_size + len(sst) + 4
    boundsheet = _record(0x0085, struct.pack("<IBBBB", offset, 0, 0, len(name), 0) + name)
    stream = globals_head + boundsheet + sst + _record(0x000A, b"") + bytes(sheet)
    return ole_file(stream.ljust(4096, b"\x00"))


def ole_file(stream: bytes) -> bytes:
    """A version 3 compound file (512-byte sectors) holding one stream, "Workbook"."""
    sectors = -(-len(stream) // 512)
    fat_sectors = 1
    while fat_sectors * 128 < fat_sectors + 1 + sectors:
        fat_sectors += 1
    directory = fat_sectors
    first = fat_sectors + 1
    fat = [0xFFFFFFFD] * fat_sectors + [0xFFFFFFFE]
    fat += [first + i + 1 for i in range(sectors - 1)] + [0xFFFFFFFE]
    fat += [0xFFFFFFFF] * (fat_sectors * 128 - len(fat))
    difat = list(range(fat_sectors)) + [0xFFFFFFFF] * (109 - fat_sectors)
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
    header += b"\x00" * 6 + struct.pack("<IIIIIIII", 0, fat_sectors, directory, 0, 4096, 0xFFFFFFFE, 0, 0xFFFFFFFE)
    header += struct.pack("<I", 0) + struct.pack("<109I", *difat)

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        encoded = (name + "\x00").encode("utf-16-le") if name else b""
        return (
            encoded.ljust(64, b"\x00")
            + struct.pack("<HBBIII", len(encoded), kind, 1, 0xFFFFFFFF, 0xFFFFFFFF, child)
            + b"\x00" * 16
            + struct.pack("<I", 0)
            + b"\x00" * 16
            + struct.pack("<IIHH", start, size, 0, 0)
        )

    entries = entry("Root Entry", 5, 1, 0xFFFFFFFE, 0) + entry("Workbook", 2, 0xFFFFFFFF, first, len(stream))
    entries += entry("", 0, 0xFFFFFFFF, 0, 0) * 2
    body = struct.pack(f"<{len(fat)}I", *fat) + entries + stream.ljust(sectors * 512, b"\x00")
    return header.ljust(512, b"\x00") + body


def xls_rows(rows: list[list]) -> bytes:
    return xls_raw([(r, c, v) for r, row in enumerate(rows) for c, v in enumerate(row) if v is not None], [])
