"""Iterated local search for the (team) orienteering problem with multiple time windows.

The algorithm follows Vansteenwegen, Souffriau, Vanden Berghe and Van Oudheusden (2009),
"Iterated local search for the team orienteering problem with time windows", Computers &
Operations Research 36:3281-3290, with these changes:

* feasibility of an insertion is tested in O(1) with a *latest arrival* array per tour (the
  latest time one may arrive at a position so that the rest of the tour stays feasible). It is
  the ``maxShift`` of the paper written as an absolute time, which stays exact when a node has
  several opening windows: arriving no later than the latest feasible start is always enough;
* after the insertion phase a travel-saving local search (2-opt and or-opt of blocks of 1-3
  visits inside a tour, checked incrementally) frees time, then insertion runs again;
* the insertion priority score**e / added time draws e from {1, 2, 3} and, every other
  iteration, multiplies by seeded random noise, so rebuilds after a shake differ;
* a *replace* move swaps a visited node for one of its NEAR closest unvisited candidates with
  a higher score, or an equal score reaching the next stop earlier, when the tour stays
  feasible (O(1) check against the latest arrival of the next node);
* with several tours, inter-tour moves: *swap-relocate* (a visit moves to another tour and
  an unvisited node takes its slot) and *tail exchange* (2-opt*: two tours swap their tails
  when that saves travel), both O(1) per move against the latest arrivals; one tour is
  shaken per iteration and the tours met at local optima are pooled and recombined;
* the insertion scan skips candidates whose priority bound (weight over the least time any
  insertion of them can add) cannot beat the best found so far;
* after RESTORE_AFTER iterations without improvement the search returns to the best solution
  (every third time followed by removing half of each tour); after RESTART_AFTER it starts
  again from empty tours, keeping the overall best; an elite pool of distinct visited sets
  supplies the alternatives;
* with a ``travel_weight`` or a ``max_travel`` (the day planner) the objective is the score
  minus the weighted travel: every local optimum ends with a *trim* that removes the stop
  whose score is worth least against the travel it adds while that gains (or while a tour
  travels more than ``max_travel``), and the exact small-tour DP keeps Pareto labels of
  (departure, travel) instead of one earliest departure. Without them nothing changes.

The local optimum of an iteration (insertion rounds, or-opt, 2-opt, replace) runs in the
compiled kernels of :mod:`.kernels`; this module keeps the state, the shake and the bookkeeping.
All times are integers. The public entry point is :func:`solve`.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from dataclasses import replace

import numpy as np

from . import kernels
from .problem import MustVisitInfeasible, Problem, Solution, Stop

#: Upper bound of the multiplicative noise on insertion priorities (every other iteration).
NOISE = 1.0
#: Exponents of the score in the insertion priority, drawn per iteration.
EXPONENTS = (1.0, 2.0, 2.0, 3.0)
#: Size of the nearest-candidate lists used by the replace move.
NEAR = 12
#: Stale iterations before returning to the best solution (every third time: half shake).
RESTORE_AFTER = 100
#: Stale iterations after which a run restarts from empty tours (the overall best is kept).
RESTART_AFTER = 3000
#: Tours kept by the tour pool for recombination (several tours only), best scores first.
TOUR_POOL = 1000
#: Step limit of each search for disjoint pooled tours (one per subset of tours swapped).
RECOMBINE_STEPS = 20_000
#: Share of the shakes that remove the visits worth least per minute they take (a random
#: count up to 1/WORST_DIV of the shortest tour) instead of a run of consecutive visits.
WORST_SHARE = 0.5
WORST_DIV = 2
#: Largest problem for which the insertion scan's bounds are computed (O(n^3) set-up).
LEAST_SHIFT_MAX_NODES = 600
NEG = -(1 << 62)
INF = 1 << 62


def _effective_windows(problem: Problem, node: int) -> list[tuple[int, int]]:
    """Windows for the START of service, clipped to the day and merged. O(w log w)."""
    duration = problem.service[node]
    out: list[tuple[int, int]] = []
    for open_, close in sorted(problem.windows[node]):
        if problem.finish_within_window:
            close -= duration
        open_, close = max(open_, problem.day_start), min(close, problem.day_end)
        if open_ > close:
            continue
        if out and open_ <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], close))
        else:
            out.append((open_, close))
    return out


def _first_start(wins: list[tuple[int, int]], arrival: int) -> int:
    """Earliest start >= arrival inside the windows, or NEG. O(w).

    Only the exact dynamic programmes use it: they run in Python over window lists, where a
    call into the compiled :func:`.kernels.first_start` per step would cost more than the
    step (everything else uses the kernels)."""
    for open_, close in wins:
        if arrival <= close:
            return arrival if arrival > open_ else open_
    return NEG


class _Search:
    """Mutable search state: tours as node lists with start/end sentinels plus time arrays.

    ``routes[r]`` is mirrored in row ``R[r, :sizes[r]]`` for the compiled kernels. For tour
    ``r`` and position ``p``: ``arr[r, p]`` arrival, ``dep[r, p]`` departure (start of service
    + duration), ``la[r, p]`` latest feasible arrival. ``la`` and ``dep`` are non-decreasing
    along a tour, which the insertion scan exploits.
    """

    def __init__(
        self,
        problem: Problem,
        tours: int,
        rng: random.Random,
        travel: tuple[list[list[int]], np.ndarray] | None = None,
    ) -> None:
        self.p = problem
        self.m = tours
        self.rng = rng
        n = problem.n
        # ``travel``: the lists and array of a search on the same matrix (banned re-solves).
        if travel is not None:
            self.T, self.Tn = travel
        elif isinstance(problem.travel, np.ndarray):
            self.Tn = problem.travel.astype(np.int64, copy=False).reshape(n, n)
            self.T = self.Tn.tolist()
        else:
            self.T = [list(row) for row in problem.travel]
            self.Tn = np.array(self.T, dtype=np.int64).reshape(n, n)
        self.d = list(problem.service)
        self.d[problem.start] = 0
        self.d[problem.end] = 0
        self.wins = [_effective_windows(problem, j) for j in range(n)]
        self.cost = list(problem.costs) if problem.costs is not None else [0] * n
        self.budget = problem.budget if problem.budget is not None else INF
        self.max_stops = problem.max_stops if problem.max_stops is not None else INF
        self.must = frozenset(problem.must_visit)
        self.w = float(problem.travel_weight)
        self.max_travel = problem.max_travel if problem.max_travel is not None else INF
        # Only the planner's objective needs the trim and the travel term; the OPTW
        # benchmarks (weight 0, no travel limit) keep the pure score search.
        self.weighted = self.w > 0 or problem.max_travel is not None
        # A tour short of min_stops loses more than any tour can gain or lose otherwise (its
        # travel is at most the day's length).
        self.min_stops = problem.min_stops
        big = sum(abs(s) for s in problem.scores) + 1.0
        self.sscore = [
            float(s) + (big if j in self.must else 0.0) for j, s in enumerate(problem.scores)
        ]
        self.penalty = (
            sum(abs(s) for s in self.sscore)
            + self.w * max(0, problem.day_end - problem.day_start)
            + 1.0
        )
        # Array copies for the compiled kernels: windows padded to the same count per node.
        self.d_np = np.array(self.d, dtype=np.int64)
        width = max(1, max(len(w) for w in self.wins))
        self.nwin = np.array([len(w) for w in self.wins], dtype=np.int64)
        self.wopen = np.zeros((n, width), dtype=np.int64)
        self.wclose = np.full((n, width), NEG, dtype=np.int64)
        for j, wins in enumerate(self.wins):
            for k, (open_, close) in enumerate(wins):
                self.wopen[j, k], self.wclose[j, k] = open_, close
        self.cands = [j for j in range(n) if self._candidate(j)]
        self.rng_state = np.array([rng.getrandbits(63) | 1], dtype=np.uint64)
        # near[v]: the NEAR candidates closest to v there and back (ties by index), -1 pads.
        self.near = np.full((n, NEAR), -1, dtype=np.int64)
        self.cands_np = cand_arr = np.array(self.cands, dtype=np.int64)
        if len(cand_arr):
            both_ways = (self.Tn + self.Tn.T)[:, cand_arr]
            both_ways[cand_arr, np.arange(len(cand_arr))] = INF  # never a node itself
            order = cand_arr[np.argsort(both_ways, axis=1, kind="stable")]
            width = min(NEAR, len(cand_arr) - 1) if len(cand_arr) > 1 else 0
            self.near[:, :width] = order[:, :width]
        self.sscore_np = np.array(self.sscore)
        self.must_np = np.zeros(n, dtype=bool)
        self.must_np[list(self.must)] = True
        self.routes = [[problem.start, problem.end] for _ in range(tours)]
        # Per tour (row): the route, its arrival, departure and latest-arrival times; the
        # first sizes[r] entries are valid. Kept in step with self.routes by _recompute.
        self.R = np.zeros((tours, n + 2), dtype=np.int64)
        self.sizes = np.zeros(tours, dtype=np.int64)
        self.arr = np.zeros((tours, n + 2), dtype=np.int64)
        self.dep = np.zeros((tours, n + 2), dtype=np.int64)
        self.la = np.zeros((tours, n + 2), dtype=np.int64)
        self.visited = np.zeros(n, dtype=bool)
        # version[r] changes with every change of tour r; the kernels key their caches on it
        # (best insertion per node and tour, tours already free of travel-saving moves).
        self.version = np.zeros(tours, dtype=np.int64)
        self.settled = np.full(tours, -1, dtype=np.int64)
        self.crossed = np.full((tours, tours, 2), -1, dtype=np.int64)
        self.insertion_cache = np.full((n, tours, 3), -1, dtype=np.int64)
        self.cost_np = np.array(self.cost, dtype=np.int64)
        self.spent = 0
        self.noise = 0.0
        self._weights: dict[float, tuple[np.ndarray, np.ndarray]] = {}
        # O(n^3): about 2 ms at 300 nodes, 20 ms at 600; past that the scan goes unbounded
        # (a bound of 0 added time never prunes a candidate that could win).
        if n <= LEAST_SHIFT_MAX_NODES:
            self.least_shift = kernels.least_shift(self.Tn, self.d_np).astype(float)
        else:
            self.least_shift = np.zeros(n)
        # What every compiled tour check reads, in the kernels' order: travel times, visit
        # durations, the windows, and the day's bounds.
        self.timing = (
            self.Tn,
            self.d_np,
            self.wopen,
            self.wclose,
            self.nwin,
            problem.day_start,
            problem.day_end,
        )
        self.set_exponent(2.0)
        for r in range(tours):
            self._recompute(r)

    # ----------------------------------------------------------------- set-up helpers
    def _candidate(self, j: int) -> bool:
        """True if node j can be visited alone in a tour (and is allowed). O(w)."""
        p = self.p
        if j in (p.start, p.end) or j in p.excluded or not self.wins[j]:
            return False
        if self.sscore[j] <= 0 or self.cost[j] > self.budget or self.max_stops < 1:
            return False
        s = kernels.first_start(
            self.wopen, self.wclose, self.nwin, j, p.day_start + self.T[p.start][j]
        )
        return s != NEG and s + self.d[j] + self.T[j][p.end] <= p.day_end

    # ----------------------------------------------------------------- time arrays
    def _recompute(self, r: int) -> None:
        """Refresh the arrays of tour r from ``self.routes[r]``. O(L)."""
        route = self.routes[r]
        size = len(route)
        self.R[r, :size] = route
        self.sizes[r] = size
        self.version[r] += 1
        kernels.recompute(
            self.R[r],
            size,
            *self.timing,
            self.arr[r],
            self.dep[r],
            self.la[r],
        )

    # ----------------------------------------------------------------- insertion
    def set_exponent(self, exponent: float) -> None:
        """Insertion priority becomes score**exponent / added time (2 in the paper); ``bound``
        is each node's priority over the least time its insertion can add (the insertion
        scan skips nodes whose bound cannot win). O(1) once per exponent."""
        pair = self._weights.get(exponent)
        if pair is None:
            weights = np.array([s**exponent if s > 0 else 0.0 for s in self.sscore])
            pair = (weights, weights / np.maximum(self.least_shift, 0.5))
            self._weights[exponent] = pair
        self.weight, self.bound = pair

    # ----------------------------------------------------------------- perturbation
    def shake(self, start: int, count: int, which: list[int] | None = None) -> None:
        """Remove ``count`` consecutive visits from position ``start`` (mod length) in each
        tour of ``which`` (default: every tour)."""
        for r in range(self.m) if which is None else which:
            self._shake_tour(r, False, start, count)

    def shake_worst(self, count: int, which: list[int] | None = None) -> None:
        """Remove from each tour of ``which`` (default: every tour) the ``count`` visits with
        the lowest score per minute of tour time they take (travel detour plus visit), ranked
        with random noise."""
        for r in range(self.m) if which is None else which:
            self._shake_tour(r, True, 0, count)

    def _shake_tour(self, r: int, worst: bool, start: int, count: int) -> None:
        """One tour's shake in the compiled :func:`.kernels.shake_tour` (must-visit nodes stay;
        a tour that would break a window is kept). O(L log L)."""
        size = int(self.sizes[r])
        new_size, freed = kernels.shake_tour(
            self.R[r],
            size,
            worst,
            start,
            count,
            self.must_np,
            self.visited,
            self.cost_np,
            self.sscore_np,
            *self.timing,
            self.rng_state,
        )
        if new_size == size:
            return
        self.spent -= freed
        self.routes[r] = self.R[r, :new_size].tolist()
        self._recompute(r)

    def _drop(self, r: int, drop: set[int]) -> None:
        """Remove the visits at positions ``drop`` of tour r in the compiled
        :func:`.kernels.drop_visits` (must-visit nodes stay; a tour that would break a
        window, possible without the triangle inequality, is kept). O(L)."""
        size = int(self.sizes[r])
        mask = np.zeros(size, dtype=bool)
        mask[list(drop)] = True
        new_size, freed = kernels.drop_visits(
            self.R[r],
            size,
            mask,
            self.must_np,
            self.visited,
            self.cost_np,
            *self.timing,
        )
        if new_size == size:
            return
        self.spent -= freed
        self.routes[r] = self.R[r, :new_size].tolist()
        self._recompute(r)

    # ----------------------------------------------------------------- local search
    def local_optimum(self) -> None:
        """Insert greedily, then alternate travel-saving moves, replace and insertion
        (:func:`.kernels.local_optimum`; the tours change in place). O(k * N * L)."""
        self.spent = kernels.local_optimum(
            self.cands_np,
            self.visited,
            self.cost_np,
            self.spent,
            self.budget,
            self.max_stops,
            self.R,
            self.sizes,
            self.arr,
            self.dep,
            self.la,
            *self.timing,
            self.weight,
            self.noise,
            self.rng_state,
            self.near,
            self.sscore_np,
            self.must_np,
            self.insertion_cache,
            self.version,
            self.settled,
            self.crossed,
            self.bound,
        )
        self.routes = [self.R[r, : self.sizes[r]].tolist() for r in range(self.m)]
        if self.weighted:
            for r in range(self.m):
                self.trim(r)

    def travel_of(self, route: list[int]) -> int:
        """Travel ticks of a route with its sentinels. O(L)."""
        T = self.T
        return sum(T[a][b] for a, b in itertools.pairwise(route))

    def trim(self, r: int) -> None:
        """Remove visits of tour r while that raises ``score - w * travel`` or the tour
        travels more than ``max_travel``; must-visit nodes stay. O(L^2) per removal.

        The insertion kernels add every feasible stop with a positive score; this is the
        descent step of the weighted objective. Each round removes the visit with the lowest
        score per tick of travel it adds (ties: the earliest position), so the result is
        deterministic.
        """
        T = self.T
        while True:
            route = self.routes[r]
            over = self.travel_of(route) > self.max_travel
            best_q, best_ratio = -1, math.inf
            for q in range(1, len(route) - 1):
                j = route[q]
                if j in self.must:
                    continue
                saved = T[route[q - 1]][j] + T[j][route[q + 1]] - T[route[q - 1]][route[q + 1]]
                if saved <= 0 or (
                    not over
                    and (self.sscore[j] >= self.w * saved or len(route) - 2 <= self.min_stops)
                ):
                    continue
                ratio = self.sscore[j] / saved
                if ratio < best_ratio:
                    best_q, best_ratio = q, ratio
            if best_q < 0:
                return
            before = len(route)
            self._drop(r, {best_q})
            if len(self.routes[r]) == before:  # dropping it breaks a window: keep the tour
                return

    # ----------------------------------------------------------------- snapshots
    def value(self) -> tuple[float, int]:
        """Search objective: (score incl. must-visit bonus minus weighted travel, minus total
        tour time). A tour over ``max_travel`` (only must-visits left) ranks below all."""
        total, back = kernels.state_value(self.R, self.sizes, self.sscore_np, self.arr)
        if self.weighted:
            moved = [self.travel_of(route) for route in self.routes]
            if max(moved) > self.max_travel:
                return float(NEG), back
            total -= self.w * sum(moved)
            total -= self.penalty * sum(max(0, self.min_stops - len(r) + 2) for r in self.routes)
        return total, back

    def snapshot(self) -> list[list[int]]:
        """Copy of the tours with sentinels."""
        return [list(route) for route in self.routes]

    def restore(self, routes: list[list[int]]) -> None:
        """Replace the current tours by a snapshot."""
        old = self.routes
        self.routes = [list(route) for route in routes]
        self.visited = np.zeros(self.p.n, dtype=bool)
        self.spent = 0
        for r, route in enumerate(self.routes):
            for j in route[1:-1]:
                self.visited[j] = True
                self.spent += self.cost[j]
            if route != old[r]:  # an unchanged tour keeps its arrays and cached moves
                self._recompute(r)


class _ElitePool:
    """Best distinct visited-sets seen during the search (for alternatives)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: dict[frozenset[int], tuple[tuple[float, int], list[list[int]]]] = {}

    def offer(self, value: tuple[float, int], routes: list[list[int]]) -> None:
        """Keep ``routes`` if its visited set is new and good enough. O(L + size)."""
        if self.size == 0 or value[0] <= NEG:  # NEG: a tour over max_travel
            return
        key = frozenset(j for route in routes for j in route[1:-1])
        old = self.items.get(key)
        if old is not None and old[0] >= value:
            return
        if old is None and len(self.items) >= self.size:
            worst = min(self.items, key=lambda k: self.items[k][0])
            if self.items[worst][0] >= value:
                return
            del self.items[worst]
        self.items[key] = (value, [list(route) for route in routes])

    def ranked(self) -> list[tuple[frozenset[int], list[list[int]]]]:
        """Entries from best to worst (deterministic order)."""
        order = sorted(self.items.items(), key=lambda kv: (kv[1][0], sorted(kv[0])), reverse=True)
        return [(key, routes) for key, (_, routes) in order]


