"""Reader for the Righini-Salani / Montemanni OPTW and TOPTW benchmark files.

Format (see ``shared/bench/optw/FORMAT.md``): the first two lines are read as one token stream
``k v N t D Q``; then N+1 vertex lines ``i x y d S f a <a values> O C``. Travel time is the
Euclidean distance rounded DOWN to 0.1 (Solomon c/r/rc files) or 0.01 (Cordeau pr files); all
times are converted to integer ticks of that size with exact decimal arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path

from .problem import InvalidProblem, Problem


@dataclass(frozen=True)
class Instance:
    """A parsed benchmark instance: the problem in ticks plus the tick size (e.g. 0.1)."""

    name: str
    problem: Problem
    tick: Decimal


def tick_for(name: str) -> Decimal:
    """Tick size of an instance name: 0.01 for Cordeau ``pr*`` files, else 0.1."""
    return Decimal("0.01") if name.lower().startswith("pr") else Decimal("0.1")


def _ticks(value: str, tick: Decimal, rounding: str) -> int:
    return int((Decimal(value) / tick).to_integral_value(rounding=rounding))


def _travel_matrix(xs: list[Decimal], ys: list[Decimal], tick: Decimal) -> list[list[int]]:
    """floor(euclidean / tick) computed exactly with integer square roots. O(n^2)."""
    unit = Decimal(1000)  # coordinates have at most 3 decimals
    xi = [int(x * unit) for x in xs]
    yi = [int(y * unit) for y in ys]
    scale = int(1 / tick)
    n = len(xi)
    out = [[0] * n for _ in range(n)]
    for i in range(n):
        row = out[i]
        for j in range(i + 1, n):
            dx, dy = xi[i] - xi[j], yi[i] - yi[j]
            row[j] = out[j][i] = math.isqrt((dx * dx + dy * dy) * scale * scale) // 1000
    return out


def parse(text: str, name: str = "instance") -> Instance:
    """Parse an instance from its text. O(n^2) for the travel matrix.

    Raises :class:`InvalidProblem` on malformed input.
    """
    lines = [line.split() for line in text.replace("\r", "\n").split("\n")]
    lines = [tokens for tokens in lines if tokens]
    head: list[str] = []
    while lines and len(head) < 6:
        head.extend(lines.pop(0))
    if len(head) < 6:
        raise InvalidProblem("header must hold the six tokens k v N t D Q")
    customers = int(head[2])
    if len(lines) < customers + 1:
        raise InvalidProblem(f"expected {customers + 1} vertex lines, found {len(lines)}")
    tick = tick_for(name)
    xs, ys, service, scores, windows = [], [], [], [], []
    for tokens in lines[: customers + 1]:
        if len(tokens) < 9:
            raise InvalidProblem(f"vertex line too short: {' '.join(tokens)}")
        xs.append(Decimal(tokens[1]))
        ys.append(Decimal(tokens[2]))
        service.append(_ticks(tokens[3], tick, ROUND_CEILING))
        scores.append(int(Decimal(tokens[4])))
        windows.append(
            [(_ticks(tokens[-2], tick, ROUND_CEILING), _ticks(tokens[-1], tick, ROUND_FLOOR))]
        )
    problem = Problem(
        travel=_travel_matrix(xs, ys, tick),
        service=service,
        windows=windows,
        scores=scores,
        start=0,
        end=0,
        day_start=windows[0][0][0],
        day_end=windows[0][0][1],
        names=[str(i) for i in range(customers + 1)],
    )
    problem.validate()
    return Instance(name=name, problem=problem, tick=tick)


def load(path: str | Path) -> Instance:
    """Read and parse an instance file; the instance name is the file stem."""
    path = Path(path)
    return parse(path.read_text(encoding="ascii"), name=path.stem)
