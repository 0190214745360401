"""Importing the official station list: areas, polling places and tables from a spreadsheet.

One row per table. The hierarchy columns present in the file (Distrito / Sección / Circuito, or
Departamento / Localidad...) become the area tree, in that order. The header row is found below
title and blank rows. Upserts by official codes, so importing the same file twice changes nothing.
Called by `load_demo` directly and by the imports app (`backend.imports.services.batch_run`),
which records the batch and its report.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from backend.core.spreadsheets import find_header
from backend.core.text import fold, slug_code
from backend.threads.services import threads_create_for_places

from .models import Area, Election, PollingPlace, Table

# Hierarchy columns, outermost first; the first present is the district (table numbers are unique in it).
HIERARCHY_HEADERS = [
    ("distrito", ("distrito", "provincia", "district", "province")),
    ("seccion", ("seccion", "seccionelectoral", "section")),
    ("departamento", ("departamento", "depto", "dpto", "partido", "department")),
    ("circuito", ("circuito", "circuit")),
    ("localidad", ("localidad", "municipio", "ciudad", "locality", "city")),
]
PLACE_HEADERS = {
    "place_code": (
        "codigoestablecimiento",
        "codestablecimiento",
        "codigodeestablecimiento",
        "codigoescuela",
        "placecode",
        "idestablecimiento",
    ),
    "place_name": ("establecimiento", "nombreestablecimiento", "escuela", "place", "pollingplace", "placename"),
    "address": ("direccion", "domicilio", "address"),
    "latitude": ("latitud", "lat", "latitude"),
    "longitude": ("longitud", "lon", "lng", "longitude"),
    "table_number": ("mesa", "nromesa", "numeromesa", "numerodemesa", "table", "tablenumber"),
    "electors": ("electores", "votantes", "electors", "voters"),
}
HEADERS = {**{kind: names for kind, names in HIERARCHY_HEADERS}, **PLACE_HEADERS}
REQUIRED = [
    ("Distrito/Sección/Departamento/Localidad", tuple((kind,) for kind, _names in HIERARCHY_HEADERS)),
    ("Código establecimiento", (("place_code",),)),
    ("Establecimiento", (("place_name",),)),
    ("Mesa", (("table_number",),)),
]
PROGRESS_EVERY = 2000


@dataclass
class StationImportResult:
    areas_created: int = 0
    places_created: int = 0
    places_updated: int = 0
    tables_created: int = 0
    tables_updated: int = 0
    tables_unchanged: int = 0
    rows: int = 0
    header_row: int = 0
    errors: list[str] = field(default_factory=list)
    # Per sheet row (1-based): new / updated / unchanged / rejected / skipped, with a reason when useful.
    statuses: dict[int, str] = field(default_factory=dict)
    reasons: dict[int, str] = field(default_factory=dict)
    warned: set[int] = field(default_factory=set)

    @property
    def changed(self) -> bool:
        return any(
            (self.areas_created, self.places_created, self.places_updated, self.tables_created, self.tables_updated)
        )

    def reject(self, row: int, reason: str) -> None:
        self.statuses[row] = "rejected"
        self.reasons[row] = reason
        self.errors.append(_("Fila %(line)s: %(reason)s") % {"line": row, "reason": reason})


def _int_or_none(value) -> int | None:
    if value in (None, "") or isinstance(value, bool):
        return None
    try:
        number = float(str(value).strip().replace(",", "."))
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def _float_or_none(value) -> float | None:
    try:
        return float(str(value).replace(",", ".")) if value not in (None, "") else None
    except ValueError:
        return None


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = " ".join(str(value).split())
    return "" if text.startswith("=") else text  # a csv formula is never data


def stations_import(
    *,
    election: Election,
    rows: Iterable[list],
    dry_run: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> StationImportResult:
    """Upsert the area tree, places and tables of `rows` into `election` in one transaction.

    `rows` may start with title and blank rows above the header. A dry run rolls everything back
    and returns the same counts.
    """
    rows = iter(rows)
    header = find_header(rows, HEADERS, REQUIRED)
    columns = header.columns
    hierarchy = [(kind, columns[kind]) for kind, _names in HIERARCHY_HEADERS if kind in columns]
    result = StationImportResult(header_row=header.index + 1)
    for n in range(1, header.index + 2):
        result.statuses[n] = "skipped"
    with transaction.atomic():
        areas = {a.path: a for a in Area.objects.filter(election=election)}
        places = {p.code: p for p in PollingPlace.objects.filter(election=election)}
        tables = {(t.district_id, t.number): t for t in Table.objects.filter(election=election)}
        seen_tables: dict[tuple[int, int], int] = {}
        new_tables: list[Table] = []
        changed_tables: dict[int, Table] = {}
        changed_places: dict[int, PollingPlace] = {}
        new_place_codes: set[str] = set()
        for line, row in enumerate(rows, start=header.index + 2):
            if on_progress and line % PROGRESS_EVERY == 0:
                on_progress(line)
            if not any(cell not in (None, "") and str(cell).strip() for cell in row):
                result.statuses[line] = "skipped"
                continue

            def cell(name, row=row):
                index = columns.get(name)
                return row[index] if index is not None and index < len(row) else None

            if any(isinstance(c, str) and fold(c).startswith("total") for c in row) and (
                _int_or_none(cell("table_number")) is None
            ):
                result.statuses[line] = "skipped"
                result.reasons[line] = _("fila de totales omitida")
                continue
            result.rows += 1
            parent = None
            for kind, index in hierarchy:
                name = _text(row[index]) if index < len(row) else ""
                if not name:
                    break
                path = Area.build_path(parent.path if parent else None, slug_code(name))
                area = areas.get(path)
                if area is None:
                    area = Area(election=election, parent=parent, kind=kind, code=slug_code(name), name=name[:200])
                    area.save()
                    areas[path] = area
                    result.areas_created += 1
                parent = area
            code = _text(cell("place_code"))
            number = _int_or_none(cell("table_number"))
            if parent is None:
                result.reject(line, _("falta el área (distrito, departamento...)"))
                continue
            if not code:
                result.reject(line, _("falta el código de establecimiento"))
                continue
            if number is None or number < 1:
                result.reject(line, _("número de mesa inválido: «%(value)s»") % {"value": _text(cell("table_number"))})
                continue
            district = areas[parent.path[: parent.path.index("/", 1) + 1]]
            latitude, longitude = _float_or_none(cell("latitude")), _float_or_none(cell("longitude"))
            if (latitude is None) != (longitude is None) or (
                latitude is not None
                and longitude is not None
                and not (-90 <= latitude <= 90 and -180 <= longitude <= 180)
            ):
                result.warned.add(line)
                result.reasons[line] = _("coordenadas inválidas ignoradas")
                latitude = longitude = None
            values = {
                "area": parent,
                "name": _text(cell("place_name"))[:255],
                "address": _text(cell("address"))[:255],
                "latitude": latitude,
                "longitude": longitude,
            }
            status = "unchanged"
            place = places.get(code)
            if place is None:
                place = PollingPlace.objects.create(election=election, code=code, **values)
                places[code] = place
                new_place_codes.add(code)
                result.places_created += 1
            elif code not in new_place_codes and any(
                getattr(place, k) != v for k, v in values.items() if v not in ("", None) or k == "area"
            ):
                for k, v in values.items():
                    if v not in ("", None) or k == "area":
                        setattr(place, k, v)
                changed_places[place.pk] = place
                status = "updated"
            electors = _int_or_none(cell("electors"))
            key = (district.pk, number)
            if key in seen_tables:
                result.reject(
                    line,
                    _("la mesa %(number)s ya figura en la fila %(row)s del mismo distrito")
                    % {"number": number, "row": seen_tables[key]},
                )
                continue
            seen_tables[key] = line
            table = tables.get(key)
            if table is None:
                table = Table(election=election, place=place, district=district, number=number, electors=electors)
                tables[key] = table
                new_tables.append(table)
                status = "new"
            elif table.place_id != place.pk or table.electors != electors:
                table.place, table.electors = place, electors
                changed_tables[table.pk] = table
                status = "updated"
            result.statuses[line] = status
        Table.objects.bulk_create(new_tables, batch_size=2000)
        PollingPlace.objects.bulk_update(
            changed_places.values(), ["area", "name", "address", "latitude", "longitude"], batch_size=1000
        )
        Table.objects.bulk_update(changed_tables.values(), ["place", "electors"], batch_size=2000)
        result.tables_created = len(new_tables)
        result.places_updated = len(changed_places)
        result.tables_updated = len(changed_tables)
        result.tables_unchanged = sum(1 for s in result.statuses.values() if s == "unchanged")
        # Each place gets its thread as it is created, so reading a thread never writes one.
        threads_create_for_places(election=election)
        if dry_run:
            transaction.set_rollback(True)
    return result
