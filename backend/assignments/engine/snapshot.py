"""Load everything the solver needs in a handful of `values_list` queries, into numpy arrays.

No ORM objects in the hot path: 120,000 volunteers and 130,000 slots load in a few seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np
from django.db import connections
from django.db.models import Q

from backend.elections.models import Area, Election, PollingPlace, Table
from backend.volunteers.models import Availability, Volunteer

from ..models import ACTIVE_STATUSES, Assignment, AssignmentStatus
from .rules import VolunteerFacts, accepts_role, eligibility_problems, slot_weight

ROLE_TABLE, ROLE_PLACE = 0, 1
ROLE_NAMES = ("table", "place")
# Statuses the engine never moves (besides locked rows).
FIXED_STATUSES = frozenset({AssignmentStatus.CONFIRMED, AssignmentStatus.CHECKED_IN})


@dataclass
class Snapshot:
    election: Election
    scope: Area | None
    # Areas of the election, indexed 0..A-1.
    area_id: np.ndarray
    area_parent: np.ndarray
    area_depth: np.ndarray
    area_kind: list[str]
    area_name: list[str]
    area_path: list[str]
    area_code: list[str]
    area_anc: np.ndarray  # (A, D): ancestor index at each depth, -1 below the area's own depth
    area_index: dict[int, int]
    # Places in scope, indexed 0..P-1.
    place_id: np.ndarray
    place_area: np.ndarray
    place_lat: np.ndarray
    place_lon: np.ndarray
    place_index: dict[int, int]
    # Every slot of the scope, indexed 0..S-1 (table slots first, then place slots).
    slot_place: np.ndarray
    slot_role: np.ndarray
    slot_table: np.ndarray  # table id, 0 for a place slot
    slot_table_number: np.ndarray
    slot_no: np.ndarray
    slot_weight: np.ndarray
    slot_taken_fixed: np.ndarray  # bool: held by an assignment the engine may not move
    slot_taken_before: np.ndarray  # bool: held by any active assignment before the run
    # Volunteers in play (free and eligible, or holding a movable assignment), indexed 0..V-1.
    vol_id: np.ndarray
    vol_area: np.ndarray  # home area index (-1 unknown)
    vol_votes: np.ndarray  # place index where they vote, -1 if unknown or out of scope
    vol_lat: np.ndarray
    vol_lon: np.ndarray
    vol_table_ok: np.ndarray
    vol_place_ok: np.ndarray
    vol_full_day: np.ndarray
    vol_current_slot: np.ndarray  # slot index of their movable assignment, -1 if none
    vol_current_assignment: np.ndarray  # assignment id, 0 if none
    vol_current_status: list[str]
    vol_current_cost: np.ndarray
    # Movable assignments whose volunteer is no longer eligible: (assignment id, volunteer id, problems).
    dropped: list[tuple[int, int, list[str]]] = field(default_factory=list)
    # Active assignments outside the scope's slots (out of scope, or beyond today's capacity): untouched.
    fixed_count: int = 0

    @property
    def area_district(self) -> np.ndarray:
        return self.area_anc[:, 0]


def _ancestors(parent: np.ndarray, depth: np.ndarray) -> np.ndarray:
    n = len(parent)
    max_depth = int(depth.max()) + 1 if n else 1
    anc = np.full((n, max_depth), -1, dtype=np.int32)
    idx = np.arange(n)
    current = idx.copy()
    # Walk every area up at once: at step s, `current` is the ancestor s levels up.
    for _step in range(max_depth):
        alive = current >= 0
        anc[idx[alive], depth[current[alive]]] = current[alive]
        nxt = np.full(n, -1, dtype=np.int64)
        nxt[alive] = parent[current[alive]]
        current = nxt
    return anc


@dataclass
class _Areas:
    rows: list[tuple]
    index: dict[int, int]
    ids: np.ndarray
    parent: np.ndarray
    depth: np.ndarray
    anc: np.ndarray
    priority: np.ndarray  # summed along the path


def _load_areas(election: Election) -> _Areas:
    rows = list(
        Area.objects.filter(election=election)
        .order_by("depth", "id")
        .values_list("id", "parent_id", "depth", "kind", "name", "path", "code", "priority")
    )
    index = {r[0]: i for i, r in enumerate(rows)}
    parent = np.array([index.get(r[1], -1) if r[1] else -1 for r in rows], dtype=np.int64)
    depth = np.array([r[2] for r in rows], dtype=np.int64)
    anc = _ancestors(parent, depth)
    own_priority = np.array([r[7] for r in rows], dtype=np.int64)
    # Priorities add up along the path: sum over each area's ancestors.
    priority = np.where(anc >= 0, own_priority[np.maximum(anc, 0)], 0).sum(axis=1) if rows else own_priority
    return _Areas(rows, index, np.array([r[0] for r in rows], dtype=np.int64), parent, depth, anc, priority)


@dataclass
class _Places:
    index: dict[int, int]
    ids: np.ndarray
    area: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    priority: np.ndarray


def _load_places(election: Election, areas: _Areas, scope_path: str) -> _Places:
    place_q = PollingPlace.objects.filter(election=election)
    if scope_path:
        place_q = place_q.filter(area__path__startswith=scope_path)
    prows = list(place_q.order_by("id").values_list("id", "area_id", "latitude", "longitude", "priority"))
    place_area = np.array([areas.index[r[1]] for r in prows], dtype=np.int64)
    return _Places(
        index={r[0]: i for i, r in enumerate(prows)},
        ids=np.array([r[0] for r in prows], dtype=np.int64),
        area=place_area,
        lat=np.array([np.nan if r[2] is None else r[2] for r in prows], dtype=np.float64),
        lon=np.array([np.nan if r[3] is None else r[3] for r in prows], dtype=np.float64),
        priority=np.array([r[4] for r in prows], dtype=np.int64) + (areas.priority[place_area] if len(prows) else 0),
    )


@dataclass
class _Slots:
    place: np.ndarray
    role: np.ndarray
    table: np.ndarray
    number: np.ndarray
    no: np.ndarray
    weight: np.ndarray
    table_pos: dict[int, int]
    n_table_slots: int
    per_table: int
    per_place: int

    def index_of(self, places: _Places, role: str, place_pk: int, table_pk: int | None, slot: int) -> int:
        """The slot index of an assignment's (role, place, table, slot); -1 outside the scope or capacity."""
        if role == "table":
            i = self.table_pos.get(table_pk) if table_pk is not None else None
            return -1 if i is None or slot >= self.per_table else i * self.per_table + slot
        j = places.index.get(place_pk)
        return -1 if j is None or slot >= self.per_place else self.n_table_slots + j * self.per_place + slot