class _TourPool:
    """Distinct single tours met at local optima, for recombination (several tours only).

    A tour is feasible on its own, so any node-disjoint set of pooled tours is a feasible
    solution (given the budget). Tours found while the other tours were different can
    combine into a better whole than any solution visited: :meth:`recombine` swaps any
    subset of a solution's tours, up to all of them, for pooled ones.
    """

    def __init__(self, search: _Search) -> None:
        self.search = search
        self.recorded = np.full(search.m, -1, dtype=np.int64)
        self.words = (search.p.n + 63) // 64
        # Random 64-bit keys per node (fixed: the pool does not depend on the seed) whose sum
        # identifies a node set; a collision only means a tour is not pooled.
        self.zobrist = np.random.default_rng(12345).integers(
            1, 1 << 63, size=search.p.n, dtype=np.uint64
        )
        # hash of the node set -> (score, cost, node bits as uint64 words, route)
        self.tours: dict[int, tuple[float, int, np.ndarray, list[int]]] = {}
        self.arrays: tuple[np.ndarray, np.ndarray, np.ndarray, list[list[int]]] | None = None

    def _bits(self, nodes: frozenset[int] | list[int]) -> np.ndarray:
        """The node set as uint64 words (bit j of word j // 64). O(L)."""
        bits = np.zeros(self.words, dtype=np.uint64)
        for j in nodes:
            bits[j >> 6] |= np.uint64(1 << (j & 63))
        return bits

    def record(self) -> None:
        """Add the tours of the search state that changed since the last call (nothing with
        one tour: there is nothing to recombine). O(L)."""
        search = self.search
        if search.m == 1:
            return
        for r in range(search.m):
            if search.version[r] == self.recorded[r]:
                continue
            self.recorded[r] = search.version[r]
            size = int(search.sizes[r])
            if size <= 2:
                continue
            key, score, cost, bits = kernels.tour_summary(
                search.R[r], size, self.zobrist, search.sscore_np, search.cost_np, self.words
            )
            key = int(key)
            if key in self.tours:
                continue
            self.tours[key] = (score, cost, bits, search.R[r, :size].tolist())
            self.arrays = None
        if len(self.tours) > 2 * TOUR_POOL:
            keep = sorted(self.tours.items(), key=lambda kv: -kv[1][0])[:TOUR_POOL]
            self.tours = dict(keep)

    def recombine(self, routes: list[list[int]]) -> list[list[int]] | None:
        """The best solution found that keeps some tours of ``routes`` and takes the others
        (one to all of them) from the pool, if it scores more; else None.

        Subsets are tried by size, the gain found so far raising the bar for the next; each
        search is a compiled depth-first search over the pooled tours in score order
        (:func:`.kernels.best_disjoint`) with a step limit. O(2^m * RECOMBINE_STEPS)."""
        search = self.search
        if search.m == 1 or not self.tours:
            return None
        if self.arrays is None:
            ranked = sorted(self.tours.values(), key=lambda t: -t[0])
            self.arrays = (
                np.stack([t[2] for t in ranked]),
                np.array([t[0] for t in ranked]),
                np.array([t[1] for t in ranked], dtype=np.int64),
                [t[3] for t in ranked],
            )
        masks, scores, costs, pooled = self.arrays
        own = [
            (sum(search.sscore[j] for j in r[1:-1]), sum(search.cost[j] for j in r[1:-1]))
            for r in routes
        ]
        bits = [self._bits(r[1:-1]) for r in routes]
        gain, choice = 0.0, None
        for drop in range(1, search.m + 1):
            for out in itertools.combinations(range(search.m), drop):
                kept = [r for r in range(search.m) if r not in out]
                mask = np.zeros(self.words, dtype=np.uint64)
                for r in kept:
                    mask |= bits[r]
                money = min(search.budget - sum(own[r][1] for r in kept), INF)
                target = sum(own[r][0] for r in out) + gain
                found, rows, total, _ = kernels.best_disjoint(
                    masks, scores, costs, mask, drop, target, money, RECOMBINE_STEPS
                )
                if found:
                    gain = total - sum(own[r][0] for r in out)
                    choice = [routes[r] for r in kept] + [pooled[q] for q in rows]
        return choice


