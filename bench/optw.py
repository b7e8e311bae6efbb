"""OPTW benchmark: our solver against Google OR-Tools and VROOM at the same time limit.

Run with ``make bench`` or ``python bench/optw.py [--time-limit 1] [--only 'pr*']``. Every solver
gets the same integer-tick instance (travel = Euclidean distance rounded down, FORMAT.md) and
every returned route, ours and the peers', is re-verified by ``tourplanner.routing.check``; an
infeasible peer route scores 0. Peers are optional (``requirements-bench.txt``): a missing one is
reported and skipped. Solvers run sequentially in this process, single-threaded.
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tourplanner.routing.check import check  # noqa: E402
from tourplanner.routing.optw import Instance, load  # noqa: E402
from tourplanner.routing.problem import Problem  # noqa: E402
from tourplanner.routing.solver import solve  # noqa: E402

Peer = Callable[[Problem, float, int], list[list[int]]]


def default_instances() -> Path:
    """``OPTW_DIR`` or ``<parent of the repo>/shared/bench/optw``."""
    default = Path(__file__).resolve().parents[2] / "shared/bench/optw"
    return Path(os.environ.get("OPTW_DIR") or default)


def ours(problem: Problem, seconds: float, tours: int = 1, seed: int = 0) -> list[list[int]]:
    """Our iterated local search."""
    return solve(problem, tours=tours, time_limit=seconds, seed=seed).tours


def use_cpu_clock() -> None:
    """Give our solver ``seconds`` of this process's CPU time instead of wall time (the
    peers keep their own wall-clock limits): on a machine shared with other jobs, CPU time
    compares runs of our solver with each other far more steadily."""
    from types import SimpleNamespace

    from tourplanner.routing import solver

    solver.time = SimpleNamespace(perf_counter=time.process_time)  # type: ignore[assignment]


def ortools_peer(problem: Problem, seconds: float, tours: int = 1) -> list[list[int]]:
    """OR-Tools routing: ``tours`` vehicles, drop penalties = score, time dimension, guided
    local search."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = problem.n
    manager = pywrapcp.RoutingIndexManager(n, tours, problem.start)
    routing = pywrapcp.RoutingModel(manager)

    def transit(i: int, j: int) -> int:
        a, b = manager.IndexToNode(i), manager.IndexToNode(j)
        return problem.travel[a][b] + (problem.service[a] if a != problem.start else 0)

    callback = routing.RegisterTransitCallback(transit)
    routing.SetArcCostEvaluatorOfAllVehicles(callback)
    horizon = problem.day_end
    routing.AddDimension(callback, horizon, horizon, False, "time")
    dim = routing.GetDimensionOrDie("time")
    # Travel is the arc cost; a dropped node costs its score times a factor that makes one
    # point of score worth more than any tour length, i.e. score first, travel as tie-break.
    factor = sum(max(row) for row in problem.travel) + 1
    for node in range(n):
        if node == problem.start:
            continue
        index = manager.NodeToIndex(node)
        open_, close = problem.windows[node][0]
        dim.CumulVar(index).SetRange(open_, close)
        routing.AddDisjunction([index], int(problem.scores[node]) * factor)
    for vehicle in range(tours):
        dim.CumulVar(routing.Start(vehicle)).SetRange(problem.day_start, problem.day_start)
        dim.CumulVar(routing.End(vehicle)).SetRange(problem.day_start, problem.day_end)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(int(seconds * 1000))
    found = routing.SolveWithParameters(params)
    if found is None:
        return [[] for _ in range(tours)]
    out = []
    for vehicle in range(tours):
        tour, index = [], routing.Start(vehicle)
        while not routing.IsEnd(index):
            node = manager.IndexToNode(index)
            if node != problem.start:
                tour.append(node)
            index = found.Value(routing.NextVar(index))
        out.append(tour)
    return out


def vroom_peer(problem: Problem, seconds: float, tours: int = 1) -> list[list[int]]:
    """VROOM via pyvroom: ``tours`` vehicles, job priority = score (clamped to VROOM's
    0..100)."""
    from datetime import timedelta

    import vroom

    data = vroom.Input()
    data.set_durations_matrix(profile="car", matrix_input=[list(r) for r in problem.travel])
    for vehicle in range(tours):
        data.add_vehicle(
            vroom.Vehicle(
                id=vehicle,
                start=problem.start,
                end=problem.end,
                time_window=vroom.TimeWindow(problem.day_start, problem.day_end),
            )
        )
    for node in range(problem.n):
        if node in (problem.start, problem.end):
            continue
        open_, close = problem.windows[node][0]
        data.add_job(
            vroom.Job(
                id=node,
                location=node,
                default_service=problem.service[node],
                priority=max(0, min(100, int(problem.scores[node]))),
                time_windows=[vroom.TimeWindow(open_, close)],
            )
        )
    result = data.solve(exploration_level=5, nb_threads=1, timeout=timedelta(seconds=seconds))
    routes = result.routes
    out: list[list[int]] = [[] for _ in range(tours)]
    for vehicle, job, kind in zip(routes["vehicle_id"], routes["id"], routes["type"], strict=True):
        if kind == "job":
            out[int(vehicle)].append(int(job))
    return out


