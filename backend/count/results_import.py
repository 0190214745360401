"""Imports of the count: the ballot structure and the authority's provisional results per table.

Two official layouts, both matched by header name (never position):
- the national long CSV (2021 onwards): one row per table x category x list or vote type;
- the wide per-table layout of provincial sites (Córdoba 2019): one row per table, one column
  per party, then blank, null, challenged, contested and voters.
An import writes one official sheet per table x category; a re-import makes the new one current
and keeps the old. Rows naming an unknown table are counted and reported, never guessed.
"""

import codecs
import csv
import hashlib
import io
import itertools
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.core.bulk import bulk_insert
from backend.core.exceptions import ApplicationError, PermissionDenied
from backend.core.jobs import task_queue
from backend.core.spreadsheets import (
    HEADER_SCAN_ROWS,
    OLE_MAGIC,
    ZIP_MAGIC,
    SpreadsheetError,
    find_header,
    read_rows,
)
from backend.core.text import clean_text, fold, header_key
from backend.core.uploads import UploadTooBig
from backend.elections.models import Area, Election, Table
from backend.permissions import can_import

from .errors import CountErrorCode
from .models import (
    BallotList,
    Category,
    OfficialImport,
    OfficialImportLayout,
    OfficialImportState,
    ResultSheet,
    SheetSource,
    SheetStatus,
)

logger = logging.getLogger(__name__)

YES = {"si", "s", "yes", "y", "x", "1", "true", "verdadero"}


MAX_LISTED = 200  # unknown tables and rejected rows kept by name; the counts are always whole


@dataclass
class ImportSummary:
    rows: int = 0
    sheets: int = 0
    categories_created: int = 0
    lists_created: int = 0
    unknown_tables: list[str] = field(default_factory=list)
    unknown_categories: list[str] = field(default_factory=list)
    unknown_lists: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    error_rows: list[int] = field(default_factory=list)  # the file's row of each rejected row in `errors`
    # What the file was understood as (the console's preview): field -> the header found for it.
    columns: dict[str, str] = field(default_factory=dict)
    tables_matched: int = 0
    unknown_table_count: int = 0
    rejected_rows: int = 0
    rejected_sheets: int = 0
    categories: list[str] = field(default_factory=list)  # names of the categories in the file
    _unknown_seen: set[str] = field(default_factory=set, repr=False)

    def unknown_table(self, label: str) -> None:
        # A set beside the list: a file of another election names 100,000 unknown tables.
        if label in self._unknown_seen:
            return
        self._unknown_seen.add(label)
        self.unknown_table_count += 1
        if len(self.unknown_tables) < MAX_LISTED:
            self.unknown_tables.append(label)

    def reject(self, message: str, *, row: int) -> None:
        self.rejected_rows += 1
        if len(self.errors) < MAX_LISTED:
            self.errors.append(message)
            self.error_rows.append(row)

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


def _int(value, *, row: int, column: str) -> int:
    if value is None or value == "":
        return 0
    try:
        number = int(float(str(value).strip().replace(",", ".")))
    except (ValueError, OverflowError):  # OverflowError: "inf"
        raise ApplicationError(
            _("Fila %(row)s, columna %(col)s: «%(value)s» no es un número.")
            % {"row": row, "col": column, "value": value},
            code=CountErrorCode.BAD_FILE,
        ) from None
    if number < 0:
        raise ApplicationError(
            _("Fila %(row)s, columna %(col)s: número negativo.") % {"row": row, "col": column},
            code=CountErrorCode.BAD_FILE,
        )
    return number


# --- the ballot -------------------------------------------------------------------------------

BALLOT_HEADERS: dict[str, tuple[str, ...]] = {
    "category": ("categoria", "cargo", "category", "cargonombre"),
    "code": ("codigo", "codigocategoria", "code", "sigla"),
    "district": ("distrito", "district", "codigodistrito"),
    "list": ("lista", "agrupacion", "list", "party", "partido", "agrupacionnombre"),
    "number": ("numero", "numerodelista", "listanumero", "number"),
    "position": ("orden", "position", "order"),
    "ours": ("nuestra", "propia", "ours"),
}
BALLOT_REQUIRED = [("categoria", [("category",)]), ("lista", [("list",)])]


def _district_get(election: Election, value: str) -> Area | None:
    if not value:
        return None
    areas = Area.objects.filter(election=election, depth=0)
    for area in areas:
        if fold(area.code) == fold(value) or fold(area.name) == fold(value):
            return area
    return None


def _category_code(name: str) -> str:
    words = [w for w in fold(name).split() if w not in {"de", "y", "del", "la", "el", "a"}]
    return "".join(w[0] for w in words).upper()[:8] or "CAT"


