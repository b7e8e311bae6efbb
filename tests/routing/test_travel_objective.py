"""The travel term of the objective: ``score - travel_weight * travel`` and ``max_travel``."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from routing_helpers import brute_force_objective, random_problem

from tourplanner.routing import MustVisitInfeasible, Problem, check, solve


def _equal_interest_problem(travel_weight: float) -> Problem:
    # Node 1 is 10 minutes away but opens at 09:00; node 2 is 30 minutes away and open at once.
    # One stop fits (max_stops=1), both score 1: node 2 is back first (10:00 against 10:10)
    # but drives 60 minutes against 20.
    return Problem(
        travel=[[0, 10, 30], [10, 0, 35], [30, 35, 0]],
        service=[0, 60, 60],
        windows=[[(480, 1080)], [(540, 1080)], [(480, 1080)]],
        scores=[0, 1, 1],
        day_start=480,
        day_end=1080,
        max_stops=1,
        travel_weight=travel_weight,
    )


def test_of_two_days_of_equal_interest_the_one_with_less_road_time_is_returned() -> None:
    solution = solve(_equal_interest_problem(0.01), time_limit=None, max_iterations=50)
    assert solution.tours == [[1]]
    assert solution.travel == [20]
    assert solution.objective == pytest.approx(1 - 0.01 * 20)


def test_without_a_travel_weight_the_earlier_return_still_wins() -> None:
    solution = solve(_equal_interest_problem(0.0), time_limit=None, max_iterations=50)
    assert solution.tours == [[2]]


def test_a_stop_is_added_only_when_its_score_is_worth_the_detour() -> None:
    # Node 2 adds 40 minutes of driving after node 1 for a score of 1.
    base = {
        "travel": [[0, 10, 30], [10, 0, 30], [30, 30, 0]],
        "service": [0, 30, 30],
        "windows": [[(0, 1000)], [(0, 1000)], [(0, 1000)]],
        "scores": [0, 1, 1],
        "day_start": 0,
        "day_end": 1000,
    }
    cheap = solve(Problem(**base, travel_weight=1 / 60), time_limit=None, max_iterations=50)
    dear = solve(Problem(**base, travel_weight=1 / 30), time_limit=None, max_iterations=50)
    assert sorted(cheap.tours[0]) == [1, 2]  # 1 point is worth 60 min: 50 extra min pay
    assert dear.tours == [[1]]  # 1 point is worth 30 min: 50 extra min do not


def test_max_travel_is_a_hard_limit_and_must_visits_beyond_it_are_reported() -> None:
    problem = Problem(
        travel=[[0, 10, 30], [10, 0, 30], [30, 30, 0]],
        service=[0, 30, 30],
        windows=[[(0, 1000)], [(0, 1000)], [(0, 1000)]],
        scores=[0, 1, 5],
        day_start=0,
        day_end=1000,
        max_travel=40,
    )
    solution = solve(problem, time_limit=None, max_iterations=50)
    assert solution.tours == [[1]]  # node 2 (score 5) needs 60 minutes there and back
    with pytest.raises(MustVisitInfeasible):
        solve(
            Problem(**{**problem.__dict__, "must_visit": frozenset({2})}),
            time_limit=None,
            max_iterations=50,
        )


def test_with_min_stops_a_day_keeps_its_best_stop_when_the_drive_costs_more() -> None:
    # One stop of score 1, 60 minutes away and back: at 1 point per 30 minutes it does not pay.
    base = {
        "travel": [[0, 30], [30, 0]],
        "service": [0, 60],
        "windows": [[(0, 1000)], [(0, 1000)]],
        "scores": [0, 1],
        "day_start": 0,
        "day_end": 1000,
        "travel_weight": 1 / 30,
    }
    assert solve(Problem(**base), time_limit=None, max_iterations=20).tours == [[]]
    kept = solve(Problem(**base, min_stops=1), time_limit=None, max_iterations=20)
    assert kept.tours == [[1]] and kept.objective == pytest.approx(-1.0)


@pytest.mark.parametrize("seed", range(20))
def test_exact_search_matches_the_brute_force_optimum_of_the_weighted_objective(
    seed: int,
) -> None:
    rng = random.Random(500 + seed)
    problem = random_problem(
        rng,
        rng.randint(4, 10),
        metric=seed % 2 == 0,
        multi=seed % 3 == 0,
        travel_weight=rng.choice([0.02, 0.1, 0.3]),
        max_travel=rng.choice([None, 120, 200]),
        min_stops=seed % 2,
        costs=None,
    )
    solution = solve(problem, time_limit=None, max_iterations=200, seed=seed)
    assert check(problem, solution.tours, solution.score) == []
    assert solution.objective == pytest.approx(problem.objective(solution.tours))
    assert solution.objective == pytest.approx(brute_force_objective(problem))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10**6),
    n=st.integers(2, 18),
    tours=st.integers(1, 3),
    weight=st.sampled_from([0.0, 0.05, 0.5]),
    max_travel=st.sampled_from([None, 60, 150]),
    min_stops=st.integers(0, 1),
)
def test_weighted_routes_are_feasible_within_max_travel_and_deterministic(
    seed: int, n: int, tours: int, weight: float, max_travel: int | None, min_stops: int
) -> None:
    rng = random.Random(seed)
    problem = random_problem(
        rng,
        n,
        travel_weight=weight,
        max_travel=max_travel,
        min_stops=min_stops,
        must_visit=frozenset(rng.sample(range(1, n), min(n - 1, 1))),
    )

    def run():
        return solve(
            problem, tours=tours, time_limit=None, max_iterations=30, seed=seed, alternatives=2
        )

    try:
        solution = run()
    except MustVisitInfeasible as error:
        assert set(error.nodes) <= problem.must_visit
        return
    for candidate in [solution, *solution.alternatives]:
        assert check(problem, candidate.tours, candidate.score) == []
        assert candidate.objective == pytest.approx(problem.objective(candidate.tours))
    again = run()
    assert again.tours == solution.tours
    assert [a.tours for a in again.alternatives] == [a.tours for a in solution.alternatives]
