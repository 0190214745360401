"""Importing the official station list: the area tree, polling places and tables, as published.

The list comes as one sheet of places and tables, optionally with companion sheets that name the
areas (the national lists publish district, section and circuit names in separate files). The
station sheet has one row per table (`Mesa`) or one row per place with a range of tables
(`desde`, `hasta`, `cant_mesas`); its hierarchy columns become the area tree in the order
district > section > department > circuit > locality, as deep as the file goes.

Identity follows the data:
- an area by its official code when the file has codes (`seccion_nro`), else by a slug of its name;
- a place by its official code; one code on two different schools is a conflict reported on both
  rows, and each school keeps its own place (the code qualified by its area), never a merge;
- a table by its official code when present, otherwise by number within the area where numbering
  restarts: the district, or the section in a district whose numbers repeat across sections
  (Buenos Aires).

Everything is read and checked before anything is written, so the dry run shows the same counts
and the diff against the election (created, changed old -> new, and tables no longer in the file
with their watchers), and a rejected row never leaves half an area tree or a place without its
tables. Writes are bulk. Called by `load_demo` and by `backend.imports.services.batch_run`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from django.db import transaction
from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError
from backend.core.spreadsheets import HeaderError
from backend.core.text import fold, slug_code

from . import station_columns as cols
from .coordinates import CoordinateProblem, far_from_their_area, parse_geometry, parse_lat_lon
from .models import Election, Table
from .station_writes import apply_plan

PROGRESS_EVERY = 2000
MAX_RANGE = 5000  # tables in one row's range; more is a typing error, not a school


class StationImportError(StrEnum):
    TWO_STATION_FILES = "two_station_files"
    AMBIGUOUS_COLUMNS = "ambiguous_columns"


@dataclass
class StationImportResult:
    areas_created: int = 0
    areas_updated: int = 0
    places_created: int = 0
    places_updated: int = 0
    tables_created: int = 0
    tables_updated: int = 0
    tables_unchanged: int = 0
    tables_removed: int = 0
    rows: int = 0
    header_row: int = 0
    station_file: str = ""
    files: list[dict] = field(default_factory=list)
    electors_per: str = ""  # "table" or "place" (divided over its tables)
    numbered_by_section: list[str] = field(default_factory=list)
    coordinates_flagged: int = 0
    conflicts: int = 0
    changes: list[dict] = field(default_factory=list)
    removed: list[dict] = field(default_factory=list)
    aborted: bool = False
    errors: list[str] = field(default_factory=list)
    # Per station-sheet row (1-based): new / updated / unchanged / rejected / skipped, with reasons.
    statuses: dict[int, str] = field(default_factory=dict)
    reasons: dict[int, str] = field(default_factory=dict)
    warned: set[int] = field(default_factory=set)

    @property
    def changed(self) -> bool:
        return any(
            (
                self.areas_created,
                self.areas_updated,
                self.places_created,
                self.places_updated,
                self.tables_created,
                self.tables_updated,
            )
        )

    def reject(self, row: int, reason: str) -> None:
        self.statuses[row] = "rejected"
        self.reasons[row] = reason
        self.warned.discard(row)
        self.errors.append(_("Fila %(line)s: %(reason)s") % {"line": row, "reason": reason})

    def warn(self, row: int, reason: str) -> None:
        self.warned.add(row)
        self.reasons[row] = f"{self.reasons[row]}; {reason}" if self.reasons.get(row) else reason

    def details(self) -> dict:
        """What the preview shows beside the counts (stored on the import batch)."""
        return {
            "areas_created": self.areas_created,
            "areas_updated": self.areas_updated,
            "places_created": self.places_created,
            "places_updated": self.places_updated,
            "tables_created": self.tables_created,
            "tables_updated": self.tables_updated,
            "tables_unchanged": self.tables_unchanged,
            "tables_removed": self.tables_removed,
            "station_file": self.station_file,
            "files": self.files,
            "electors_per": self.electors_per,
            "numbered_by_section": self.numbered_by_section,
            "coordinates_flagged": self.coordinates_flagged,
            "conflicts": self.conflicts,
            "changes": self.changes,
            "removed": self.removed,
            "aborted": self.aborted,
        }


# --- cells --------------------------------------------------------------------------------------


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        if "  " in value or "\n" in value or "\t" in value:
            value = " ".join(value.split())
        value = value.strip()
    else:
        value = str(value)
    return "" if value.startswith("=") else value  # a csv formula is never data


def _code(value) -> str:
    """An official code: '02' and 2 and '2.0' are the same code."""
    text = _text(value)
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    return text.lstrip("0") or text if text.isdigit() else text


def _int_or_none(value) -> int | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        number = float(str(value).strip().replace(",", "."))
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


# --- reading the files --------------------------------------------------------------------------


@dataclass
class _Sheet:
    name: str
    rows: Iterator[list]
    header_index: int = 0
    columns: cols.Columns | None = None


def _find_header(sheet: _Sheet, mapping: dict[str, str]) -> None:
    """The row within the first rows that names the most fields (title and blank rows above it)."""
    best: tuple[int, int, cols.Columns] | None = None
    for index, row in enumerate(sheet.rows):
        columns = cols.read_columns(row, mapping)
        score = len(columns.fields) + len(columns.ambiguous)
        if score and (best is None or score > best[0]):
            best = (score, index, columns)
        # A header that already has a place, a table and an area needs no more scanning.
        if "place_code" in columns.fields and _table_field(columns) and _levels(columns):
            break
        if index + 1 >= cols.HEADER_SCAN_ROWS or (best is not None and index >= best[1] + 3):
            break
    if best is None:
        sheet.columns = cols.read_columns([], mapping)
        sheet.header_index = 0
        return
    sheet.header_index, sheet.columns = best[1], best[2]


def _table_field(columns: cols.Columns) -> bool:
    f = columns.fields
    return "table_number" in f or "table_code" in f or ("range_from" in f and "range_to" in f)


def _levels(columns: cols.Columns) -> list[tuple[str, int | None, int | None]]:
    """(kind, code column, name column) of the area levels in the file, outermost first.

    With codes in the file only coded levels form the tree (a `localidad` name column then is the
    place's locality); without codes the named levels do, identified by their names.
    """
    f = columns.fields
    coded: list[tuple[str, int | None, int | None]] = [
        (k, f[f"{k}_code"], f.get(f"{k}_name")) for k, _w in cols.LEVELS if f"{k}_code" in f
    ]
    if coded:
        return coded
    return [(k, None, f[f"{k}_name"]) for k, _w in cols.LEVELS if f"{k}_name" in f]


def _is_station_sheet(columns: cols.Columns) -> bool:
    return ("place_code" in columns.fields or "place_name" in columns.fields) and (
        _table_field(columns) or "range_from" in columns.fields
    )


def _missing(columns: cols.Columns) -> list[str]:
    missing = []
    if not _levels(columns):
        missing.append(_("Distrito/Sección/Departamento/Localidad"))
    if "place_code" not in columns.fields:
        missing.append(str(cols.LABELS["place_code"]))
    if "place_name" not in columns.fields:
        missing.append(str(cols.LABELS["place_name"]))
    if not _table_field(columns):
        missing.append(_("Mesa (o Mesa desde y Mesa hasta)"))
    return missing


class _Buffered:
    """Rows of a sheet with the first few kept, so the header search can look ahead and replay."""

    def __init__(self, rows: Iterable[list]):
        self.source = iter(rows)
        self.seen: list[list] = []

    def __iter__(self):
        for row in self.source:
            self.seen.append(row)
            yield row


def _open(name: str, rows: Iterable[list], mapping: dict[str, str]) -> _Sheet:
    buffered = _Buffered(rows)
    sheet = _Sheet(name=name, rows=iter(buffered))
    _find_header(sheet, mapping)
    rest = buffered.seen[sheet.header_index + 1 :]
    source = buffered.source

    def rows_after_header() -> Iterator[list]:
        yield from rest
        yield from source

    sheet.rows = rows_after_header()
    return sheet


def _names_from(sheet: _Sheet, names: dict[tuple[str, ...], str]) -> int:
    """Area names from a companion sheet: (codes from the district down) -> name. Returns rows read."""
    assert sheet.columns is not None
    f = sheet.columns.fields
    levels = [(k, f[f"{k}_code"], f.get(f"{k}_name")) for k, _w in cols.LEVELS if f"{k}_code" in f]
    count = 0
    for row in sheet.rows:
        codes: list[str] = []
        for _kind, code_index, name_index in levels:
            code = _code(row[code_index]) if code_index < len(row) else ""
            if not code:
                break
            codes.append(code)
            if name_index is not None and name_index < len(row):
                name = _text(row[name_index])
                if name and len(codes) == len(levels):
                    names[tuple(codes)] = name  # the file of this level names it best
                elif name:
                    names.setdefault(tuple(codes), name)
        count += 1
    return count


# --- the import ---------------------------------------------------------------------------------


@dataclass
class _Row:
    line: int
    path_codes: tuple[str, ...]
    path_names: tuple[str, ...]
    place_code: str
    place_name: str
    address: str
    locality: str
    point: tuple[float, float] | None
    tables: list[tuple[int, str, int | None]]  # (number, code, electors)
    numbering_path: str = ""  # the area where this row's table numbers restart
    keys: list = field(default_factory=list)  # the tables' identities: code, or (numbering path, number)


@dataclass
class StationPlan:
    """A station list read and checked, ready to be compared with the election and written."""

    election: Election
    rows: list[_Row]
    result: StationImportResult


def stations_read(
    *,
    election: Election,
    rows: Iterable[list] | None = None,
    files: Sequence[tuple[str, Iterable[list]]] | None = None,
    mapping: dict[str, str] | None = None,
    all_or_nothing: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> StationPlan:
    """Read `files` (name, rows) (or the single sheet `rows`) and check every row. Writes nothing.

    Kept apart from the write so an import's progress can be saved while it reads (outside the
    transaction that writes).
    """
    mapping = dict(mapping or {})
    sheets = [_open(name, sheet_rows, mapping) for name, sheet_rows in (files or [("", rows or [])])]
    result = StationImportResult()
    station, names = _classify(sheets, result)
    area_names: dict[tuple[str, ...], str] = {}
    for sheet in names:
        _names_from(sheet, area_names)
    parsed = _read_station_rows(station, area_names, result, on_progress)
    _decide(parsed, result)
    parsed = _table_identities(election, parsed, result)
    if all_or_nothing and any(s == "rejected" for s in result.statuses.values()):
        result.aborted = True
    return StationPlan(election, parsed, result)


def stations_write(*, plan: StationPlan, dry_run: bool = False) -> StationImportResult:
    """Compare the plan with the election (the diff) and, unless a dry run or aborted, upsert in bulk.

    One transaction. No after-commit effects: a place gets its thread when someone first opens it.
    """
    with transaction.atomic():
        apply_plan(plan.election, plan.rows, plan.result, write=not (dry_run or plan.result.aborted))
    return plan.result


def stations_import(
    *,
    election: Election,
    rows: Iterable[list] | None = None,
    files: Sequence[tuple[str, Iterable[list]]] | None = None,
    mapping: dict[str, str] | None = None,
    all_or_nothing: bool = False,
    dry_run: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> StationImportResult:
    """Read, check and write a station list (see `stations_read`). Called by `load_demo`.

    Nothing is written on a dry run, nor (with `all_or_nothing`) when any row is rejected.
    """
    plan = stations_read(
        election=election,
        rows=rows,
        files=files,
        mapping=mapping,
        all_or_nothing=all_or_nothing,
        on_progress=on_progress,
    )
    return stations_write(plan=plan, dry_run=dry_run)


def _classify(sheets: list[_Sheet], result: StationImportResult) -> tuple[_Sheet, list[_Sheet]]:
    complete = [s for s in sheets if s.columns and _is_station_sheet(s.columns) and not _missing(s.columns)]
    partial = [s for s in sheets if s.columns and _is_station_sheet(s.columns) and _missing(s.columns)]
    if len(complete) > 1:
        raise ApplicationError(
            _("Hay más de una lista de mesas (%(files)s): subí una por vez.")
            % {"files": ", ".join(s.name for s in complete)},
            code=StationImportError.TWO_STATION_FILES,
        )
    if not complete:
        candidates = partial or [s for s in sheets if s.columns and s.columns.fields]
        best = max(candidates, key=lambda s: len(s.columns.fields) if s.columns else 0, default=None)
        if best is None or best.columns is None:
            raise ApplicationError(
                _("No se encontró la fila de encabezados en las primeras %(n)s filas de ningún archivo.")
                % {"n": cols.HEADER_SCAN_ROWS},
                code=HeaderError.NO_HEADER,
            )
        columns_now = [
            {
                "name": s.name,
                "role": "unused",
                "reason": "",
                "header_row": s.header_index + 1,
                "columns": s.columns.describe() if s.columns else [],
            }
            for s in sheets
        ]
        ambiguous = [
            _("«%(a)s» (%(cols)s)")
            % {"a": cols.label(name), "cols": ", ".join(best.columns.headers[i] for i in indexes)}
            for name, indexes in best.columns.ambiguous.items()
        ]
        if ambiguous:
            raise ApplicationError(
                _("Columnas ambiguas: %(list)s. Elegí a mano qué columna es cada campo.")
                % {"list": "; ".join(ambiguous)},
                code=StationImportError.AMBIGUOUS_COLUMNS,
                extra={"header_row": best.header_index + 1, "files": columns_now},
            )
        missing = _missing(best.columns)
        raise ApplicationError(
            _("Falta la columna obligatoria: %(cols)s (encabezados en la fila %(row)s%(file)s).")
            % {
                "cols": ", ".join(missing),
                "row": best.header_index + 1,
                "file": f", {best.name}" if best.name else "",
            },
            code=HeaderError.MISSING_COLUMNS,
            extra={"missing": missing, "header_row": best.header_index + 1, "files": columns_now},
        )
    station = complete[0]
    assert station.columns is not None
    station_levels = [k for k, code, _n in _levels(station.columns) if code is not None]
    companions = []
    for sheet in sheets:
        assert sheet.columns is not None
        levels = [k for k, _w in cols.LEVELS if f"{k}_code" in sheet.columns.fields]
        if sheet is station:
            role, reason = "stations", ""
        elif sheet in partial:
            role = "unused"
            reason = _("parece otra lista de establecimientos, pero le falta: %(cols)s") % {
                "cols": ", ".join(_missing(sheet.columns))
            }
        elif (
            levels
            and levels == station_levels[: len(levels)]
            and any(f"{k}_name" in sheet.columns.fields for k in levels)
        ):
            role, reason = "names", _("nombres de %(levels)s") % {"levels": ", ".join(levels)}
            companions.append(sheet)
        else:
            role, reason = "unused", _("no tiene columnas de mesas ni nombres de áreas con código")
        unused: dict[int, str] = {}
        if sheet is station:
            for kind, _words in cols.LEVELS:
                index = sheet.columns.fields.get(f"{kind}_name")
                if index is not None and f"{kind}_code" not in sheet.columns.fields and _levels(sheet.columns)[0][1]:
                    if kind == "localidad" and "locality" not in sheet.columns.fields:
                        sheet.columns.fields["locality"] = sheet.columns.fields.pop(f"{kind}_name")
                    else:
                        unused[index] = _("no se usa: las áreas se identifican por código")
        result.files.append(
            {
                "name": sheet.name,
                "role": role,
                "reason": reason,
                "header_row": sheet.header_index + 1,
                "columns": sheet.columns.describe(unused) if role != "unused" or sheet in partial else [],
            }
        )
    result.station_file = station.name
    result.header_row = station.header_index + 1
    return station, companions


def _read_station_rows(
    sheet: _Sheet,
    area_names: dict[tuple[str, ...], str],
    result: StationImportResult,
    on_progress: Callable[[int], None] | None,
) -> list[_Row]:
    assert sheet.columns is not None
    f = sheet.columns.fields
    levels = _levels(sheet.columns)
    coded = levels[0][1] is not None
    ranged = "table_number" not in f and "table_code" not in f
    result.electors_per = "place" if ranged and "electors" in f else "table" if "electors" in f else ""

    def cell(row: list, name: str):
        index = f.get(name)
        return row[index] if index is not None and index < len(row) else None

    for n in range(1, sheet.header_index + 2):
        result.statuses[n] = "skipped"
    parsed: list[_Row] = []
    for line, row in enumerate(sheet.rows, start=sheet.header_index + 2):
        if on_progress and line % PROGRESS_EVERY == 0:
            on_progress(line)
        if not any(c not in (None, "") and str(c).strip() for c in row):
            result.statuses[line] = "skipped"
            continue
        number_cell = cell(row, "table_number") if not ranged else cell(row, "range_from")
        if _int_or_none(number_cell) is None and any(isinstance(c, str) and fold(c).startswith("total") for c in row):
            result.statuses[line] = "skipped"
            result.reasons[line] = _("fila de totales omitida")
            continue
        result.rows += 1
        codes: list[str] = []
        path_names: list[str] = []
        for kind, code_index, name_index in levels:
            name = _text(row[name_index]) if name_index is not None and name_index < len(row) else ""
            if coded:
                code = _code(row[code_index]) if code_index is not None and code_index < len(row) else ""
                if not code:
                    break
                codes.append(code)
                name = name or area_names.get(tuple(codes), "")
                if not name:
                    result.warn(line, _("sin nombre para %(kind)s %(code)s") % {"kind": kind, "code": code})
            else:
                if not name:
                    break
                codes.append(slug_code(name))
            path_names.append(name[:200])
        if not codes:
            result.reject(line, _("falta el área (distrito, sección, departamento...)"))
            continue
        place_code = _text(cell(row, "place_code"))
        if not place_code:
            result.reject(line, _("falta el código de establecimiento"))
            continue
        tables, problem = _tables_of(row, cell, ranged)
        if problem:
            result.reject(line, problem)
            continue
        point = None
        try:
            if "geometry" in f:
                point = parse_geometry(cell(row, "geometry"))
            elif "latitude" in f or "longitude" in f:
                point = parse_lat_lon(cell(row, "latitude"), cell(row, "longitude"))
        except CoordinateProblem as exc:
            result.warn(line, _("coordenadas no guardadas: %(why)s") % {"why": exc})
            result.coordinates_flagged += 1
        parsed.append(
            _Row(
                line=line,
                path_codes=tuple(codes),
                path_names=tuple(path_names),
                place_code=place_code[:64],
                place_name=_text(cell(row, "place_name"))[:255],
                address=_text(cell(row, "address"))[:255],
                locality=_text(cell(row, "locality"))[:200],
                point=point,
                tables=tables,
            )
        )
    return parsed


def _tables_of(row: list, cell, ranged: bool) -> tuple[list[tuple[int, str, int | None]], str]:
    """The (number, code, electors) of one row, or a reason to reject it."""
    electors = _int_or_none(cell(row, "electors"))
    if electors is not None and electors < 0:
        return [], _("electores inválidos: «%(value)s»") % {"value": _text(cell(row, "electors"))}
    if not ranged:
        number = _int_or_none(cell(row, "table_number"))
        code = _text(cell(row, "table_code"))[:64]
        if number is None or number < 1:
            return [], _("número de mesa inválido: «%(value)s»") % {"value": _text(cell(row, "table_number"))}
        return [(number, code, electors)], ""
    first, last = _int_or_none(cell(row, "range_from")), _int_or_none(cell(row, "range_to"))
    if first is None or last is None or first < 1 or last < first:
        return [], _("rango de mesas inválido: «%(first)s» a «%(last)s»") % {
            "first": _text(cell(row, "range_from")),
            "last": _text(cell(row, "range_to")),
        }
    count = last - first + 1
    stated = _int_or_none(cell(row, "table_count"))
    if stated is not None and stated != count:
        return [], _("el rango %(first)s-%(last)s tiene %(count)s mesas pero la cantidad dice %(stated)s") % {
            "first": first,
            "last": last,
            "count": count,
            "stated": stated,
        }
    if count > MAX_RANGE:
        return [], _("rango de mesas demasiado grande: %(count)s mesas") % {"count": count}
    # Electors of the place, divided over its tables (the remainder to the first ones).
    share, extra = divmod(electors, count) if electors is not None else (None, 0)
    return [
        (number, "", None if share is None else share + (1 if i < extra else 0))
        for i, number in enumerate(range(first, last + 1))
    ], ""


def _decide(parsed: list[_Row], result: StationImportResult) -> None:
    """Conflicting place codes, suspicious coordinates and table identity, before any write."""
    # One code, two schools (another area or another name): each keeps its own place, both are told.
    identities: dict[str, dict[tuple, list[_Row]]] = defaultdict(lambda: defaultdict(list))
    for row in parsed:
        identities[row.place_code][(row.path_codes, fold(row.place_name))].append(row)
    for code, schools in identities.items():
        if len(schools) < 2:
            continue
        for (path_codes, _name), rows in sorted(schools.items()):
            qualified = f"{code}-{'-'.join(path_codes)}"
            others = [r for other, rs in schools.items() if other != (path_codes, _name) for r in rs]
            for row in rows:
                result.conflicts += 1
                result.warn(
                    row.line,
                    _(
                        "el código %(code)s también es de «%(other)s» (fila %(line)s): son escuelas distintas, "
                        "se guarda como %(qualified)s"
                    )
                    % {
                        "code": code,
                        "other": others[0].place_name,
                        "line": others[0].line,
                        "qualified": qualified,
                    },
                )
                row.place_code = qualified[:64]
    located = [(row.line, "/".join(row.path_codes[:2]), row.point) for row in parsed if row.point]
    for line, km in far_from_their_area(located).items():
        result.warn(
            line,  # type: ignore[arg-type]
            _("coordenadas no guardadas: a %(km)s km de los demás establecimientos de su sección") % {"km": int(km)},
        )
        result.coordinates_flagged += 1
    far = set(far_from_their_area(located))
    for row in parsed:
        if row.line in far:
            row.point = None


def _numbering(election: Election, parsed: list[_Row], result: StationImportResult) -> dict[str, int]:
    """District code -> depth where table numbers restart: 0 (district) or 1 (section).

    By section where the file repeats a number in two sections of a district, or where the
    election already numbers that district's tables by section (a partial list keeps the rule).
    """
    seen: dict[tuple[str, int], str] = {}
    by_section: set[str] = {
        path.strip("/").split("/")[0]
        for path in Table.objects.filter(election=election, district__depth=1)
        .values_list("district__path", flat=True)
        .distinct()
    }
    for row in parsed:
        district = row.path_codes[0]
        if district in by_section or len(row.path_codes) < 2:
            continue
        for number, _code, _e in row.tables:
            section = seen.setdefault((district, number), row.path_codes[1])
            if section != row.path_codes[1]:
                by_section.add(district)
                break
    result.numbered_by_section = sorted(by_section)
    return {district: 1 for district in by_section}


def _table_identities(election: Election, parsed: list[_Row], result: StationImportResult) -> list[_Row]:
    """Give every table its identity and reject (whole) rows that repeat a table of an earlier row."""
    numbering = _numbering(election, parsed, result)
    seen: dict[object, int] = {}
    accepted = []
    for row in parsed:
        row.numbering_path = "/" + "/".join(row.path_codes[: numbering.get(row.path_codes[0], 0) + 1]) + "/"
        row.keys = [code or (row.numbering_path, number) for number, code, _e in row.tables]
        clash = next((k for k in row.keys if k in seen), None)
        if clash is not None:
            result.reject(
                row.line,
                _("la mesa %(number)s ya figura en la fila %(row)s (misma numeración)")
                % {"number": clash if isinstance(clash, str) else clash[1], "row": seen[clash]},
            )
            continue
        seen.update(dict.fromkeys(row.keys, row.line))
        accepted.append(row)
    return accepted