def ballot_import(*, election: Election, source, filename: str = "") -> ImportSummary:
    """Categories and lists from a spreadsheet (xlsx or csv): one row per list, its category, district
    (empty: every district), number, order on the sheet and whether it is ours. Idempotent."""
    rows = read_rows(source, filename=filename)
    header = find_header(rows, BALLOT_HEADERS, BALLOT_REQUIRED)
    cols = header.columns
    summary = ImportSummary()

    def cell(row: list, name: str) -> str:
        index = cols.get(name)
        return clean_text(row[index], max_length=200).strip() if index is not None and index < len(row) else ""

    with transaction.atomic():
        for number, row in enumerate(rows, start=header.index + 2):
            category_name, list_name = cell(row, "category"), cell(row, "list")
            if not category_name and not list_name:
                continue
            summary.rows += 1
            if not category_name or not list_name:
                summary.errors.append(_("Fila %(row)s: falta la categoría o la lista.") % {"row": number})
                continue
            district_value = cell(row, "district")
            district = _district_get(election, district_value)
            if district_value and district is None:
                summary.errors.append(
                    _("Fila %(row)s: distrito desconocido «%(d)s».") % {"row": number, "d": district_value}
                )
                continue
            code = cell(row, "code").upper() or _category_code(category_name)
            category = Category.objects.filter(election=election, code=code).first()
            if category is None:
                category = Category.objects.create(
                    election=election,
                    code=code,
                    name=category_name,
                    position=Category.objects.filter(election=election).count(),
                )
                summary.categories_created += 1
            if district is not None:
                category.districts.add(district)
            position = cell(row, "position")
            _list, created = BallotList.objects.update_or_create(
                category=category,
                district=district,
                name=list_name,
                defaults={
                    "number": cell(row, "number")[:16],
                    "position": _int(position, row=number, column="orden") if position else 0,
                    "ours": fold(cell(row, "ours")) in YES,
                },
            )
            summary.lists_created += int(created)
    return summary


# --- finding tables ---------------------------------------------------------------------------


def _codes_meet(code: str, area_path: str) -> bool:
    """Whether an area code of the file ("2", "02") is one of the codes along our area path."""
    wanted = code.lstrip("0") or "0"
    return any((part.lstrip("0") or "0") == wanted for part in area_path.split("/"))


class TableFinder:
    """Tables of an election by number, narrowed by district or place code when numbers repeat."""

    def __init__(self, election: Election):
        self.by_number: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
        for pk, number, path, place_code in Table.objects.filter(election=election).values_list(
            "pk", "number", "place__area__path", "place__code"
        ):
            self.by_number[number].append((pk, path, place_code))
        self.paths: dict[int, str] = {}

    def find(self, number: int, *, district: str = "", section: str = "", place_code: str = "") -> int | None:
        candidates = self.by_number.get(number, [])
        if len(candidates) > 1 and place_code:
            candidates = [c for c in candidates if c[2] == place_code] or candidates
        if district:
            # A district the file names and none of our tables with that number is in: another
            # district's table 1234 is not ours, even when ours is the only 1234 ("2" is "02").
            candidates = [c for c in candidates if _codes_meet(district, c[1])]
        if len(candidates) > 1 and section:
            candidates = [c for c in candidates if _codes_meet(section, c[1])] or candidates
        if len(candidates) != 1:
            return None
        pk, path, _place = candidates[0]
        self.paths[pk] = path
        return pk


# --- official results -------------------------------------------------------------------------

NATIONAL_HEADERS: dict[str, tuple[str, ...]] = {
    "district": ("distritoid",),
    "section": ("seccionid",),
    "circuit": ("circuitoid",),
    "table": ("mesaid",),
    "category": ("cargonombre",),
    "category_id": ("cargoid",),
    "party": ("agrupacionnombre",),
    "list_name": ("listanombre",),
    "kind": ("votostipo",),
    "votes": ("votoscantidad",),
    "count_kind": ("recuentotipo",),
    "year": ("ano",),
}
NATIONAL_REQUIRED = [
    ("mesa_id", [("table",)]),
    ("cargo_nombre", [("category",)]),
    ("votos_tipo", [("kind",)]),
    ("votos_cantidad", [("votes",)]),
    ("agrupacion_nombre", [("party",)]),
]
VOTE_KINDS = {
    "en blanco": "blank",
    "blanco": "blank",
    "nulo": "null",
    "nulos": "null",
    "recurrido": "contested",
    "recurridos": "contested",
    "impugnado": "challenged",
    "impugnados": "challenged",
}


@lru_cache(maxsize=1024)
def _kind(text: str) -> str:
    """votos_tipo folded (a handful of values, millions of rows)."""
    return fold(text)


