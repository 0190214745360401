"""Importing the official station list: areas, polling places and tables from a spreadsheet.

One row per table. The hierarchy columns present in the file (Distrito / Sección / Circuito, or
Departamento / Localidad...) become the area tree, in that order. Upserts by official codes, so
importing the same file twice changes nothing.
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError
from backend.core.text import header_key, slug_code

from .models import Area, Election, PollingPlace, Table

# Hierarchy columns, outermost first; the first present is the district (table numbers are unique in it).
HIERARCHY_HEADERS = [
    ("distrito", {"distrito", "provincia", "district"}),
    ("seccion", {"seccion", "seccionelectoral", "section"}),
    ("departamento", {"departamento", "depto", "partido", "department"}),
    ("circuito", {"circuito", "circuit"}),
    ("localidad", {"localidad", "municipio", "ciudad", "locality", "city"}),
]
PLACE_HEADERS = {
    "place_code": {"codigoestablecimiento", "codestablecimiento", "codigoescuela", "placecode", "idestablecimiento"},
    "place_name": {"establecimiento", "nombreestablecimiento", "escuela", "place", "pollingplace"},
    "address": {"direccion", "domicilio", "address"},
    "latitude": {"latitud", "lat", "latitude"},
    "longitude": {"longitud", "lon", "lng", "longitude"},
    "table_number": {"mesa", "nromesa", "numeromesa", "table", "tablenumber"},
    "electors": {"electores", "votantes", "electors", "voters"},
}
REQUIRED = ("place_code", "place_name", "table_number")


@dataclass
class StationImportResult:
    areas_created: int = 0
    places_created: int = 0
    places_updated: int = 0
    tables_created: int = 0
    tables_updated: int = 0
    rows: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(
            (self.areas_created, self.places_created, self.places_updated, self.tables_created, self.tables_updated)
        )


def _map_header(row: list) -> tuple[list[tuple[str, int]], dict[str, int]]:
    keys = [header_key(cell) for cell in row]
    hierarchy = [(kind, keys.index(k)) for kind, names in HIERARCHY_HEADERS for k in keys if k in names]
    columns = {name: keys.index(k) for name, names in PLACE_HEADERS.items() for k in keys if k in names}
    return hierarchy, columns


def _int_or_none(value) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(float(str(value).strip()))
    except ValueError:
        return None


def _float_or_none(value) -> float | None:
    try:
        return float(str(value).replace(",", ".")) if value not in (None, "") else None
    except ValueError:
        return None


def stations_import(*, election: Election, rows, dry_run: bool = False) -> StationImportResult:
    """Upsert the area tree, places and tables of `rows` (the header row first) into `election`."""
    rows = iter(rows)
    hierarchy: list[tuple[str, int]] = []
    columns: dict[str, int] = {}
    for header in rows:
        hierarchy, columns = _map_header(header)
        if all(name in columns for name in REQUIRED) and hierarchy:
            break
    else:
        raise ApplicationError(
            _(
                "No se encontró la fila de encabezados: hacen falta columnas de área (Distrito, Sección...), "
                "Código establecimiento, Establecimiento y Mesa."
            ),
            code="missing_columns",
        )
    result = StationImportResult()
    with transaction.atomic():
        areas = {a.path: a for a in Area.objects.filter(election=election)}
        places = {p.code: p for p in PollingPlace.objects.filter(election=election)}
        tables = {(t.district_id, t.number): t for t in Table.objects.filter(election=election)}
        new_tables: list[Table] = []
        changed_tables: dict[int, Table] = {}
        changed_places: dict[int, PollingPlace] = {}
        for line, row in enumerate(rows, start=2):
            if not any(cell not in (None, "") for cell in row):
                continue
            result.rows += 1

            def cell(name, row=row):
                index = columns.get(name)
                return row[index] if index is not None and index < len(row) else None

            parent = None
            for kind, index in hierarchy:
                name = str(row[index]).strip() if index < len(row) and row[index] not in (None, "") else ""
                if not name:
                    break
                path = Area.build_path(parent.path if parent else None, slug_code(name))
                area = areas.get(path)
                if area is None:
                    area = Area(election=election, parent=parent, kind=kind, code=slug_code(name), name=name)
                    area.save()
                    areas[path] = area
                    result.areas_created += 1
                parent = area
            code = str(cell("place_code") or "").strip()
            number = _int_or_none(cell("table_number"))
            if parent is None or not code or number is None or number < 1:
                result.errors.append(
                    _("Fila %(line)s: faltan área, código de establecimiento o número de mesa.") % {"line": line}
                )
                continue
            district = areas[parent.path[: parent.path.index("/", 1) + 1]]
            values = {
                "area": parent,
                "name": str(cell("place_name") or "").strip()[:255],
                "address": str(cell("address") or "").strip()[:255],
                "latitude": _float_or_none(cell("latitude")),
                "longitude": _float_or_none(cell("longitude")),
            }
            place = places.get(code)
            if place is None:
                place = PollingPlace.objects.create(election=election, code=code, **values)
                places[code] = place
                result.places_created += 1
            elif place.pk not in changed_places and any(
                getattr(place, k) != v for k, v in values.items() if v not in ("", None) or k == "area"
            ):
                for k, v in values.items():
                    if v not in ("", None) or k == "area":
                        setattr(place, k, v)
                changed_places[place.pk] = place
            electors = _int_or_none(cell("electors"))
            table = tables.get((district.pk, number))
            if table is None:
                table = Table(election=election, place=place, district=district, number=number, electors=electors)
                tables[(district.pk, number)] = table
                new_tables.append(table)
            elif table.pk and (table.place_id != place.pk or table.electors != electors):
                table.place, table.electors = place, electors
                changed_tables[table.pk] = table
        Table.objects.bulk_create(new_tables, batch_size=2000)
        PollingPlace.objects.bulk_update(
            changed_places.values(), ["area", "name", "address", "latitude", "longitude"], batch_size=1000
        )
        Table.objects.bulk_update(changed_tables.values(), ["place", "electors"], batch_size=2000)
        result.tables_created = len(new_tables)
        result.places_updated = len(changed_places)
        result.tables_updated = len(changed_tables)
        if dry_run:
            transaction.set_rollback(True)
    return result
