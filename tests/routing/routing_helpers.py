"""Shared helpers of the routing tests: random instances and an exhaustive reference solver."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

from tourplanner.routing import Problem
from tourplanner.routing.check import check


def random_problem(
    rng: random.Random, n: int, *, metric: bool = True, multi: bool = False, **overrides: object
) -> Problem:
    """n nodes (node 0 = start = end) in a 100 x 100 square, horizon 0..400."""
    if metric:
        pts = [(rng.uniform(0, 100), rng.uniform(0, 100)) for _ in range(n)]
        travel = [[int(math.dist(a, b)) for b in pts] for a in pts]
    else:
        travel = [[0 if i == j else rng.randint(1, 90) for j in range(n)] for i in range(n)]
    windows: list[list[tuple[int, int]]] = [[(0, 400)]]
    for _ in range(1, n):
        opens = sorted(rng.sample(range(0, 380), 4 if multi else 2))
        pairs = list(zip(opens[::2], opens[1::2], strict=True))
        windows.append([(o, c + rng.randint(0, 20)) for o, c in pairs])
    fields: dict[str, object] = {
        "travel": travel,
        "service": [0] + [rng.randint(0, 30) for _ in range(n - 1)],
        "windows": windows,
        "scores": [0] + [rng.randint(1, 20) for _ in range(n - 1)],
        "costs": [0] + [rng.randint(0, 50) for _ in range(n - 1)],
        "day_start": 0,
        "day_end": 400,
    }
    fields.update(overrides)
    return Problem(**fields)  # type: ignore[arg-type]


def _extensions(problem: Problem, tour: list[int], used: set[int]) -> Iterator[list[int]]:
    """All feasible-prefix extensions of a tour (depth-first). Window failures are pruned:
    a later start never helps. The return leg is checked by the caller."""
    yield tour
    if problem.max_stops is not None and len(tour) >= problem.max_stops:
        return
    for v in range(problem.n):
        if v in used or v in (problem.start, problem.end) or v in problem.excluded:
            continue
        candidate = [*tour, v]
        errors = check_prefix(problem, candidate)
        if not errors:
            used.add(v)
            yield from _extensions(problem, candidate, used)
            used.discard(v)


def check_prefix(problem: Problem, tour: list[int]) -> list[str]:
    """Window violations only (no return-time, must-visit or budget check)."""
    relaxed = Problem(
        **{
            **problem.__dict__,
            "day_end": 10**9,
            "must_visit": frozenset(),
            "budget": None,
            "max_travel": None,  # the return leg of a prefix may be longer than a detour
        }
    )
    return check(relaxed, [tour])


def brute_force(problem: Problem) -> float:
    """Optimal single-tour score by enumeration; -1 if no tour satisfies the must-visits."""
    best = -1.0
    for tour in _extensions(problem, [], set()):
        if not check(problem, [tour]):
            best = max(best, float(sum(problem.scores[v] for v in tour)))
    return best


def brute_force_tours(problem: Problem, tours: int) -> float:
    """Optimal score of up to ``tours`` node-disjoint tours by enumeration (no budget or
    must-visit: every feasible tour is scored alone, then disjoint sets are combined)."""
    sets: dict[frozenset[int], float] = {}
    for tour in _extensions(problem, [], set()):
        if tour and not check(problem, [tour]):
            sets[frozenset(tour)] = float(sum(problem.scores[v] for v in tour))
    ranked = sorted(sets.items(), key=lambda kv: -kv[1])

    def best(start: int, used: frozenset[int], left: int) -> float:
        if left == 0:
            return 0.0
        out = 0.0
        for i in range(start, len(ranked)):
            nodes, score = ranked[i]
            if score * left <= out:
                break  # sorted: no later combination of ``left`` tours can do better
            if not nodes & used:
                out = max(out, score + best(i + 1, used | nodes, left - 1))
        return out

    return best(0, frozenset(), tours)


def brute_force_objective(problem: Problem) -> float:
    """Optimal single-tour ``score - travel_weight * travel`` by enumeration, tours over
    ``max_travel`` refused (the checker says so), tours with ``min_stops`` visits first;
    -inf if no tour satisfies the must-visits."""
    best = (-1, -math.inf)
    for tour in _extensions(problem, [], set()):
        if not check(problem, [tour]):
            best = max(best, (min(len(tour), problem.min_stops), problem.objective([tour])))
    return best[1]