class BallotIndex:
    """Categories and lists by folded name; creates the missing ones when asked (a first import)."""

    def __init__(self, election: Election, *, create_missing: bool, summary: ImportSummary):
        self.election = election
        self.create_missing = create_missing
        self.summary = summary
        self.categories = {}
        for category in Category.objects.filter(election=election):
            self.categories[fold(category.name)] = category
            self.categories[fold(category.code)] = category
        self.lists: dict[tuple[int, str], list[BallotList]] = defaultdict(list)
        for bl in BallotList.objects.filter(category__election=election).select_related("district"):
            self.lists[(bl.category_id, fold(bl.name))].append(bl)
        self.districts = {a.path: a for a in Area.objects.filter(election=election, depth=0)}
        self.seen: set[str] = set()
        # A national file names the same few categories and parties millions of times: the cell's raw
        # text goes straight to what it resolved to (fold() was a fifth of the import's time).
        self.by_text: dict[str, Category] = {}
        self.everywhere: dict[tuple[int, str], BallotList] = {}

    def category(self, name: str) -> Category | None:
        known = self.by_text.get(name)
        if known is not None:
            return known
        key = fold(name)
        found = self.categories.get(key)
        if found is None and self.create_missing:
            code = _category_code(name)
            while Category.objects.filter(election=self.election, code=code).exists():
                code = f"{code}{len(self.categories)}"[:16]
            found = Category.objects.create(
                election=self.election, code=code, name=name.strip()[:200], position=len(self.categories)
            )
            self.categories[key] = found
            self.summary.categories_created += 1
        if found is None and name not in self.summary.unknown_categories:
            self.summary.unknown_categories.append(name)
        if found is not None and key not in self.seen:
            self.seen.add(key)
            self.summary.categories.append(found.name)
        if found is not None:
            self.by_text[name] = found
        return found

    def ballot_list(self, category: Category, name: str, table_path: str) -> BallotList | None:
        known = self.everywhere.get((category.id, name))
        if known is not None:
            return known
        options = self.lists.get((category.pk, fold(name)), [])
        for bl in options:
            if bl.district is None:
                self.everywhere[(category.id, name)] = bl
                return bl
            if table_path.startswith(bl.district.path):
                return bl
        if not self.create_missing:
            label = f"{category.code}: {name}"
            if label not in self.summary.unknown_lists:
                self.summary.unknown_lists.append(label)
            return None
        district = next((a for p, a in self.districts.items() if table_path.startswith(p)), None)
        bl = BallotList.objects.create(
            category=category,
            district=district,
            name=name.strip()[:200],
            position=sum(1 for (c, _n) in self.lists if c == category.pk),
        )
        self.lists[(category.pk, fold(name))].append(bl)
        self.summary.lists_created += 1
        return bl


def _cell_reader(cols: dict[str, int]):
    """cell(row, name): the named column's value as stripped text ("" when the row is short or the cell empty)."""

    def cell(row: list, name: str) -> str:
        index = cols.get(name)
        if index is None or index >= len(row):
            return ""
        value = row[index]
        if type(value) is str:  # every cell of a csv
            return value.strip()
        return "" if value is None else str(value).strip()

    return cell


def _table_rows(rows, *, header, cell, summary: ImportSummary):
    """(sheet row number, row, table number) of every data row of an official file: empty rows
    skipped, a table that is not a number reported on its row and skipped."""
    for number, row in enumerate(rows, start=header.index + 2):
        # any(row) first: C speed, true for nearly every row (a row of zeros from a workbook is not empty).
        if not any(row) and all(c in (None, "") for c in row):
            continue
        summary.rows += 1
        raw_table = cell(row, "table")
        try:
            table_number = int(float(raw_table))
        except (ValueError, OverflowError):  # OverflowError: "inf"
            summary.reject(
                _("Fila %(row)s: mesa «%(t)s» no es un número.") % {"row": number, "t": raw_table}, row=number
            )
            continue
        yield number, row, table_number


# --- reading an official file -----------------------------------------------------------------

Progress = Callable[[int, int], None]  # (bytes read, file size)
PROGRESS_EVERY = 20_000  # rows between two progress reports
FLUSH_EVERY = 20_000  # sheets held in memory before they are written


def _bad_encoding(line: int) -> ApplicationError:
    return ApplicationError(
        _(
            "El archivo no está en UTF-8 (cerca de la línea %(line)s). Guardalo como «CSV UTF-8» "
            "y subilo de nuevo. No se importó nada."
        )
        % {"line": line},
        code=CountErrorCode.BAD_ENCODING,
    )


def _sniff_delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in (",", ";", "\t", "|")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def csv_check_head(head: bytes) -> None:
    """Refuse at once what cannot be a UTF-8 CSV, from the first bytes of the file (the upload page)."""
    if not head.strip():
        raise ApplicationError(_("El archivo está vacío. No se importó nada."), code=SpreadsheetError.EMPTY)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head[:4096]:
        raise ApplicationError(
            _("El archivo no es un texto CSV en UTF-8 (parece UTF-16 o un archivo binario). No se importó nada."),
            code=CountErrorCode.BAD_ENCODING,
        )
    try:
        codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError:
        raise _bad_encoding(head[: head.find(b"\n", 0) + 1 or len(head)].count(b"\n") + 1) from None


