"""The optimisation itself: an exact min-cost flow (OR-Tools) and a greedy baseline, on plain arrays.

Graph: source -> volunteer (capacity 1) -> slot group (one per place, role and titular/substitute;
cost = travel) -> sink through one arc per slot (capacity 1, cost = -weight x M), plus a
source -> sink bypass for volunteers left unassigned. With M larger than any possible total
travel, the minimum-cost flow maximises the weighted coverage first and only then minimises
travel: the lexicographic objective of the issue, solved exactly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from ortools.graph.python import min_cost_flow

from backend.core.exceptions import ApplicationError


@dataclass
class FlowProblem:
    n_vol: int
    n_groups: int
    arc_vol: np.ndarray  # volunteer index of each candidate arc
    arc_group: np.ndarray  # slot group of each candidate arc
    arc_cost: np.ndarray  # int64 travel cost in units (negative when a stay bonus applies)
    slot_group: np.ndarray  # group of each free slot
    slot_weight: np.ndarray  # int64 coverage weight of each free slot
    # Optional place of each group: a volunteer's arcs to several groups of one place at one cost
    # then go through a shared hub node (one arc per volunteer and place instead of up to four).
    group_place: np.ndarray | None = None

    @property
    def scale(self) -> int:
        """M: one unit of coverage weight is worth more than any difference in total travel."""
        if not len(self.arc_cost):
            return 1
        spread = int(self.arc_cost.max()) - min(int(self.arc_cost.min()), 0)
        return spread * max(1, min(self.n_vol, len(self.slot_weight))) + 1


@dataclass
class FlowSolution:
    arc_used: np.ndarray  # bool per candidate arc
    slot_used: np.ndarray  # bool per free slot
    seconds: float

    def weight(self, problem: FlowProblem) -> int:
        return int(problem.slot_weight[self.slot_used].sum())

    def cost(self, problem: FlowProblem) -> int:
        return int(problem.arc_cost[self.arc_used].sum())

    def objective(self, problem: FlowProblem) -> int:
        """Weighted coverage x M minus travel: what the solver maximises (ties only on equal optima)."""
        return self.weight(problem) * problem.scale - self.cost(problem)


def _components(problem: FlowProblem) -> tuple[int, np.ndarray, np.ndarray]:
    """Connected components of the volunteer-group graph: (count, label per arc, label per slot).

    Volunteers never cross districts and only reach nearby places, so the graph falls apart into
    independent pieces; solving each alone gives the same optimum, faster.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = problem.n_vol + problem.n_groups
    graph = coo_matrix(
        (np.ones(len(problem.arc_vol), dtype=np.int8), (problem.arc_vol, problem.n_vol + problem.arc_group)),
        shape=(n, n),
    )
    count, labels = connected_components(graph, directed=False)
    return count, labels[problem.arc_vol], labels[problem.n_vol + problem.slot_group]


