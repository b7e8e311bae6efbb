"""Independent feasibility checker: re-simulates tours from the raw :class:`Problem` data.

It deliberately shares no code with the solver (no latest-arrival arrays, no preprocessing of
windows), so a bug in the solver's incremental bookkeeping shows up as a violation here.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from .problem import Problem, Stop


def _earliest_start(problem: Problem, node: int, arrival: int) -> int | None:
    """Earliest feasible service start at ``node`` for an arrival time, or None."""
    duration = problem.service[node]
    for open_, close in sorted(problem.windows[node]):
        start = max(arrival, open_)
        if start > close:
            continue
        if problem.finish_within_window and start + duration > close:
            continue
        return start
    return None


def simulate(problem: Problem, tour: Sequence[int]) -> tuple[list[Stop], int, list[str]]:
    """Simulate one tour from ``day_start`` at the start node.

    Returns the stops, the arrival time at the end node and a list of violations
    (empty when the tour is feasible). O(len(tour) * windows per node).
    """
    errors: list[str] = []
    stops: list[Stop] = []
    here, clock = problem.start, problem.day_start
    for node in tour:
        arrival = clock + problem.travel[here][node]
        start = _earliest_start(problem, node, arrival)
        if start is None:
            errors.append(f"node {node}: arrival {arrival} fits no window {problem.windows[node]}")
            start = arrival
        end = start + problem.service[node]
        stops.append(Stop(node, arrival, start - arrival, start, end))
        here, clock = node, end
    back = clock + problem.travel[here][problem.end]
    if back > problem.day_end:
        errors.append(f"returns at {back} after day end {problem.day_end}")
    return stops, back, errors


def check(
    problem: Problem, tours: Sequence[Sequence[int]], score: float | None = None
) -> list[str]:
    """Return every violated constraint of a multi-tour solution (empty list = feasible).

    Checks windows, day budget, repeated/terminal/excluded nodes, must-visit nodes,
    ``max_stops`` and ``max_travel`` per tour, the money budget and, if given, the claimed score.
    """
    seen: list[int] = [v for tour in tours for v in tour]
    errors = _node_errors(problem, seen)
    for t, tour in enumerate(tours):
        if problem.max_stops is not None and len(tour) > problem.max_stops:
            errors.append(f"tour {t} has {len(tour)} stops > {problem.max_stops}")
        if problem.max_travel is not None:
            route = [problem.start, *tour, problem.end]
            moved = sum(problem.travel[a][b] for a, b in itertools.pairwise(route))
            if moved > problem.max_travel:
                errors.append(f"tour {t} travels {moved} > {problem.max_travel}")
        errors.extend(f"tour {t}: {e}" for e in simulate(problem, tour)[2])
    if problem.budget is not None and problem.costs is not None:
        spent = sum(problem.costs[v] for v in seen)
        if spent > problem.budget:
            errors.append(f"cost {spent} exceeds budget {problem.budget}")
    if score is not None and abs(sum(problem.scores[v] for v in set(seen)) - score) > 1e-6:
        errors.append(f"claimed score {score} differs from the visited nodes' scores")
    return errors


def _node_errors(problem: Problem, seen: list[int]) -> list[str]:
    """Repeated, unknown, terminal, excluded and missing must-visit nodes."""
    errors: list[str] = []
    if len(seen) != len(set(seen)):
        errors.append("a node is visited twice")
    for v in seen:
        if not 0 <= v < problem.n or v in (problem.start, problem.end):
            errors.append(f"node {v} is not a visitable node")
        elif v in problem.excluded:
            errors.append(f"excluded node {v} is visited")
    missing = set(problem.must_visit) - set(seen)
    if missing:
        errors.append(f"must-visit nodes {sorted(missing)} are missing")
    return errors
