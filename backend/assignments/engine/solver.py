"""The optimisation itself: an exact min-cost flow (OR-Tools) and a greedy baseline, on plain arrays.

Graph: source -> volunteer (capacity 1) -> slot group (one per place, role and titular/substitute;
cost = travel) -> slots, plus a source -> sink bypass for volunteers left unassigned. The objective
is lexicographic: the heaviest weighted coverage, then the least travel. Written as one flow it
needs slot arcs of cost -weight x M, with M larger than any possible total travel (what
`FlowProblem.scale` and the benchmark's floor do); here it is solved without M: the slots that can
be covered together form a matroid, so the heaviest coverage covers, for each weight level, as many
slots of that weight or heavier as a max flow can (a few max flows), and a min-cost flow on travel
alone, small costs and so few cost-scaling phases, delivers exactly those counts at the least travel.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from ortools.graph.python import max_flow, min_cost_flow

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
    library_seconds: float = 0.0  # of which inside OR-Tools' solve

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


class _Piece:
    """One connected piece as node-numbered arc arrays, shared by its max flows and its min-cost flow.

    Nodes: 0 source, 1 sink, then volunteers, groups, hubs and weight levels. The arcs into the
    groups (direct and through hubs) are the same in every solve of the piece; only what leaves the
    groups differs (to the sink for a max flow, to the weight levels for the min-cost flow).
    """

    def __init__(self, problem: FlowProblem, arcs: np.ndarray, slots: np.ndarray) -> None:
        vols, arc_vol = np.unique(problem.arc_vol[arcs], return_inverse=True)
        groups, inverse = np.unique(
            np.concatenate([problem.arc_group[arcs], problem.slot_group[slots]]), return_inverse=True
        )
        arc_group, slot_group = inverse[: len(arcs)], inverse[len(arcs) :]
        cost = problem.arc_cost[arcs].astype(np.int64)
        weight = problem.slot_weight[slots].astype(np.int64)
        self.n_vols = n_vols = len(vols)
        self.hubs = hubs = _hubs(problem, arcs, arc_vol, arc_group, groups, cost)
        direct = hubs["direct"]
        vol0 = 2
        group0 = vol0 + n_vols
        hub0 = group0 + len(groups)
        n_hubs = int(hubs["out_hub"].max()) + 1 if len(hubs["out_hub"]) else 0
        self.level0 = hub0 + n_hubs
        # Arcs into the groups, in three blocks (direct, volunteer -> hub, hub -> group) after the
        # source's arcs; `blocks` remembers where each starts in the solvers' arc numbering.
        n_runs, n_outs = len(hubs["run_vol"]), len(hubs["out_hub"])
        tails = [np.zeros(n_vols), vol0 + arc_vol[direct], vol0 + hubs["run_vol"], hub0 + hubs["out_hub"]]
        heads = [vol0 + np.arange(n_vols), group0 + arc_group[direct], hub0 + hubs["run_hub"]]
        heads.append(group0 + hubs["out_group"])
        caps = [np.ones(n_vols), np.ones(len(direct)), np.ones(n_runs), np.full(n_outs, n_vols)]
        costs = [np.zeros(n_vols), cost[direct], hubs["run_cost"], np.zeros(n_outs)]
        sizes = np.cumsum([0] + [len(t) for t in tails])
        self.blocks = sizes
        self.tails = np.concatenate(tails).astype(np.int64)
        self.heads = np.concatenate(heads).astype(np.int64)
        self.caps = np.concatenate(caps).astype(np.int64)
        self.costs = np.concatenate(costs).astype(np.int64)
        self.arcs, self.direct = arcs, direct
        # Slots of one group with the same weight are interchangeable: one arc with their count as
        # capacity. Weight levels are numbered heaviest first.
        self.levels = levels = np.unique(weight)[::-1]
        level = np.searchsorted(-levels, -weight)
        key = slot_group.astype(np.int64) * len(levels) + level
        self.slot_order = np.argsort(key, kind="stable")
        _uniq, self.slot_first, self.slot_counts = np.unique(
            key[self.slot_order], return_index=True, return_counts=True
        )
        self.out_tail = group0 + slot_group[self.slot_order[self.slot_first]].astype(np.int64)
        self.out_level = level[self.slot_order[self.slot_first]]

    def ranks(self) -> tuple[np.ndarray, float]:
        """How many slots of each weight or heavier can be covered at once: one max flow per level.

        The slots that can be covered together form a (transversal) matroid, so the heaviest
        coverage covers exactly that many of each level and heavier, all at once."""
        ranks = np.zeros(len(self.levels), dtype=np.int64)
        seconds = 0.0
        for i in range(len(self.levels)):
            smf = max_flow.SimpleMaxFlow()
            smf.add_arcs_with_capacity(self.tails, self.heads, self.caps)
            keep = self.out_level <= i
            smf.add_arcs_with_capacity(
                self.out_tail[keep], np.ones(int(keep.sum()), dtype=np.int64), self.slot_counts[keep].astype(np.int64)
            )
            started = time.perf_counter()
            status = smf.solve(0, 1)
            seconds += time.perf_counter() - started
            if status != smf.OPTIMAL:
                raise ApplicationError(f"max flow: {status}", code="solver_failed")
            ranks[i] = smf.optimal_flow()
        return ranks, seconds


def _solve_one(problem: FlowProblem, arcs: np.ndarray, slots: np.ndarray, arc_used, slot_used) -> float:
    """Solve one piece into `arc_used` and `slot_used`; returns the seconds spent inside OR-Tools.

    Lexicographic without a big M: the max flows of `_Piece.ranks` fix how many slots of each
    weight level the heaviest coverage takes; a min-cost flow on travel alone (small costs, so few
    cost-scaling phases) then delivers exactly that many to each level at the least travel.
    """
    piece = _Piece(problem, arcs, slots)
    ranks, library_seconds = piece.ranks()
    demand = np.diff(np.r_[0, ranks])
    n_vols, level0 = piece.n_vols, piece.level0
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(piece.tails, piece.heads, piece.caps, piece.costs)
    slot_arcs = smcf.add_arcs_with_capacity_and_unit_cost(
        piece.out_tail,
        level0 + piece.out_level.astype(np.int64),
        piece.slot_counts.astype(np.int64),
        np.zeros(len(piece.out_tail), dtype=np.int64),
    )
    # Volunteers left unassigned go straight to the sink.
    smcf.add_arc_with_capacity_and_unit_cost(0, 1, n_vols, 0)
    smcf.set_nodes_supplies(
        np.r_[0, 1, level0 + np.arange(len(demand))].astype(np.int32),
        np.r_[n_vols, -(n_vols - int(demand.sum())), -demand].astype(np.int64),
    )
    started = time.perf_counter()
    status = smcf.solve()
    library_seconds += time.perf_counter() - started
    if status != smcf.OPTIMAL:
        raise ApplicationError(f"min cost flow: {status}", code="solver_failed")
    flows = smcf.flows(np.arange(piece.blocks[-1]))
    b = piece.blocks
    arc_used[arcs[piece.direct[flows[b[1] : b[2]] > 0]]] = True
    _unpack_hubs(piece.hubs, flows[b[2] : b[3]], flows[b[3] : b[4]], arcs, arc_used)
    # Mark the first `flow` slots of each aggregated arc as covered (which ones is decided later).
    slot_flows = smcf.flows(slot_arcs)
    order, first, counts = piece.slot_order, piece.slot_first, piece.slot_counts
    rank = np.arange(len(order)) - np.repeat(first, counts)
    covered = rank < np.repeat(slot_flows, counts)
    slot_used[slots[order[covered]]] = True
    return library_seconds


def _hubs(problem: FlowProblem, arcs, arc_vol, arc_group, groups, cost) -> dict:
    """Group each volunteer's arcs to several groups of one place at one cost behind a hub node.

    A hub is a place and a set of its groups (at most four: two roles, titular or substitute),
    encoded as a bit mask of the groups' ranks in the place; vectorised, no per-arc Python.
    Returns the arcs kept direct, the volunteer -> hub runs, the hub -> group arcs, and the arcs
    behind each run keyed by (run, group) for `_unpack_hubs`.
    """
    empty = np.zeros(0, dtype=np.int64)
    none: dict[str, Any] = {"direct": np.arange(len(arcs)), "run_vol": empty, "run_hub": empty, "run_cost": empty}
    none |= {"out_hub": empty, "out_group": empty, "multi_key": empty, "multi_arc": empty, "n_groups": len(groups)}
    if problem.group_place is None or not len(arcs):
        return none
    # Rank of each group among its place's groups, and the way back from (place, rank) to the group.
    group_place = problem.group_place[groups]
    by_place = np.lexsort((np.arange(len(groups)), group_place))
    sorted_place = group_place[by_place]
    place_first = np.searchsorted(sorted_place, sorted_place, side="left")
    group_rank = np.empty(len(groups), dtype=np.int64)
    group_rank[by_place] = np.arange(len(groups)) - place_first
    bits = int(group_rank.max()) + 1
    place = group_place[arc_group]
    order = np.lexsort((arc_group, cost, place, arc_vol))
    v, p, c, g = arc_vol[order], place[order], cost[order], arc_group[order]
    new_run = np.r_[True, (v[1:] != v[:-1]) | (p[1:] != p[:-1]) | (c[1:] != c[:-1])]
    run_start = np.nonzero(new_run)[0]
    run_len = np.diff(np.r_[run_start, len(order)])
    multi_run = run_len > 1
    multi = np.repeat(multi_run, run_len)
    direct = order[~multi]
    if not multi_run.any():
        return none | {"direct": direct}
    mask = np.add.reduceat(np.left_shift(1, group_rank[g]).astype(np.int64), run_start)
    first = run_start[multi_run]
    hub_key = p[first].astype(np.int64) * (1 << bits) + mask[multi_run]
    _keys, hub_first_run, hub_of_run = np.unique(hub_key, return_index=True, return_inverse=True)
    # Each hub feeds the groups of its mask: the place's group of each set bit's rank.
    hub_place_start = np.searchsorted(sorted_place, p[first[hub_first_run]], side="left")
    hub_mask = mask[multi_run][hub_first_run]
    out_hub, out_group = [], []
    for bit in range(bits):
        has = np.nonzero(hub_mask & (1 << bit))[0]
        out_hub.append(has)
        out_group.append(by_place[hub_place_start[has] + bit])
    out_hub_a, out_group_a = np.concatenate(out_hub), np.concatenate(out_group)
    by_hub = np.lexsort((out_group_a, out_hub_a))
    run_id = np.cumsum(new_run) - 1
    multi_run_no = np.cumsum(multi_run) - 1  # index among multi runs, per run
    return {
        "direct": direct,
        "run_vol": v[first],
        "run_hub": hub_of_run,
        "run_cost": c[first],
        "out_hub": out_hub_a[by_hub],
        "out_group": out_group_a[by_hub],
        # Arcs behind hubs, findable by (multi run, group): sorted by that key.
        "multi_key": multi_run_no[run_id[multi]].astype(np.int64) * len(groups) + g[multi],
        "multi_arc": order[multi],
        "n_groups": len(groups),
    }


def _unpack_hubs(hubs: dict, run_flow, out_flow, arcs, arc_used) -> None:
    """Hand each volunteer who went through a hub to one of the groups the hub fed (all are equal for them):
    the hub's out-flows, unit by unit in group order, against its used runs in order."""
    runs = np.nonzero(run_flow > 0)[0]
    if not len(runs):
        return
    units_group = np.repeat(hubs["out_group"], out_flow)
    units_hub = np.repeat(hubs["out_hub"], out_flow)  # sorted by hub
    run_hub = hubs["run_hub"][runs]
    by_hub = np.argsort(run_hub, kind="stable")
    # Flow is conserved at each hub, so the used runs and the units line up hub by hub.
    group = np.empty(len(runs), dtype=np.int64)
    group[by_hub] = units_group
    assert (units_hub == run_hub[by_hub]).all()
    pos = np.searchsorted(hubs["multi_key"], runs.astype(np.int64) * hubs["n_groups"] + group)
    arc_used[arcs[hubs["multi_arc"][pos]]] = True


