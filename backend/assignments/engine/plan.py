"""From a snapshot to a plan (dry run) and from a plan to rows (apply), with reasons and a summary."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError
from backend.elections.models import Area, Election, PollingPlace, Table
from backend.notices.models import Notice, NoticeKind
from backend.threads.services import thread_membership_changed
from backend.volunteers.models import Volunteer

from ..errors import AssignmentErrorCode
from ..events import event_build
from ..models import Assignment, AssignmentEvent, AssignmentStatus, EventSource
from .candidates import KIND_GEO, KIND_VOTES, Candidates, candidates_build, pair_costs
from .rules import COST_UNIT_M, STAY_BONUS_M, area_phrase, distance_phrase, votes_here_phrase
from .snapshot import ROLE_NAMES, Snapshot, snapshot_load
from .solver import FlowProblem, FlowSolution, solve_flow, solve_greedy

# How many individual changes a result lists (counts are always exact).
CHANGES_LISTED = 500
_TEMP_SLOT_BASE = 1000


@dataclass
class Change:
    kind: str  # created | moved | cancelled
    volunteer_id: int
    assignment_id: int | None = None
    place_id: int | None = None
    table_id: int | None = None
    role: str = ""
    slot: int = 0
    reason: str = ""  # why this volunteer fits this slot
    why: str = ""  # why it changed (moves and cancellations)
    from_place_id: int | None = None
    from_table_id: int | None = None
    cost_m: float | None = None
    volunteer: str = ""
    place: str = ""
    table_number: int | None = None
    from_place: str = ""
    from_table_number: int | None = None


@dataclass
class AreaCount:
    area_id: int
    code: str
    name: str
    slots: int
    before: int
    after: int


@dataclass
class AutoAssignResult:
    election_id: int
    area_id: int | None
    dry_run: bool
    method: str
    slots: int = 0
    fixed: int = 0
    covered_before: int = 0
    covered_after: int = 0
    created: int = 0
    moved: int = 0
    cancelled: int = 0
    kept: int = 0
    volunteers: int = 0
    candidates: int = 0
    travel_total_m: float = 0.0
    travel_p90_m: float = 0.0
    by_area: list[AreaCount] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def coverage_before(self) -> float:
        return self.covered_before / self.slots if self.slots else 0.0

    @property
    def coverage_after(self) -> float:
        return self.covered_after / self.slots if self.slots else 0.0

    def as_dict(self) -> dict:
        data = asdict(self)
        data["coverage_before"] = round(self.coverage_before, 4)
        data["coverage_after"] = round(self.coverage_after, 4)
        return data


@dataclass
class Plan:
    snap: Snapshot
    problem: FlowProblem
    solution: FlowSolution
    final_slot: np.ndarray  # per volunteer, -1 when unassigned
    final_cost: np.ndarray  # metres
    final_reason: list[str]
    result: AutoAssignResult
    changes_all: list[Change]


def _problem(snap: Snapshot, cands: Candidates) -> tuple[FlowProblem, np.ndarray, np.ndarray]:
    """Flow problem over the free slots; returns it with the candidate index of each arc and slot ids."""
    free = np.nonzero(~snap.slot_taken_fixed)[0]
    skey = (snap.slot_place[free] * 2 + snap.slot_role[free]) * 2 + (snap.slot_no[free] > 0)
    gkeys, slot_group = np.unique(skey, return_inverse=True)
    arc_c, arc_g, arc_v = [], [], []
    # Key of each movable volunteer's current slot, for the stay bonus.
    cur = snap.vol_current_slot
    cur_key = np.where(
        cur >= 0,
        (snap.slot_place[np.maximum(cur, 0)] * 2 + snap.slot_role[np.maximum(cur, 0)]) * 2
        + (snap.slot_no[np.maximum(cur, 0)] > 0),
        -1,
    )
    for role in (0, 1):
        role_ok = snap.vol_table_ok if role == 0 else snap.vol_place_ok
        for sub in (0, 1):
            key = (cands.place * 2 + role) * 2 + sub
            pos = np.searchsorted(gkeys, key)
            pos_c = np.minimum(pos, max(len(gkeys) - 1, 0))
            exists = (pos < len(gkeys)) & (gkeys[pos_c] == key) if len(gkeys) else np.zeros(len(key), dtype=bool)
            ok = exists & role_ok[cands.vol]
            if sub == 0:
                ok &= snap.vol_full_day[cands.vol]
            idx = np.nonzero(ok)[0]
            arc_c.append(idx)
            arc_g.append(pos[idx])
            arc_v.append(cands.vol[idx])
    arc_c_all = np.concatenate(arc_c) if arc_c else np.zeros(0, dtype=np.int64)
    arc_g_all = np.concatenate(arc_g).astype(np.int64) if arc_g else np.zeros(0, dtype=np.int64)
    arc_v_all = np.concatenate(arc_v).astype(np.int64) if arc_v else np.zeros(0, dtype=np.int64)
    cost = np.rint(cands.cost[arc_c_all] / COST_UNIT_M).astype(np.int64)
    staying = cur_key[arc_v_all] == gkeys[arc_g_all] if len(gkeys) else np.zeros(0, dtype=bool)
    if staying.any():
        bonus = np.array(
            [STAY_BONUS_M.get(snap.vol_current_status[v], 0) // COST_UNIT_M for v in arc_v_all[staying]], dtype=np.int64
        )
        cost[staying] -= bonus
    problem = FlowProblem(
        n_vol=len(snap.vol_id),
        n_groups=len(gkeys),
        arc_vol=arc_v_all,
        arc_group=arc_g_all,
        arc_cost=cost,
        slot_group=slot_group.astype(np.int64),
        slot_weight=snap.slot_weight[free],
        group_place=gkeys // 4,
    )
    return problem, arc_c_all, free


def _match(snap: Snapshot, problem: FlowProblem, solution: FlowSolution, free: np.ndarray) -> np.ndarray:
    """Turn (volunteer -> group) flows into (volunteer -> slot), keeping people on their current slot."""
    final = np.full(len(snap.vol_id), -1, dtype=np.int64)
    used_arcs = np.nonzero(solution.arc_used)[0]
    by_group_vols: dict[int, list[int]] = {}
    for v, g in zip(problem.arc_vol[used_arcs].tolist(), problem.arc_group[used_arcs].tolist(), strict=True):
        by_group_vols.setdefault(g, []).append(v)
    n_used = {g: len(vs) for g, vs in by_group_vols.items()}
    slots_of_group: dict[int, list[int]] = {}
    order = np.lexsort((snap.slot_no[free], snap.slot_table_number[free], -problem.slot_weight, problem.slot_group))
    for i in order.tolist():
        g = int(problem.slot_group[i])
        if g in n_used:
            slots_of_group.setdefault(g, []).append(int(free[i]))
    weight_of = dict(zip(free.tolist(), problem.slot_weight.tolist(), strict=True))
    current = snap.vol_current_slot
    for g, vols in by_group_vols.items():
        candidates = slots_of_group[g]
        mine = {int(current[v]): v for v in vols if current[v] >= 0}
        # The heaviest slots are the ones to cover; among equal weights, prefer slots people already hold.
        candidates.sort(key=lambda s: (-weight_of[s], s not in mine))
        chosen = candidates[: len(vols)]
        kept_vols = set()
        for s in chosen:
            if s in mine:
                final[mine[s]] = s
                kept_vols.add(mine[s])
        rest_slots = [s for s in chosen if s not in mine]
        rest_vols = sorted((v for v in vols if v not in kept_vols), key=lambda v: int(snap.vol_id[v]))
        for v, s in zip(rest_vols, rest_slots, strict=True):
            final[v] = s
    return final


def _phrase_cache(snap: Snapshot):
    area_cache: dict[int, str] = {}

    def phrase(kind: int, cost: float, lca: int) -> str:
        if kind == KIND_VOTES:
            return votes_here_phrase()
        if kind == KIND_GEO:
            return distance_phrase(cost)
        if lca not in area_cache:
            area_cache[lca] = area_phrase(snap.area_kind[lca], snap.area_name[lca]) if lca >= 0 else ""
        return area_cache[lca]

    return phrase


def plan_build(
    *, election: Election, area: Area | None = None, k: int = 10, method: str = "flow", on_progress=None
) -> Plan:
    """Compute what auto-assign would do, without writing anything.

    `on_progress(step)` is called with "load", "candidates", "solve" and "plan" as each step starts.
    """
    progress = on_progress or (lambda step: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    progress("load")
    snap = snapshot_load(election=election, area=area)
    timings["load"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    progress("candidates")
    cands = candidates_build(snap, k=k)
    problem, arc_cand, free = _problem(snap, cands)
    timings["candidates"] = time.perf_counter() - t1
    progress("solve")
    solution = solve_flow(problem) if method == "flow" else solve_greedy(problem)
    progress("plan")
    timings["solve"] = solution.seconds
    t2 = time.perf_counter()
    final = _match(snap, problem, solution, free)
    # Cost and reason of each final pair, from the candidate it used.
    phrase = _phrase_cache(snap)
    final_cost = np.full(len(snap.vol_id), np.nan)
    final_reason = [""] * len(snap.vol_id)
    used = np.nonzero(solution.arc_used)[0]
    for a in used.tolist():
        c = int(arc_cand[a])
        v = int(cands.vol[c])
        final_cost[v] = cands.cost[c]
        final_reason[v] = phrase(int(cands.kind[c]), float(cands.cost[c]), int(cands.lca[c]))
    result = AutoAssignResult(election_id=election.pk, area_id=area.pk if area else None, dry_run=True, method=method)
    changes = _changes(snap, final, final_cost, final_reason, result, phrase)
    _summarise(snap, final, final_cost, result)
    result.volunteers, result.candidates = len(snap.vol_id), len(cands)
    timings["plan"] = time.perf_counter() - t2
    result.timings = timings
    return Plan(snap, problem, solution, final, final_cost, final_reason, result, changes)


def _changes(snap, final, final_cost, final_reason, result, phrase) -> list[Change]:
    changes: list[Change] = []
    movable = np.nonzero(snap.vol_current_slot >= 0)[0]
    old = pair_costs(snap, movable, snap.slot_place[snap.vol_current_slot[movable]]) if len(movable) else None
    old_cost = dict(zip(movable.tolist(), old.cost.tolist(), strict=True)) if old is not None else {}
    old_reason = (
        {
            int(v): phrase(int(kd), float(c), int(lc))
            for v, kd, c, lc in zip(movable, old.kind, old.cost, old.lca, strict=True)
            if np.isfinite(c)
        }
        if old is not None
        else {}
    )

    def slot_fields(s: int) -> dict:
        return {
            "place_id": int(snap.place_id[snap.slot_place[s]]),
            "table_id": int(snap.slot_table[s]) or None,
            "role": ROLE_NAMES[int(snap.slot_role[s])],
            "slot": int(snap.slot_no[s]),
        }

    for v in range(len(snap.vol_id)):
        s_new, s_old = int(final[v]), int(snap.vol_current_slot[v])
        vid = int(snap.vol_id[v])
        if s_old >= 0 and s_new == s_old:
            result.kept += 1
            continue
        if s_new >= 0 and s_old < 0:
            changes.append(
                Change(
                    kind="created",
                    volunteer_id=vid,
                    reason=final_reason[v],
                    cost_m=float(final_cost[v]),
                    **slot_fields(s_new),
                )
            )
            continue
        if s_old < 0:
            continue
        old_slot = slot_fields(s_old)
        before = old_cost.get(v, np.inf)
        if s_new >= 0:
            if snap.slot_place[s_new] == snap.slot_place[s_old] and snap.slot_role[s_new] != snap.slot_role[s_old]:
                why = _("pasa a fiscal general de su establecimiento: el general se cubre primero")
            elif snap.slot_place[s_new] == snap.slot_place[s_old]:
                why = _("pasa a otra mesa del mismo establecimiento, con más prioridad o más electores")
            elif final_cost[v] < before:
                why = _("le queda más cerca: %(new)s (antes %(old)s)") % {
                    "new": final_reason[v],
                    "old": old_reason.get(v, "?"),
                }
            else:
                why = _("se mueve para que se cubran más puestos")
            changes.append(
                Change(
                    kind="moved",
                    volunteer_id=vid,
                    assignment_id=int(snap.vol_current_assignment[v]),
                    reason=final_reason[v],
                    why=why,
                    cost_m=float(final_cost[v]),
                    from_place_id=old_slot["place_id"],
                    from_table_id=old_slot["table_id"],
                    **slot_fields(s_new),
                )
            )
        else:
            changes.append(
                Change(
                    kind="cancelled",
                    volunteer_id=vid,
                    assignment_id=int(snap.vol_current_assignment[v]),
                    why=_("su puesto queda para alguien mejor ubicado/a"),
                    from_place_id=old_slot["place_id"],
                    from_table_id=old_slot["table_id"],
                    role=old_slot["role"],
                    slot=old_slot["slot"],
                )
            )
    for aid, vid, problems in snap.dropped:
        changes.append(
            Change(
                kind="cancelled",
                volunteer_id=vid,
                assignment_id=aid,
                why=_("ya no puede ser asignado/a: %(problems)s") % {"problems": ", ".join(problems)},
            )
        )
    result.created = sum(1 for c in changes if c.kind == "created")
    result.moved = sum(1 for c in changes if c.kind == "moved")
    result.cancelled = sum(1 for c in changes if c.kind == "cancelled")
    return changes


def _summarise(snap: Snapshot, final, final_cost, result: AutoAssignResult) -> None:
    after = snap.slot_taken_fixed.copy()
    after[final[final >= 0]] = True
    # A dropped assignment's slot was covered before and is free in the plan unless re-filled.
    result.slots = len(snap.slot_place)
    result.fixed = int(snap.slot_taken_fixed.sum())
    result.covered_before = int(snap.slot_taken_before.sum())
    result.covered_after = int(after.sum())
    costs = final_cost[final >= 0]
    costs = costs[np.isfinite(costs)]
    result.travel_total_m = float(costs.sum()) if len(costs) else 0.0
    result.travel_p90_m = float(np.percentile(costs, 90)) if len(costs) else 0.0
    # Counts per area one level below the scope (per district for a whole election with several).
    if not len(snap.slot_place):
        return
    roots = np.nonzero(snap.area_depth == 0)[0]
    level = (snap.scope.depth + 1) if snap.scope is not None else (0 if len(roots) > 1 else 1)
    level = min(level, snap.area_anc.shape[1] - 1)
    slot_area = snap.place_area[snap.slot_place]
    report = snap.area_anc[slot_area, level]
    report = np.where(report >= 0, report, slot_area)
    uniq, inv = np.unique(report, return_inverse=True)
    slots = np.bincount(inv, minlength=len(uniq))
    before = np.bincount(inv, weights=snap.slot_taken_before, minlength=len(uniq))
    after_c = np.bincount(inv, weights=after, minlength=len(uniq))
    result.by_area = sorted(
        (
            AreaCount(
                area_id=int(snap.area_id[a]),
                code=snap.area_code[a],
                name=snap.area_name[a],
                slots=int(slots[i]),
                before=int(before[i]),
                after=int(after_c[i]),
            )
            for i, a in enumerate(uniq.tolist())
        ),
        key=lambda c: c.name,
    )


def plan_describe(plan: Plan, *, limit: int = CHANGES_LISTED) -> None:
    """Fill names into the first `limit` changes (moves and cancellations first) for people to read."""
    ordered = sorted(plan.changes_all, key=lambda c: {"moved": 0, "cancelled": 1, "created": 2}[c.kind])[:limit]
    vol_ids = {c.volunteer_id for c in ordered}
    place_ids = {p for c in ordered for p in (c.place_id, c.from_place_id) if p}
    table_ids = {t for c in ordered for t in (c.table_id, c.from_table_id) if t}
    names = {
        pk: f"{f} {last}".strip()
        for pk, f, last in Volunteer.objects.filter(pk__in=vol_ids).values_list("pk", "first_name", "last_name")
    }
    places = dict(PollingPlace.objects.filter(pk__in=place_ids).values_list("pk", "name"))
    tables = dict(Table.objects.filter(pk__in=table_ids).values_list("pk", "number"))
    for c in ordered:
        c.volunteer = names.get(c.volunteer_id, "")
        c.place = places.get(c.place_id, "") if c.place_id else ""
        c.table_number = tables.get(c.table_id) if c.table_id else None
        c.from_place = places.get(c.from_place_id, "") if c.from_place_id else ""
        c.from_table_number = tables.get(c.from_table_id) if c.from_table_id else None
    plan.result.changes = ordered


def _chunks(items: list, size: int = 500):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _changed_meanwhile() -> ApplicationError:
    return ApplicationError(
        _("Las asignaciones cambiaron mientras se calculaba el plan; volvé a ejecutarlo."),
        code=AssignmentErrorCode.SLOT_TAKEN,
    )


def _insert_rows(model, columns: list[str], rows: list[tuple], *, now) -> None:
    """Plain multi-row INSERT for the engine's bulk writes (with a trailing `created_at` = now).

    `bulk_create` spends most of its time compiling SQL and preparing each field of each row; here
    the values are already database-ready, so executemany writes 100,000 rows in a couple of seconds.
    """
    if not rows:
        return
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(now)
    table = ops.quote_name(model._meta.db_table)
    names = ", ".join(ops.quote_name(c) for c in [*columns, "created_at"])
    sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * (len(columns) + 1))})"
    with connection.cursor() as cursor:
        for chunk in _chunks(rows, 5000):
            cursor.executemany(sql, [(*row, stamp) for row in chunk])


def _insert_proposals(election_id: int, creates: list[Change], *, created_by, now) -> dict[int, int]:
    """Insert the new proposals; returns volunteer id -> new assignment id."""
    if not creates:
        return {}
    stamp = connection.ops.adapt_datetimefield_value(now)
    rows = [
        (
            election_id,
            c.volunteer_id,
            c.place_id,
            c.table_id,
            c.role,
            c.slot,
            AssignmentStatus.PROPOSED.value,
            False,
            c.reason[:255],
            c.cost_m,
            created_by,
            stamp,
            stamp,
        )
        for c in creates
    ]
    columns = ["election_id", "volunteer_id", "place_id", "table_id", "role", "slot", "status", "locked", "reason"]
    columns += ["cost", "created_by_id", "updated_at", "status_changed_at"]
    _insert_rows(Assignment, columns, rows, now=now)
    wanted = {c.volunteer_id for c in creates}
    # One active assignment per volunteer (a database constraint), so this lookup is exact.
    return {
        vid: pk
        for pk, vid in Assignment.objects.filter(
            election_id=election_id, status=AssignmentStatus.PROPOSED, created_at=now
        ).values_list("pk", "volunteer_id")
        if vid in wanted
    }


def _membership_changed(volunteer_ids: list[int]) -> None:
    for vid in volunteer_ids:
        thread_membership_changed(volunteer_id=vid)


def _known(value: int | None) -> int:
    """An id a change always has: moves and cancellations start from an assignment, moves go to a place."""
    assert value is not None
    return value


def plan_apply(plan: Plan, *, actor=None, source: str = EventSource.ENGINE, notify: bool = False) -> None:
    """Write the plan in one transaction: cancellations, moves, new proposals, their events (and notices)."""
    started = time.perf_counter()
    election_id = plan.snap.election.pk
    now = timezone.now()
    movable_statuses = [AssignmentStatus.PROPOSED, AssignmentStatus.NOTIFIED]
    cancels = [c for c in plan.changes_all if c.kind == "cancelled"]
    moves = [c for c in plan.changes_all if c.kind == "moved"]
    creates = [c for c in plan.changes_all if c.kind == "created"]
    try:
        with transaction.atomic():
            events: list[AssignmentEvent] = []
            notices: list[Notice] = []
            touched = [c.assignment_id for c in cancels + moves]
            rows = {}
            for chunk in _chunks(touched):
                for pk, status, vid in (
                    Assignment.objects.select_for_update()
                    .filter(pk__in=chunk, status__in=movable_statuses, locked=False)
                    .values_list("pk", "status", "volunteer_id")
                ):
                    rows[pk] = (status, vid)
            if len(rows) != len(touched):
                raise _changed_meanwhile()
            for chunk in _chunks([c.assignment_id for c in cancels]):
                Assignment.objects.filter(pk__in=chunk).update(
                    status=AssignmentStatus.CANCELLED, status_changed_at=now, updated_at=now
                )
            for c in cancels:
                status, vid = rows[_known(c.assignment_id)]
                ref = Assignment(pk=c.assignment_id, volunteer_id=vid)
                events.append(
                    event_build(
                        assignment=ref,
                        kind=AssignmentEvent.Kind.STATUS,
                        actor=actor,
                        source=source,
                        from_status=status,
                        to_status=AssignmentStatus.CANCELLED,
                        reason=c.why,
                    )
                )
                if status == AssignmentStatus.NOTIFIED:
                    notices.append(
                        Notice(volunteer_id=vid, kind=NoticeKind.CANCELLATION, assignment_id=c.assignment_id)
                    )
            # Moves in two steps so that no intermediate row collides with a slot's unique index.
            temp = [Assignment(pk=c.assignment_id, slot=_TEMP_SLOT_BASE + i) for i, c in enumerate(moves)]
            Assignment.objects.bulk_update(temp, ["slot"], batch_size=500)
            moved_rows = [
                Assignment(
                    pk=c.assignment_id,
                    place_id=_known(c.place_id),
                    table_id=c.table_id,
                    role=c.role,
                    slot=c.slot,
                    reason=c.reason[:255],
                    cost=c.cost_m,
                    updated_at=now,
                )
                for c in moves
            ]
            Assignment.objects.bulk_update(
                moved_rows, ["place_id", "table_id", "role", "slot", "reason", "cost", "updated_at"], batch_size=500
            )
            for c in moves:
                status, vid = rows[_known(c.assignment_id)]
                events.append(
                    event_build(
                        assignment=Assignment(pk=c.assignment_id),
                        kind=AssignmentEvent.Kind.MOVED,
                        actor=actor,
                        source=source,
                        from_status=status,
                        to_status=status,
                        reason=c.why,
                    )
                )
                if status == AssignmentStatus.NOTIFIED:
                    notices.append(Notice(volunteer_id=vid, kind=NoticeKind.CHANGE, assignment_id=c.assignment_id))
            created_by = actor.pk if getattr(actor, "is_authenticated", False) else None
            new_ids = _insert_proposals(election_id, creates, created_by=created_by, now=now)
            event_rows = [
                (
                    new_ids[c.volunteer_id],
                    AssignmentEvent.Kind.CREATED,
                    created_by,
                    source,
                    "",
                    "proposed",
                    c.reason[:255],
                )
                for c in creates
            ]
            _insert_rows(
                AssignmentEvent,
                ["assignment_id", "kind", "actor_id", "source", "from_status", "to_status", "reason"],
                event_rows,
                now=now,
            )
            if notify:
                notices += [
                    Notice(
                        volunteer_id=c.volunteer_id, kind=NoticeKind.ASSIGNMENT, assignment_id=new_ids[c.volunteer_id]
                    )
                    for c in creates
                ]
            AssignmentEvent.objects.bulk_create(events, batch_size=2000)
            Notice.objects.bulk_create(notices, batch_size=2000)
            # Station threads: people moved or taken off re-check their open sockets (new proposals
            # had no thread yet, so there is nothing to tell them).
            changed = [rows[_known(c.assignment_id)][1] for c in cancels + moves]
            transaction.on_commit(lambda: _membership_changed(changed))
    except IntegrityError as exc:
        # Someone assigned one of these people or slots by hand meanwhile: nothing was written.
        raise _changed_meanwhile() from exc
    plan.result.dry_run = False
    plan.result.timings["write"] = time.perf_counter() - started
