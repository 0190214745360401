"""Writing a checked station list: the diff against the election, then bulk upserts.

`stations.stations_write` calls `apply_plan` inside its transaction. Tables go through the one
bulk writer (`backend.core.bulk`); new places get their threads in the same transaction. Everything here works on
the rows `stations.stations_read` produced and checked; nothing is rejected any more at this point.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Count, Q
from django.utils.translation import gettext as _

from backend.assignments.models import ACTIVE_STATUSES
from backend.core.bulk import insert_rows
from backend.threads.services import threads_create_for_places

from . import station_columns as cols
from .models import Area, Election, PollingPlace, Table

if TYPE_CHECKING:
    from .stations import StationImportResult, _Row

DIFF_LIMIT = 200  # changes and removals listed in the preview (the counts are always complete)
LEVEL_NAMES = {"distrito": "Distrito", "seccion": "Sección", "departamento": "Departamento", "circuito": "Circuito"}


def _note(result: StationImportResult, what: str, name: str, old, new) -> None:
    if len(result.changes) < DIFF_LIMIT:
        result.changes.append({"what": what, "field": name, "old": old, "new": new})


def apply_plan(
    election: Election,
    parsed: list[_Row],
    result: StationImportResult,
    *,
    write: bool,
) -> None:
    # Areas ------------------------------------------------------------------------------------
    areas = {a.path: a for a in Area.objects.filter(election=election).only("id", "path", "name", "depth", "kind")}
    wanted: dict[str, tuple[str, str, str, str | None, int]] = {}  # path -> (kind, code, name, parent, depth)
    kinds = _level_kinds(result)
    for row in parsed:
        parent = None
        for depth, (code, name) in enumerate(zip(row.path_codes, row.path_names, strict=True)):
            path = Area.build_path(parent, code)
            kind = kinds[depth] if depth < len(kinds) else "area"
            known = wanted.get(path)
            if known is None or (name and not known[2]):
                wanted[path] = (kind, code, name, parent, depth)
            parent = path
    renamed = []
    for path, (kind, code, name, parent, depth) in list(wanted.items()):
        area = areas.get(path)
        if not name:
            # No name in any file: a new area is called "Circuito 502"; a stored name is kept.
            wanted[path] = (kind, code, f"{LEVEL_NAMES.get(kind, kind.capitalize())} {code}"[:200], parent, depth)
            continue
        if area is not None and area.name != name:
            _note(result, _("área %(path)s") % {"path": path}, _("nombre"), area.name, name)
            area.name = name
            renamed.append(area)
    result.areas_updated = len(renamed)
    new_paths = sorted((p for p in wanted if p not in areas), key=lambda p: wanted[p][4])
    result.areas_created = len(new_paths)
    if write:
        Area.objects.bulk_update(renamed, ["name"], batch_size=1000)
        for depth in sorted({wanted[p][4] for p in new_paths}):
            level = [
                Area(
                    election=election,
                    parent=areas[wanted[p][3]] if wanted[p][3] else None,  # type: ignore[index]
                    kind=wanted[p][0],
                    code=wanted[p][1][:64],
                    name=wanted[p][2],
                    path=p,
                    depth=depth,
                )
                for p in new_paths
                if wanted[p][4] == depth
            ]
            Area.objects.bulk_create(level, batch_size=1000)
            if not all(a.pk for a in level):  # a backend that does not return ids
                ids = dict(
                    Area.objects.filter(election=election, path__in=[a.path for a in level]).values_list("path", "id")
                )
                for a in level:
                    a.pk = ids[a.path]
            areas.update({a.path: a for a in level})
    # Places -----------------------------------------------------------------------------------
    place_fields = ["area_id", "name", "address", "locality", "latitude", "longitude"]
    existing_places = {
        p["code"]: p for p in PollingPlace.objects.filter(election=election).values("id", "code", *place_fields)
    }
    place_rows: dict[str, _Row] = {}
    for row in parsed:
        place_rows.setdefault(row.place_code, row)
    new_places: list[PollingPlace] = []
    changed_places: list[PollingPlace] = []
    place_status: dict[str, str] = {}
    for code, row in place_rows.items():
        path = "/" + "/".join(row.path_codes) + "/"
        area = areas.get(path)
        values = {
            "area_id": area.pk if area is not None else None,
            "name": row.place_name,
            "address": row.address,
            "locality": row.locality,
            "latitude": row.point[0] if row.point else None,
            "longitude": row.point[1] if row.point else None,
        }
        old = existing_places.get(code)
        if old is None:
            place_status[code] = "new"
            new_places.append(PollingPlace(election=election, code=code, **values))
            continue
        changed = {}
        for name, value in values.items():
            # A blank cell keeps what is stored (a list without coordinates erases none).
            if name != "area_id" and value in ("", None):
                continue
            if (name == "area_id" and value is None) or old[name] != value:  # the area is new: it moves
                changed[name] = value
        if changed:
            place_status[code] = "updated"
            for name in changed:
                _note(result, _("establecimiento %(code)s") % {"code": code}, name, old[name], values[name])
            place = PollingPlace(id=old["id"], election=election, code=code)
            for name in place_fields:
                setattr(place, name, values[name] if name in changed else old[name])
            changed_places.append((place, path))  # type: ignore[arg-type]
        else:
            place_status[code] = "unchanged"
    result.places_created = len(new_places)
    result.places_updated = len(changed_places)
    place_ids = {code: p["id"] for code, p in existing_places.items()}
    if write:
        for place in new_places:
            if place.area_id is None:
                place.area_id = areas["/" + "/".join(place_rows[place.code].path_codes) + "/"].pk
        PollingPlace.objects.bulk_create(new_places, batch_size=2000)
        if not all(p.pk for p in new_places):
            place_ids = dict(PollingPlace.objects.filter(election=election).values_list("code", "id"))
        else:
            place_ids.update({p.code: p.pk for p in new_places})
        updates = []
        for place, path in changed_places:  # type: ignore[misc]
            if place.area_id is None:
                place.area_id = areas[path].pk
            updates.append(place)
        PollingPlace.objects.bulk_update(updates, place_fields, batch_size=1000)
    # Tables -----------------------------------------------------------------------------------
    existing_tables: dict[object, tuple[int, int, int | None, int, str]] = {}
    district_of = {a.pk: path for path, a in areas.items()}
    for pk, place_id, electors, number, code, district_id in Table.objects.filter(election=election).values_list(
        "id", "place_id", "electors", "number", "code", "district_id"
    ):
        key = code or (district_of.get(district_id, ""), number)
        existing_tables[key] = (pk, place_id, electors, number, code)
    place_code_by_id = {v: k for k, v in place_ids.items()}
    new_tables: list[tuple] = []
    changed_tables: list[tuple[int, int | None, int | None, str, str]] = []
    unchanged = 0
    seen: set[object] = set()
    for row in parsed:
        numbering_path = row.numbering_path
        keys = row.keys
        seen.update(keys)
        status = place_status.get(row.place_code, "unchanged")
        for key, (number, code, electors) in zip(keys, row.tables, strict=True):
            old = existing_tables.get(key)
            if old is None:
                new_tables.append((row.place_code, numbering_path, number, code, electors))
                status = "new"
                continue
            pk, place_id, old_electors, _n, _c = old
            moved = place_code_by_id.get(place_id) != row.place_code
            if moved or (electors is not None and electors != old_electors):
                if moved:
                    _note(
                        result,
                        _("mesa %(n)s") % {"n": number},
                        _("establecimiento"),
                        place_code_by_id.get(place_id),
                        row.place_code,
                    )
                if electors is not None and electors != old_electors:
                    _note(result, _("mesa %(n)s") % {"n": number}, _("electores"), old_electors, electors)
                changed_tables.append(
                    (pk, None, electors if electors is not None else old_electors, row.place_code, "")
                )
                if status != "new":
                    status = "updated"
            else:
                unchanged += 1
        result.statuses[row.line] = status
    result.tables_created = len(new_tables)
    result.tables_updated = len(changed_tables)
    result.tables_unchanged = unchanged
    _removed(election, seen, district_of, result)
    if not write:
        return
    insert_rows(
        Table._meta.db_table,
        ["election_id", "place_id", "district_id", "number", "code", "electors", "priority"],
        [
            (election.pk, place_ids[code], areas[path].pk, number, table_code, electors, 0)
            for code, path, number, table_code, electors in new_tables
        ],
    )
    if changed_tables:
        Table.objects.bulk_update(
            [
                Table(pk=pk, place_id=place_ids[code], electors=electors)
                for pk, _x, electors, code, _y in changed_tables
            ],
            ["place", "electors"],
            batch_size=2000,
        )
    # Each place gets its thread as it is created, so reading a thread never writes one.
    threads_create_for_places(election=election)


def _level_kinds(result: StationImportResult) -> list[str]:
    """The kinds of the station file's levels, outermost first (from its column description)."""
    for info in result.files:
        if info["role"] == "stations":
            fields = {c["field"] for c in info["columns"] if c["status"] in ("used", "mapped")}
            coded = [k for k, _w in cols.LEVELS if f"{k}_code" in fields]
            return coded or [k for k, _w in cols.LEVELS if f"{k}_name" in fields]
    return []


def _removed(election: Election, seen: set[object], district_of: dict[int, str], result: StationImportResult) -> None:
    """Tables in the election that the file no longer lists, with the watchers assigned to them."""
    active = Q(assignments__status__in=[s.value for s in ACTIVE_STATUSES])
    tables = (
        Table.objects.filter(election=election)
        .values_list("id", "number", "code", "district_id", "place__code", "place__name")
        .annotate(watchers=Count("assignments", filter=active))
        .order_by("district_id", "number")
    )
    for _pk, number, code, district_id, place_code, place_name, watchers in tables.iterator():
        key = code or (district_of.get(district_id, ""), number)
        if key in seen:
            continue
        result.tables_removed += 1
        if len(result.removed) < DIFF_LIMIT or watchers:
            result.removed.append(
                {"number": number, "place_code": place_code, "place": place_name, "watchers": watchers}
            )