def _solve_one(problem: FlowProblem, arcs: np.ndarray, slots: np.ndarray, arc_used, slot_used) -> None:
    vols, arc_vol = np.unique(problem.arc_vol[arcs], return_inverse=True)
    _groups, inverse = np.unique(
        np.concatenate([problem.arc_group[arcs], problem.slot_group[slots]]), return_inverse=True
    )
    arc_group, slot_group = inverse[: len(arcs)], inverse[len(arcs) :]
    cost = problem.arc_cost[arcs].astype(np.int64)
    weight = problem.slot_weight[slots].astype(np.int64)
    # M for this piece: more than any difference in its total travel.
    scale = (int(cost.max()) - min(int(cost.min()), 0)) * max(1, min(len(vols), len(slots))) + 1
    source, sink, vol0 = 0, 1, 2
    group0 = vol0 + len(vols)
    smcf = min_cost_flow.SimpleMinCostFlow()
    n_vols = len(vols)
    smcf.add_arcs_with_capacity_and_unit_cost(
        np.zeros(n_vols, dtype=np.int64),
        vol0 + np.arange(n_vols, dtype=np.int64),
        np.ones(n_vols, dtype=np.int64),
        np.zeros(n_vols, dtype=np.int64),
    )
    hubs = _hubs(problem, arcs, arc_vol, arc_group, cost)
    direct = hubs["direct"]
    cand = smcf.add_arcs_with_capacity_and_unit_cost(
        vol0 + arc_vol[direct].astype(np.int64),
        group0 + arc_group[direct].astype(np.int64),
        np.ones(len(direct), dtype=np.int64),
        cost[direct],
    )
    hub0 = group0 + len(_groups)
    to_hub = smcf.add_arcs_with_capacity_and_unit_cost(
        vol0 + hubs["run_vol"].astype(np.int64),
        hub0 + hubs["run_hub"].astype(np.int64),
        np.ones(len(hubs["run_vol"]), dtype=np.int64),
        hubs["run_cost"],
    )
    from_hub = smcf.add_arcs_with_capacity_and_unit_cost(
        hub0 + hubs["out_hub"].astype(np.int64),
        group0 + hubs["out_group"].astype(np.int64),
        np.full(len(hubs["out_hub"]), n_vols, dtype=np.int64),
        np.zeros(len(hubs["out_hub"]), dtype=np.int64),
    )
    # Slots of one group with the same weight are interchangeable: one arc with their count as capacity.
    key = slot_group.astype(np.int64) * (int(weight.max()) + 1) + weight
    order = np.argsort(key, kind="stable")
    uniq, first, counts = np.unique(key[order], return_index=True, return_counts=True)
    slot_arcs = smcf.add_arcs_with_capacity_and_unit_cost(
        group0 + slot_group[order[first]].astype(np.int64),
        np.full(len(uniq), sink, dtype=np.int64),
        counts.astype(np.int64),
        -weight[order[first]] * scale,
    )
    smcf.add_arc_with_capacity_and_unit_cost(source, sink, n_vols, 0)
    smcf.set_node_supply(source, n_vols)
    smcf.set_node_supply(sink, -n_vols)
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        raise ApplicationError(f"min cost flow: {status}", code="solver_failed")
    arc_used[arcs[direct[smcf.flows(cand) > 0]]] = True
    _unpack_hubs(hubs, smcf.flows(to_hub), smcf.flows(from_hub), arcs, arc_group, arc_used)
    # Mark the first `flow` slots of each aggregated arc as covered (which ones is decided later).
    flows = smcf.flows(slot_arcs)
    rank = np.arange(len(order)) - np.repeat(first, counts)
    covered = rank < np.repeat(flows, counts)
    slot_used[slots[order[covered]]] = True


def _hubs(problem: FlowProblem, arcs, arc_vol, arc_group, cost) -> dict:
    """Group each volunteer's arcs to several groups of one place at one cost behind a hub node."""
    empty = np.zeros(0, dtype=np.int64)
    none: dict[str, Any] = {"direct": np.arange(len(arcs)), "run_vol": empty, "run_hub": empty, "run_cost": empty}
    none |= {"out_hub": empty, "out_group": empty, "run_arcs": [], "hub_of_run": empty}
    if problem.group_place is None or not len(arcs):
        return none
    place = problem.group_place[problem.arc_group[arcs]]
    order = np.lexsort((arc_group, cost, place, arc_vol))
    v, p, c, g = arc_vol[order], place[order], cost[order], arc_group[order]
    new_run = np.r_[True, (v[1:] != v[:-1]) | (p[1:] != p[:-1]) | (c[1:] != c[:-1])]
    run_id = np.cumsum(new_run) - 1
    run_len = np.bincount(run_id)
    multi = run_len[run_id] > 1
    direct = order[~multi]
    if not multi.any():
        return none | {"direct": direct}
    # A hub is a place and a set of its groups; the set is encoded by the groups' ranks in the place.
    g_of_place: dict[int, set[int]] = {}
    for gl, pl in zip(g.tolist(), p.tolist(), strict=True):
        g_of_place.setdefault(pl, set()).add(gl)
    rank = {gl: i for pl, gs in g_of_place.items() for i, gl in enumerate(sorted(gs))}
    bits = np.array([1 << rank[x] for x in g.tolist()], dtype=np.int64)
    mask = np.zeros(run_id[-1] + 1, dtype=np.int64)
    np.add.at(mask, run_id, bits)
    runs = np.unique(run_id[multi])
    run_first = np.searchsorted(run_id, runs)
    hub_key = p[run_first].astype(np.int64) * 16 + mask[runs]
    _hub_keys, hub_of_run = np.unique(hub_key, return_inverse=True)
    out_hub, out_group = [], []
    seen_hub = set()
    run_arcs = []
    for i, r in enumerate(runs.tolist()):
        lo, hi = int(run_first[i]), int(run_first[i]) + int(run_len[r])
        members = order[lo:hi]
        run_arcs.append(members)
        h = int(hub_of_run[i])
        if h not in seen_hub:
            seen_hub.add(h)
            for gl in g[lo:hi].tolist():
                out_hub.append(h)
                out_group.append(gl)
    return {
        "direct": direct,
        "run_vol": v[run_first],
        "run_hub": hub_of_run,
        "run_cost": c[run_first],
        "out_hub": np.array(out_hub, dtype=np.int64),
        "out_group": np.array(out_group, dtype=np.int64),
        "run_arcs": run_arcs,
        "hub_of_run": hub_of_run,
    }