def solve_flow(problem: FlowProblem) -> FlowSolution:
    """Exact optimum of the problem with OR-Tools' SimpleMinCostFlow, one connected component at a time."""
    started = time.perf_counter()
    n_arcs, n_slots = len(problem.arc_vol), len(problem.slot_group)
    arc_used = np.zeros(n_arcs, dtype=bool)
    slot_used = np.zeros(n_slots, dtype=bool)
    if not n_arcs or not n_slots:
        return FlowSolution(arc_used, slot_used, 0.0)
    library_seconds = 0.0
    count, arc_label, slot_label = _components(problem)
    arc_order, slot_order = np.argsort(arc_label, kind="stable"), np.argsort(slot_label, kind="stable")
    arc_bounds = np.searchsorted(arc_label[arc_order], np.arange(count + 1))
    slot_bounds = np.searchsorted(slot_label[slot_order], np.arange(count + 1))
    for c in range(count):
        arcs = arc_order[arc_bounds[c] : arc_bounds[c + 1]]
        slots = slot_order[slot_bounds[c] : slot_bounds[c + 1]]
        if len(arcs) and len(slots):
            library_seconds += _solve_one(problem, arcs, slots, arc_used, slot_used)
    return FlowSolution(arc_used, slot_used, time.perf_counter() - started, library_seconds)


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