def _difference(a: frozenset[int], b: frozenset[int]) -> float:
    """Share of stops that differ: 1 - |a & b| / max(|a|, |b|)."""
    size = max(len(a), len(b))
    return 1.0 - len(a & b) / size if size else 0.0


def _build_solution(search: _Search, routes: list[list[int]], iterations: int) -> Solution:
    """Turn internal tours into a :class:`Solution` with its schedule. O(total stops)."""
    p = search.p
    tours, schedule, returns = [], [], []
    for route in routes:
        # The times come from the kernels' own simulation (kernels.recompute).
        size = len(route)
        row = np.array(route, dtype=np.int64)
        arr, dep, la = (np.zeros(size, dtype=np.int64) for _ in range(3))
        kernels.recompute(
            row,
            size,
            search.Tn,
            search.d_np,
            search.wopen,
            search.wclose,
            search.nwin,
            p.day_start,
            p.day_end,
            arr,
            dep,
            la,
        )
        stops = []
        for q, j in enumerate(route[1:-1], 1):
            arrival, end = int(arr[q]), int(dep[q])
            start = end - search.d[j]
            stops.append(Stop(j, arrival, start - arrival, start, end))
        tours.append(route[1:-1])
        schedule.append(stops)
        returns.append(int(arr[size - 1]))
    visited = [j for tour in tours for j in tour]
    moved = [search.travel_of(route) for route in routes]
    score = sum(p.scores[j] for j in visited)
    return Solution(
        tours=tours,
        score=score,
        schedule=schedule,
        returns=returns,
        cost=sum(search.cost[j] for j in visited),
        iterations=iterations,
        travel=moved,
        objective=score - search.w * sum(moved) if search.w else float(score),
    )


