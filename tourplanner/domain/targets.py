"""The targets of Hanoi's plan for its craft villages (2025-2030, vision 2050), as numbers.

Each target has a value now, the 2030 and 2050 figures the plan sets (``None`` where the plan
sets none for that horizon) and a unit: a count, or a percentage of the catalogue's villages.
Definitions (documented in docs/targets.md) live with the queries in
:mod:`tourplanner.services.stats`; this module holds the figures and the arithmetic, so that the
dashboard, the CSV export and ``GET /api/v1/stats/targets`` cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

COUNT = "count"
PERCENT = "percent"


@dataclass(frozen=True)
class Target:
    key: str
    unit: str
    target_2030: float | None
    target_2050: float | None


#: In the order the dashboard shows them. The 2050 figures of the last two are cumulative:
#: 25 villages newly recognised by 2030 and 20 more by 2050; 5 crafts restored by 2030, 10 by 2050.
TARGETS: tuple[Target, ...] = (
    Target("villages_with_tourism", COUNT, 3, 20),
    Target("tour_routes", COUNT, 10, 20),
    Target("products_digitised", COUNT, 300, None),
    Target("ocop_village_share", PERCENT, 50, None),
    Target("ip_village_share", PERCENT, 30, 50),
    Target("display_point_share", PERCENT, 30, 50),
    Target("newly_recognised_villages", COUNT, 25, 45),
    Target("crafts_restored", COUNT, 5, 10),
)
BY_KEY: dict[str, Target] = {t.key: t for t in TARGETS}
#: The plan's period starts in 2025: recognitions and restorations count from then.
PLAN_START_YEAR = 2025


def share(part: int, whole: int) -> float:
    """Percentage rounded to one decimal; 0 for an empty whole.

    >>> share(1, 3)
    33.3
    """
    return round(100 * part / whole, 1) if whole else 0.0


def figure(target: Target, value: float) -> dict[str, float | str | None]:
    """The JSON shape of one target: ``{"value", "target_2030", "target_2050", "unit"}``."""
    return {
        "value": value,
        "target_2030": target.target_2030,
        "target_2050": target.target_2050,
        "unit": target.unit,
    }


def progress(value: float, goal: float | None) -> float | None:
    """How far ``value`` is towards ``goal``, as a percentage capped at 100 (None: no goal)."""
    if not goal:
        return None
    return min(100.0, round(100 * value / goal, 1))


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def months_between(first: date, last: date) -> list[str]:
    """Every month from ``first`` to ``last`` inclusive, as ``YYYY-MM``."""
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def last_months(today: date, count: int) -> list[str]:
    """The ``count`` months up to and including ``today``'s.

    >>> last_months(date(2026, 2, 10), 3)
    ['2025-12', '2026-01', '2026-02']
    """
    index = today.year * 12 + today.month - 1 - (count - 1)
    return months_between(date(index // 12, index % 12 + 1, 1), today)


def cumulative_by_month(days: Iterable[date], months: list[str]) -> list[int]:
    """Running count, at the end of each of ``months``, of the events on ``days``.

    >>> cumulative_by_month([date(2026, 1, 5), date(2026, 3, 1)], ["2026-01", "2026-02", "2026-03"])
    [1, 1, 2]
    """
    per_month: dict[str, int] = {}
    before = 0
    for day in days:
        key = month_of(day)
        if months and key < months[0]:
            before += 1
        else:
            per_month[key] = per_month.get(key, 0) + 1
    series, running = [], before
    for key in months:
        running += per_month.get(key, 0)
        series.append(running)
    return series
