"""Load everything the solver needs in a handful of `values_list` queries, into numpy arrays.

No ORM objects in the hot path: 120,000 volunteers and 130,000 slots load in a few seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from django.db.models import Q
from django.utils.translation import gettext as _

from backend.elections.models import Area, Election, PollingPlace, Table
from backend.volunteers.models import Availability, RolesAccepted, Volunteer

from ..models import ACTIVE_STATUSES, Assignment, AssignmentStatus
from .rules import PARTIAL_AVAILABILITY, slot_weight

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


def snapshot_load(*, election: Election, area: Area | None = None) -> Snapshot:
    """Read the election's geography, slots, assignments and volunteers for one run of the engine."""
    rows = list(
        Area.objects.filter(election=election)
        .order_by("depth", "id")
        .values_list("id", "parent_id", "depth", "kind", "name", "path", "code", "priority")
    )
    area_index = {r[0]: i for i, r in enumerate(rows)}
    area_id = np.array([r[0] for r in rows], dtype=np.int64)
    area_parent = np.array([area_index.get(r[1], -1) if r[1] else -1 for r in rows], dtype=np.int64)
    area_depth = np.array([r[2] for r in rows], dtype=np.int64)
    area_anc = _ancestors(area_parent, area_depth)
    own_priority = np.array([r[7] for r in rows], dtype=np.int64)
    # Priorities add up along the path: sum over each area's ancestors.
    area_prio = np.where(area_anc >= 0, own_priority[np.maximum(area_anc, 0)], 0).sum(axis=1) if rows else own_priority
    scope_path = area.path if area is not None else ""

    place_q = PollingPlace.objects.filter(election=election)
    if area is not None:
        place_q = place_q.filter(area__path__startswith=scope_path)
    prows = list(place_q.order_by("id").values_list("id", "area_id", "latitude", "longitude", "priority"))
    place_index = {r[0]: i for i, r in enumerate(prows)}
    place_id = np.array([r[0] for r in prows], dtype=np.int64)
    place_area = np.array([area_index[r[1]] for r in prows], dtype=np.int64)
    place_lat = np.array([np.nan if r[2] is None else r[2] for r in prows], dtype=np.float64)
    place_lon = np.array([np.nan if r[3] is None else r[3] for r in prows], dtype=np.float64)
    place_prio = np.array([r[4] for r in prows], dtype=np.int64) + (area_prio[place_area] if len(prows) else 0)

    table_q = Table.objects.filter(election=election)
    if area is not None:
        table_q = table_q.filter(place__area__path__startswith=scope_path)
    trows = list(table_q.order_by("place_id", "number").values_list("id", "place_id", "electors", "priority", "number"))

    per_table, per_place = election.table_watchers_per_table, election.place_watchers_per_place
    # Table slots.
    t_place = np.array([place_index[r[1]] for r in trows], dtype=np.int64)
    t_id = np.array([r[0] for r in trows], dtype=np.int64)
    t_number = np.array([r[4] for r in trows], dtype=np.int64)
    t_prio = np.array([r[3] for r in trows], dtype=np.int64) + (place_prio[t_place] if len(trows) else 0)
    t_electors = [r[2] for r in trows]
    s_place = [np.repeat(t_place, per_table), np.repeat(np.arange(len(prows)), per_place)]
    s_role = [np.full(len(trows) * per_table, ROLE_TABLE), np.full(len(prows) * per_place, ROLE_PLACE)]
    s_table = [np.repeat(t_id, per_table), np.zeros(len(prows) * per_place, dtype=np.int64)]
    s_number = [np.repeat(t_number, per_table), np.zeros(len(prows) * per_place, dtype=np.int64)]
    s_no = [np.tile(np.arange(per_table), len(trows)), np.tile(np.arange(per_place), len(prows))]
    weights_t = [
        slot_weight(priority=int(t_prio[i]), role="table", electors=t_electors[i], slot=s)
        for i in range(len(trows))
        for s in range(per_table)
    ]
    weights_p = [
        slot_weight(priority=int(place_prio[i]), role="place", electors=None, slot=s)
        for i in range(len(prows))
        for s in range(per_place)
    ]
    slot_place = np.concatenate(s_place).astype(np.int64)
    slot_role = np.concatenate(s_role).astype(np.int8)
    slot_table = np.concatenate(s_table).astype(np.int64)
    slot_number = np.concatenate(s_number).astype(np.int64)
    slot_no = np.concatenate(s_no).astype(np.int64)
    weights = np.array(weights_t + weights_p, dtype=np.int64)
    n_slots = len(slot_place)
    n_table_slots = len(trows) * per_table
    table_pos = {int(t): i for i, t in enumerate(t_id)}

    def slot_of(role: str, place_pk: int, table_pk: int | None, slot: int) -> int:
        if role == "table":
            i = table_pos.get(table_pk) if table_pk is not None else None
            return -1 if i is None or slot >= per_table else i * per_table + slot
        i = place_index.get(place_pk)
        return -1 if i is None or slot >= per_place else n_table_slots + i * per_place + slot

    taken_fixed = np.zeros(n_slots, dtype=bool)
    taken_before = np.zeros(n_slots, dtype=bool)
    movable: dict[int, tuple[int, int, str, float]] = {}  # volunteer id -> (assignment id, slot, status, cost)
    busy: set[int] = set()
    fixed_count = 0
    for aid, vid, pid, tid, role, slot, status, locked, cost in Assignment.objects.filter(
        election=election, status__in=ACTIVE_STATUSES
    ).values_list("id", "volunteer_id", "place_id", "table_id", "role", "slot", "status", "locked", "cost"):
        busy.add(vid)
        s = slot_of(role, pid, tid, slot) if pid in place_index else -1
        if s >= 0:
            taken_before[s] = True
        if s < 0 or locked or status in FIXED_STATUSES:
            if s >= 0:
                taken_fixed[s] = True
            fixed_count += 1
            continue
        movable[vid] = (aid, s, status, cost if cost is not None else np.nan)

    declined = set(
        Assignment.objects.filter(election=election, status=AssignmentStatus.DECLINED).values_list(
            "volunteer_id", flat=True
        )
    )
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
    in_scope_area = np.array([p.startswith(scope_path) for p in (r[5] for r in rows)], dtype=bool)
    per_slot_sub = per_table > 1 or per_place > 1
    ids, areas, votes, lats, lons, tok, pok, full, cur, cur_a, cur_s, cur_c = ([] for _i in range(12))
    dropped: list[tuple[int, int, list[str]]] = []
    seen: set[int] = set()
    for vid, area_pk, votes_pk, votes_area_pk, lat, lon, avail, roles, trained, opted_out, excluded in vq.iterator(
        chunk_size=10_000
    ):
        if vid in seen:
            continue
        seen.add(vid)
        mine = movable.get(vid)
        if mine is None and (vid in busy or vid in declined):
            continue
        home = area_index.get(area_pk, -1) if area_pk else -1
        if home < 0 and votes_area_pk:
            home = area_index.get(votes_area_pk, -1)
        if mine is None and (home < 0 or not in_scope_area[home]):
            continue
        problems = []
        if excluded:
            problems.append(_("está excluido/a por coordinación"))
        if opted_out:
            problems.append(_("se dio de baja"))
        if avail == Availability.UNAVAILABLE or (avail in PARTIAL_AVAILABILITY and not per_slot_sub):
            problems.append(_("no está disponible todo el día"))
        if election.requires_training and not trained:
            problems.append(_("no está capacitado/a y esta elección lo exige"))
        if problems:
            if mine is not None:
                dropped.append((mine[0], vid, problems))
            continue
        ids.append(vid)
        areas.append(home)
        votes.append(place_index.get(votes_pk, -1) if votes_pk else -1)
        lats.append(np.nan if lat is None else lat)
        lons.append(np.nan if lon is None else lon)
        tok.append(roles in (RolesAccepted.ANY, RolesAccepted.TABLE))
        pok.append(roles in (RolesAccepted.ANY, RolesAccepted.PLACE))
        full.append(avail == Availability.FULL_DAY)
        cur.append(mine[1] if mine else -1)
        cur_a.append(mine[0] if mine else 0)
        cur_s.append(mine[2] if mine else "")
        cur_c.append(mine[3] if mine else np.nan)
    # A movable assignment whose volunteer no longer belongs to the election's roster stays as it is.
    fixed_count += sum(1 for vid in movable if vid not in seen)
    for vid, (_aid, s, _status, _cost) in movable.items():
        if vid not in seen and s >= 0:
            taken_fixed[s] = True

    return Snapshot(
        election=election,
        scope=area,
        area_id=area_id,
        area_parent=area_parent,
        area_depth=area_depth,
        area_kind=[r[3] for r in rows],
        area_name=[r[4] for r in rows],
        area_path=[r[5] for r in rows],
        area_code=[r[6] for r in rows],
        area_anc=area_anc,
        area_index=area_index,
        place_id=place_id,
        place_area=place_area,
        place_lat=place_lat,
        place_lon=place_lon,
        place_index=place_index,
        slot_place=slot_place,
        slot_role=slot_role,
        slot_table=slot_table,
        slot_table_number=slot_number,
        slot_no=slot_no,
        slot_weight=weights,
        slot_taken_fixed=taken_fixed,
        slot_taken_before=taken_before,
        vol_id=np.array(ids, dtype=np.int64),
        vol_area=np.array(areas, dtype=np.int64),
        vol_votes=np.array(votes, dtype=np.int64),
        vol_lat=np.array(lats, dtype=np.float64),
        vol_lon=np.array(lons, dtype=np.float64),
        vol_table_ok=np.array(tok, dtype=bool),
        vol_place_ok=np.array(pok, dtype=bool),
        vol_full_day=np.array(full, dtype=bool),
        vol_current_slot=np.array(cur, dtype=np.int64),
        vol_current_assignment=np.array(cur_a, dtype=np.int64),
        vol_current_status=cur_s,
        vol_current_cost=np.array(cur_c, dtype=np.float64),
        dropped=dropped,
        fixed_count=fixed_count,
    )