def _pick_alternatives(
    pool: _ElitePool, best: frozenset[int], k: int, min_difference: float
) -> list[list[list[int]]]:
    """Greedy choice of up to k pool entries differing from the best and from each other."""
    chosen: list[frozenset[int]] = [best]
    out: list[list[list[int]]] = []
    for key, routes in pool.ranked():
        if len(out) >= k:
            break
        if all(_difference(key, other) >= min_difference for other in chosen):
            chosen.append(key)
            out.append(routes)
    return out


def solve(
    problem: Problem,
    *,
    tours: int = 1,
    time_limit: float | None = 1.0,
    seed: int = 0,
    max_iterations: int | None = None,
    alternatives: int = 0,
    min_difference: float = 0.3,
) -> Solution:
    """Maximise the total score of ``tours`` feasible tours (OPTW for 1 tour, TOPTW for more).

    Parameters
    ----------
    problem : Problem
        The instance; see :class:`~tourplanner.routing.problem.Problem`.
    tours : int
        Number of tours (days or vehicles); all share start, end and day bounds.
    time_limit : float or None
        Wall-clock seconds for the whole call. ``None`` means only ``max_iterations`` stops it.
    seed : int
        Seed of the perturbation random generator.
    max_iterations : int or None
        Cap on local-search iterations. With a cap that is reached before the time limit the
        result depends only on ``(problem, tours, seed, max_iterations)``: use it for
        reproducible runs and tests.
    alternatives : int
        Number of alternative solutions wanted in ``Solution.alternatives``.
    min_difference : float
        Minimal share of stops by which each alternative differs from the best solution and
        from the other alternatives (``1 - |A & B| / max(|A|, |B|)``).

    Returns
    -------
    Solution
        Always feasible. ``alternatives`` holds up to ``alternatives`` feasible solutions.

    Raises
    ------
    MustVisitInfeasible
        If the search finds no route containing every must-visit node.

    Notes
    -----
    One iteration costs O(k * N * L): k re-insertions after a shake, each scanning N
    candidates over L positions (usually far fewer thanks to the window bounds).
    """
    problem.validate()
    if max_iterations is None and time_limit is None:
        raise ValueError("give a time_limit or max_iterations")
    kernels.warm_up()  # compiling is start-up, not search time
    clock = time.perf_counter()
    deadline = clock + time_limit if time_limit is not None else float("inf")
    cap = max_iterations if max_iterations is not None else 1 << 62
    search = _Search(problem, max(1, tours), random.Random(seed))
    # A wide pool keeps solutions different enough from the best; none is kept if unused.
    pool = _ElitePool(size=200 if alternatives > 0 else 0)
    main_deadline = clock + 0.6 * (deadline - clock) if alternatives > 0 else deadline
    best_routes, iterations = _run(search, pool, main_deadline, cap)
    best_key = frozenset(j for route in best_routes for j in route[1:-1])
    missing = search.must - best_key
    if not missing and any(search.travel_of(r) > search.max_travel for r in best_routes):
        missing = search.must  # the must-visits alone travel more than max_travel
    if missing:
        raise MustVisitInfeasible(sorted(missing), problem.names)
    solution = _build_solution(search, best_routes, iterations)
    if alternatives > 0:
        picked = _pick_alternatives(pool, best_key, alternatives, min_difference)
        if len(picked) < alternatives:
            picked += _banned_alternatives(
                search,
                best_key,
                picked,
                alternatives - len(picked),
                min_difference,
                deadline,
                min(cap, 200),
                seed,
            )
        # A re-solve with banned stops may beat the main run: the best one leads (the
        # pairwise differences are symmetric, so the set stays valid).
        ranked = sorted(
            [solution] + [_build_solution(search, routes, iterations) for routes in picked],
            key=lambda sol: (sol.objective, -sum(sol.returns)),
            reverse=True,
        )
        solution, solution.alternatives = ranked[0], ranked[1:]
    return solution


