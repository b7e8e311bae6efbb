"""The planner's shopping stop: which sales points may be planned and which one is preferred.

Plain Python (no Flask, no database). A village records its sales points as the staff typed
them (``domain.records.PLACE_KEYS``: name, address, hours, phone, position); the hours are free
text. A sales point is a *candidate* only when it states a position **and** hours this module
can read without guessing (:func:`parse_hours`): nothing is looked up, no default hours are
assumed, and a point without them is never planned.

Of the candidates open during the day, the planner tries them in the order of
:func:`preference` (documented in ``docs/planner.md``):

1. at a village of the day (the sales point belongs to a village whose stop is in the day),
   then near one (at most :data:`NEAR_MINUTES` from a stop's position), then the others;
2. the tourist's interest in the village's craft (the request's weight of its category);
3. OCOP-rated products of the village (published, with stars) before none;
4. fewer minutes from the nearest stop of the day, then village slug and position in the
   village's list (so the order, and the plan, are deterministic).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tourplanner.domain.planning import DEFAULT_WEIGHT

#: Minutes a shopping stop lasts (a look round a shop; the tourist may stay longer).
SHOPPING_MINUTES = 30
#: A sales point this many minutes (or fewer) from a stop of the day is "near" it.
NEAR_MINUTES = 15
#: Words that only say "every day" and may stand before or after the hours.
_EVERY_DAY = (
    "daily",
    "every day",
    "hằng ngày",
    "hàng ngày",
    "cả tuần",
    "tất cả các ngày",
)
_TIME = r"(\d{1,2})(?:\s*[:hH.]\s*(\d{2}))?\s*[hH]?"
_RANGE = re.compile(rf"^{_TIME}\s*(?:-|–|—|to|đến|tới)\s*{_TIME}$")


def _minute(hour: str, minute: str | None) -> int | None:
    h, m = int(hour), int(minute or 0)
    if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m):
        return None
    return h * 60 + m


def parse_hours(text: object) -> list[tuple[int, int]] | None:
    """Opening windows (minutes of the day) of hours written like ``7:00–18:00``,
    ``8h-11h30, 13h30-17h`` or ``hằng ngày 07:00 - 18:00``; None when the text says anything
    else (weekdays, "by appointment", a missing end...): such hours are not known to us, and a
    sales point without known hours is never planned. The hours apply to every day."""
    if not isinstance(text, str):
        return None
    cleaned = text.strip().lower()
    for words in _EVERY_DAY:
        cleaned = cleaned.removeprefix(words).removesuffix(words).strip(" :,.")
    if not cleaned:
        return None
    windows: list[tuple[int, int]] = []
    for part in re.split(r"\s*(?:,|;|/|&|\band\b|\bvà\b)\s*", cleaned):
        match = _RANGE.match(part.strip())
        if match is None:
            return None
        opens = _minute(match.group(1), match.group(2))
        closes = _minute(match.group(3), match.group(4))
        if opens is None or closes is None or closes <= opens:
            return None
        windows.append((opens, closes))
    windows.sort()
    if any(b[0] < a[1] for a, b in itertools.pairwise(windows)):
        return None  # overlapping ranges: not a reading we can trust
    return windows


def windows_in_day(
    windows: Sequence[tuple[int, int]], day_start: int, day_end: int, minutes: int
) -> list[tuple[int, int]]:
    """The opening windows cut to the day that still hold a visit of ``minutes``."""
    out = []
    for opens, closes in windows:
        begin, end = max(opens, day_start), min(closes, day_end)
        if end - begin >= minutes:
            out.append((begin, end))
    return out


@dataclass(frozen=True)
class Candidate:
    """What the preference order reads about one open sales point."""

    key: Any
    village: str
    index: int
    category: str
    #: Minutes from the nearest stop of the day (0 at a stop's position).
    minutes: int
    at_day_village: bool
    ocop_products: int


def preference(candidate: Candidate, interests: Mapping[str, float]) -> tuple:
    """Sort key of a candidate: smaller is tried first (see the module text)."""
    if candidate.at_day_village:
        tier = 0
    elif candidate.minutes <= NEAR_MINUTES:
        tier = 1
    else:
        tier = 2
    weight = 1.0 if not interests else interests.get(candidate.category, DEFAULT_WEIGHT)
    return (
        tier,
        -weight,
        0 if candidate.ocop_products else 1,
        candidate.minutes,
        candidate.village,
        candidate.index,
    )


def ranked(candidates: Sequence[Candidate], interests: Mapping[str, float]) -> list[Candidate]:
    """The candidates in the order the planner tries them."""
    return sorted(candidates, key=lambda c: preference(c, interests))
