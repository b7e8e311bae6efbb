"""Behaviour of the OPTW/TOPTW solver: feasibility, optimality on small instances, options."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from routing_helpers import brute_force, brute_force_tours, random_problem

from tourplanner.routing import MustVisitInfeasible, Problem, check, solve


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10**6),
    n=st.integers(2, 14),
    tours=st.integers(1, 3),
    metric=st.booleans(),
    multi=st.booleans(),
    finish=st.booleans(),
)
def test_every_returned_route_is_feasible(
    seed: int, n: int, tours: int, metric: bool, multi: bool, finish: bool
) -> None:
    rng = random.Random(seed)
    problem = random_problem(
        rng,
        n,
        metric=metric,
        multi=multi,
        finish_within_window=finish,
        budget=rng.choice([None, 60]),
        max_stops=rng.choice([None, 3]),
        must_visit=frozenset(rng.sample(range(1, n), min(n - 1, 1))),
    )
    try:
        solution = solve(
            problem, tours=tours, time_limit=None, max_iterations=30, seed=seed, alternatives=2
        )
    except MustVisitInfeasible as error:
        assert set(error.nodes) <= problem.must_visit
        return
    for candidate in [solution, *solution.alternatives]:
        assert check(problem, candidate.tours, candidate.score) == []


@pytest.mark.parametrize("seed", range(25))
def test_matches_brute_force_optimum_on_small_instances(seed: int) -> None:
    rng = random.Random(seed)
    problem = random_problem(rng, rng.randint(4, 10), metric=seed % 2 == 0, multi=seed % 3 == 0)
    solution = solve(problem, time_limit=None, max_iterations=400, seed=seed)
    assert check(problem, solution.tours) == []
    assert solution.score == brute_force(problem)


@pytest.mark.parametrize("seed", range(16))
def test_several_tours_match_the_brute_force_optimum_on_small_instances(seed: int) -> None:
    rng = random.Random(100 + seed)
    problem = random_problem(
        rng, rng.randint(5, 9), metric=seed % 2 == 0, multi=seed % 3 == 0, costs=None, day_end=150
    )
    tours = 2 + seed % 2
    solution = solve(problem, tours=tours, time_limit=None, max_iterations=400, seed=seed)
    assert check(problem, solution.tours, solution.score) == []
    assert solution.score == brute_force_tours(problem, tours)


def test_same_seed_and_iteration_cap_give_identical_results() -> None:
    problem = random_problem(random.Random(7), 40)
    runs = [
        solve(problem, time_limit=None, max_iterations=150, seed=3, alternatives=2)
        for _ in range(2)
    ]
    assert runs[0].tours == runs[1].tours
    assert [a.tours for a in runs[0].alternatives] == [a.tours for a in runs[1].alternatives]


def _two_window_problem(finish: bool) -> Problem:
    # 0 = hotel; node 1 opens 08:00-11:30 and 13:30-17:00 (minutes), visits last 60 minutes.
    return Problem(
        travel=[[0, 30], [30, 0]],
        service=[0, 60],
        windows=[[(0, 1440)], [(480, 690), (810, 1020)]],
        scores=[0, 5],
        day_start=660,
        day_end=1440,
        finish_within_window=finish,
    )


def test_node_with_lunch_break_is_served_in_the_afternoon_window() -> None:
    solution = solve(_two_window_problem(finish=False), max_iterations=5)
    stop = solution.schedule[0][0]
    assert (stop.arrival, stop.start, stop.wait) == (690, 690, 0)  # 11:30 still opens
    late = solve(_two_window_problem(finish=True), max_iterations=5).schedule[0][0]
    assert (late.start, late.wait, late.end) == (810, 120, 870)  # must finish by close


def test_must_visit_excluded_max_stops_and_budget_are_honoured() -> None:
    base = random_problem(random.Random(3), 15, costs=[0] + [10] * 14)
    must, banned = 4, 5
    problem = Problem(
        **{
            **base.__dict__,
            "must_visit": frozenset({must}),
            "excluded": frozenset({banned}),
            "max_stops": 3,
            "budget": 25,
        }
    )
    solution = solve(problem, max_iterations=100)
    visited = solution.visited
    assert must in visited and banned not in visited
    assert len(solution.tours[0]) <= 3 and solution.cost <= 25
    assert check(problem, solution.tours) == []


def test_unreachable_must_visit_is_reported_by_node() -> None:
    problem = Problem(
        travel=[[0, 500, 5], [500, 0, 5], [5, 5, 0]],
        service=[0, 0, 0],
        windows=[[(0, 100)], [(0, 100)], [(0, 100)]],
        scores=[0, 1, 1],
        day_end=100,
        must_visit=frozenset({1}),
        names=["hotel", "far", "near"],
    )
    with pytest.raises(MustVisitInfeasible) as raised:
        solve(problem, max_iterations=10)
    assert raised.value.nodes == (1,) and "far" in str(raised.value)


def test_alternatives_are_feasible_and_clearly_different() -> None:
    problem = random_problem(random.Random(11), 25, day_end=300)
    solution = solve(problem, max_iterations=300, alternatives=3, min_difference=0.3)
    assert solution.alternatives
    sets = [solution.visited] + [alt.visited for alt in solution.alternatives]
    for i, a in enumerate(sets):
        for b in sets[i + 1 :]:
            assert 1 - len(a & b) / max(len(a), len(b)) >= 0.3
    for alt in solution.alternatives:
        assert check(problem, alt.tours, alt.score) == []
        assert alt.score <= solution.score


def test_several_tours_never_share_a_node_and_score_more() -> None:
    problem = random_problem(random.Random(5), 40, day_end=250)
    one = solve(problem, tours=1, max_iterations=100)
    three = solve(problem, tours=3, max_iterations=100)
    assert check(problem, three.tours, three.score) == []
    assert len(three.tours) == 3 and three.score > one.score


def test_start_and_end_may_differ() -> None:
    base = random_problem(random.Random(9), 12)
    problem = Problem(**{**base.__dict__, "start": 0, "end": 11})
    solution = solve(problem, max_iterations=50)
    assert 11 not in solution.visited and check(problem, solution.tours) == []


def test_worst_shake_removes_the_visit_worth_least_per_minute() -> None:
    import random as _random

    from tourplanner.routing.solver import _Search

    # 1 and 2 are both on the way; 2 scores a tenth of 1 for the same detour and visit time.
    problem = Problem(
        travel=[[0, 5, 10], [5, 0, 5], [10, 5, 0]],
        service=[0, 5, 5],
        windows=[[(0, 100)]] * 3,
        scores=[0, 10, 1],
        day_end=100,
    )
    for seed in range(10):
        search = _Search(problem, 1, _random.Random(seed))
        search.routes[0] = [0, 1, 2, 0]
        search.visited[[1, 2]] = True
        search._recompute(0)
        search.shake_worst(1)
        assert search.routes[0] == [0, 1, 0] and not search.visited[2] and search.visited[1]


def test_a_shake_with_several_tours_changes_one_tour_and_frees_its_stops() -> None:
    import random as _random

    from tourplanner.routing.solver import _Search, _shake

    problem = random_problem(_random.Random(3), 40, day_end=250)
    routes = solve(problem, tours=3, time_limit=None, max_iterations=50, seed=3).tours
    for seed in range(20):
        search = _Search(problem, 3, _random.Random(seed))
        search.restore([[0, *tour, 0] for tour in routes])
        before = search.snapshot()
        _shake(search, seed % 5, 1 + seed % 3)
        changed = [r for r in range(3) if search.routes[r] != before[r]]
        assert len(changed) == 1
        (r,) = changed
        dropped = set(before[r]) - set(search.routes[r])
        assert dropped and not search.visited[list(dropped)].any()
        assert all(search.visited[j] for route in search.routes for j in route[1:-1])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n=st.integers(6, 20), budget=st.sampled_from([None, 80]))
def test_recombined_tours_are_disjoint_feasible_and_score_more(
    seed: int, n: int, budget: int | None
) -> None:
    import random as _random

    from tourplanner.routing.solver import _Search, _TourPool

    problem = random_problem(_random.Random(seed), n, day_end=200, budget=budget)
    search = _Search(problem, 3, _random.Random(seed))
    tours = _TourPool(search)
    runs = [
        solve(problem, tours=3, time_limit=None, max_iterations=3, seed=seed + k) for k in range(6)
    ]
    for run in runs:  # tours met in different solutions
        search.restore([[0, *tour, 0] for tour in run.tours])
        tours.record()
    worst = min(runs, key=lambda run: run.score)
    combined = tours.recombine([[0, *tour, 0] for tour in worst.tours])
    if combined is None:
        return
    visits = [j for route in combined for j in route[1:-1]]
    assert len(combined) == 3 and len(visits) == len(set(visits))
    score = sum(problem.scores[j] for j in visits)
    assert score > worst.score
    assert check(problem, [route[1:-1] for route in combined], score) == []


def test_recombination_joins_tours_met_in_different_solutions() -> None:
    import random as _random

    from tourplanner.routing.solver import _Search, _TourPool

    problem = Problem(
        travel=[[0 if i == j else 5 for j in range(5)] for i in range(5)],
        service=[0, 5, 5, 5, 5],
        windows=[[(0, 100)]] * 5,
        scores=[0, 1, 1, 5, 5],
        day_end=100,
    )
    search = _Search(problem, 2, _random.Random(0))
    tours = _TourPool(search)
    for state in ([[0, 1, 0], [0, 2, 0]], [[0, 3, 0], [0, 2, 0]], [[0, 1, 0], [0, 4, 0]]):
        search.restore(state)
        tours.record()
    combined = tours.recombine([[0, 1, 0], [0, 2, 0]])
    assert combined is not None
    assert sorted(combined) == [[0, 3, 0], [0, 4, 0]]
    assert tours.recombine([[0, 3, 0], [0, 4, 0]]) is None  # nothing better in the pool