def _load_slots(election: Election, places: _Places, scope_path: str) -> _Slots:
    table_q = Table.objects.filter(election=election)
    if scope_path:
        table_q = table_q.filter(place__area__path__startswith=scope_path)
    trows = list(table_q.order_by("place_id", "number").values_list("id", "place_id", "electors", "priority", "number"))
    per_table, per_place = election.table_watchers_per_table, election.place_watchers_per_place
    n_places = len(places.ids)
    t_place = np.array([places.index[r[1]] for r in trows], dtype=np.int64)
    t_id = np.array([r[0] for r in trows], dtype=np.int64)
    t_prio = np.array([r[3] for r in trows], dtype=np.int64) + (places.priority[t_place] if len(trows) else 0)
    # One rule call per distinct (priority, role, electors, slot): a few hundred, not 130,000.
    weigh = cache(
        lambda priority, role, electors, s: slot_weight(priority=priority, role=role, electors=electors, slot=s)
    )
    t_electors = [r[2] for r in trows]
    weights_t = [
        weigh(prio, "table", electors, s)
        for prio, electors in zip(t_prio.tolist(), t_electors, strict=True)
        for s in range(per_table)
    ]
    weights_p = [weigh(prio, "place", None, s) for prio in places.priority.tolist() for s in range(per_place)]
    return _Slots(
        place=np.concatenate([np.repeat(t_place, per_table), np.repeat(np.arange(n_places), per_place)]).astype(
            np.int64
        ),
        role=np.concatenate(
            [np.full(len(trows) * per_table, ROLE_TABLE), np.full(n_places * per_place, ROLE_PLACE)]
        ).astype(np.int8),
        table=np.concatenate([np.repeat(t_id, per_table), np.zeros(n_places * per_place, dtype=np.int64)]).astype(
            np.int64
        ),
        number=np.concatenate(
            [np.repeat(np.array([r[4] for r in trows], dtype=np.int64), per_table), np.zeros(n_places * per_place)]
        ).astype(np.int64),
        no=np.concatenate([np.tile(np.arange(per_table), len(trows)), np.tile(np.arange(per_place), n_places)]).astype(
            np.int64
        ),
        weight=np.array(weights_t + weights_p, dtype=np.int64),
        table_pos={int(t): i for i, t in enumerate(t_id)},
        n_table_slots=len(trows) * per_table,
        per_table=per_table,
        per_place=per_place,
    )


