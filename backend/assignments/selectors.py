"""Reads on assignments: coverage per area, place and table, ranked candidates for a slot, lists.

Every selector that takes `user` narrows its rows with `backend.permissions.visible`, so
the console pages and the API can pass the request's user straight through.
Coverage counts per area in three grouped queries (the database adds up the places, tables and
assignments; the rows are the areas that hold places) and rolls up the area tree in Python by
materialised path, so the whole country answers in a few queries whatever its number of districts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.utils.translation import gettext as _

from backend.accounts.models import Role
from backend.core.prepared import PreparedQuery
from backend.elections.models import Area, Election, PollingPlace, Table
from backend.permissions import role_of, visible
from backend.volunteers.models import Availability, RolesAccepted, Volunteer

from .engine.rules import (
    PARTIAL_AVAILABILITY,
    VolunteerFacts,
    cost_reason,
    district_code,
    eligibility_problems,
    great_circle_m,
    levels_above,
    pair_cost_arrays,
)
from .models import ACTIVE_STATUSES, Assignment, AssignmentRole, AssignmentStatus, Shift

STATE_EMPTY, STATE_PARTIAL, STATE_COMPLETE = "empty", "partial", "complete"
_STATE_LABELS = {STATE_EMPTY: "vacío", STATE_PARTIAL: "incompleto", STATE_COMPLETE: "completo"}
CONFIRMED_STATUSES = (AssignmentStatus.CONFIRMED, AssignmentStatus.CHECKED_IN)


def coverage_state(*, slots: int, assigned: int) -> str:
    """vacío (nobody), incompleto, completo: the three states a coordinator reads at a glance."""
    if assigned <= 0:
        return STATE_EMPTY
    return STATE_COMPLETE if assigned >= slots else STATE_PARTIAL


def state_label(state: str) -> str:
    return _(_STATE_LABELS[state])


def _active_for_volunteer(volunteer_id: int):
    return (
        Assignment.objects.filter(volunteer_id=volunteer_id, status__in=ACTIVE_STATUSES)
        # The place's area too: an incident by SMS reads its path (coordinators, the board event).
        .select_related("place__area", "table", "election")
        .order_by("-election__date")
    )


# Read by nearly every text a volunteer sends (sms/commands.py): compiled once, not per message.
_ACTIVE_FOR_VOLUNTEER = PreparedQuery(lambda volunteer_id: _active_for_volunteer(volunteer_id)[:1], "volunteer_id")


def assignment_get_active_for_volunteer(*, volunteer, election=None) -> Assignment | None:
    if election is not None:
        return _active_for_volunteer(volunteer.pk).filter(election=election).first()
    return next(iter(_ACTIVE_FOR_VOLUNTEER.objects(volunteer_id=volunteer.pk)), None)


def assignment_list_visible(
    *, user, election: Election, area: Area | None = None, place=None, status: str | None = None, active_only=False
):
    """Assignments the user may see, newest status changes last; filters are optional."""
    qs = Assignment.objects.filter(election=election)
    if area is not None:
        # The area's places as an id list, read through the assignment's place index: a join on the
        # area path walked every assignment of the country first (national election-day board).
        places = PollingPlace.objects.filter(election=election, area__path__startswith=area.path).values("pk")
        qs = qs.filter(place_id__in=places)
    if place is not None:
        qs = qs.filter(place=place)
    if status:
        qs = qs.filter(status=status)
    if active_only:
        qs = qs.filter(status__in=ACTIVE_STATUSES)
    return (
        visible(user, qs)
        .select_related("volunteer", "place", "table")
        .order_by("place__code", "role", "table__number", "slot", "id")
    )


# --- coverage ------------------------------------------------------------------------------------


def _counts_per_place_group(*, user, election: Election, places, narrowed: bool, key: str) -> dict[int, list[int]]:
    """Per `key` of the visible `places` ("id": each place; "area_id": each area holding places):
    [places, tables, assigned, confirmed, checked in], in one statement.

    Joining every assignment and table to its place and area cost most of the country's coverage
    page on both engines; here they are counted per place from their covering indexes
    (`table_coverage`; `assignment_coverage`, place then status) and only per-place figures meet
    the places. For the whole election the counts are grouped per place first and joined to the
    places; for an area or a coordinator's scope each place looks its counts up. The scope applies
    to the places alone (no join on the area path per assignment). The counts name columns the
    grouping already reads (COUNT(id) made PostgreSQL read one more column of every row: a
    quarter of the statement's CPU).
    `narrowed`: `places` is not the whole election (an area filter), so neither are the counts.
    """
    narrowed = narrowed or role_of(user) != Role.LEAD
    places = visible(user, places).order_by()
    if places.query.is_empty():  # nothing visible (a coordinator without scopes): no SQL to build
        return {}
    tables = Table.objects.filter(election=election).order_by()
    assignments = Assignment.objects.filter(election=election, status__in=ACTIVE_STATUSES).order_by()
    column = {"id": "id", "area_id": "area_id"}[key]
    if narrowed:
        # An area or a coordinator's scope, a few hundred places: each place's counts looked up
        # in the covering indexes (PostgreSQL misjudged how many places a path prefix holds and
        # joined the grouped rows by nested loops).
        def per_place(rows, **filters):
            count = rows.filter(place=OuterRef("pk"), **filters).values("place").annotate(n=Count("place"))
            return Subquery(count.values("n"))

        per_place_sql, params = (
            places.annotate(
                n_tables=per_place(tables),
                assigned=per_place(assignments),
                confirmed=per_place(assignments, status__in=CONFIRMED_STATUSES),
                checked_in=per_place(assignments, status=AssignmentStatus.CHECKED_IN),
            )
            .values("id", "area_id", "n_tables", "assigned", "confirmed", "checked_in")
            .query.sql_with_params()
        )
        sql = f"""
            SELECT p.{column}, COUNT(*), SUM(p.n_tables), SUM(p.assigned), SUM(p.confirmed), SUM(p.checked_in)
            FROM ({per_place_sql}) p GROUP BY p.{column}
        """
    else:
        tables_sql, tables_params = tables.values("place_id").annotate(n=Count("place")).query.sql_with_params()
        assignments_sql, assignments_params = (
            assignments.values("place_id")
            .annotate(
                assigned=Count("status"),
                confirmed=Count("status", filter=Q(status__in=CONFIRMED_STATUSES)),
                checked_in=Count("status", filter=Q(status=AssignmentStatus.CHECKED_IN)),
            )
            .query.sql_with_params()
        )
        places_sql, places_params = places.values("id", "area_id").query.sql_with_params()
        sql = f"""
            SELECT p.{column}, COUNT(*), SUM(t.n), SUM(a.assigned), SUM(a.confirmed), SUM(a.checked_in)
            FROM ({places_sql}) p
            LEFT JOIN ({tables_sql}) t ON t.place_id = p.id
            LEFT JOIN ({assignments_sql}) a ON a.place_id = p.id
            GROUP BY p.{column}
        """
        params = (*places_params, *tables_params, *assignments_params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0]: [n or 0 for n in row[1:]] for row in cursor.fetchall()}


def _place_counts(*, user, election: Election, area: Area | None, direct: bool = False) -> dict[int, dict]:
    """Per visible place (under `area`, or right in it when `direct`): slots, assigned, confirmed,
    checked in; two statements and the split slots' few rows."""
    places = PollingPlace.objects.filter(election=election)
    scope = Q()
    if area is not None and direct:
        places = places.filter(area=area)
        scope = Q(place__area=area)
    elif area is not None:
        places = places.filter(area__path__startswith=area.path)
        scope = Q(place__area__path__startswith=area.path)
    per_place = _counts_per_place_group(
        user=user, election=election, places=places, narrowed=area is not None, key="id"
    )
    counts: dict[int, dict] = {}
    per_table, per_place_slots = election.table_watchers_per_table, election.place_watchers_per_place
    for pk, code, name, area_id in visible(user, places).values_list("pk", "code", "name", "area_id"):
        _places, tables, assigned, confirmed, checked_in = per_place.get(pk, (1, 0, 0, 0, 0))
        counts[pk] = {
            "id": pk,
            "code": code,
            "name": name,
            "area_id": area_id,
            "tables": tables,
            "slots": per_place_slots + tables * per_table,
            "assigned": assigned,
            "confirmed": confirmed,
            "checked_in": checked_in,
        }
    for place_id, delta in split_slot_corrections(user=user, election=election, scope=scope, key="place_id").items():
        if place_id in counts:
            for field, d in delta.items():
                counts[place_id][field] += d
    for row in counts.values():
        row["state"] = coverage_state(slots=row["slots"], assigned=row["assigned"])
    return counts


def split_slot_corrections(*, user, election: Election, scope: Q, key: str) -> dict[int, dict[str, int]]:
    """What a table slot split in shifts adds to the plain per-assignment counts, by `key` (place or area id).

    The grouped counts count every active assignment as one slot held. A split slot is covered
    only when both halves are: a morning and an afternoon watcher count as one assigned slot
    (confirmed when both confirmed; present when either is at the table, the morning one's handover
    (`done`) included); one half alone covers nothing. Read from the few shift rows only (a partial
    index), so the plain counts keep their covering indexes.
    """
    # The statuses are filtered here, not in SQL, and nothing is sorted: with a status filter or
    # the model's ordering the planners walked a whole-election index (every assignment of the
    # country) instead of the partial index that holds the shift rows alone.
    rows = (
        visible(user, Assignment.objects.filter(election=election).exclude(shift=Shift.DAY).filter(scope))
        .order_by()
        .values_list(key, "table_id", "slot", "shift", "status")
    )
    counted = {*ACTIVE_STATUSES, AssignmentStatus.DONE}
    halves: dict[tuple, dict] = {}
    for group, table_id, slot, shift, status in rows:
        if status in counted:
            halves.setdefault((group, table_id, slot), {})[shift] = status
    out: dict[int, dict[str, int]] = {}
    confirmed_or_done = {*CONFIRMED_STATUSES, AssignmentStatus.DONE}
    for (group, _table, _slot), held in halves.items():
        delta = out.setdefault(group, {"assigned": 0, "confirmed": 0, "checked_in": 0})
        for status in held.values():  # take back what the plain counts added for each active half
            if status in ACTIVE_STATUSES:
                delta["assigned"] -= 1
                delta["confirmed"] -= status in CONFIRMED_STATUSES
                delta["checked_in"] -= status == AssignmentStatus.CHECKED_IN
        morning, afternoon = held.get(Shift.MORNING), held.get(Shift.AFTERNOON)
        if morning is not None and afternoon in ACTIVE_STATUSES:
            delta["assigned"] += 1
            delta["confirmed"] += afternoon in CONFIRMED_STATUSES and morning in confirmed_or_done
            delta["checked_in"] += AssignmentStatus.CHECKED_IN in (morning, afternoon)
    return out


def coverage_by_place(*, user, election: Election, area: Area | None = None) -> list[dict]:
    """One row per visible polling place (optionally under `area`), ordered by code."""
    rows = sorted(_place_counts(user=user, election=election, area=area).values(), key=lambda r: r["code"])
    labels = {state: state_label(state) for state in _STATE_LABELS}
    for row in rows:
        row["state_label"] = labels[row["state"]]
    return rows


_COUNTS = ("places", "tables", "slots", "assigned", "confirmed", "checked_in")


def _area_counts(*, user, election: Election, paths: list[str]) -> dict[str, dict]:
    """Per area that holds visible places (under `paths[0]` when there is exactly one path; with
    several, everywhere, as only the wanted areas are summed later), keyed by its path: places,
    tables, slots, assigned, confirmed, checked in. One grouped statement however many areas and
    places there are (`_counts_per_place_group`), the areas' paths, and the split slots' few rows;
    the rows are the areas that hold places, not the places."""
    places = PollingPlace.objects.filter(election=election)
    areas = Area.objects.filter(election=election)
    scope = Q()
    if len(paths) == 1:
        places = places.filter(area__path__startswith=paths[0])
        scope = Q(place__area__path__startswith=paths[0])
        areas = areas.filter(path__startswith=paths[0])
    path_of = dict(areas.values_list("pk", "path"))
    per_table, per_place = election.table_watchers_per_table, election.place_watchers_per_place
    counts: dict[str, dict] = {}
    for area_id, (n_places, tables, assigned, confirmed, checked_in) in _counts_per_place_group(
        user=user, election=election, places=places, narrowed=len(paths) == 1, key="area_id"
    ).items():
        counts[path_of[area_id]] = {
            "places": n_places,
            "tables": tables,
            "slots": n_places * per_place + tables * per_table,
            "assigned": assigned,
            "confirmed": confirmed,
            "checked_in": checked_in,
        }
    for area_id, delta in split_slot_corrections(
        user=user, election=election, scope=scope, key="place__area_id"
    ).items():
        area_row = counts.get(path_of.get(area_id, ""))
        if area_row is not None:
            for field, d in delta.items():
                area_row[field] += d
    return counts


def _roll_up(counts: dict[str, dict], wanted_paths) -> dict[str, dict]:
    """The counts of each wanted area: the sum over the areas below it (every prefix of a path is an ancestor)."""
    totals = {path: dict.fromkeys(_COUNTS, 0) for path in wanted_paths}
    for path, row in counts.items():
        parts = path.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            total = totals.get("/" + "/".join(parts[:i]) + "/")
            if total is not None:
                for key in _COUNTS:
                    total[key] += row[key]
    return totals


def _top_paths(paths) -> list[str]:
    """The paths not inside another one of them: a subtree's filter covers its descendants."""
    ordered = sorted(set(paths))
    return [p for p in ordered if not any(p != q and p.startswith(q) for q in ordered)]


def coverage_by_area(*, user, election: Election, area: Area | None = None, max_depth: int | None = None) -> list[dict]:
    """The area tree (flat, ordered by path; `depth` and `parent_id` rebuild it) with counts rolled up.

    Only areas the user may see are listed: a coordinator gets their subtrees, whose numbers add up
    the places below them. Four queries at any size: the areas, and three grouped counts per area.
    """
    areas = Area.objects.filter(election=election)
    if area is not None:
        areas = areas.filter(path__startswith=area.path)
    if max_depth is not None:
        areas = areas.filter(depth__lte=max_depth)
    nodes = {}
    for pk, parent_id, code, name, kind, path, depth in visible(user, areas).values_list(
        "pk", "parent_id", "code", "name", "kind", "path", "depth"
    ):
        nodes[path] = {
            "id": pk,
            "parent_id": parent_id,
            "code": code,
            "name": name,
            "kind": kind,
            "path": path,
            "depth": depth,
        }
    counts = _area_counts(user=user, election=election, paths=[area.path] if area is not None else [])
    for path, total in _roll_up(counts, nodes).items():
        nodes[path].update(total)
    out = sorted(nodes.values(), key=lambda n: n["path"])
    labels = {state: state_label(state) for state in _STATE_LABELS}
    for node in out:
        node["state"] = coverage_state(slots=node["slots"], assigned=node["assigned"])
        node["state_label"] = labels[node["state"]]
    return out


@dataclass
class Coverage:
    """Slot counts of one area or place, as the console's coverage pages add them up."""

    slots: int = 0
    assigned: int = 0
    confirmed: int = 0
    checked_in: int = 0

    @property
    def uncovered(self) -> int:
        return max(self.slots - self.assigned, 0)

    @property
    def unconfirmed(self) -> int:
        return max(self.assigned - self.confirmed, 0)

    def add(self, other: Coverage) -> None:
        self.slots += other.slots
        self.assigned += other.assigned
        self.confirmed += other.confirmed
        self.checked_in += other.checked_in

    @classmethod
    def of(cls, row: dict) -> Coverage:
        return cls(row["slots"], row["assigned"], row["confirmed"], row["checked_in"])


def coverage_map_by_area(*, user, election: Election, areas: list[Area]) -> dict[int, Coverage]:
    """Rolled-up coverage of each of `areas` (already checked visible), keyed by area id.

    Three grouped queries for all of them together, however many districts or places they hold.
    """
    if not areas:
        return {}
    counts = _area_counts(user=user, election=election, paths=_top_paths(a.path for a in areas))
    totals = _roll_up(counts, {a.path for a in areas})
    return {a.pk: Coverage.of(totals[a.path]) for a in areas}


def coverage_map_by_place(*, user, election: Election, area: Area | None, direct: bool = False) -> dict[int, Coverage]:
    """Coverage of each visible place under `area` (the whole election when None; only the places
    right in `area` when `direct`), keyed by place id. Three grouped queries."""
    counts = _place_counts(user=user, election=election, area=area, direct=direct)
    return {pk: Coverage.of(row) for pk, row in counts.items()}


def coverage_by_table(*, user, place: PollingPlace) -> dict:
    """A place's slots one by one: its general(s) and each table's watcher(s), with who holds them."""
    election = place.election
    held: dict[tuple, dict] = {}
    # A morning watcher who handed over (`done`) still holds their half of the day.
    holding = Q(status__in=ACTIVE_STATUSES) | Q(status=AssignmentStatus.DONE, shift=Shift.MORNING)
    for a in visible(user, Assignment.objects.filter(holding, place=place)).select_related("volunteer"):
        held[(a.role, a.table_id, a.slot, a.shift)] = {
            "assignment_id": a.pk,
            "shift": a.shift,
            "volunteer_id": a.volunteer_id,
            "volunteer": a.volunteer.full_name,
            "status": a.status,
            "status_label": str(AssignmentStatus(a.status).label),
            "locked": a.locked,
            "reason": a.reason,
        }

    def slots(role, table_id, n):
        """One entry per slot; a slot split in shifts gives two (its morning and its afternoon)."""
        out = []
        for s in range(n):
            day = held.get((role, table_id, s, Shift.DAY))
            halves = [held.get((role, table_id, s, shift)) for shift in (Shift.MORNING, Shift.AFTERNOON)]
            if day is not None or not any(halves):
                out.append({"slot": s, "shift": Shift.DAY.value, "assignment": day})
            else:
                out += [
                    {"slot": s, "shift": shift.value, "assignment": a}
                    for shift, a in zip((Shift.MORNING, Shift.AFTERNOON), halves, strict=True)
                ]
        return out

    def covered(table_slots, test) -> int:
        """Slots covered by a whole-day watcher, or by both halves, that pass `test`."""
        by_slot: dict[int, list] = {}
        for s in table_slots:
            by_slot.setdefault(s["slot"], []).append(s["assignment"])
        return sum(1 for held_ in by_slot.values() if all(a is not None and test(a) for a in held_))

    general = slots(AssignmentRole.PLACE, None, election.place_watchers_per_place)
    tables = []
    n_slots = election.table_watchers_per_table
    for pk, number, electors in (
        visible(user, Table.objects.filter(place=place)).order_by("number").values_list("pk", "number", "electors")
    ):
        table_slots = slots(AssignmentRole.TABLE, pk, n_slots)
        assigned = covered(table_slots, lambda a: True)
        state = coverage_state(slots=n_slots, assigned=assigned)
        tables.append(
            {
                "id": pk,
                "number": number,
                "electors": electors,
                "slots": table_slots,
                "assigned": assigned,
                "confirmed": covered(table_slots, lambda a: a["status"] in CONFIRMED_STATUSES),
                "checked_in": sum(
                    1
                    for s in table_slots
                    if s["assignment"] and s["assignment"]["status"] == AssignmentStatus.CHECKED_IN
                ),
                "state": state,
                "state_label": state_label(state),
            }
        )
    return {"place_id": place.pk, "code": place.code, "name": place.name, "general": general, "tables": tables}


# --- candidates for one slot ----------------------------------------------------------------------


@dataclass
class SlotCandidate:
    volunteer_id: int
    name: str
    cost_m: float
    reason: str
    votes_here: bool
    trained: bool
    availability: str
    roles_accepted: str


# Box around a place (degrees of latitude) inside which every volunteer closer than this lives.
_NEAR_M = 30_000
_DEG_LAT_M = 111_000


def _free_volunteers_in_district(
    *, place: PollingPlace, role: str | None, slot: int | None, include_absent: bool, shift: str = Shift.DAY
):
    """A narrowing query (the district, not busy, the plain flags of the eligibility rule) so the one
    rule in `eligibility_problems` runs over a few hundred rows instead of the whole roster."""
    election = place.election
    district = district_code(place.area.path)
    # The district's areas and places as id lists: the volunteers' own indexes on area and place
    # then find the few thousand people of the district instead of scanning the whole roster.
    areas = Area.objects.filter(election=election, path__startswith=f"/{district}/").values("pk")
    places = PollingPlace.objects.filter(election=election, area__path__startswith=f"/{district}/").values("pk")
    home_in_district = Q(area_id__in=areas) | Q(area__isnull=True, votes_at_id__in=places)
    # No ORDER BY: the candidates are ranked in Python, and the name order made SQLite walk the
    # whole roster by name (9 s at 140,000 volunteers).
    qs = Volunteer.objects.filter(home_in_district).filter(excluded=False, opted_out=False).order_by()
    qs = qs.exclude(availability=Availability.UNAVAILABLE)
    # Without a role or slot (several slots at once), `_rank` applies the rest of the rule per slot.
    if role is not None:
        qs = qs.filter(roles_accepted__in=[RolesAccepted.ANY, role])
    if shift in PARTIAL_AVAILABILITY:
        qs = qs.exclude(availability=Availability.AFTERNOON if shift == Shift.MORNING else Availability.MORNING)
    elif slot == 0:
        qs = qs.exclude(availability__in=PARTIAL_AVAILABILITY)
    if election.requires_training:
        qs = qs.filter(trained=True)
    # Declined in this election: not asked again. Marked absent: not offered again that day,
    # unless a coordinator asks for them (`include_absent`).
    gone = [AssignmentStatus.DECLINED] if include_absent else [AssignmentStatus.DECLINED, AssignmentStatus.NO_SHOW]
    busy = Assignment.objects.filter(election=election, volunteer=OuterRef("pk")).filter(
        Q(status__in=ACTIVE_STATUSES) | Q(status__in=gone)
    )
    return qs.filter(~Exists(busy))


def candidates_for_slot(
    *,
    place: PollingPlace,
    role: str,
    table: Table | None = None,
    slot: int = 0,
    limit: int = 20,
    user=None,
    include_absent: bool = False,
    shift: str = Shift.DAY,
) -> list[SlotCandidate]:
    """The best available volunteers for one slot (or one shift of it), cheapest first, with cost and reason.

    Available: eligible by the one rule (`eligibility_problems`), costed by the one rule
    (`pair_cost_arrays`), not in an active assignment, not having declined in this election and not
    marked absent today (unless `include_absent`). With `user`, only volunteers that user may see.
    Used by the console's "assign from the best available" list, the API and decline replacements.
    """
    qs = _free_volunteers_in_district(place=place, role=role, slot=slot, include_absent=include_absent, shift=shift)
    if user is not None:
        qs = visible(user, qs)
    place_has_geo = place.latitude is not None and place.longitude is not None
    parts = place.area.path.strip("/").split("/")
    # Near set first: voters here, coordinates within ~30 km, or no coordinates but home in the same
    # department. Everyone else costs at least as much; the whole district is read only when the near
    # set is too small.
    dept_path = "/" + "/".join(parts[: max(1, len(parts) - 1)]) + "/"
    near = Q(votes_at=place) | (
        (Q(latitude__isnull=True) if place_has_geo else Q())
        & (Q(area__path__startswith=dept_path) | Q(area__isnull=True, votes_at__area__path__startswith=dept_path))
    )
    if place_has_geo:
        assert place.latitude is not None and place.longitude is not None  # place_has_geo
        dlat = _NEAR_M / _DEG_LAT_M
        dlon = dlat / max(0.1, math.cos(math.radians(place.latitude)))
        near |= Q(
            latitude__range=(place.latitude - dlat, place.latitude + dlat),
            longitude__range=(place.longitude - dlon, place.longitude + dlon),
        )
    rows = list(qs.filter(near).values_list(*_CANDIDATE_FIELDS))
    ranked = _rank(place, role, slot, rows, include_absent, limit=limit, shift=shift)
    if len(ranked) < limit or (ranked and ranked[min(limit, len(ranked)) - 1].cost_m > _NEAR_M):
        ranked = _rank(
            place, role, slot, list(qs.values_list(*_CANDIDATE_FIELDS)), include_absent, limit=limit, shift=shift
        )
    return ranked[:limit]


_CANDIDATE_FIELDS = (
    "pk",
    "first_name",
    "last_name",
    "latitude",
    "longitude",
    "votes_at_id",
    "trained",
    "availability",
    "roles_accepted",
    "area__path",
    "votes_at__area__path",
    "excluded",
    "opted_out",
)


def _rank(
    place: PollingPlace,
    role: str,
    slot: int,
    rows: list,
    include_absent: bool,
    limit: int | None = None,
    shift: str = Shift.DAY,
) -> list[SlotCandidate]:
    """The eligible among `rows`, cheapest first; with `limit`, only the best `limit` (their reasons
    are worded only for them: a district of thousands ranked for two proposals)."""
    election = place.election
    place_path = place.area.path
    lineage = {
        path: (kind, name)
        for path, kind, name in Area.objects.filter(
            election_id=place.election_id,
            path__in=[
                "/" + "/".join(place_path.strip("/").split("/")[:i]) + "/" for i in range(1, place.area.depth + 2)
            ],
        ).values_list("path", "kind", "name")
    }
    kept, levels, lcas = [], [], []
    geo: list[tuple | None] = []
    for row in rows:
        pk, _first, _last, lat, lon, _votes_at, trained, availability, roles, area_path, votes_path, excl, out = row
        home = area_path or votes_path
        facts = VolunteerFacts(excl, out, availability, roles, trained, home)
        if eligibility_problems(
            facts,
            requires_training=election.requires_training,
            role=role,
            slot=slot,
            place_path=place_path,
            shift=shift,
        ):
            continue
        up, lca_path = levels_above(home, place_path)
        kept.append(row)
        levels.append(up)
        lcas.append(lca_path)
        geo.append(None if None in (lat, lon, place.latitude, place.longitude) else (lat, lon))
    geo_m = np.full(len(kept), np.nan)
    with_geo = [i for i, g in enumerate(geo) if g is not None]
    if with_geo:
        lat_lon = np.array([geo[i] for i in with_geo], dtype=np.float64)
        geo_m[with_geo] = great_circle_m(lat_lon[:, 0], lat_lon[:, 1], place.latitude, place.longitude)
    cost, kind = pair_cost_arrays(
        votes_here=np.array([r[5] == place.pk for r in kept], dtype=bool),
        geo_m=geo_m,
        levels_up=np.array(levels, dtype=np.int64),
        home_known=np.array([bool(r[9] or r[10]) for r in kept], dtype=bool),
    )
    order = []
    for i, (pk, first, last, *_rest) in enumerate(kept):
        if np.isfinite(cost[i]):
            name = f"{first} {last}".strip()
            order.append((round(float(cost[i]), 1), not kept[i][6], name, pk, i))
    order.sort()
    out = []
    for cost_m, _untrained, name, pk, i in order[:limit]:
        _pk, _first, _last, _lat, _lon, votes_at_id, trained, availability, roles, *_rest = kept[i]
        lca_kind, lca_name = lineage.get(lcas[i] or "", ("", ""))
        out.append(
            SlotCandidate(
                volunteer_id=pk,
                name=name,
                cost_m=cost_m,
                reason=cost_reason(int(kind[i]), float(cost[i]), lca_kind=lca_kind, lca_name=lca_name),
                votes_here=votes_at_id == place.pk,
                trained=trained,
                availability=availability,
                roles_accepted=roles,
            )
        )
    return out


PROPOSALS_PER_WATCHER = 2


def late_watcher_proposals(*, user, late: Assignment, ahead: int) -> list[SlotCandidate]:
    """Up to two replacements for one late watcher: the pair after those of the `ahead` late
    watchers before them in the same place, role and slot, so each gets people of their own.

    Called by the election-day board when a coordinator opens one late watcher's proposals. The
    board lists late watchers at once and ranks candidates only for the row opened: at national
    size, ranking each district's free people for a page of 20 late watchers took 1.6 s.
    """
    wanted = PROPOSALS_PER_WATCHER * (ahead + 1)
    ranked = candidates_for_slot(
        place=late.place, role=late.role, table=late.table, slot=late.slot, limit=wanted, user=user
    )
    return ranked[PROPOSALS_PER_WATCHER * ahead : wanted]
