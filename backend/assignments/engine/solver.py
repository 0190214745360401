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


def solve_flow(problem: FlowProblem) -> FlowSolution:
    """Exact optimum of the problem with OR-Tools' SimpleMinCostFlow."""
    started = time.perf_counter()
    n_arcs, n_slots = len(problem.arc_vol), len(problem.slot_group)
    if not n_arcs or not n_slots:
        return FlowSolution(np.zeros(n_arcs, dtype=bool), np.zeros(n_slots, dtype=bool), 0.0)
    scale = problem.scale
    source, sink, vol0 = 0, 1, 2
    group0 = vol0 + problem.n_vol
    smcf = min_cost_flow.SimpleMinCostFlow()
    vols = np.unique(problem.arc_vol)
    supply = len(vols)
    smcf.add_arcs_with_capacity_and_unit_cost(
        np.zeros(len(vols), dtype=np.int64),
        vol0 + vols,
        np.ones(len(vols), dtype=np.int64),
        np.zeros(len(vols), dtype=np.int64),
    )
    cand = smcf.add_arcs_with_capacity_and_unit_cost(
        vol0 + problem.arc_vol,
        group0 + problem.arc_group,
        np.ones(n_arcs, dtype=np.int64),
        problem.arc_cost.astype(np.int64),
    )
    slots = smcf.add_arcs_with_capacity_and_unit_cost(
        group0 + problem.slot_group,
        np.full(n_slots, sink, dtype=np.int64),
        np.ones(n_slots, dtype=np.int64),
        -problem.slot_weight.astype(np.int64) * scale,
    )
    smcf.add_arc_with_capacity_and_unit_cost(source, sink, supply, 0)
    smcf.set_node_supply(source, supply)
    smcf.set_node_supply(sink, -supply)
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        raise ApplicationError(f"min cost flow: {status}", code="solver_failed")
    return FlowSolution(smcf.flows(cand) > 0, smcf.flows(slots) > 0, time.perf_counter() - started)


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
