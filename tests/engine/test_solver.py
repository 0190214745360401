"""The min-cost flow is exact: its objective equals the optimum found by scipy's assignment solver on
tiny instances, and a bare OR-Tools flow (one arc per slot, no pieces, no hubs, the loosest M) on
larger ones shaped like the engine's."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from ortools.graph.python import min_cost_flow
from scipy.optimize import linear_sum_assignment

from backend.assignments.engine.solver import FlowProblem, solve_flow, solve_greedy


@st.composite
def problems(draw):
    n_vol = draw(st.integers(1, 7))
    n_groups = draw(st.integers(1, 4))
    slot_group = np.array(draw(st.lists(st.integers(0, n_groups - 1), min_size=1, max_size=8)), dtype=np.int64)
    slot_weight = np.array(draw(st.lists(st.integers(1, 300), min_size=len(slot_group), max_size=len(slot_group))))
    # Weights that share a divisor (as the engine's do: hundreds and tens) are divided by it before solving.
    slot_weight = slot_weight * draw(st.sampled_from([1, 10, 340]))
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, n_vol - 1), st.integers(0, n_groups - 1), st.sampled_from([-5, 0, 7, 7, 40, 400])),
            min_size=0,
            max_size=20,
            unique_by=lambda t: (t[0], t[1]),
        )
    )
    # Half the cases put groups in places (so arcs at one cost share a hub node), half do not.
    places = draw(st.one_of(st.none(), st.lists(st.integers(0, 1), min_size=n_groups, max_size=n_groups)))
    return FlowProblem(
        group_place=None if places is None else np.array(places, dtype=np.int64),
        n_vol=n_vol,
        n_groups=n_groups,
        arc_vol=np.array([p[0] for p in pairs], dtype=np.int64),
        arc_group=np.array([p[1] for p in pairs], dtype=np.int64),
        arc_cost=np.array([p[2] for p in pairs], dtype=np.int64),
        slot_group=slot_group,
        slot_weight=slot_weight.astype(np.int64),
    )


def _optimum(problem: FlowProblem) -> int:
    """Best weight x M - cost over all matchings volunteer -> slot, by the Hungarian method."""
    scale = problem.scale
    profit = np.zeros((problem.n_vol, len(problem.slot_group)), dtype=np.float64)
    for v, g, c in zip(problem.arc_vol, problem.arc_group, problem.arc_cost, strict=True):
        for s in np.nonzero(problem.slot_group == g)[0]:
            # Leaving a pair out is always allowed (value 0), so only positive profits matter.
            profit[v, s] = max(0, int(problem.slot_weight[s]) * scale - int(c))
    rows, cols = linear_sum_assignment(profit, maximize=True)
    return int(sum(profit[r, c] for r, c in zip(rows, cols, strict=True)))


def _is_feasible(problem, solution) -> bool:
    used = np.nonzero(solution.arc_used)[0]
    one_slot_each = len(set(problem.arc_vol[used].tolist())) == len(used)
    per_group_in = np.bincount(problem.arc_group[used], minlength=problem.n_groups)
    per_group_out = np.bincount(problem.slot_group[solution.slot_used], minlength=problem.n_groups)
    return one_slot_each and (per_group_in == per_group_out).all()


@settings(max_examples=150, deadline=None)
@given(problems())
def test_flow_objective_equals_the_exhaustive_optimum(problem):
    # when
    solution = solve_flow(problem)
    # then
    assert _is_feasible(problem, solution)
    assert solution.objective(problem) == _optimum(problem)


@settings(max_examples=80, deadline=None)
@given(problems())
def test_greedy_is_feasible_and_never_beats_the_flow(problem):
    greedy, flow = solve_greedy(problem), solve_flow(problem)
    assert _is_feasible(problem, greedy)
    assert greedy.objective(problem) <= flow.objective(problem)


def test_coverage_beats_travel():
    # given: one volunteer; a heavy slot far away, a light slot next door
    problem = FlowProblem(
        n_vol=1,
        n_groups=2,
        arc_vol=np.array([0, 0]),
        arc_group=np.array([0, 1]),
        arc_cost=np.array([400, 0]),
        slot_group=np.array([0, 1]),
        slot_weight=np.array([1060, 1000]),
    )
    # when
    solution = solve_flow(problem)
    # then: the heavier slot is covered despite the travel
    assert solution.slot_used.tolist() == [True, False]


def test_weight_levels_are_filled_heaviest_first_then_least_travel():
    # given: three volunteers, a heavy slot only volunteer 0 or 1 reaches, two light slots; volunteer 0
    # is the only one for light slot A and the cheapest for the heavy slot
    problem = FlowProblem(
        n_vol=3,
        n_groups=3,
        arc_vol=np.array([0, 0, 1, 1, 2]),
        arc_group=np.array([0, 1, 0, 2, 2]),
        arc_cost=np.array([1, 5, 30, 2, 9]),
        slot_group=np.array([0, 1, 2]),
        slot_weight=np.array([1060, 340, 340]),
    )
    # when
    solution = solve_flow(problem)
    # then: every slot is covered (heavy by 1, A by 0, B by 2), although 0 -> heavy is the cheapest arc
    assert solution.slot_used.all()
    assert solution.arc_used.tolist() == [False, True, True, False, True]
    assert solution.cost(problem) == 5 + 30 + 9


def test_among_equal_coverage_least_travel_wins():
    # given: two volunteers, two equal slots in two places; crossing costs more
    problem = FlowProblem(
        n_vol=2,
        n_groups=2,
        arc_vol=np.array([0, 0, 1, 1]),
        arc_group=np.array([0, 1, 0, 1]),
        arc_cost=np.array([10, 50, 50, 10]),
        slot_group=np.array([0, 1]),
        slot_weight=np.array([1000, 1000]),
    )
    solution = solve_flow(problem)
    assert solution.arc_used.tolist() == [True, False, False, True]


@st.composite
def engine_like_problems(draw):
    """Places with up to four groups each (two roles, titular or substitute), volunteers reaching a
    few places at one cost for all of a place's groups, slots of a few weights: hubs, shared slot
    arcs and separate pieces all at work."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n_places, n_vol = draw(st.integers(1, 8)), draw(st.integers(1, 40))
    groups_of = [sorted(rng.choice(4, size=rng.integers(1, 5), replace=False).tolist()) for _ in range(n_places)]
    group_place = np.array([p for p, gs in enumerate(groups_of) for _g in gs], dtype=np.int64)
    first = np.r_[0, np.cumsum([len(gs) for gs in groups_of])]
    slot_group = rng.integers(0, len(group_place), size=rng.integers(1, 30))
    slot_weight = rng.choice([1020, 1030, 1060, 340, 1000 + 100 * rng.integers(-9, 20)], size=len(slot_group))
    arc_vol, arc_group, arc_cost = [], [], []
    for v in range(n_vol):
        for p in rng.choice(n_places, size=min(n_places, rng.integers(0, 4)), replace=False).tolist():
            cost = int(rng.choice([-20, 0, 3, 15, 15, 80, 400]))
            for g in range(first[p], first[p + 1]):
                if rng.random() < 0.8:
                    arc_vol.append(v)
                    arc_group.append(g)
                    arc_cost.append(cost)
    return FlowProblem(
        n_vol=n_vol,
        n_groups=len(group_place),
        arc_vol=np.array(arc_vol, dtype=np.int64),
        arc_group=np.array(arc_group, dtype=np.int64),
        arc_cost=np.array(arc_cost, dtype=np.int64),
        slot_group=slot_group.astype(np.int64),
        slot_weight=slot_weight.astype(np.int64),
        group_place=group_place,
    )


