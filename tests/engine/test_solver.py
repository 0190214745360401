"""The min-cost flow is exact: its objective equals the optimum found by scipy's assignment solver."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from backend.assignments.engine.solver import FlowProblem, solve_flow, solve_greedy


@st.composite
def problems(draw):
    n_vol = draw(st.integers(1, 7))
    n_groups = draw(st.integers(1, 4))
    slot_group = np.array(draw(st.lists(st.integers(0, n_groups - 1), min_size=1, max_size=8)), dtype=np.int64)
    slot_weight = np.array(draw(st.lists(st.integers(1, 300), min_size=len(slot_group), max_size=len(slot_group))))
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
