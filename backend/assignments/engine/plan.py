"""From a snapshot to a plan: the flow problem, its solution matched to slots, reasons and a summary.

Nothing here writes: `backend.assignments.plan_writer.plan_write` turns a plan into rows through
the same constructors as a manual assignment.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from backend.elections.models import Area, Election

from .candidates import Candidates, candidates_build
from .changes import changes_list
from .result import CHANGES_LISTED, AutoAssignResult, Change, changes_describe, result_summarise
from .rules import COST_UNIT_M, KIND_GEO, KIND_TREE, STAY_BONUS_M, cost_reason
from .snapshot import Snapshot, snapshot_load
from .solver import FlowProblem, FlowSolution, solve_flow, solve_greedy


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
    """Turn (volunteer -> group) flows into (volunteer -> slot), keeping people on their current slot.

    In each group the heaviest slots are the ones covered; among equal weights, slots people of the
    group already hold, then by table number and slot. Holders keep theirs; the others take the rest
    in order of volunteer id. Vectorised: a national plan matches a hundred thousand people.
    """
    final = np.full(len(snap.vol_id), -1, dtype=np.int64)
    used = np.nonzero(solution.arc_used)[0]
    if not len(used):
        return final
    u_vol, u_group = problem.arc_vol[used], problem.arc_group[used]
    # Free slots held now by a volunteer whom the flow keeps in that slot's group.
    free_pos = np.full(len(snap.slot_place), -1, dtype=np.int64)
    free_pos[free] = np.arange(len(free))
    cur = snap.vol_current_slot[u_vol]
    cur_pos = np.where(cur >= 0, free_pos[np.maximum(cur, 0)], -1)
    holds = (cur_pos >= 0) & (problem.slot_group[np.maximum(cur_pos, 0)] == u_group)
    holder = np.full(len(free), -1, dtype=np.int64)
    holder[cur_pos[holds]] = u_vol[holds]
    held = holder >= 0
    order = np.lexsort(
        (snap.slot_no[free], snap.slot_table_number[free], ~held, -problem.slot_weight, problem.slot_group)
    )
    group_sorted = problem.slot_group[order]
    rank = np.arange(len(order)) - np.searchsorted(group_sorted, group_sorted, side="left")
    n_used = np.bincount(u_group, minlength=problem.n_groups)
    chosen = order[rank < n_used[group_sorted]]  # by group, then preference
    kept = held[chosen]
    final[holder[chosen[kept]]] = free[chosen[kept]]
    is_kept = np.zeros(len(snap.vol_id), dtype=bool)
    is_kept[holder[chosen[kept]]] = True
    rest = ~is_kept[u_vol]
    rest_vol, rest_group = u_vol[rest], u_group[rest]
    by_group_then_id = np.lexsort((snap.vol_id[rest_vol], rest_group))
    final[rest_vol[by_group_then_id]] = free[chosen[~kept]]
    return final


def _phrase_cache(snap: Snapshot):
    """`cost_reason`, remembered: per lowest common area, and per distance as worded (10 m under a
    kilometre, 100 m above), so a national plan translates a few thousand phrases, not one per person."""
    area_cache: dict[int, str] = {}
    distance_cache: dict[int | str, str] = {}
    other_cache: dict[tuple[int, bool], str] = {}

    def phrase(kind: int, cost: float, lca: int) -> str:
        if kind == KIND_GEO:
            # The same rounding as `rules.distance_phrase`.
            key: int | str = round(cost / 10.0) if cost < 1000 else f"{cost / 1000:.1f}"
            if key not in distance_cache:
                distance_cache[key] = cost_reason(kind, cost)
            return distance_cache[key]
        if kind != KIND_TREE or lca < 0:
            # Where they vote, no location known, or another district: one phrase each.
            other = (kind, bool(np.isfinite(cost)))
            if other not in other_cache:
                other_cache[other] = cost_reason(kind, cost)
            return other_cache[other]
        if lca not in area_cache:
            area_cache[lca] = cost_reason(kind, cost, lca_kind=snap.area_kind[lca], lca_name=snap.area_name[lca])
        return area_cache[lca]

    return phrase


def problem_build(snap: Snapshot, *, k: int = 10) -> tuple[Candidates, FlowProblem, np.ndarray, np.ndarray]:
    """The candidates and the flow problem of a snapshot (also what `bench/assign.py` hands to a bare
    solver for its floor): candidates, problem, candidate index of each arc, and the free slots."""
    cands = candidates_build(snap, k=k)
    problem, arc_cand, free = _problem(snap, cands)
    return cands, problem, arc_cand, free


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
    cands, problem, arc_cand, free = problem_build(snap, k=k)
    timings["candidates"] = time.perf_counter() - t1
    progress("solve")
    solution = solve_flow(problem) if method == "flow" else solve_greedy(problem)
    progress("plan")
    timings["solve"] = solution.seconds
    timings["solve_ortools"] = solution.library_seconds
    t2 = time.perf_counter()
    final = _match(snap, problem, solution, free)
    # Cost and reason of each final pair, from the candidate it used.
    phrase = _phrase_cache(snap)
    final_cost = np.full(len(snap.vol_id), np.nan)
    final_reason = [""] * len(snap.vol_id)
    used_cand = arc_cand[np.nonzero(solution.arc_used)[0]]
    used_vol = cands.vol[used_cand]
    final_cost[used_vol] = cands.cost[used_cand]
    for v, kind, cost, lca in zip(
        used_vol.tolist(),
        cands.kind[used_cand].tolist(),
        cands.cost[used_cand].tolist(),
        cands.lca[used_cand].tolist(),
        strict=True,
    ):
        final_reason[v] = phrase(kind, cost, lca)
    result = AutoAssignResult(election_id=election.pk, area_id=area.pk if area else None, dry_run=True, method=method)
    changes = changes_list(snap, final, final_cost, final_reason, result, phrase)
    result_summarise(snap, final, final_cost, result)
    result.volunteers, result.candidates = len(snap.vol_id), len(cands)
    timings["plan"] = time.perf_counter() - t2
    result.timings = timings
    return Plan(snap, problem, solution, final, final_cost, final_reason, result, changes)


def plan_describe(plan: Plan, *, limit: int = CHANGES_LISTED) -> None:
    """Fill names into the first `limit` changes (moves and cancellations first) for people to read."""
    changes_describe(plan.result, plan.changes_all, limit=limit)