def _bare_flow_optimum(problem: FlowProblem) -> tuple[int, int]:
    """(weighted coverage, travel) of the optimum, by one plain min-cost flow over the whole graph."""
    n_vol, n_slots = problem.n_vol, len(problem.slot_group)
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(
        np.zeros(n_vol, dtype=np.int64), 2 + np.arange(n_vol), np.ones(n_vol, dtype=np.int64), np.zeros(n_vol, np.int64)
    )
    cand = smcf.add_arcs_with_capacity_and_unit_cost(
        2 + problem.arc_vol,
        2 + n_vol + problem.arc_group,
        np.ones(len(problem.arc_vol), dtype=np.int64),
        problem.arc_cost,
    )
    slots = smcf.add_arcs_with_capacity_and_unit_cost(
        2 + n_vol + problem.slot_group,
        np.ones(n_slots, dtype=np.int64),
        np.ones(n_slots, dtype=np.int64),
        -problem.slot_weight * problem.scale,
    )
    smcf.add_arc_with_capacity_and_unit_cost(0, 1, n_vol, 0)
    smcf.set_node_supply(0, n_vol)
    smcf.set_node_supply(1, -n_vol)
    assert smcf.solve() == smcf.OPTIMAL
    used_slots, used_arcs = smcf.flows(slots) > 0, smcf.flows(cand) > 0
    return int(problem.slot_weight[used_slots].sum()), int(problem.arc_cost[used_arcs].sum())


@settings(max_examples=300, deadline=None)
@given(engine_like_problems())
def test_flow_equals_a_bare_flow_on_engine_shaped_problems(problem):
    # when
    solution = solve_flow(problem)
    # then: a feasible plan with the same weighted coverage and the same travel as the independent solve
    assert _is_feasible(problem, solution)
    assert (solution.weight(problem), solution.cost(problem)) == _bare_flow_optimum(problem)