def load_peers() -> dict[str, Peer | None]:
    """Importable peers by name (None when the package is missing)."""
    peers: dict[str, Peer | None] = {}
    for name, module, fn in (("ortools", "ortools", ortools_peer), ("vroom", "vroom", vroom_peer)):
        try:
            __import__(module)
            peers[name] = fn
        except ImportError:
            print(f"note: {name} is not importable; pip install -r requirements-bench.txt")
            peers[name] = None
    return peers


def verified_score(problem: Problem, tours: list[list[int]]) -> float:
    """Score of routes that pass the independent checker, else 0."""
    if check(problem, tours):
        return 0.0
    return float(sum(problem.scores[v] for tour in tours for v in tour))


def read_best_known(folder: Path) -> dict[tuple[str, int], float]:
    """``best_known.csv`` as {(instance, tours): score}; empty if the folder has none."""
    if not (folder / "best_known.csv").exists():
        return {}
    with open(folder / "best_known.csv", newline="") as handle:
        return {
            (row["instance"], int(row["tours"])): float(row["best_known_score"])
            for row in csv.DictReader(handle)
        }


def run_single(
    instances: list[Instance],
    best: dict[tuple[str, int], float],
    seconds: float,
    with_peers: bool = True,
) -> None:
    """Table 1: every solver on every instance with one tour."""
    peers = load_peers() if with_peers else {}
    names = ["ours", *[p for p, fn in peers.items() if fn is not None]]
    ratios: dict[str, list[float]] = {name: [] for name in names}
    print(f"\nOPTW, 1 tour, {seconds:g} s per instance and solver (ratio = score / best-known)")
    print(f"{'instance':<9}{'best':>6}" + "".join(f"{n:>9}{'ratio':>7}" for n in names))
    for inst in instances:
        ref = best.get((inst.name, 1))
        cells = []
        for name in names:
            began = time.perf_counter()
            if name == "ours":
                tours = ours(inst.problem, seconds)
            else:
                fn = peers[name]
                assert fn is not None
                tours = fn(inst.problem, seconds, 1)
            score = verified_score(inst.problem, tours)
            _ = time.perf_counter() - began
            ratio = score / ref if ref else float("nan")
            ratios[name].append(ratio)
            cells.append(f"{score:>9g}{ratio:>7.3f}")
        print(f"{inst.name:<9}{ref or 0:>6g}" + "".join(cells), flush=True)
    for label, agg in (("mean", _mean), ("worst", _worst)):
        print(f"{label:<15}" + "".join(f"{'':>9}{agg(ratios[n]):>7.3f}" for n in names))


def _known(ratios: list[float]) -> list[float]:
    """Ratios of instances that have a best-known score (others are NaN)."""
    return [r for r in ratios if not math.isnan(r)] or [math.nan]


def _mean(ratios: list[float]) -> float:
    known = _known(ratios)
    return sum(known) / len(known)


def _worst(ratios: list[float]) -> float:
    return min(_known(ratios))


def run_seeds(
    instances: list[Instance], best: dict[tuple[str, int], float], seconds: float, seeds: int
) -> None:
    """Table 3: our solver, one tour, seeds 0..seeds-1: how much the result depends on luck."""
    print(f"\nOPTW, ours, 1 tour, {seconds:g} s, seeds 0-{seeds - 1} (ratio to best-known)")
    print(f"{'instance':<9}{'best':>6}{'min':>9}{'mean':>9}{'max':>9}")
    every: list[float] = []
    for inst in instances:
        ref = best.get((inst.name, 1))
        scores = [
            verified_score(inst.problem, ours(inst.problem, seconds, seed=seed))
            for seed in range(seeds)
        ]
        ratios = [score / ref if ref else math.nan for score in scores]
        every += ratios
        print(
            f"{inst.name:<9}{ref or 0:>6g}{min(ratios):>9.3f}{_mean(ratios):>9.3f}"
            f"{max(ratios):>9.3f}",
            flush=True,
        )
    print(f"{'all runs':<15}{_worst(every):>9.3f}{_mean(every):>9.3f}")