def _run(
    search: _Search, pool: _ElitePool, deadline: float, cap: int
) -> tuple[list[list[int]], int]:
    """Exact DP for small single tours, the iterated local search otherwise."""
    if search.m == 1 and len(search.cands) <= EXACT_MAX_CANDIDATES:
        if search.weighted:
            return _exact_single_weighted(search, pool), 0
        return _exact_single(search, pool), 0
    return _iterate(search, pool, deadline, cap)


def _banned_alternatives(
    search: _Search,
    best: frozenset[int],
    picked: list[list[list[int]]],
    wanted: int,
    min_difference: float,
    deadline: float,
    cap: int,
    seed: int,
) -> list[list[list[int]]]:
    """Alternatives forced to differ: re-solve with a rotating share of the best stops banned.

    Used when the elite pool holds too few different solutions (small or tight days).
    """
    chosen = [best, *(frozenset(j for r in routes for j in r[1:-1]) for routes in picked)]
    stops = sorted(best - search.must)
    need = max(1, math.ceil(min_difference * len(best)))
    out: list[list[list[int]]] = []
    for attempt in range(3 * wanted):
        if len(out) >= wanted or need > len(stops) or time.perf_counter() >= deadline:
            break
        ban = frozenset(stops[(attempt * need + q) % len(stops)] for q in range(need))
        sub = replace(search.p, excluded=search.p.excluded | ban)
        share = (deadline - time.perf_counter()) / max(1, wanted - len(out))
        trial = _Search(sub, search.m, random.Random(seed + attempt + 1), (search.T, search.Tn))
        routes, _ = _run(trial, _ElitePool(0), time.perf_counter() + share, cap)
        key = frozenset(j for r in routes for j in r[1:-1])
        if (
            key
            and search.must <= key
            and all(_difference(key, other) >= min_difference for other in chosen)
        ):
            chosen.append(key)
            out.append(routes)
    return out


