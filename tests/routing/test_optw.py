"""The benchmark reader (tick convention, quirky files) and the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tourplanner.routing.optw import parse

ROOT = Path(__file__).resolve().parents[2]
INSTANCES = ROOT.parent / "shared" / "bench" / "optw" / "instances"

TEXT = """4 10 2 1
0 200
  0 40.00 50.00 0.00 0.00 0 0 0 1236
  1 45.00 68.00 90.00 10.00 1 1 1 912 967
  2 45.00 70.00 90.00 30.00 1 1 1 825 870
"""


def test_travel_time_is_euclidean_rounded_down_to_the_tick() -> None:
    problem = parse(TEXT, "c101").problem
    assert problem.travel[0][1] == 186  # sqrt(349) = 18.68 -> 18.6 -> 186 ticks of 0.1
    assert problem.travel[1][2] == problem.travel[2][1] == 20
    assert problem.windows[1] == [(9120, 9670)] and problem.service[1] == 900
    assert (problem.day_start, problem.day_end, problem.scores[2]) == (0, 12360, 30)


def test_pr_files_use_hundredths() -> None:
    text = "1 1 1 1 0 0\n0 0 0 0 0 0 0 0 1000\n1 3.0 4.001 2 5 4 1 15 0 500\n"
    problem = parse(text, "pr99").problem
    assert problem.travel[0][1] == 500 and problem.day_end == 100000


@pytest.mark.parametrize(
    "variant",
    [
        TEXT.replace("\n", "\r\n"),
        TEXT.rstrip("\n"),
        TEXT.replace("4 10 2 1\n", "4 10\n2 1\n"),
    ],
)
def test_crlf_missing_final_newline_and_broken_first_line_parse_alike(variant: str) -> None:
    assert parse(variant, "c101").problem == parse(TEXT, "c101").problem


def test_truncated_file_is_rejected() -> None:
    with pytest.raises(ValueError, match="vertex lines"):
        parse(TEXT.splitlines()[0] + "\n0 200\n", "c101")


@pytest.mark.skipif(not INSTANCES.is_dir(), reason="shared benchmark folder absent")
def test_cli_json_output_shape() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tourplanner.routing",
            "solve",
            str(INSTANCES / "c101.txt"),
            "--time-limit",
            "0.3",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
        check=True,
    )
    out = json.loads(result.stdout)
    assert set(out) == {"instance", "tours", "score", "feasible", "seconds"}
    assert out["instance"] == "c101" and out["feasible"] is True
    assert len(out["tours"]) == 1 and 0 not in out["tours"][0]
    assert out["score"] >= 300 and out["seconds"] < 1.0


def _best_known() -> dict[tuple[str, int], int]:
    import csv

    with (INSTANCES.parent / "best_known.csv").open() as fh:
        return {
            (row["instance"], int(row["tours"])): int(row["best_known_score"])
            for row in csv.DictReader(fh)
        }


@pytest.mark.skipif(not INSTANCES.is_dir(), reason="shared benchmark folder absent")
@pytest.mark.parametrize("path", sorted(INSTANCES.glob("*.txt")), ids=lambda p: p.stem)
def test_every_shipped_instance_gives_checked_tours_near_the_best_known(path: Path) -> None:
    """A fixed iteration budget (not a clock) keeps this deterministic on any machine. The
    floor is the issue's 0.9 for one tour; several tours (no target) get 0.85."""
    from tourplanner.routing import check, solve
    from tourplanner.routing.optw import load

    problem = load(path).problem
    best = _best_known()
    for tours in (1, 2, 3, 4) if path.stem.startswith("pr") else (1,):
        solution = solve(
            problem,
            tours=tours,
            time_limit=None,
            max_iterations=3000 if tours == 1 else 1000,
            seed=0,
        )
        assert check(problem, solution.tours, solution.score) == []
        assert solution.score >= (0.9 if tours == 1 else 0.85) * best[(path.stem, tours)]