def _unpack_hubs(hubs: dict, run_flow, out_flow, arcs, arc_group, arc_used) -> None:
    """Hand each volunteer who went through a hub to one of the groups the hub fed (all are equal for them)."""
    if not len(hubs["run_vol"]):
        return
    quota: dict[int, list[list[int]]] = {}
    for h, gl, f in zip(hubs["out_hub"].tolist(), hubs["out_group"].tolist(), out_flow.tolist(), strict=True):
        if f:
            quota.setdefault(h, []).append([gl, f])
    for i in np.nonzero(run_flow > 0)[0].tolist():
        h = int(hubs["hub_of_run"][i])
        pending = quota[h]
        while pending[0][1] == 0:
            pending.pop(0)
        gl = pending[0][0]
        pending[0][1] -= 1
        for a in hubs["run_arcs"][i].tolist():
            if arc_group[a] == gl:
                arc_used[arcs[a]] = True
                break


def solve_flow(problem: FlowProblem) -> FlowSolution:
    """Exact optimum of the problem with OR-Tools' SimpleMinCostFlow, one connected component at a time."""
    started = time.perf_counter()
    n_arcs, n_slots = len(problem.arc_vol), len(problem.slot_group)
    arc_used = np.zeros(n_arcs, dtype=bool)
    slot_used = np.zeros(n_slots, dtype=bool)
    if not n_arcs or not n_slots:
        return FlowSolution(arc_used, slot_used, 0.0)
    count, arc_label, slot_label = _components(problem)
    arc_order, slot_order = np.argsort(arc_label, kind="stable"), np.argsort(slot_label, kind="stable")
    arc_bounds = np.searchsorted(arc_label[arc_order], np.arange(count + 1))
    slot_bounds = np.searchsorted(slot_label[slot_order], np.arange(count + 1))
    for c in range(count):
        arcs = arc_order[arc_bounds[c] : arc_bounds[c + 1]]
        slots = slot_order[slot_bounds[c] : slot_bounds[c + 1]]
        if len(arcs) and len(slots):
            _solve_one(problem, arcs, slots, arc_used, slot_used)
    return FlowSolution(arc_used, slot_used, time.perf_counter() - started)


def solve_greedy(problem: FlowProblem) -> FlowSolution:
    """Baseline: nearest free slot first. Every (volunteer, place) pair in order of travel; a pair is
    taken when the volunteer is still free and the place still has a free slot (its heaviest first)."""
    started = time.perf_counter()
    n_arcs, n_slots = len(problem.arc_vol), len(problem.slot_group)
    arc_used = np.zeros(n_arcs, dtype=bool)
    slot_used = np.zeros(n_slots, dtype=bool)
    slot_order = np.lexsort((-problem.slot_weight, problem.slot_group))
    groups_sorted = problem.slot_group[slot_order]
    starts = np.searchsorted(groups_sorted, np.arange(problem.n_groups + 1))
    nxt = starts[:-1].tolist()
    end = starts[1:].tolist()
    slot_order_l = slot_order.tolist()
    taken = np.zeros(problem.n_vol, dtype=bool).tolist()
    order = np.lexsort((problem.arc_group, problem.arc_cost)).tolist()
    arc_vol, arc_group = problem.arc_vol.tolist(), problem.arc_group.tolist()
    used_arcs, used_slots = [], []
    for a in order:
        v = arc_vol[a]
        if taken[v]:
            continue
        g = arc_group[a]
        if nxt[g] >= end[g]:
            continue
        taken[v] = True
        used_arcs.append(a)
        used_slots.append(slot_order_l[nxt[g]])
        nxt[g] += 1
    arc_used[used_arcs] = True
    slot_used[used_slots] = True
    return FlowSolution(arc_used, slot_used, time.perf_counter() - started)
