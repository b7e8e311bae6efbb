"""Availability rules: how a weekly schedule becomes time slots, the booking cut-off, capacity.

Slot generation (documented contract, also in docs/bookings.md): on a day that is not a closed
date, each opening window ``[open, close]`` of that weekday yields sessions of
``duration_minutes``: the first starts at ``open`` and the next ones follow back-to-back while a
whole session still ends at or before ``close``. A window shorter than one session yields none.

>>> from datetime import date
>>> session_times({"mon": [["08:00", "11:30"]]}, [], date(2026, 11, 30), 90)
[(datetime.time(8, 0), datetime.time(9, 30)), (datetime.time(9, 30), datetime.time(11, 0))]

Everything here is plain Python: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tourplanner.domain.catalogue import windows_on

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MAX_RANGE_DAYS = 62


def session_times(
    weekly_hours: dict[str, list[list[str]]], closed_dates: list[str], day: date, duration: int
) -> list[tuple[time, time]]:
    """Start and end times of every session on ``day``; O(sessions)."""
    if duration <= 0:
        return []
    sessions: list[tuple[time, time]] = []
    step = timedelta(minutes=duration)
    for opens, closes in windows_on(weekly_hours, closed_dates or [], day):
        start = datetime.combine(day, opens)
        close = datetime.combine(day, closes)
        while start + step <= close:
            sessions.append((start.time(), (start + step).time()))
            start += step
    return sessions


def local_datetime(day: date, at: time) -> datetime:
    """``day`` at wall-clock ``at`` in Hanoi, timezone-aware."""
    return datetime.combine(day, at, tzinfo=LOCAL_TZ)


def session_datetimes(
    weekly_hours: dict[str, list[list[str]]], closed_dates: list[str], day: date, duration: int
) -> list[tuple[datetime, datetime]]:
    """Aware start/end datetimes of the sessions of ``day``."""
    return [
        (local_datetime(day, a), local_datetime(day, a) + timedelta(minutes=duration))
        for a, _ in session_times(weekly_hours, closed_dates, day, duration)
    ]


def booking_open(start: datetime, now: datetime, cutoff_hours: int) -> bool:
    """A slot can still be booked when it starts at least ``cutoff_hours`` after ``now``."""
    return start - now >= timedelta(hours=cutoff_hours)


def days_between(first: date, last: date) -> list[date]:
    """Every date from ``first`` to ``last`` inclusive."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def local_today(now: datetime) -> date:
    return now.astimezone(LOCAL_TZ).date()


@dataclass(frozen=True)
class Capacity:
    """The capacity arithmetic of one slot, for checks and messages.

    The database applies the same rule atomically (``taken + n <= capacity``); this class never
    replaces that conditional write, it explains it.
    """

    capacity: int
    taken: int

    @property
    def remaining(self) -> int:
        return max(0, self.capacity - self.taken)

    def can_book(self, places: int) -> bool:
        return 0 < places <= self.remaining

    def book(self, places: int) -> Capacity:
        if not self.can_book(places):
            raise ValueError(f"only {self.remaining} place(s) left")
        return Capacity(self.capacity, self.taken + places)

    def release(self, places: int) -> Capacity:
        return Capacity(self.capacity, max(0, self.taken - places))


def parse_windows(text: str) -> list[list[str]]:
    """``"08:00-11:30, 13:30-17:00"`` → ``[["08:00", "11:30"], ["13:30", "17:00"]]``.

    The form format of one weekday in the village back-office; empty means closed.
    Raises ValueError on anything else.
    """
    windows = []
    for part in (text or "").replace(";", ",").split(","):
        part = part.strip().replace("–", "-")
        if not part:
            continue
        opens, sep, closes = part.partition("-")
        if not sep:
            raise ValueError(f"expected HH:MM-HH:MM, got {part!r}")
        windows.append([opens.strip(), closes.strip()])
    return windows


def format_windows(windows: list[list[str]]) -> str:
    return ", ".join(f"{a}-{b}" for a, b in windows)
