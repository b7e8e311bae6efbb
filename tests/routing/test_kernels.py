"""The compiled solver kernels against plain-Python references built on the checker.

Each test puts a random feasible tour into a search state and compares a kernel's answer with
an exhaustive evaluation that only uses ``tourplanner.routing.check`` and a direct schedule
simulation, on metric and non-metric instances with one or several windows per node.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from routing_helpers import random_problem

from tourplanner.routing import Problem, check, kernels, solve
from tourplanner.routing.solver import _Search

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _arrivals(problem: Problem, tour: list[int]) -> list[int]:
    """Arrival time at every stop and finally at the end node (direct simulation)."""
    out, clock, prev = [], problem.day_start, problem.start
    for node in [*tour, problem.end]:
        arrival = clock + problem.travel[prev][node]
        out.append(arrival)
        if node != problem.end:
            start = min(
                (max(arrival, o) for o, c in problem.windows[node] if arrival <= c), default=arrival
            )
            clock, prev = start + problem.service[node], node
    return out


def _travel(problem: Problem, tour: list[int]) -> int:
    nodes = [problem.start, *tour, problem.end]
    return sum(problem.travel[a][b] for a, b in itertools.pairwise(nodes))


def _geometry(search: _Search) -> tuple[np.ndarray, ...]:
    """The arguments every kernel takes after the time arrays."""
    return search.Tn, search.d_np, search.wopen, search.wclose, search.nwin


def _move(search: _Search, kernel: Callable[..., bool]) -> bool:
    """Run or_opt/two_opt on tour 0 and take over the result as _Search does."""
    size = int(search.sizes[0])
    if not kernel(
        search.R[0], size, search.arr[0], search.dep[0], search.la[0], *_geometry(search)
    ):
        return False
    search.routes[0] = search.R[0, :size].tolist()
    search._recompute(0)
    return True


def _replace(search: _Search) -> bool:
    size = int(search.sizes[0])
    changed, search.spent = kernels.replace(
        search.R[0],
        size,
        search.arr[0],
        search.dep[0],
        search.la[0],
        search.near,
        search.visited,
        search.sscore_np,
        search.cost_np,
        search.spent,
        search.budget,
        search.must_np,
        *_geometry(search),
        search.p.day_start,
        search.p.day_end,
    )
    search.routes[0] = search.R[0, :size].tolist()
    return changed


def _state(seed: int, n: int, metric: bool, multi: bool) -> tuple[Problem, _Search]:
    """A search holding a feasible tour built by a short solve (with some stops dropped)."""
    rng = random.Random(seed)
    problem = random_problem(rng, n, metric=metric, multi=multi, costs=None)
    tour = solve(problem, time_limit=None, max_iterations=5, seed=seed).tours[0]
    tour = [v for v in tour if rng.random() < 0.7]
    if check(problem, [tour]):  # without the triangle inequality dropping may break it
        tour = []
    return problem, _with_tour(problem, tour, seed)


def _with_tour(problem: Problem, tour: list[int], seed: int = 0) -> _Search:
    """A one-tour search state holding ``tour``."""
    return _with_tours(problem, [tour], seed)


def _with_tours(problem: Problem, tours: list[list[int]], seed: int = 0) -> _Search:
    """A search state holding ``tours`` (one per row)."""
    search = _Search(problem, len(tours), random.Random(seed))
    for r, tour in enumerate(tours):
        search.routes[r] = [problem.start, *tour, problem.end]
        search.visited[tour] = True
        search._recompute(r)
    return search


def _best_insertion(search: _Search, cache: np.ndarray) -> tuple[int, int, int, list[int]]:
    alive = np.empty(len(search.cands), dtype=np.int64)
    node, tour, position, count = kernels.best_insertion(
        search.cands_np,
        search.visited,
        search.cost_np,
        search.budget,
        search.max_stops,
        search.R,
        search.sizes,
        search.arr,
        search.dep,
        search.la,
        *_geometry(search),
        search.weight,
        0.0,
        np.zeros(len(search.cands)),
        alive,
        cache,
        search.version,
        search.bound,
    )
    return node, tour, position, alive[:count].tolist()


@SETTINGS
@given(seed=st.integers(0, 10**6), n=st.integers(3, 16), metric=st.booleans(), multi=st.booleans())
def test_best_insertion_picks_the_best_feasible_ratio(
    seed: int, n: int, metric: bool, multi: bool
) -> None:
    problem, search = _state(seed, n, metric, multi)
    tour = search.routes[0][1:-1]
    before = _arrivals(problem, tour)
    ratios: dict[int, float] = {}
    for node in search.cands:
        if node in tour:
            continue
        for q in range(len(tour) + 1):
            trial = [*tour[:q], node, *tour[q:]]
            if check(problem, [trial]):
                continue
            shift = _arrivals(problem, trial)[q + 1] - before[q]
            assert shift >= search.least_shift[node]  # the bound the scan prunes with
            ratio = search.weight[node] / (shift if shift > 0 else 0.5)
            ratios[node] = max(ratios.get(node, 0.0), ratio)
    # Without a bound every candidate is evaluated; with one, only those that can still win.
    unbounded = np.full(problem.n, np.inf)
    for bound in (unbounded, search.bound):
        alive = np.empty(len(search.cands), dtype=np.int64)
        node, _, position, count = kernels.best_insertion(
            search.cands_np,
            search.visited,
            search.cost_np,
            search.budget,
            search.max_stops,
            search.R,
            search.sizes,
            search.arr,
            search.dep,
            search.la,
            *_geometry(search),
            search.weight,
            0.0,
            np.zeros(len(search.cands)),
            alive,
            np.full_like(search.insertion_cache, -1),
            search.version,
            bound,
        )
        left = set(alive[:count].tolist())
        if bound is unbounded:
            assert left == set(ratios)
        else:
            assert left >= set(ratios)  # skipped ones stay for the next scan
        if not ratios:
            assert node == -1
            continue
        assert abs(ratios[node] - max(ratios.values())) <= 1e-9 * max(ratios.values())
        assert check(problem, [[*tour[: position - 1], node, *tour[position - 1 :]]]) == []


def _neighbours(tour: list[int]) -> list[list[int]]:
    """Every or-opt (block of 1-3 moved) and 2-opt (segment reversed) variant of a tour."""
    out = []
    for length in (1, 2, 3):
        for q in range(len(tour) - length + 1):
            rest = tour[:q] + tour[q + length :]
            for pos in range(len(rest) + 1):
                if pos != q:
                    out.append(rest[:pos] + tour[q : q + length] + rest[pos:])
    for a in range(len(tour)):
        for b in range(a + 1, len(tour)):
            out.append(tour[:a] + tour[a : b + 1][::-1] + tour[b + 1 :])
    return out


@SETTINGS
@given(seed=st.integers(0, 10**6), n=st.integers(4, 24), metric=st.booleans(), multi=st.booleans())
def test_moves_save_travel_keep_feasibility_and_stop_only_at_local_optima(
    seed: int, n: int, metric: bool, multi: bool
) -> None:
    problem, search = _state(seed, n, metric, multi)
    while True:  # as in _Search.improve: until neither move applies
        tour = search.routes[0][1:-1]
        back = _arrivals(problem, tour)[-1]
        if not (_move(search, kernels.or_opt) or _move(search, kernels.two_opt)):
            break
        new = search.routes[0][1:-1]
        assert sorted(new) == sorted(tour) and check(problem, [new]) == []
        assert _travel(problem, new) < _travel(problem, tour)
        assert _arrivals(problem, new)[-1] <= back
    tour = search.routes[0][1:-1]
    back = _arrivals(problem, tour)[-1]
    better = [
        t
        for t in _neighbours(tour)
        if _travel(problem, t) < _travel(problem, tour)
        and not check(problem, [t])
        and _arrivals(problem, t)[-1] <= back
    ]
    assert better == []


def test_replace_takes_an_equal_score_stop_only_when_it_saves_time() -> None:
    # 0 = depot; 1 is far, 2 is near, both score 5: swapping 1 for 2 frees time.
    problem = Problem(
        travel=[[0, 20, 5], [20, 0, 18], [5, 18, 0]],
        service=[0, 5, 5],
        windows=[[(0, 100)], [(0, 100)], [(0, 100)]],
        scores=[0, 5, 5],
        day_end=100,
    )
    search = _with_tour(problem, [1])
    assert _replace(search) is True
    assert search.routes[0] == [0, 2, 0] and search.visited[2] and not search.visited[1]
    assert _replace(search) is False  # and never back: 1 costs more time


def test_replace_swaps_a_visited_stop_for_a_nearby_higher_score_one() -> None:
    # 0 = depot; 1 and 2 sit next to each other, the day fits only one of them.
    problem = Problem(
        travel=[[0, 10, 11], [10, 0, 1], [11, 1, 0]],
        service=[0, 5, 5],
        windows=[[(0, 30)], [(0, 30)], [(0, 30)]],
        scores=[0, 1, 9],
        day_end=30,
    )
    search = _with_tour(problem, [1])
    assert _replace(search) is True
    assert search.routes[0] == [0, 2, 0] and search.visited[2] and not search.visited[1]
    assert check(problem, [search.routes[0][1:-1]]) == []


@SETTINGS
@given(seed=st.integers(0, 10**6), n=st.integers(4, 16), metric=st.booleans(), multi=st.booleans())
def test_cached_insertions_match_a_fresh_scan_after_a_tour_changes(
    seed: int, n: int, metric: bool, multi: bool
) -> None:
    rng = random.Random(seed)
    problem = random_problem(rng, n, metric=metric, multi=multi, costs=None)
    tours = solve(problem, tours=2, time_limit=None, max_iterations=5, seed=seed).tours
    search = _with_tours(problem, [[v for v in t if rng.random() < 0.6] for t in tours], seed)
    if any(check(problem, [route[1:-1]]) for route in search.routes):
        return  # without the triangle inequality dropping stops may break a tour
    cache = search.insertion_cache
    first = _best_insertion(search, cache)
    assert first == _best_insertion(search, np.full_like(cache, -1))
    node, tour, position, _ = first
    if node < 0:
        return
    search.routes[tour].insert(position, node)
    search.visited[node] = True
    search._recompute(tour)  # bumps the version: only this tour is scanned again
    assert _best_insertion(search, cache) == _best_insertion(search, np.full_like(cache, -1))


def _swap_relocate(search: _Search) -> bool:
    changed, search.spent = kernels.swap_relocate(
        search.R,
        search.sizes,
        search.arr,
        search.dep,
        search.la,
        search.near,
        search.visited,
        search.sscore_np,
        search.cost_np,
        search.spent,
        search.budget,
        search.max_stops,
        search.must_np,
        *_geometry(search),
        search.p.day_start,
        search.p.day_end,
        search.version,
    )
    search.routes = [search.R[r, : search.sizes[r]].tolist() for r in range(search.m)]
    return changed


def test_swap_relocate_moves_a_visit_to_the_other_tour_to_free_a_slot() -> None:
    # Tour 0 holds 1; 2 fits only where 1 is; 1 also fits in tour 1 (next to 3), at a travel
    # cost larger than it saves, so no travel-saving relocation would move it.
    problem = Problem(
        travel=[
            [0, 10, 10, 10],
            [10, 0, 1, 30],
            [10, 1, 0, 30],
            [10, 30, 30, 0],
        ],
        service=[0, 5, 5, 5],
        windows=[[(0, 100)], [(10, 70)], [(10, 12)], [(0, 100)]],
        scores=[0, 4, 3, 6],
        day_end=100,
    )
    search = _with_tours(problem, [[1], [3]])
    assert _swap_relocate(search) is True
    assert search.routes == [[0, 2, 0], [0, 1, 3, 0]]
    assert search.visited[[1, 2, 3]].all()
    assert check(problem, [route[1:-1] for route in search.routes]) == []


@SETTINGS
@given(seed=st.integers(0, 10**6), n=st.integers(4, 18), metric=st.booleans(), multi=st.booleans())
def test_swap_relocate_keeps_tours_feasible_and_only_adds_stops(
    seed: int, n: int, metric: bool, multi: bool
) -> None:
    rng = random.Random(seed)
    problem = random_problem(rng, n, metric=metric, multi=multi, costs=None)
    tours = solve(problem, tours=3, time_limit=None, max_iterations=5, seed=seed).tours
    search = _with_tours(problem, tours, seed)
    before = {j for route in search.routes for j in route[1:-1]}
    changed = _swap_relocate(search)
    after = [j for route in search.routes for j in route[1:-1]]
    assert len(after) == len(set(after)) and before <= set(after)
    assert changed == (len(after) > len(before))
    assert sorted(np.flatnonzero(search.visited).tolist()) == sorted(after)
    assert check(problem, [route[1:-1] for route in search.routes]) == []


@SETTINGS
@given(
    seed=st.integers(0, 10**6),
    rows=st.integers(1, 14),
    count=st.integers(1, 4),
    money=st.sampled_from([3, 6, 1 << 40]),
)
def test_best_disjoint_finds_the_best_packing_of_pooled_tours(
    seed: int, rows: int, count: int, money: int
) -> None:
    import itertools

    rng = random.Random(seed)
    n = 70  # two bit words
    sets = [frozenset(rng.sample(range(n), rng.randint(1, 6))) for _ in range(rows)]
    scores = sorted((float(rng.randint(1, 20)) for _ in range(rows)), reverse=True)
    costs = [rng.randint(0, 3) for _ in range(rows)]
    kept = frozenset(rng.sample(range(n), 3))

    def bits(nodes: frozenset[int]) -> np.ndarray:
        out = np.zeros(2, dtype=np.uint64)
        for j in nodes:
            out[j >> 6] |= np.uint64(1 << (j & 63))
        return out

    masks = np.stack([bits(s) for s in sets])
    target = float(rng.randint(0, 30))
    found, picked, total, _ = kernels.best_disjoint(
        masks,
        np.array(scores),
        np.array(costs, dtype=np.int64),
        bits(kept),
        count,
        target,
        money,
        1 << 30,
    )
    best = target
    for combo in itertools.combinations(range(rows), count):
        union = frozenset().union(*(sets[q] for q in combo))
        if (
            len(union) == sum(len(sets[q]) for q in combo)
            and not union & kept
            and sum(costs[q] for q in combo) <= money
        ):
            best = max(best, sum(scores[q] for q in combo))
    assert found == (best > target)
    if found:
        assert total == best == sum(scores[q] for q in picked)
        union = [j for q in picked for j in sets[q]]
        assert len(union) == len(set(union)) and not set(union) & kept
        assert sum(costs[q] for q in picked) <= money


def _exchange_tails(search: _Search) -> bool:
    changed = kernels.exchange_tails(
        search.R,
        search.sizes,
        search.arr,
        search.dep,
        search.la,
        search.max_stops,
        *_geometry(search),
        search.p.day_start,
        search.p.day_end,
        search.version,
        search.crossed,
    )
    search.routes = [search.R[r, : search.sizes[r]].tolist() for r in range(search.m)]
    return changed


def test_exchange_tails_uncrosses_two_tours() -> None:
    # 1 sits next to 2 and 3 next to 4, but tour 0 is 1, 4 and tour 1 is 3, 2: swapping the
    # tails saves 58 ticks of travel, which no move inside one tour can.
    far, near = 30, 1
    travel = [[0, 10, 10, 10, 10]] + [[10] + [0] * 4 for _ in range(4)]
    for a, b in itertools.permutations(range(1, 5), 2):
        travel[a][b] = near if {a, b} in ({1, 2}, {3, 4}) else far
    problem = Problem(
        travel=travel,
        service=[0, 5, 5, 5, 5],
        windows=[[(0, 200)]] * 5,
        scores=[0, 1, 1, 1, 1],
        day_end=200,
    )
    search = _with_tours(problem, [[1, 4], [3, 2]])
    assert _exchange_tails(search) is True
    assert sorted(sorted(route[1:-1]) for route in search.routes) == [[1, 2], [3, 4]]
    assert sum(_travel(problem, route[1:-1]) for route in search.routes) == 2 * (20 + near)
    assert check(problem, [route[1:-1] for route in search.routes]) == []
    assert _exchange_tails(search) is False  # uncrossed, and the pair is now cached as clean


def _improving_tail_exchanges(problem: Problem, routes: list[list[int]]) -> int:
    """Brute force: feasible tail swaps between two tours that reduce their travel."""
    found = 0
    for a, b in itertools.combinations(range(len(routes)), 2):
        ta, tb = routes[a][1:-1], routes[b][1:-1]
        before = _travel(problem, ta) + _travel(problem, tb)
        for i in range(len(ta) + 1):
            for j in range(len(tb) + 1):
                na, nb = ta[:i] + tb[j:], tb[:j] + ta[i:]
                if problem.max_stops is not None and max(len(na), len(nb)) > problem.max_stops:
                    continue
                if _travel(problem, na) + _travel(problem, nb) >= before:
                    continue
                if not check(problem, [na]) and not check(problem, [nb]):
                    found += 1
    return found


@SETTINGS
@given(seed=st.integers(0, 10**6), n=st.integers(4, 16), metric=st.booleans(), multi=st.booleans())
def test_exchange_tails_finds_an_improving_swap_iff_one_exists(
    seed: int, n: int, metric: bool, multi: bool
) -> None:
    rng = random.Random(seed)
    problem = random_problem(rng, n, metric=metric, multi=multi, costs=None)
    tours = solve(problem, tours=3, time_limit=None, max_iterations=3, seed=seed).tours
    # Shuffle the stops between tours where that stays feasible, so that crossings exist.
    flat = [j for t in tours for j in t]
    rng.shuffle(flat)
    mixed: list[list[int]] = [[], [], []]
    for j in flat:
        r = rng.randrange(3)
        trial = mixed[r] + [j]
        cap = problem.max_stops is None or len(trial) <= problem.max_stops
        if cap and not check(problem, [trial]):
            mixed[r] = trial
    search = _with_tours(problem, mixed, seed)
    expected = _improving_tail_exchanges(problem, search.routes)
    before = sorted(j for route in search.routes for j in route[1:-1])
    moved = sum(_travel(problem, route[1:-1]) for route in search.routes)
    changed = _exchange_tails(search)
    assert changed == (expected > 0)
    assert sorted(j for route in search.routes for j in route[1:-1]) == before
    assert check(problem, [route[1:-1] for route in search.routes]) == []
    if changed:
        assert sum(_travel(problem, route[1:-1]) for route in search.routes) < moved
