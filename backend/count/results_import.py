"""Imports of the count: the ballot structure and the authority's provisional results per table.

Two official layouts, both matched by header name (never position):
- the national long CSV (2021 onwards): one row per table x category x list or vote type;
- the wide per-table layout of provincial sites (Córdoba 2019): one row per table, one column
  per party, then blank, null, challenged, contested and voters.
An import writes one official sheet per table x category; a re-import makes the new one current
and keeps the old. Rows naming an unknown table are counted and reported, never guessed.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.core.bulk import bulk_insert
from backend.core.exceptions import ApplicationError
from backend.core.spreadsheets import find_header, read_rows
from backend.core.text import clean_text, fold, header_key
from backend.elections.models import Area, Election, Table

from .errors import CountErrorCode
from .models import BallotList, Category, ResultSheet, SheetSource, SheetStatus

YES = {"si", "s", "yes", "y", "x", "1", "true", "verdadero"}


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


def _int(value, *, row: int, column: str) -> int:
    if value is None or value == "":
        return 0
    try:
        number = int(float(str(value).strip().replace(",", ".")))
    except ValueError:
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
        for code in (district, section):
            if len(candidates) > 1 and code:
                wanted = {code, code.lstrip("0")}
                candidates = [c for c in candidates if wanted & set(c[1].split("/"))] or candidates
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

    def category(self, name: str) -> Category | None:
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
        return found

    def ballot_list(self, category: Category, name: str, table_path: str) -> BallotList | None:
        options = self.lists.get((category.pk, fold(name)), [])
        for bl in options:
            if bl.district is None or table_path.startswith(bl.district.path):
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
        value = row[index] if index is not None and index < len(row) else ""
        return "" if value is None else str(value).strip()

    return cell


def _table_rows(rows, *, header, cell, summary: ImportSummary):
    """(sheet row number, row, table number) of every data row of an official file: empty rows
    skipped, a table that is not a number reported on its row and skipped."""
    for number, row in enumerate(rows, start=header.index + 2):
        if not any(c not in (None, "") for c in row):
            continue
        summary.rows += 1
        raw_table = cell(row, "table")
        try:
            table_number = int(float(raw_table))
        except (ValueError, OverflowError):  # OverflowError: "inf"
            summary.errors.append(_("Fila %(row)s: mesa «%(t)s» no es un número.") % {"row": number, "t": raw_table})
            continue
        yield number, row, table_number


def official_import_national(
    *, election: Election, source, filename: str = "", actor=None, create_missing: bool = False
) -> ImportSummary:
    """The national long CSV of provisional (or final) results per table. `create_missing` builds
    categories and lists from the file (a first import); otherwise unknown ones are reported."""
    rows = read_rows(source, filename=filename)
    header = find_header(rows, NATIONAL_HEADERS, NATIONAL_REQUIRED)
    cols = header.columns
    summary = ImportSummary()
    finder = TableFinder(election)
    ballot = BallotIndex(election, create_missing=create_missing, summary=summary)

    cell = _cell_reader(cols)

    sheets: dict[tuple[int, int], dict] = {}
    with transaction.atomic():
        for number, row, table_number in _table_rows(rows, header=header, cell=cell, summary=summary):
            table_id = finder.find(table_number, district=cell(row, "district"), section=cell(row, "section"))
            if table_id is None:
                if str(table_number) not in summary.unknown_tables:
                    summary.unknown_tables.append(str(table_number))
                continue
            category = ballot.category(cell(row, "category"))
            if category is None:
                continue
            sheet = sheets.setdefault(
                (table_id, category.pk),
                {"votes": {}, "blank": 0, "null": 0, "contested": 0, "challenged": 0, "voters": 0},
            )
            votes = _int(cell(row, "votes"), row=number, column="votos_cantidad")
            kind = fold(cell(row, "kind"))
            sheet["voters"] += votes
            if kind == "positivo":
                name = cell(row, "party") or cell(row, "list_name")
                ballot_list = ballot.ballot_list(category, name, finder.paths[table_id])
                if ballot_list is not None:
                    key = str(ballot_list.pk)
                    sheet["votes"][key] = sheet["votes"].get(key, 0) + votes
            elif kind in VOTE_KINDS:
                sheet[VOTE_KINDS[kind]] += votes
            # COMANDO (votes of the electoral command) count among the voters only.
        summary.sheets = _official_write(election=election, sheets=sheets, paths=finder.paths, actor=actor)
    return summary


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


def official_import_wide(
    *,
    election: Election,
    source,
    filename: str = "",
    category: Category | None = None,
    actor=None,
    create_missing: bool = False,
) -> ImportSummary:
    """The wide layout: one row per table; every column that is neither known nor ignored is a party.

    The category comes from a `cargo` column (its code or name) or from `category`."""
    rows = read_rows(source, filename=filename)
    header = find_header(rows, WIDE_KNOWN, WIDE_REQUIRED)
    cols = header.columns
    known_indexes = set(cols.values())
    parties = [
        (index, str(cell).strip())
        for index, cell in enumerate(header.cells)
        if index not in known_indexes and cell not in (None, "") and header_key(cell) not in WIDE_IGNORED
    ]
    if not parties:
        raise ApplicationError(_("El archivo no tiene columnas de partidos."), code=CountErrorCode.MISSING_COLUMNS)
    if category is None and "category" not in cols:
        raise ApplicationError(
            _("Indicá la categoría: el archivo no tiene columna «cargo»."), code=CountErrorCode.MISSING_COLUMNS
        )
    summary = ImportSummary()
    finder = TableFinder(election)
    ballot = BallotIndex(election, create_missing=create_missing, summary=summary)
    sheets: dict[tuple[int, int], dict] = {}
    cell = _cell_reader(cols)

    with transaction.atomic():
        for number, row, table_number in _table_rows(rows, header=header, cell=cell, summary=summary):
            # "CO.1.112.1.1": the place code, then the table.
            place_code = cell(row, "place_id").rsplit(".", 1)[0] if cell(row, "place_id") else ""
            table_id = finder.find(table_number, place_code=place_code)
            if table_id is None:
                summary.unknown_tables.append(cell(row, "place_id") or str(table_number))
                continue
            row_category = ballot.category(cell(row, "category")) if "category" in cols else category
            if row_category is None:
                continue
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
            sheets[(table_id, row_category.pk)] = {"votes": votes, **figures}
        summary.sheets = _official_write(election=election, sheets=sheets, paths=finder.paths, actor=actor)
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