@dataclass
class _Holdings:
    taken_fixed: np.ndarray
    taken_before: np.ndarray
    movable: dict[int, tuple[int, int, str, float]]  # volunteer id -> (assignment id, slot, status, cost)
    busy: set[int]
    unavailable_today: set[int]  # declined or marked absent in this election: not offered again
    absent: set[int]
    fixed_count: int


def _load_holdings(election: Election, places: _Places, slots: _Slots) -> _Holdings:
    n_slots = len(slots.place)
    held = _Holdings(np.zeros(n_slots, dtype=bool), np.zeros(n_slots, dtype=bool), {}, set(), set(), set(), 0)
    for aid, vid, pid, tid, role, slot, status, locked, cost in Assignment.objects.filter(
        election=election, status__in=ACTIVE_STATUSES
    ).values_list("id", "volunteer_id", "place_id", "table_id", "role", "slot", "status", "locked", "cost"):
        held.busy.add(vid)
        s = slots.index_of(places, role, pid, tid, slot) if pid in places.index else -1
        if s >= 0:
            held.taken_before[s] = True
        if s < 0 or locked or status in FIXED_STATUSES:
            if s >= 0:
                held.taken_fixed[s] = True
            held.fixed_count += 1
            continue
        held.movable[vid] = (aid, s, status, cost if cost is not None else np.nan)
    for vid, status in Assignment.objects.filter(
        election=election, status__in=(AssignmentStatus.DECLINED, AssignmentStatus.NO_SHOW)
    ).values_list("volunteer_id", "status"):
        (held.absent if status == AssignmentStatus.NO_SHOW else held.unavailable_today).add(vid)
    return held


def snapshot_load(*, election: Election, area: Area | None = None) -> Snapshot:
    """Read the election's geography, slots, assignments and volunteers for one run of the engine."""
    scope_path = area.path if area is not None else ""
    areas = _load_areas(election)
    places = _load_places(election, areas, scope_path)
    slots = _load_slots(election, places, scope_path)
    held = _load_holdings(election, places, slots)
    vols = _load_volunteers(election, areas, places, slots, held, scope_path)
    rows = areas.rows
    return Snapshot(
        election=election,
        scope=area,
        area_id=areas.ids,
        area_parent=areas.parent,
        area_depth=areas.depth,
        area_kind=[r[3] for r in rows],
        area_name=[r[4] for r in rows],
        area_path=[r[5] for r in rows],
        area_code=[r[6] for r in rows],
        area_anc=areas.anc,
        area_index=areas.index,
        place_id=places.ids,
        place_area=places.area,
        place_lat=places.lat,
        place_lon=places.lon,
        place_index=places.index,
        slot_place=slots.place,
        slot_role=slots.role,
        slot_table=slots.table,
        slot_table_number=slots.number,
        slot_no=slots.no,
        slot_weight=slots.weight,
        slot_taken_fixed=held.taken_fixed,
        slot_taken_before=held.taken_before,
        dropped=vols.pop("dropped"),
        fixed_count=held.fixed_count + vols.pop("fixed_extra"),
        **vols,
    )


