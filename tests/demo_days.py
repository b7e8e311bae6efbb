"""Days the tests book and plan on: the demo workshops close on their ``closed_dates`` (Tết),
so a fixed offset from today would land on a closed day for a few days a year and fail then."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from functools import cache
from importlib.resources import files

from tourplanner.domain.availability import LOCAL_TZ, session_times


@cache
def demo_experiences() -> dict[str, dict]:
    """The demo workshops as shipped (``flask seed --demo`` seeds them), by slug."""
    text = files("tourplanner.data").joinpath("demo_experiences.json").read_text("utf-8")
    return {e["slug"]: e for e in json.loads(text)["experiences"]}


@cache
def closed_dates() -> frozenset[date]:
    """Every date on which some demo workshop is closed."""
    return frozenset(
        date.fromisoformat(d)
        for e in demo_experiences().values()
        for d in e.get("closed_dates") or []
    )


def open_day(days_ahead: int, span: int = 1, *, workshops: tuple[str, ...] = ()) -> date:
    """The first Hanoi day at least ``days_ahead`` from today such that none of the ``span``
    days from it is a demo closed date and, on each of them, every one of ``workshops`` (demo
    slugs) holds sessions: some keep weekly closing days, so a fixed offset lands on one of
    them one day in seven."""
    day = datetime.now(LOCAL_TZ).date() + timedelta(days=days_ahead)
    while not all(_open(day + timedelta(days=n), workshops) for n in range(span)):
        day += timedelta(days=1)
    return day


def sessions_on(slug: str, day: date) -> list:
    """The session times demo workshop ``slug`` holds on ``day`` (none on its closed days)."""
    e = demo_experiences()[slug]
    return session_times(e["weekly_hours"], e.get("closed_dates") or [], day, e["duration_minutes"])


def _open(day: date, workshops: tuple[str, ...]) -> bool:
    return day not in closed_dates() and all(sessions_on(slug, day) for slug in workshops)
