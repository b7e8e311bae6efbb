"""Data types of the route engine: the problem handed to the solver and the solution it returns.

Everything is integer "ticks" (minutes for the planner, 0.1 or 0.01 units for the OPTW benchmark)
so that feasibility at window boundaries is exact. The types are plain dataclasses with no
dependency on the web stack, the database or the travel-time source.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

Window = tuple[int, int]


class RoutingError(ValueError):
    """Base class of the errors raised by the route engine."""


class InvalidProblem(RoutingError):
    """The problem data is inconsistent (matrix size, negative durations, ...)."""


class MustVisitInfeasible(RoutingError):
    """Some must-visit nodes cannot be fitted into any feasible route.

    Attributes
    ----------
    nodes : tuple of int
        The must-visit node indexes that are missing from the best route found.
    """

    def __init__(self, nodes: Sequence[int], names: Sequence[str] | None = None) -> None:
        self.nodes = tuple(sorted(nodes))
        label = [names[i] for i in self.nodes] if names else list(self.nodes)
        super().__init__(f"cannot fit the must-visit stops {label} into the day")


@dataclass(frozen=True)
class Problem:
    """An orienteering problem with (multiple) time windows, on integer-indexed nodes.

    Parameters
    ----------
    travel : n x n integer matrix
        ``travel[i][j]`` is the travel time in ticks from node ``i`` to node ``j``: nested
        sequences or a numpy integer array (the planner's, cut from its cached matrix; the
        solver then copies it once instead of row by row).
    service : length-n integers
        Visit duration of every node (ignored for the start and end nodes).
    windows : length-n lists of ``(open, close)``
        Opening windows of each node for the day. Service must START inside one window
        (waiting is allowed); with ``finish_within_window`` it must also END inside it.
        A node with an empty list cannot be visited.
    scores : length-n numbers
        Profit of visiting the node; the solver maximises their sum.
    start, end : int
        Indexes of the start and end nodes of every tour (may differ, e.g. hotel and station).
    day_start, day_end : int
        Every tour leaves ``start`` at ``day_start`` and must reach ``end`` by ``day_end``.
    costs : length-n integers, optional
        Money cost of each node (e.g. VND); checked against ``budget``.
    budget : int, optional
        Maximum sum of ``costs`` over all tours; ``None`` means no money limit.
    must_visit, excluded : sets of int
        Nodes that must appear in some tour / must not appear at all.
    max_stops : int, optional
        Maximum number of visited nodes per tour.
    finish_within_window : bool
        If true, ``start of service + service <= close`` of the window used. Off for OPTW.
    names : length-n strings, optional
        Labels used in error messages.
    travel_weight : float
        Score given up per tick of travel. The solver maximises ``sum(scores) -
        travel_weight * total travel`` (ties: the earlier return wins). 0 (the default, the
        OPTW benchmarks) maximises the score alone. With a weight, a stop is kept only when
        its score is worth the detour it adds, and of two days of equal score the one with
        less travel wins.
    max_travel : int, optional
        Most travel ticks per tour (a hard limit like the day's end).
    min_stops : int
        With a travel weight: a tour with fewer visits ranks below every tour that has them,
        so a day trip keeps its best stop even when the drive out costs more than it scores
        (the first drive is the price of going at all; the weight prices the rest). Not a
        hard constraint: when no stop fits the tour stays empty.
    """

    travel: Sequence[Sequence[int]]
    service: Sequence[int]
    windows: Sequence[Sequence[Window]]
    scores: Sequence[float]
    start: int = 0
    end: int = 0
    day_start: int = 0
    day_end: int = 0
    costs: Sequence[int] | None = None
    budget: int | None = None
    must_visit: frozenset[int] = frozenset()
    excluded: frozenset[int] = frozenset()
    max_stops: int | None = None
    finish_within_window: bool = False
    names: Sequence[str] | None = None
    travel_weight: float = 0.0
    max_travel: int | None = None
    min_stops: int = 0

    @property
    def n(self) -> int:
        """Number of nodes, including the start and end nodes."""
        return len(self.service)

    def tour_travel(self, tour: Sequence[int]) -> int:
        """Travel ticks of one tour (visited nodes, start and end excluded). O(len(tour))."""
        route = [self.start, *tour, self.end]
        return sum(self.travel[a][b] for a, b in itertools.pairwise(route))

    def objective(self, tours: Sequence[Sequence[int]]) -> float:
        """What the solver maximises: the score minus ``travel_weight`` x total travel."""
        score = sum(self.scores[v] for tour in tours for v in tour)
        if not self.travel_weight:
            return float(score)
        return score - self.travel_weight * sum(self.tour_travel(t) for t in tours)

    def _validate_travel(self) -> None:
        """An n x n matrix of non-negative ticks; a numpy matrix is checked as a whole."""
        n = self.n
        if getattr(self.travel, "shape", None) is not None:
            if tuple(self.travel.shape) != (n, n):  # type: ignore[attr-defined]
                raise InvalidProblem("travel must be an n x n matrix")
            if bool((self.travel < 0).any()):  # type: ignore[operator]
                raise InvalidProblem("travel and service times must be non-negative")
            return
        if len(self.travel) != n or any(len(row) != n for row in self.travel):
            raise InvalidProblem("travel must be an n x n matrix")
        if any(t < 0 for row in self.travel for t in row):
            raise InvalidProblem("travel and service times must be non-negative")

    def validate(self) -> None:
        """Raise :class:`InvalidProblem` if the arrays disagree or hold impossible values."""
        n = self.n
        self._validate_travel()
        for name in ("windows", "scores"):
            if len(getattr(self, name)) != n:
                raise InvalidProblem(f"{name} must have one entry per node")
        if self.costs is not None and len(self.costs) != n:
            raise InvalidProblem("costs must have one entry per node")
        if not (0 <= self.start < n and 0 <= self.end < n):
            raise InvalidProblem("start and end must be node indexes")
        if self.day_end < self.day_start:
            raise InvalidProblem("day_end is before day_start")
        if any(d < 0 for d in self.service):
            raise InvalidProblem("travel and service times must be non-negative")
        if (
            self.travel_weight < 0
            or self.min_stops < 0
            or (self.max_travel is not None and self.max_travel < 0)
        ):
            raise InvalidProblem("travel_weight, max_travel and min_stops must be non-negative")
        bad = (self.must_visit & self.excluded) | (self.must_visit & {self.start, self.end})
        if bad:
            raise InvalidProblem(f"nodes {sorted(bad)} are must-visit and excluded/terminal")


@dataclass(frozen=True)
class Stop:
    """One visit of a tour: times in ticks. ``end`` is the departure time."""

    node: int
    arrival: int
    wait: int
    start: int
    end: int


@dataclass
class Solution:
    """A set of tours, their schedules and score.

    Attributes
    ----------
    tours : list of list of int
        Visited node indexes of each tour in order, start and end nodes excluded.
    score : float
        Sum of the scores of the visited nodes.
    schedule : list of list of Stop
        Per tour, the arrival/wait/start/end of each visited node.
    returns : list of int
        Per tour, the arrival time at the end node.
    cost : int
        Sum of the costs of the visited nodes.
    alternatives : list of Solution
        Clearly different good solutions (only on the top-level solution).
    iterations : int
        Number of local-search iterations performed.
    travel : list of int
        Per tour, the travel ticks (start to end).
    objective : float
        ``score - travel_weight * sum(travel)``: what the solver maximised.
    """

    tours: list[list[int]]
    score: float
    schedule: list[list[Stop]] = field(default_factory=list)
    returns: list[int] = field(default_factory=list)
    cost: int = 0
    alternatives: list[Solution] = field(default_factory=list)
    iterations: int = 0
    travel: list[int] = field(default_factory=list)
    objective: float = 0.0

    @property
    def visited(self) -> frozenset[int]:
        """All visited nodes over all tours."""
        return frozenset(v for tour in self.tours for v in tour)