#: Single-tour problems with at most this many candidate nodes are solved exactly.
EXACT_MAX_CANDIDATES = 10


def _exact_single(search: _Search, pool: _ElitePool) -> list[list[int]]:  # noqa: C901
    """Exact single-tour optimum by dynamic programming over (visited set, last node).

    Earliest departure dominates (waiting is free and start windows are monotone), so one
    label per state suffices. O(2^k * k^2) for k candidates, about 50 ms for k = 10; used for
    the small day plans of the real-world planner. Every feasible set is offered to ``pool``.
    """
    p, cands, T, d, wins = search.p, search.cands, search.T, search.d, search.wins
    k = len(cands)
    full = 1 << k
    dep = [[INF] * k for _ in range(full)]
    parent = [[-1] * k for _ in range(full)]
    cost = [0] * full
    for mask in range(1, full):
        low = (mask & -mask).bit_length() - 1
        cost[mask] = cost[mask & (mask - 1)] + search.cost[cands[low]]
    for i, c in enumerate(cands):
        s = _first_start(wins[c], p.day_start + T[p.start][c])
        if s != NEG:
            dep[1 << i][i] = s + d[c]
    limit = min(search.max_stops, k)
    best_value, best_route = (0.0, -p.day_start), [p.start, p.end]
    for mask in range(1, full):
        size = mask.bit_count()
        if cost[mask] > search.budget:
            continue
        row = dep[mask]
        value_of_set = sum(search.sscore[cands[i]] for i in range(k) if mask >> i & 1)
        best_end, best_last = INF, -1
        for i in range(k):
            t = row[i]
            if t == INF:
                continue
            back = t + T[cands[i]][p.end]
            if back <= p.day_end and back < best_end:
                best_end, best_last = back, i
            if size >= limit:
                continue
            for j in range(k):
                if mask >> j & 1:
                    continue
                c = cands[j]
                s = _first_start(wins[c], t + T[cands[i]][c])
                if s != NEG and s + d[c] < dep[mask | 1 << j][j]:
                    dep[mask | 1 << j][j] = s + d[c]
                    parent[mask | 1 << j][j] = i
        if best_last < 0:
            continue
        route = _unwind(parent, mask, best_last, cands, p.start, p.end)
        value = (value_of_set, -best_end)
        if all(m in route for m in search.must):
            pool.offer(value, [route])
        if value > best_value:
            best_value, best_route = value, route
    return [best_route]