def _raw_rows(queryset) -> list[tuple]:
    """A `values_list` query's rows straight from the driver, without Django's per-value converters
    (a national roster is 157,000 rows; booleans may come back as 0 and 1, read here by truth)."""
    sql, params = queryset.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _load_volunteers(
    election: Election, areas: _Areas, places: _Places, slots: _Slots, held: _Holdings, scope_path: str
) -> dict:
    """The volunteers in play, as the Snapshot's `vol_*` arrays (plus `dropped` and `fixed_extra`).

    Free volunteers whose home is in scope and who pass the one eligibility rule, and every holder
    of a movable assignment (dropped, with their problems, when they no longer pass it).
    """
    vq = Volunteer.objects.filter(Q(area__election=election) | Q(votes_at__election=election)).values_list(
        "id",
        "area_id",
        "votes_at_id",
        "votes_at__area_id",
        "latitude",
        "longitude",
        "availability",
        "roles_accepted",
        "trained",
        "opted_out",
        "excluded",
    )
    area_path = [r[5] for r in areas.rows]
    in_scope_area = np.array([p.startswith(scope_path) for p in area_path], dtype=bool)
    has_substitutes = slots.per_table > 1 or slots.per_place > 1
    requires_training = election.requires_training
    kept: list[tuple] = []
    homes: list[int] = []
    holdings: list[tuple | None] = []
    dropped: list[tuple[int, int, list[str]]] = []
    seen: set[int] = set()
    verdicts: dict[VolunteerFacts, list] = {}
    for row in _raw_rows(vq):
        vid, area_pk, _votes_pk, votes_area_pk, _lat, _lon, avail, roles, trained, opted_out, excluded = row
        if vid in seen:
            continue
        seen.add(vid)
        mine = held.movable.get(vid)
        if mine is None and (vid in held.busy or vid in held.unavailable_today):
            continue
        home = areas.index.get(area_pk, -1) if area_pk else -1
        if home < 0 and votes_area_pk:
            home = areas.index.get(votes_area_pk, -1)
        if mine is None and (home < 0 or not in_scope_area[home]):
            continue
        facts = VolunteerFacts(
            bool(excluded),
            bool(opted_out),
            avail,
            roles,
            bool(trained),
            area_path[home] if home >= 0 else None,
            # Someone holding a proposal after being marked absent was put there by a coordinator.
            absent=mine is None and vid in held.absent,
        )
        # The rule depends on these few facts only: a national roster has a few thousand distinct
        # combinations, so each is judged (and its problems worded) once.
        problems = verdicts.get(facts)
        if problems is None:
            problems = verdicts[facts] = eligibility_problems(
                facts, requires_training=requires_training, has_substitute_slots=has_substitutes
            )
        if problems:
            if mine is not None:
                dropped.append((mine[0], vid, [p.text for p in problems]))
            continue
        kept.append(row)
        homes.append(home)
        holdings.append(mine)
    # Columns of the volunteers kept, built whole rather than value by value.
    columns = [list(c) for c in zip(*kept, strict=True)] if kept else [[] for _i in range(11)]
    ids, votes_pk, lats, lons, avails, roles_col = (columns[i] for i in (0, 2, 4, 5, 6, 7))
    role_ok = {r: (accepts_role(r, "table"), accepts_role(r, "place")) for r in set(roles_col)}
    tok = [role_ok[r][0] for r in roles_col]
    pok = [role_ok[r][1] for r in roles_col]
    votes = [places.index.get(pk, -1) if pk else -1 for pk in votes_pk]
    cur = [m[1] if m else -1 for m in holdings]
    cur_a = [m[0] if m else 0 for m in holdings]
    cur_s = [m[2] if m else "" for m in holdings]
    cur_c = [m[3] if m else np.nan for m in holdings]
    full = np.array(avails, dtype=object) == Availability.FULL_DAY
    # A movable assignment whose volunteer no longer belongs to the election's roster stays as it is.
    fixed_extra = sum(1 for vid in held.movable if vid not in seen)
    for vid, (_aid, s, _status, _cost) in held.movable.items():
        if vid not in seen and s >= 0:
            held.taken_fixed[s] = True
    return {
        "vol_id": np.array(ids, dtype=np.int64),
        "vol_area": np.array(homes, dtype=np.int64),
        "vol_votes": np.array(votes, dtype=np.int64),
        # None (no coordinates) becomes NaN.
        "vol_lat": np.array(lats, dtype=np.float64),
        "vol_lon": np.array(lons, dtype=np.float64),
        "vol_table_ok": np.array(tok, dtype=bool),
        "vol_place_ok": np.array(pok, dtype=bool),
        "vol_full_day": np.array(full, dtype=bool),
        "vol_current_slot": np.array(cur, dtype=np.int64),
        "vol_current_assignment": np.array(cur_a, dtype=np.int64),
        "vol_current_status": cur_s,
        "vol_current_cost": np.array(cur_c, dtype=np.float64),
        "dropped": dropped,
        "fixed_extra": fixed_extra,
    }