def run_tours(
    instances: list[Instance],
    best: dict[tuple[str, int], float],
    seconds: float,
    counts: list[int],
    with_peers: bool = True,
) -> None:
    """Table 2: TOPTW on the pr instances, every solver given the same number of tours
    (vehicles); one column group per tour count."""
    chosen = [i for i in instances if i.name.startswith("pr")]
    if not chosen or not counts:
        return
    peers = load_peers() if with_peers else {}
    names = ["ours", *[p for p, fn in peers.items() if fn is not None]]
    ratios: dict[tuple[int, str], list[float]] = {(m, n): [] for m in counts for n in names}
    print(f"\nTOPTW, pr instances, {seconds:g} s per instance and solver (ratio to best-known)")
    print(f"{'':<9}" + "".join(f"{f'm={m}':<{7 * len(names)}}" for m in counts))
    print(f"{'instance':<9}" + "".join(f"{n[:6]:>7}" for _ in counts for n in names))
    for inst in chosen:
        cells = []
        for m in counts:
            ref = best.get((inst.name, m))
            for name in names:
                if name == "ours":
                    tours = ours(inst.problem, seconds, tours=m)
                else:
                    fn = peers[name]
                    assert fn is not None
                    tours = fn(inst.problem, seconds, m)
                score = verified_score(inst.problem, tours)
                ratio = score / ref if ref else float("nan")
                ratios[(m, name)].append(ratio)
                cells.append(f"{ratio:>7.3f}")
        print(f"{inst.name:<9}" + "".join(cells), flush=True)
    for label, agg in (("mean", _mean), ("worst", _worst)):
        print(
            f"{label:<9}" + "".join(f"{agg(ratios[(m, n)]):>7.3f}" for m in counts for n in names)
        )


def run_tour_seeds(
    instances: list[Instance],
    best: dict[tuple[str, int], float],
    seconds: float,
    counts: list[int],
    seeds: int,
) -> None:
    """Table 4: ours on the pr instances with 2-4 tours, seeds 0..seeds-1 (min/mean/max)."""
    chosen = [i for i in instances if i.name.startswith("pr")]
    if not chosen or not counts:
        return
    print(f"\nTOPTW, ours, {seconds:g} s, seeds 0-{seeds - 1}: min / mean / max ratio")
    print(f"{'instance':<9}" + "".join(f"{f'm={m}':>21}" for m in counts))
    every: dict[int, list[float]] = {m: [] for m in counts}
    for inst in chosen:
        cells = []
        for m in counts:
            ref = best.get((inst.name, m))
            ratios = [
                verified_score(inst.problem, ours(inst.problem, seconds, tours=m, seed=seed)) / ref
                if ref
                else math.nan
                for seed in range(seeds)
            ]
            every[m] += ratios
            cells.append(f"{min(ratios):>7.3f}{_mean(ratios):>7.3f}{max(ratios):>7.3f}")
        print(f"{inst.name:<9}" + "".join(cells), flush=True)
    print(
        f"{'all runs':<9}"
        + "".join(f"{_worst(every[m]):>7.3f}{_mean(every[m]):>7.3f}{'':>7}" for m in counts)
    )


def main(argv: list[str] | None = None) -> int:
    """Parse options and print both tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=Path, default=default_instances())
    parser.add_argument("--time-limit", type=float, default=1.0)
    parser.add_argument("--only", default="*", help="glob on instance names, e.g. 'pr*'")
    parser.add_argument("--tours-table", choices=("on", "off"), default="on")
    parser.add_argument(
        "--tours",
        default="2,3,4",
        help="tour counts of the TOPTW table on the pr instances (comma separated)",
    )
    parser.add_argument(
        "--single-table", choices=("on", "off"), default="on", help="the 1-tour table"
    )
    parser.add_argument("--no-peers", action="store_true", help="run only our solver")
    parser.add_argument(
        "--cpu-clock",
        action="store_true",
        help="our time limit counts this process's CPU time, not wall time (shared machines)",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=0,
        help="also run ours with seeds 0..N-1 and print min/mean/max per instance",
    )
    args = parser.parse_args(argv)
    folder = args.instances
    files = sorted((folder / "instances").glob("*.txt")) or sorted(folder.glob("*.txt"))
    files = [f for f in files if fnmatch.fnmatch(f.stem, args.only)]
    if not files:
        print(f"no instances found in {folder}")
        return 1
    instances = [load(f) for f in files]
    best = read_best_known(folder)
    counts = [int(m) for m in args.tours.split(",") if m.strip()]
    if args.cpu_clock:
        use_cpu_clock()
    if args.single_table == "on":
        run_single(instances, best, args.time_limit, with_peers=not args.no_peers)
    if args.tours_table == "on":
        run_tours(instances, best, args.time_limit, counts, with_peers=not args.no_peers)
    if args.seeds > 0:
        if args.single_table == "on":
            run_seeds(instances, best, args.time_limit, args.seeds)
        if args.tours_table == "on":
            run_tour_seeds(instances, best, args.time_limit, counts, args.seeds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