def _exact_single_weighted(search: _Search, pool: _ElitePool) -> list[list[int]]:  # noqa: C901
    """Exact single-tour optimum of ``score - w * travel`` within ``max_travel``.

    As :func:`_exact_single`, but a state keeps the Pareto set of (departure, travel) labels:
    an earlier departure never hurts what follows and travel adds up, so a label beaten on
    both is dropped; the others may each lead to the optimum. O(2^k * k^2 * P) for P labels
    per state (a few on day plans).
    """
    p, cands, T, d, wins = search.p, search.cands, search.T, search.d, search.wins
    k = len(cands)
    full = 1 << k
    # labels[mask][i]: list of (departure, travel, parent last index, parent label index)
    labels: list[list[list[tuple[int, int, int, int]]]] = [
        [[] for _ in range(k)] for _ in range(full)
    ]
    cost = [0] * full
    for mask in range(1, full):
        low = (mask & -mask).bit_length() - 1
        cost[mask] = cost[mask & (mask - 1)] + search.cost[cands[low]]
    for i, c in enumerate(cands):
        s = _first_start(wins[c], p.day_start + T[p.start][c])
        if s != NEG and T[p.start][c] <= search.max_travel:
            labels[1 << i][i].append((s + d[c], T[p.start][c], -1, -1))
    limit = min(search.max_stops, k)
    empty = float(NEG) if search.must else -search.penalty * search.min_stops
    best_value: tuple[float, int] = (empty, -p.day_start)
    best_route = [p.start, p.end]
    for mask in range(1, full):
        if cost[mask] > search.budget:
            continue
        size = mask.bit_count()
        value_of_set = sum(search.sscore[cands[i]] for i in range(k) if mask >> i & 1)
        value_of_set -= search.penalty * max(0, search.min_stops - size)
        best_here: tuple[float, int] | None = None
        best_label = (-1, -1)
        for i in range(k):
            for li, (t, moved, _, _) in enumerate(labels[mask][i]):
                if t >= INF:  # dominated
                    continue
                back_leg = T[cands[i]][p.end]
                if t + back_leg <= p.day_end and moved + back_leg <= search.max_travel:
                    value = (value_of_set - search.w * (moved + back_leg), -(t + back_leg))
                    if best_here is None or value > best_here:
                        best_here, best_label = value, (i, li)
                if size >= limit:
                    continue
                for j in range(k):
                    if mask >> j & 1:
                        continue
                    c = cands[j]
                    s = _first_start(wins[c], t + T[cands[i]][c])
                    if s == NEG or moved + T[cands[i]][c] > search.max_travel:
                        continue
                    _add_label(labels[mask | 1 << j][j], (s + d[c], moved + T[cands[i]][c], i, li))
        if best_here is None:
            continue
        route = _unwind_labels(labels, mask, *best_label, cands, p.start, p.end)
        if all(m in route for m in search.must):
            pool.offer(best_here, [route])
            if best_here > best_value:
                best_value, best_route = best_here, route
    return [best_route]


