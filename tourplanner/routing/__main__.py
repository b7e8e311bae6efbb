"""Command line: ``python -m tourplanner.routing solve FILE [--tours M] [--time-limit S] ...``.

Solves an OPTW/TOPTW benchmark file and prints a summary, or one JSON object with ``--json``:
``{"instance", "tours", "score", "feasible", "seconds"}`` (node ids in visiting order, depot
excluded). ``feasible`` comes from the independent checker, not from the solver.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

from .check import check
from .kernels import warm_up
from .optw import load
from .solver import solve


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tourplanner.routing")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("solve", help="solve an OPTW/TOPTW benchmark instance")
    run.add_argument("file")
    run.add_argument("--tours", type=int, default=1, help="number of tours m (default 1)")
    run.add_argument("--time-limit", type=float, default=1.0, help="seconds (default 1)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--max-iterations", type=int, default=None)
    run.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code (0 feasible, 1 infeasible)."""
    args = _parser().parse_args(argv)
    warm_up()  # start-up: load (or, on a new machine, compile) the solver kernels
    began = time.perf_counter()
    instance = load(args.file)
    budget = max(0.05, args.time_limit - (time.perf_counter() - began) - 0.02)
    solution = solve(
        instance.problem,
        tours=args.tours,
        time_limit=budget,
        seed=args.seed,
        max_iterations=args.max_iterations,
    )
    errors = check(instance.problem, solution.tours, solution.score)
    seconds = round(time.perf_counter() - began, 3)
    if args.json:
        print(
            json.dumps(
                {
                    "instance": instance.name,
                    "tours": solution.tours,
                    "score": solution.score,
                    "feasible": not errors,
                    "seconds": seconds,
                }
            )
        )
    else:
        print(
            f"{instance.name}: score {solution.score} with {args.tours} tour(s), "
            f"{'feasible' if not errors else 'INFEASIBLE'}, {seconds} s, "
            f"{solution.iterations} iterations"
        )
        for number, (tour, back) in enumerate(zip(solution.tours, solution.returns, strict=True)):
            print(
                f"  tour {number + 1}: {len(tour)} stops, back at "
                f"{back * instance.tick}: {' '.join(map(str, tour))}"
            )
        for error in errors:
            print(f"  violation: {error}")
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