def csv_stream(path: Path, *, on_progress: Progress | None = None) -> Iterator[list]:
    """Rows of a UTF-8 CSV file on disk, read a buffer at a time (a 243 MB national file never sits
    whole in memory); `on_progress(bytes read, size)` every PROGRESS_EVERY rows."""
    size = path.stat().st_size
    with path.open("rb") as raw:
        head = raw.read(65536)
        csv_check_head(head)
        first_line = head.split(b"\n", 1)[0].decode("utf-8", errors="replace")
        raw.seek(0)
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline="")
        reader = csv.reader(text, delimiter=_sniff_delimiter(first_line))
        count = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except UnicodeDecodeError:
                raise _bad_encoding(reader.line_num + 1) from None
            except csv.Error as exc:
                raise ApplicationError(
                    _("No se pudo leer el CSV en la línea %(line)s: %(error)s. No se importó nada.")
                    % {"line": reader.line_num, "error": exc},
                    code=SpreadsheetError.UNREADABLE,
                ) from exc
            count += 1
            if on_progress is not None and count % PROGRESS_EVERY == 0:
                on_progress(raw.tell(), size)
            yield row
        if on_progress is not None:
            on_progress(size, size)


def _official_rows(source, *, filename: str, on_progress: Progress | None) -> Iterator[list]:
    """A CSV path is streamed; a workbook, bytes or an open file go through the spreadsheet reader (with its limits)."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        with path.open("rb") as handle:
            magic = handle.read(8)
        if not magic.startswith((ZIP_MAGIC, OLE_MAGIC)):
            return csv_stream(path, on_progress=on_progress)
    return read_rows(source, filename=filename)


OTHER_LAYOUT = {"national": "wide", "wide": "national"}


def _layout_header(rows: Iterator[list], *, layout: str):
    """The header row of `layout`; a file in the other layout is named as such, not as missing columns."""
    head: list[list] = []
    for row in rows:
        head.append(row)
        if len(head) >= HEADER_SCAN_ROWS:
            break
    if not head:
        raise ApplicationError(_("El archivo está vacío. No se importó nada."), code=SpreadsheetError.EMPTY)
    headers, required = LAYOUTS[layout]
    try:
        header = find_header(iter(head), headers, required)
    except ApplicationError as exc:
        other_headers, other_required = LAYOUTS[OTHER_LAYOUT[layout]]
        try:
            find_header(iter(head), other_headers, other_required)
        except ApplicationError:
            raise exc from None
        message = (
            _("El archivo tiene el formato provincial (una fila por mesa, una columna por partido), no el nacional.")
            if layout == "national"
            else _("El archivo tiene el formato nacional (una fila por mesa, cargo y agrupación), no el provincial.")
        )
        raise ApplicationError(
            message + " " + _("Elegí el otro formato y subilo de nuevo."), code=CountErrorCode.WRONG_LAYOUT
        ) from None
    rest = itertools.chain(head[header.index + 1 :], rows)
    return header, rest


class _SheetWriter:
    """Official sheets accumulated per table x category and written in bulk every FLUSH_EVERY sheets, when
    the table changes (official files list a table's rows together), so memory stays flat on a national file.

    A table x category met again after it was written is accumulated apart and added to its row at the
    end; a sheet with a rejected row is never written (a half sheet would show as a false difference)."""

    def __init__(self, *, election: Election, paths: dict[int, str], actor, dry_run: bool, summary: ImportSummary):
        self.election, self.paths, self.actor, self.dry_run, self.summary = election, paths, actor, dry_run, summary
        self.pending: dict[tuple[int, int], dict] = {}
        self.late: dict[tuple[int, int], dict] = {}
        self.written: set[tuple[int, int]] = set()
        self.rejected: set[tuple[int, int]] = set()
        self.tables: set[int] = set()
        self.last_table: int | None = None
        self.count = 0
        last = ResultSheet.objects.order_by("-id").values_list("id", flat=True).first()
        self.since_id = last or 0

    @staticmethod
    def empty() -> dict:
        return {"votes": {}, "blank": 0, "null": 0, "contested": 0, "challenged": 0, "voters": 0}

    def figures(self, key: tuple[int, int]) -> dict:
        table_id = key[0]
        if table_id != self.last_table:
            self.last_table = table_id
            if len(self.pending) >= FLUSH_EVERY:
                self.flush()
        if key in self.written:
            return self.late.setdefault(key, self.empty())
        return self.pending.setdefault(key, self.empty())

    def put(self, key: tuple[int, int], figures: dict) -> None:
        """A whole sheet (the wide layout: one row per table); a repeated row replaces the earlier one."""
        target = self.figures(key)
        target.clear()
        target.update(figures)

    def reject(self, key: tuple[int, int]) -> None:
        if key not in self.rejected:
            self.rejected.add(key)
            self.summary.rejected_sheets += 1

    def flush(self) -> None:
        sheets = {k: v for k, v in self.pending.items() if k not in self.rejected}
        self.written.update(self.pending)
        self.pending = {}
        self.tables.update(table_id for table_id, _c in sheets)
        self.count += len(sheets)
        if not self.dry_run:
            _official_write(election=self.election, sheets=sheets, paths=self.paths, actor=self.actor)

    def finish(self) -> int:
        self.flush()
        if not self.dry_run and self.late:
            for key, extra in self.late.items():
                table_id, category_id = key
                written = ResultSheet.objects.filter(
                    table_id=table_id, category_id=category_id, official=True, current=True, pk__gt=self.since_id
                ).first()
                if written is None:
                    continue
                if key in self.rejected:
                    _official_unwrite(written)
                    self.count -= 1
                    continue
                for list_id, votes in extra["votes"].items():
                    written.votes[list_id] = int(written.votes.get(list_id, 0)) + votes
                for name in ("blank", "null", "contested", "challenged", "voters"):
                    setattr(written, name, (getattr(written, name) or 0) + extra[name])
                written.save(update_fields=["votes", "blank", "null", "contested", "challenged", "voters"])
        elif self.dry_run:
            self.count -= sum(1 for key in self.late if key in self.rejected)
        return self.count


def _official_unwrite(sheet: ResultSheet) -> None:
    """Take back a sheet this import wrote (a late row of it was rejected): the previous official one stands."""
    previous = (
        ResultSheet.objects.filter(table_id=sheet.table_id, category_id=sheet.category_id, official=True)
        .exclude(pk=sheet.pk)
        .order_by("-id")
        .first()
    )
    sheet.delete()
    if previous is not None:
        ResultSheet.objects.filter(pk=previous.pk).update(current=True)


def _check_election(summary: ImportSummary, election: Election) -> None:
    """A file whose tables are none of this election's is refused (a file of another election or district)."""
    if summary.rows and not summary.tables_matched and summary.unknown_table_count:
        raise ApplicationError(
            _(
                "Ninguna de las %(n)s mesas del archivo existe en «%(election)s»: ¿es un archivo de otra "
                "elección o de otro distrito? No se importó nada."
            )
            % {"n": summary.unknown_table_count, "election": election.name},
            code=CountErrorCode.WRONG_ELECTION,
        )
    if not summary.rows:
        raise ApplicationError(
            _("El archivo no tiene filas de datos debajo de los encabezados. No se importó nada."),
            code=SpreadsheetError.NO_DATA,
        )


def _columns(header) -> dict[str, str]:
    return {name: str(header.cells[index]) for name, index in header.columns.items()}


def official_import_national(
    *,
    election: Election,
    source,
    filename: str = "",
    actor=None,
    create_missing: bool = False,
    dry_run: bool = False,
    on_progress: Progress | None = None,
) -> ImportSummary:
    """The national long CSV of provisional (or final) results per table. `create_missing` builds
    categories and lists from the file (a first import); otherwise unknown ones are reported.

    `dry_run` reads and checks everything, then rolls back (what the console's preview shows). One
    transaction: a file that fails half-way changes nothing. A CSV given as a path is streamed."""
    rows = _official_rows(source, filename=filename, on_progress=on_progress)
    header, rows = _layout_header(rows, layout="national")
    summary = ImportSummary(columns=_columns(header))
    cell = _cell_reader(header.columns)
    year_checked = "year" not in header.columns

    with transaction.atomic():
        finder = TableFinder(election)
        ballot = BallotIndex(election, create_missing=create_missing, summary=summary)
        writer = _SheetWriter(election=election, paths=finder.paths, actor=actor, dry_run=dry_run, summary=summary)
        for number, row, table_number in _table_rows(rows, header=header, cell=cell, summary=summary):
            if not year_checked:
                year_checked = True
                _check_year(cell(row, "year"), election)
            table_id = finder.find(table_number, district=cell(row, "district"), section=cell(row, "section"))
            if table_id is None:
                summary.unknown_table(str(table_number))
                continue
            writer.tables.add(table_id)
            category = ballot.category(cell(row, "category"))
            if category is None:
                continue
            key = (table_id, category.pk)
            try:
                votes = _int(cell(row, "votes"), row=number, column="votos_cantidad")
            except ApplicationError as exc:
                summary.reject(str(exc.message), row=number)
                writer.reject(key)
                continue
            sheet = writer.figures(key)
            kind = _kind(cell(row, "kind"))
            sheet["voters"] += votes
            if kind == "positivo":
                name = cell(row, "party") or cell(row, "list_name")
                ballot_list = ballot.ballot_list(category, name, finder.paths[table_id])
                if ballot_list is not None:
                    list_key = str(ballot_list.pk)
                    sheet["votes"][list_key] = sheet["votes"].get(list_key, 0) + votes
            elif kind in VOTE_KINDS:
                sheet[VOTE_KINDS[kind]] += votes
            # COMANDO (votes of the electoral command) count among the voters only.
        summary.tables_matched = len(writer.tables)
        _check_election(summary, election)
        summary.sheets = writer.finish()
        if dry_run:
            transaction.set_rollback(True)
    return summary


def _check_year(value: str, election: Election) -> None:
    try:
        year = int(float(value))
    except (ValueError, OverflowError):
        return
    if year != election.date.year:
        raise ApplicationError(
            _("El archivo es de %(file)s y la elección «%(election)s» es de %(year)s. No se importó nada.")
            % {"file": year, "election": election.name, "year": election.date.year},
            code=CountErrorCode.WRONG_ELECTION,
        )


WIDE_KNOWN: dict[str, tuple[str, ...]] = {
    "table": ("mesa", "mesaid", "nromesa", "numerodemesa"),
    "place_id": ("idubicacion",),
    "category": ("cargo", "categoria"),
    "blank": ("votoenblanco", "votosenblanco", "enblanco", "blancos", "blanco"),
    "null": ("votosnulos", "nulos", "nulo"),
    "contested": ("votosrecurridos", "recurridos", "recurrido"),
    "challenged": ("votosimpugnados", "impugnados", "impugnado"),
    "voters": ("cantvotantes", "votantes", "totalvotantes"),
}
# Columns of provincial feeds that are neither a party nor a figure we keep.
WIDE_IGNORED = {
    "urlgob",
    "url",
    "claseubicacion",
    "cantvotospositivos",
    "porcentajeparticipacion",
    "cantvotosnegativos",
    "descripcionubicacion",
    "horaproceso",
    "cantmesasprocesadas",
    "porcentajemesasprocesadas",
    "idpublicacion",
    "electores",
}
WIDE_REQUIRED = [("mesa", [("table",)]), ("votantes", [("voters",)])]
LAYOUTS = {"national": (NATIONAL_HEADERS, NATIONAL_REQUIRED), "wide": (WIDE_KNOWN, WIDE_REQUIRED)}


def wide_parties(header) -> list[tuple[int, str]]:
    """(column index, party name) of a wide file's header: every column neither known nor ignored."""
    known_indexes = set(header.columns.values())
    return [
        (index, str(cell).strip())
        for index, cell in enumerate(header.cells)
        if index not in known_indexes and cell not in (None, "") and header_key(cell) not in WIDE_IGNORED
    ]


def official_import_wide(
    *,
    election: Election,
    source,
    filename: str = "",
    category: Category | None = None,
    actor=None,
    create_missing: bool = False,
    dry_run: bool = False,
    on_progress: Progress | None = None,
) -> ImportSummary:
    """The wide layout: one row per table; every column that is neither known nor ignored is a party.

    The category comes from a `cargo` column (its code or name) or from `category`. `dry_run` and
    the single transaction as in `official_import_national`."""
    rows = _official_rows(source, filename=filename, on_progress=on_progress)
    header, rows = _layout_header(rows, layout="wide")
    cols = header.columns
    parties = wide_parties(header)
    if not parties:
        raise ApplicationError(_("El archivo no tiene columnas de partidos."), code=CountErrorCode.MISSING_COLUMNS)
    if category is None and "category" not in cols:
        raise ApplicationError(
            _("Indicá la categoría: el archivo no tiene columna «cargo»."), code=CountErrorCode.MISSING_COLUMNS
        )
    summary = ImportSummary(columns={**_columns(header), **{f"party:{name}": name for _i, name in parties}})
    cell = _cell_reader(cols)

    with transaction.atomic():
        finder = TableFinder(election)
        ballot = BallotIndex(election, create_missing=create_missing, summary=summary)
        if category is not None and category.name not in summary.categories:
            summary.categories.append(category.name)
        writer = _SheetWriter(election=election, paths=finder.paths, actor=actor, dry_run=dry_run, summary=summary)
        for number, row, table_number in _table_rows(rows, header=header, cell=cell, summary=summary):
            # "CO.1.112.1.1": the place code, then the table.
            place_code = cell(row, "place_id").rsplit(".", 1)[0] if cell(row, "place_id") else ""
            table_id = finder.find(table_number, place_code=place_code)
            if table_id is None:
                summary.unknown_table(cell(row, "place_id") or str(table_number))
                continue
            writer.tables.add(table_id)
            row_category = ballot.category(cell(row, "category")) if "category" in cols else category
            if row_category is None:
                continue
            key = (table_id, row_category.pk)
            try:
                votes: dict[str, int] = {}
                for index, name in parties:
                    ballot_list = ballot.ballot_list(row_category, name, finder.paths[table_id])
                    if ballot_list is not None:
                        value = row[index] if index < len(row) else 0
                        votes[str(ballot_list.pk)] = _int(value, row=number, column=name)
                figures = {
                    name: _int(cell(row, name), row=number, column=name)
                    for name in ("blank", "null", "contested", "challenged", "voters")
                }
            except ApplicationError as exc:
                summary.reject(str(exc.message), row=number)
                writer.reject(key)
                continue
            writer.put(key, {"votes": votes, **figures})
        summary.tables_matched = len(writer.tables)
        _check_election(summary, election)
        summary.sheets = writer.finish()
        if dry_run:
            transaction.set_rollback(True)
    return summary


def _official_write(*, election: Election, sheets: dict[tuple[int, int], dict], paths: dict[int, str], actor) -> int:
    """Write the official sheets in bulk; the previous official sheet of each table x category stops being current."""
    if not sheets:
        return 0
    by_category: dict[int, list[int]] = defaultdict(list)
    for table_id, category_id in sheets:
        by_category[category_id].append(table_id)
    for category_id, table_ids in by_category.items():
        for start in range(0, len(table_ids), 5000):
            ResultSheet.objects.filter(
                category_id=category_id, official=True, current=True, table_id__in=table_ids[start : start + 5000]
            ).update(current=False)
    now = timezone.now()
    rows = [
        {
            "election_id": election.pk,
            "table_id": table_id,
            "category_id": category_id,
            "source": SheetSource.OFFICIAL.value,
            "official": True,
            "status": SheetStatus.ACCEPTED.value,
            "current": True,
            "area_path": paths[table_id],
            "votes": figures["votes"],
            "blank": figures["blank"],
            "null": figures["null"],
            "contested": figures["contested"],
            "challenged": figures["challenged"],
            "voters": figures["voters"],
            "flags": [],
            "photo": "",
            "photo_sha256": "",
            "photo_sheet_id": None,
            "actor_id": actor.pk if actor is not None else None,
        }
        for (table_id, category_id), figures in sheets.items()
    ]
    return bulk_insert(ResultSheet, rows, now=now)


# --- the console's upload: check in the background, then apply in the background -------------

OFFICIAL_TASK = "count.official_import_run"


def official_max_bytes() -> int:
    return int(getattr(settings, "COUNT_OFFICIAL_MAX_FILE_BYTES", 1024 * 1024 * 1024))


def official_import_upload(
    *,
    election: Election,
    layout: str,
    upload,
    actor,
    category: Category | None = None,
    create_missing: bool = False,
    queue: bool = True,
) -> OfficialImport:
    """Store an uploaded official results file (streamed to disk, hashed as it goes) and queue its check.

    Called by the console's upload page and the API (leads), and by `official_import_file`. What
    cannot be a file of this layout is refused at once from its first bytes (empty, not UTF-8, the other
    layout, missing columns), before anything is stored; the full check (every row) runs in the worker
    after commit, `official_import_run` (`queue=False`: the caller runs it itself)."""
    if not can_import(actor):
        raise PermissionDenied(_("Solo los responsables pueden importar resultados oficiales."))
    if layout not in OfficialImportLayout.values:
        raise ApplicationError(_("Formato desconocido."), code=CountErrorCode.WRONG_LAYOUT)
    if category is not None and category.election_id != election.pk:
        raise ApplicationError(_("La categoría no es de esta elección."), code=CountErrorCode.UNKNOWN_CATEGORY)
    size = upload.size or 0
    if size > official_max_bytes():
        # The refusal the upload handler gives the console and the API as the bytes arrive.
        raise UploadTooBig(official_max_bytes())
    digest = hashlib.sha256()
    head = b""
    for chunk in upload.chunks():
        if len(head) < 65536:
            head += chunk[: 65536 - len(head)]
        digest.update(chunk)
    workbook = head.startswith((ZIP_MAGIC, OLE_MAGIC))
    if workbook and layout == OfficialImportLayout.NATIONAL:
        raise ApplicationError(
            _("El formato nacional es un archivo CSV; este es una planilla de Excel u otro archivo comprimido."),
            code=CountErrorCode.WRONG_LAYOUT,
        )
    if not workbook:
        csv_check_head(head)
        _head_check(head, layout=layout, complete=size <= len(head))
    if layout == OfficialImportLayout.WIDE and category is None and not workbook:
        header, _rows = _layout_header(_head_rows(head, complete=True), layout="wide")
        if "category" not in header.columns:
            raise ApplicationError(
                _("Indicá la categoría: el archivo no tiene columna «cargo»."), code=CountErrorCode.MISSING_COLUMNS
            )
    upload.seek(0)
    job = OfficialImport(
        election=election,
        layout=layout,
        category=category,
        create_missing=create_missing,
        file_name=str(upload.name)[-255:],
        file_size=size,
        file_sha256=digest.hexdigest(),
        created_by=actor,
    )
    job.file.save(Path(str(upload.name)).name[-80:] or "resultados.csv", upload, save=False)
    job.save()
    if queue:
        transaction.on_commit(lambda: task_queue(OFFICIAL_TASK, job.pk, True))
    return job


def _head_rows(head: bytes, *, complete: bool) -> Iterator[list]:
    text = head.decode("utf-8-sig", errors="ignore")
    lines = text.splitlines()
    if not complete and lines:
        lines = lines[:-1]  # the last line may be cut in the middle
    return csv.reader(lines, delimiter=_sniff_delimiter(lines[0] if lines else ""))


def _head_check(head: bytes, *, layout: str, complete: bool) -> None:
    """The header of `layout` is in the first bytes (else the same specific error the full read gives)."""
    _header, rows = _layout_header(_head_rows(head, complete=complete), layout=layout)
    if complete and not any(any(c.strip() for c in row) for row in rows):
        raise ApplicationError(
            _("El archivo no tiene filas de datos debajo de los encabezados. No se importó nada."),
            code=SpreadsheetError.NO_DATA,
        )


def official_import_apply(*, job: OfficialImport, actor, queue: bool = True) -> OfficialImport:
    """A lead applies a checked file (the console's preview page, the API): queued for the worker after
    commit (`queue=False`: the caller runs `official_import_run` itself, `official_import_file`).

    The claim is a conditional UPDATE, so a double click or two leads queue one run."""
    if not can_import(actor):
        raise PermissionDenied(_("Solo los responsables pueden importar resultados oficiales."))
    claimed = OfficialImport.objects.filter(pk=job.pk, state=OfficialImportState.PREVIEWED).update(
        state=OfficialImportState.APPLYING, applied_by=actor
    )
    if not claimed:
        raise ApplicationError(
            _("Este archivo no está listo para aplicar (ya se aplicó, falló o se está procesando)."),
            code=CountErrorCode.IMPORT_STATE,
        )
    cache.delete(job.progress_key)
    if queue:
        transaction.on_commit(lambda: task_queue(OFFICIAL_TASK, job.pk, False))
    job.refresh_from_db()
    return job


def official_import_run(*, job_id: int, dry_run: bool, on_progress: Progress | None = None) -> OfficialImport | None:
    """Read the stored file: a check (dry run, the preview) or the apply. Called by the Celery task and
    by `official_import_file`, which also follows the progress (`on_progress(bytes read, size)`).

    Idempotent: a job that is not in the state this run expects is left alone. A bad file ends the
    job as failed with its specific error, and (one transaction) changes nothing."""
    expected = OfficialImportState.CHECKING if dry_run else OfficialImportState.APPLYING
    job = (
        OfficialImport.objects.select_related("election", "category", "created_by", "applied_by")
        .filter(pk=job_id, state=expected)
        .first()
    )
    if job is None:
        return None
    key = job.progress_key
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.5 or done >= total:
            last[0] = now
            cache.set(key, (done, total), 3600)
            if on_progress is not None:
                on_progress(done, total)

    run = official_import_national if job.layout == OfficialImportLayout.NATIONAL else official_import_wide
    options = {"category": job.category} if job.layout == OfficialImportLayout.WIDE else {}
    try:
        summary = run(
            election=job.election,
            source=Path(job.file.path),
            filename=job.file_name,
            actor=job.applied_by or job.created_by,
            create_missing=job.create_missing,
            dry_run=dry_run,
            on_progress=progress,
            **options,
        )
    except ApplicationError as exc:
        OfficialImport.objects.filter(pk=job.pk).update(
            state=OfficialImportState.FAILED, error_code=str(exc.code), error_message=str(exc.message)
        )
        return OfficialImport.objects.get(pk=job.pk)
    except Exception:
        logger.exception("official import %s failed", job.pk)
        OfficialImport.objects.filter(pk=job.pk).update(
            state=OfficialImportState.FAILED,
            error_code="internal_error",
            error_message=_("Error inesperado al leer el archivo. No se guardó nada; avisá al equipo técnico."),
        )
        raise
    if dry_run:
        OfficialImport.objects.filter(pk=job.pk).update(state=OfficialImportState.PREVIEWED, preview=summary.as_dict())
    else:
        OfficialImport.objects.filter(pk=job.pk).update(
            state=OfficialImportState.APPLIED, result=summary.as_dict(), applied_at=timezone.now()
        )
    return OfficialImport.objects.get(pk=job.pk)


def official_import_file(
    *,
    election: Election,
    layout: str,
    upload: File,
    actor,
    category: Category | None = None,
    create_missing: bool = False,
    apply: bool = True,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> OfficialImport:
    """A file through the console's and the API's door, in this process instead of the worker:
    `manage.py count_import national|wide` (a file on the server's disk, the operator following the
    steps) and the demo's election night. Stored with its hash as an `OfficialImport` by `actor`
    (`official_import_upload`, its refusals raised as they are), checked (`official_import_run`, a dry
    run), then with `apply` claimed and applied as a lead would (`official_import_apply`).
    `on_progress(phase, bytes read, size)`, phase "check" or "apply". Returns the job: failed with
    its error, previewed, or applied."""
    job = official_import_upload(
        election=election,
        layout=layout,
        upload=upload,
        actor=actor,
        category=category,
        create_missing=create_missing,
        queue=False,
    )

    def follow(phase: str) -> Progress | None:
        return None if on_progress is None else lambda done, total: on_progress(phase, done, total)

    official_import_run(job_id=job.pk, dry_run=True, on_progress=follow("check"))
    job.refresh_from_db()
    if not apply or job.state != OfficialImportState.PREVIEWED:
        return job
    official_import_apply(job=job, actor=actor, queue=False)
    official_import_run(job_id=job.pk, dry_run=False, on_progress=follow("apply"))
    job.refresh_from_db()
    return job