def _add_label(labels: list[tuple[int, int, int, int]], new: tuple[int, int, int, int]) -> None:
    """Insert a (departure, travel, ...) label unless one is as good on both. O(P)."""
    for old in labels:
        if old[0] <= new[0] and old[1] <= new[1]:
            return
    # Dominated labels are marked, not removed, so that parent label indexes stay valid.
    for q, old in enumerate(labels):
        if new[0] <= old[0] and new[1] <= old[1] and old[0] < INF:
            labels[q] = (INF, INF, old[2], old[3])
    labels.append(new)


def _unwind_labels(
    labels: list[list[list[tuple[int, int, int, int]]]],
    mask: int,
    last: int,
    label: int,
    cands: list[int],
    start: int,
    end: int,
) -> list[int]:
    """Rebuild the node sequence of a Pareto label from its parent pointers. O(k)."""
    order = []
    while last >= 0:
        order.append(cands[last])
        _, _, parent, parent_label = labels[mask][last][label]
        mask, last, label = mask & ~(1 << last), parent, parent_label
    return [start, *reversed(order), end]


def _unwind(
    parent: list[list[int]], mask: int, last: int, cands: list[int], start: int, end: int
) -> list[int]:
    """Rebuild the node sequence of a DP state from its parent pointers. O(k)."""
    order = []
    while last >= 0:
        order.append(cands[last])
        mask, last = mask & ~(1 << last), parent[mask][last]
    return [start, *reversed(order), end]


def _iterate(
    search: _Search, pool: _ElitePool, deadline: float, cap: int
) -> tuple[list[list[int]], int]:
    """The ILS loop (shake sizes and positions as in Vansteenwegen et al.). Returns best tours.

    A run that has not improved its own best for RESTART_AFTER iterations starts again from
    empty tours with a random insertion exponent and noise; the overall best is kept.
    """
    must_ok = len(search.must)
    tours = _TourPool(search)
    search.local_optimum()
    best_value = overall_value = search.value()
    best = overall = search.snapshot()
    pool.offer(best_value, best)
    shake_size, shake_pos, stale, it = 1, 0, 0, 0
    rng = search.rng
    while it < cap and time.perf_counter() < deadline:
        it += 1
        search.noise = NOISE * rng.random() if it % 2 else 0.0
        search.set_exponent(rng.choice(EXPONENTS))
        if stale >= RESTART_AFTER:
            search.restore([[r[0], r[-1]] for r in best])
            best_value, stale = (NEG, 0), 0
        else:
            _shake(search, shake_pos, shake_size)
        shake_pos, shake_size = _next_shake(search, shake_pos, shake_size)
        search.local_optimum()
        tours.record()
        value = search.value()
        routes = search.routes
        if pool.size and (
            not must_ok or sum(1 for r in routes for j in r[1:-1] if j in search.must) == must_ok
        ):
            pool.offer(value, routes)
        if value > best_value:
            best_value, best = value, search.snapshot()
            shake_size, stale = 1, 0
            if value > overall_value:
                overall_value, overall = value, best
        else:
            stale += 1
            if stale % RESTORE_AFTER == 0:
                combined = _recombined(search, tours, best)
                # Better than best by construction without a travel weight; with one, the
                # trim may give back more than the pooled tours gained.
                if combined is not None and combined[0] > best_value:
                    best_value, best = combined
                    shake_size, stale = 1, 0
                    if best_value > overall_value:
                        overall_value, overall = best_value, best
                    continue
                search.restore(best)
                if (stale // RESTORE_AFTER) % 3 == 1:
                    search.shake(rng.randrange(1 << 16), max(1, min(len(r) - 2 for r in best) // 2))
                shake_pos, shake_size = rng.randrange(1 << 16), rng.randint(1, 3)
    return overall, it


def _recombined(
    search: _Search, tours: _TourPool, best: list[list[int]]
) -> tuple[tuple[float, int], list[list[int]]] | None:
    """Swap one or two tours of ``best`` for pooled ones when that scores more, and take the
    local optimum of the result at once: (value, tours) of the new state, or None."""
    combined = tours.recombine(best)
    if combined is None:
        return None
    search.restore(combined)
    search.local_optimum()
    tours.record()
    return search.value(), search.snapshot()


def _shake(search: _Search, position: int, size: int) -> None:
    """WORST_SHARE of the time remove low-value visits, else ``size`` from ``position``.

    With several tours only one, drawn at random, is shaken: the others keep their local
    optimum (and their cached moves), the rebuild may still fill any tour, and one iteration
    costs a fraction of a shake of every tour (pr, 2-4 tours, 1 s of CPU, 3 seeds: mean
    0.981 / 0.973 / 0.967 -> 0.982 / 0.982 / 0.974).
    """
    which = [search.rng.randrange(search.m)] if search.m > 1 else None
    if search.rng.random() < WORST_SHARE:
        smallest = min(len(route) - 2 for route in search.routes)
        search.shake_worst(search.rng.randint(1, max(1, smallest // WORST_DIV)), which)
    else:
        search.shake(position, size, which)


def _next_shake(search: _Search, position: int, size: int) -> tuple[int, int]:
    """The paper's schedule: the position advances by the size, the size grows by one and
    wraps to 1 at the length of the shortest tour."""
    position, size = position + size, size + 1
    smallest = min(len(route) - 2 for route in search.routes)
    if size >= max(smallest, 2):
        size = 1
    if smallest:
        position %= smallest
    return position, size
