"""Availability: time slots materialised from weekly schedules, with their remaining capacity.

Slots are stored rows (``slots``), created on demand for the days someone asks about, with
``INSERT ... ON CONFLICT DO NOTHING`` on the unique ``(experience_id, start)``: two requests
materialising the same day at once create each slot exactly once, on SQLite and PostgreSQL.
Only the sessions not stored yet are inserted, and only then is anything written or committed:
a day already asked about costs one read of the experiences' schedule columns and one read of
the day's slot rows (no write, no commit, no per-row re-read).

Which stored slots are offered for a day:

* schedule slots whose start is still produced by the experience's *current* weekly hours on a
  day that is not a closed date (a slot the village removed from its schedule keeps its
  bookings but is no longer offered);
* extra slots the village added by hand (offered even on a closed date: they are explicit);
* and only while booking is open: the slot starts at least ``booking_cutoff_hours`` after now;
* and only while the village can be told about a request (``services.reachability``: one query
  for all the experiences asked about, never one per slot).

Nothing is materialised outside the booking horizon: today (in Hanoi) to
``BOOKING_HORIZON_DAYS`` ahead. Anonymous availability requests create rows, so without this
bound three requests for the years 3000-5000 would write hundreds of useless slots.

This module is the contract the planner relies on (:class:`SlotView`, :func:`slots_for_day`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import zip_longest
from typing import Any

from flask import current_app
from sqlalchemy import Text, cast, insert, select, update

from tourplanner.adapters.orm import Experience, Slot
from tourplanner.domain.availability import (
    LOCAL_TZ,
    MAX_RANGE_DAYS,
    booking_open,
    days_between,
    local_datetime,
    local_today,
    session_datetimes,
    session_times,
)
from tourplanner.domain.errors import Conflict, NotFound, ValidationError
from tourplanner.extensions import db
from tourplanner.services.reachability import reachable_experiences
from tourplanner.services.unit_of_work import unit_of_work


@dataclass(frozen=True)
class SlotView:
    """One bookable session. ``start``/``end`` are aware datetimes in Asia/Ho_Chi_Minh."""

    id: int
    experience_id: int
    start: datetime
    end: datetime
    capacity: int
    remaining: int

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "experience_id": self.experience_id,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "capacity": self.capacity,
            "remaining": self.remaining,
        }


def now_utc() -> datetime:
    return datetime.now(UTC)


DEFAULT_HORIZON_DAYS = 366


def horizon(now: datetime) -> tuple[date, date]:
    """The first and last day (inclusive) on which sessions can be offered and booked."""
    days = int(current_app.config.get("BOOKING_HORIZON_DAYS", DEFAULT_HORIZON_DAYS))
    today = local_today(now)
    return today, today + timedelta(days=days)


def _max_range_days() -> int:
    return int(current_app.config.get("AVAILABILITY_MAX_DAYS", MAX_RANGE_DAYS))


def view(slot: Slot) -> SlotView:
    return SlotView(
        slot.id, slot.experience_id, slot.start, slot.end, slot.capacity, slot.remaining
    )


def slots_for_day(
    experience_ids: Collection[int], day: date, *, now: datetime | None = None
) -> dict[int, list[SlotView]]:
    """Materialise slots for ``day`` from the weekly schedules (idempotent, concurrency-safe).

    Skips closed dates and slots inside the booking cut-off from ``now``. Returns
    ``{experience_id: [slots in start order]}`` for the bookable experiences among
    ``experience_ids`` (``remaining`` may be 0); others are left out.
    """
    experiences = reachable_experiences(_bookable(experience_ids))
    return _offered(experiences, [day], now or now_utc())


def slots_between(
    experience_id: int, start: date, end: date, *, now: datetime | None = None
) -> list[SlotView]:
    """Offered slots of one experience from ``start`` to ``end`` (inclusive), in start order.

    Raises NotFound for an unknown experience and ValidationError for a reversed or too long
    range (at most ``AVAILABILITY_MAX_DAYS``) or one outside the booking horizon. A visit (not
    bookable) has no slots: the list is empty.
    """
    now = now or now_utc()
    first, last = horizon(now)
    for name, day in (("from", start), ("to", end)):
        if not first <= day <= last:
            raise ValidationError(
                f"'{name}' must be from {first.isoformat()} to {last.isoformat()}",
                code="outside_horizon",
                field=name,
                parameter=name,
                first=first.isoformat(),
                last=last.isoformat(),
            )
    if end < start:
        raise ValidationError(
            "'to' must not be before 'from'", code="invalid_range", field="to", parameter="to"
        )
    max_days = _max_range_days()
    if (end - start).days >= max_days:
        raise ValidationError(
            f"ask for at most {max_days} days at a time",
            code="invalid_range",
            field="to",
            parameter="to",
            max_days=max_days,
        )
    experience = db.session.get(Experience, experience_id)
    if experience is None:
        raise NotFound(
            "no such experience", code="experience_not_found", experience_id=experience_id
        )
    if not experience.bookable or not reachable_experiences([experience]):
        return []  # a village nobody can tell about a request offers no session
    return _offered([experience], days_between(start, end), now or now_utc())[experience_id]


#: What the slots of a day need of an experience: whether it is bookable (the rule of
#: ``Experience.bookable``), its village (reachability), schedule, capacity and cut-off.
#: Read as plain columns: the text and fact columns (descriptions, price facts, languages)
#: would only be parsed to be thrown away, for every workshop of a large catalogue. The
#: schedule's two JSON columns are read as their stored text, the key of the memoised
#: sessions below.
_SCHEDULE_COLUMNS = (
    Experience.id,
    Experience.village_id,
    Experience.kind,
    cast(Experience.weekly_hours, Text),
    cast(Experience.closed_dates, Text),
    Experience.duration_minutes,
    Experience.capacity,
    Experience.price_adult_vnd,
    Experience.booking_cutoff_hours,
)


@lru_cache(maxsize=4096)
def _json(text: str | None) -> Any:
    """A stored JSON value, parsed once per process (shared: never mutated)."""
    return json.loads(text) if text else None


@lru_cache(maxsize=8192)
def _day_sessions(
    weekly_text: str | None, closed_text: str | None, day: date, duration: int
) -> tuple[tuple[datetime, datetime], ...]:
    """The sessions of ``day`` for a schedule as stored, memoised per process. The key is the
    stored text itself, so an edited schedule is a new entry, never a stale one."""
    weekly = _json(weekly_text) or {}
    closed = _json(closed_text) or []
    return tuple(session_datetimes(weekly, closed, day, duration))


@dataclass(frozen=True, slots=True)
class _Schedule:
    """The schedule facts of one experience, with the attribute names of :class:`Experience`
    the functions below read (so they take either)."""

    id: int
    village_id: int
    kind: str
    weekly_text: str | None
    closed_text: str | None
    duration_minutes: int
    capacity: int | None
    price_adult_vnd: int | None
    booking_cutoff_hours: int

    @property
    def weekly_hours(self) -> dict[str, list[list[str]]]:
        return _json(self.weekly_text) or {}

    # One rule for "bookable": the ORM property reads only attributes this class has.
    bookable = Experience.bookable

    def sessions(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        return _day_sessions(self.weekly_text, self.closed_text, day, self.duration_minutes)


def _sessions(exp: Any, day: date) -> Iterable[tuple[datetime, datetime]]:
    """Start and end of each scheduled session of ``day`` (memoised for a :class:`_Schedule`,
    computed for an ORM experience)."""
    if isinstance(exp, _Schedule):
        return exp.sessions(day)
    return session_datetimes(exp.weekly_hours, exp.closed_dates, day, exp.duration_minutes)


def _bookable(experience_ids: Iterable[int]) -> list[_Schedule]:
    ids = list(experience_ids)
    if not ids:
        return []
    rows = db.session.execute(
        select(*_SCHEDULE_COLUMNS).where(
            Experience.id.in_(ids),
            # Narrowed in SQL as far as plain columns allow; the property decides.
            Experience.kind == "workshop",
            Experience.price_adult_vnd.is_not(None),
        )
    )
    found = [_Schedule(*row) for row in rows]
    return [e for e in found if e.bookable]


def _offered(experiences: list[Any], days: list[date], now: datetime) -> dict[int, list[SlotView]]:
    """Offered slots of ``experiences`` (bookable, reachable) on ``days``, materialising the
    scheduled ones that are not stored yet."""
    result: dict[int, list[SlotView]] = {e.id: [] for e in experiences}
    first_day, last_day = horizon(now)
    # The one gate every caller passes (planner, API, pages): no row outside the horizon.
    days = [d for d in days if first_day <= d <= last_day]
    if not experiences or not days:
        return result
    # Read before anything is committed: a commit expires ORM rows (slots_between's).
    cutoff = {e.id: e.booking_cutoff_hours for e in experiences}
    expected = _expected_starts(experiences, days, now)
    ids = list(cutoff)
    rows = _slot_rows(ids, days)
    if materialise(experiences, expected, now, stored={(r[1], r[2]) for r in rows}):
        rows = _slot_rows(ids, days)
    for slot_id, exp_id, start, end, capacity, taken, is_extra in rows:
        # ``expected`` holds only scheduled sessions still open to booking (this ``now``,
        # this cut-off); an extra one is checked here.
        if (exp_id, start) in expected or (is_extra and booking_open(start, now, cutoff[exp_id])):
            result[exp_id].append(
                SlotView(slot_id, exp_id, start, end, capacity, max(0, capacity - taken))
            )
    return result


def _slot_rows(experience_ids: list[int], days: list[date]) -> list[Any]:
    """``(id, experience_id, start, end, capacity, taken, is_extra)`` of the stored slots of
    the experiences starting on ``days`` (first to last), in start order: plain columns, so
    every value is the database's (never a stale object of the session)."""
    first = local_datetime(days[0], datetime.min.time())
    last = local_datetime(days[-1], datetime.min.time()) + timedelta(days=1)
    return list(
        db.session.execute(
            select(
                Slot.id,
                Slot.experience_id,
                Slot.start,
                Slot.end,
                Slot.capacity,
                Slot.taken,
                Slot.is_extra,
            )
            .where(Slot.experience_id.in_(experience_ids), Slot.start >= first, Slot.start < last)
            .order_by(Slot.start, Slot.id)
        )
    )


def _expected_starts(
    experiences: list[Any], days: list[date], now: datetime
) -> dict[tuple[int, datetime], datetime]:
    """``{(experience_id, start): end}`` for every scheduled session still open to booking."""
    expected = {}
    for exp in experiences:
        for day in days:
            for start, end in _sessions(exp, day):
                if booking_open(start, now, exp.booking_cutoff_hours):
                    expected[(exp.id, start)] = end
    return expected


def materialise(
    experiences: list[Any],
    expected: dict[tuple[int, datetime], datetime],
    now: datetime,
    *,
    stored: Collection[tuple[int, datetime]] | None = None,
) -> bool:
    """Create the ``expected`` sessions (``{(experience_id, start): end}``) not stored yet, with
    the experience's capacity; True when any was missing (then inserted and committed).

    ``stored``: the ``(experience_id, start)`` keys the caller has just read; when None, one
    query finds them. Nothing missing: no write and no commit (the common case: the day was
    asked about before). A session another request inserts in between is skipped by the
    ``ON CONFLICT DO NOTHING``, so each is created exactly once.
    """
    if not expected:
        return False
    if stored is None:
        stored = _stored_keys(expected)
    missing = [(key, end) for key, end in expected.items() if key not in stored]
    if not missing:
        return False
    capacity = {e.id: e.capacity for e in experiences}
    rows = [
        {
            "experience_id": eid,
            "start": start,
            "end": end,
            "capacity": capacity[eid],
            "taken": 0,
            "is_extra": False,
            "created_at": now,
        }
        for (eid, start), end in missing
    ]
    with unit_of_work() as session:
        session.execute(_insert_ignoring_duplicates(session), rows)
    return True


def _stored_keys(expected: Mapping[tuple[int, datetime], datetime]) -> set[tuple[int, datetime]]:
    """The ``(experience_id, start)`` among ``expected`` that have a stored slot (one query)."""
    ids = sorted({eid for eid, _start in expected})
    starts = sorted({start for _eid, start in expected})
    rows = db.session.execute(
        select(Slot.experience_id, Slot.start).where(
            Slot.experience_id.in_(ids), Slot.start.in_(starts)
        )
    )
    return {(eid, start) for eid, start in rows}


def _insert_ignoring_duplicates(session):
    """``INSERT ... ON CONFLICT (experience_id, start) DO NOTHING`` for the current database."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        return insert(Slot).prefix_with("IGNORE")
    return dialect_insert(Slot).on_conflict_do_nothing(index_elements=["experience_id", "start"])


def add_extra_slot(experience_id: int, start: datetime, capacity: int | None = None) -> SlotView:
    """Add a session outside the weekly schedule (or re-open one) for a bookable experience."""
    experience = db.session.get(Experience, experience_id)
    if experience is None or not experience.bookable:
        raise NotFound(
            "no such bookable experience", code="experience_not_found", experience_id=experience_id
        )
    if start.tzinfo is None:
        raise ValidationError("the start time needs a time zone", code="invalid_start")
    _first, last = horizon(now_utc())
    if local_today(start) > last:
        raise ValidationError(
            f"sessions can be added up to {last.isoformat()}",
            code="outside_horizon",
            field="start",
            last=last.isoformat(),
        )
    size = capacity if capacity is not None else experience.capacity
    if not size or size < 1:
        raise ValidationError("capacity must be at least 1", code="invalid_capacity")
    end = start + timedelta(minutes=experience.duration_minutes)
    with unit_of_work() as session:
        session.execute(
            _insert_ignoring_duplicates(session),
            [
                {
                    "experience_id": experience_id,
                    "start": start,
                    "end": end,
                    "capacity": size,
                    "taken": 0,
                    "is_extra": True,
                    "created_at": now_utc(),
                }
            ],
        )
        session.execute(
            update(Slot)
            .where(Slot.experience_id == experience_id, Slot.start == start)
            .values(is_extra=True)
        )
    slot = db.session.scalars(
        select(Slot).where(Slot.experience_id == experience_id, Slot.start == start)
    ).one()
    return view(slot)


def apply_capacity(experience_id: int, capacity: int, *, now: datetime | None = None) -> int:
    """Give future schedule slots the new capacity, never below the places already taken.

    One conditional UPDATE (``capacity = max(taken, new)``), safe against concurrent bookings.
    Returns how many slots changed.
    """
    from sqlalchemy import case

    with unit_of_work() as session:
        result = session.execute(
            update(Slot)
            .where(
                Slot.experience_id == experience_id,
                Slot.start > (now or now_utc()),
                Slot.is_extra.is_(False),
            )
            .values(capacity=case((Slot.taken > capacity, Slot.taken), else_=capacity))
        )
    return result.rowcount or 0


def sessions_on_days(
    experiences: list[Experience], days: list[date], *, now: datetime | None = None
) -> dict[int, list[SlotView]]:
    """The village's own view of its sessions on ``days``: every scheduled session (also those
    past the booking cut-off or already started, for the day's check-in), the extra ones, and
    any stored session still holding places (e.g. one the schedule no longer produces).

    Materialises like :func:`slots_for_day`, within the booking horizon only.
    """
    now = now or now_utc()
    result: dict[int, list[SlotView]] = {e.id: [] for e in experiences}
    first_day, last_day = horizon(now)
    days = [d for d in days if first_day <= d <= last_day]
    bookable = [e for e in experiences if e.bookable]
    if not bookable or not days:
        return result
    ids = [e.id for e in bookable]  # before any commit expires the rows
    scheduled = {
        (exp.id, start): end
        for exp in bookable
        for day in days
        for start, end in session_datetimes(
            exp.weekly_hours, exp.closed_dates, day, exp.duration_minutes
        )
    }
    rows = _slot_rows(ids, days)
    if materialise(bookable, scheduled, now, stored={(r[1], r[2]) for r in rows}):
        rows = _slot_rows(ids, days)
    for slot_id, exp_id, start, end, capacity, taken, is_extra in rows:
        if (exp_id, start) in scheduled or is_extra or taken > 0:
            result[exp_id].append(
                SlotView(slot_id, exp_id, start, end, capacity, max(0, capacity - taken))
            )
    return result


# --- the schedule editor --------------------------------------------------------------------
#
# Staff type times and dates the way they write them ("8h-11h30", "25/12/2026"); browsers
# without time/date pickers send exactly that. The parsers below are plain Python: they return
# the canonical form or raise ValueError carrying an error *code*; the page turns codes into
# sentences in its language, next to the field, all at once (see ScheduleForm.errors).

_TIME_TEXT = re.compile(r"(\d{1,2})(?:[:.h](\d{2})?)?h?")
_COMPACT_TIME = re.compile(r"(\d{2})(\d{2})")
_RANGE_SEPARATOR = re.compile(r"\s*(?:–|—|-|~|đến|den|to)\s*")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
MAX_SETTING = 10_000
RANGE_FIELDS = ("start", "end")
#: Empty time ranges and closed-date fields a form shows per day without JavaScript.
SPARE_ROWS = 3


def parse_time_text(text: str) -> str:
    """``"8h"``, ``"8h30"``, ``"8:30"``, ``"08.30"``, ``"0830"``, ``"8"`` → ``"08:30"``-style.

    Raises ValueError("bad_time") for anything else (hours 0-23, minutes 00-59).
    """
    raw = (text or "").strip().lower().replace("giờ", "h").replace(" ", "")
    match = _TIME_TEXT.fullmatch(raw) or _COMPACT_TIME.fullmatch(raw)
    if not match:
        raise ValueError("bad_time")
    hours, minutes = int(match.group(1)), int(match.group(2) or 0)
    if hours > 23 or minutes > 59:
        raise ValueError("bad_time")
    return f"{hours:02d}:{minutes:02d}"


def parse_range_text(text: str) -> tuple[str, str]:
    """``"8h-11h30"`` or ``"08:00 – 11:30"`` → ``("08:00", "11:30")``; ValueError("bad_range")."""
    parts = _RANGE_SEPARATOR.split((text or "").strip().lower().replace("giờ", "h"))
    if len(parts) != 2 or not all(parts):
        raise ValueError("bad_range")
    try:
        return parse_time_text(parts[0]), parse_time_text(parts[1])
    except ValueError:
        raise ValueError("bad_range") from None


def parse_date_text(text: str) -> date:
    """``"2026-12-25"``, ``"25/12/2026"``, ``"25-12-2026"``, ``"25.12.2026"`` → a date.

    Day first, as written in Vietnam. Raises ValueError("bad_date").
    """
    raw = (text or "").strip()
    if match := _ISO_DATE.fullmatch(raw):
        year, month, day = (int(g) for g in match.groups())
    elif match := _DAY_MONTH_YEAR.fullmatch(raw):
        day, month, year = (int(g) for g in match.groups())
    else:
        raise ValueError("bad_date")
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError("bad_date") from None


@dataclass(frozen=True)
class FieldError:
    """One refused field: ``code`` names the problem, ``value`` is what was typed."""

    code: str
    value: str = ""
    other: str = ""
    low: int | None = None
    high: int | None = None


@dataclass
class ScheduleForm:
    """What staff typed for one experience, kept as typed, with what it means and every error.

    Field names (also the keys of ``errors``): ``{day}_{n}`` for the n-th time range of a
    weekday, ``{day}`` for a typed line of ranges, ``closed_{n}`` for a closed date,
    ``capacity``, ``booking_cutoff_hours``, ``free_cancellation_hours``.
    """

    ranges: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    closed: list[str] = field(default_factory=list)
    numbers: dict[str, str] = field(default_factory=dict)
    instant_confirmation: bool = False
    errors: dict[str, FieldError] = field(default_factory=dict)
    weekly_hours: dict[str, list[list[str]]] = field(default_factory=dict)
    closed_dates: list[str] = field(default_factory=list)
    values: dict[str, int] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.errors

    @classmethod
    def of(cls, experience: Experience) -> ScheduleForm:
        """The form filled in with the experience's stored schedule."""
        from tourplanner.domain.catalogue import WEEKDAYS

        return cls(
            ranges={d: [(a, b) for a, b in experience.weekly_hours.get(d, [])] for d in WEEKDAYS},
            closed=list(experience.closed_dates or []),
            numbers={
                "capacity": str(experience.capacity or ""),
                "booking_cutoff_hours": str(experience.booking_cutoff_hours),
                "free_cancellation_hours": str(experience.free_cancellation_hours),
            },
            instant_confirmation=bool(experience.instant_confirmation),
            weekly_hours=dict(experience.weekly_hours or {}),
            closed_dates=list(experience.closed_dates or []),
        )


NUMBER_FIELDS = {"capacity": 1, "booking_cutoff_hours": 0, "free_cancellation_hours": 0}


def parse_schedule_form(form: Any) -> ScheduleForm:
    """Read a posted schedule form (a MultiDict: ``get`` and ``getlist``); never raises.

    Per weekday: repeated ``{day}_start``/``{day}_end`` pairs (the pickers; a pair with both
    empty is skipped, a range typed whole into the start field is understood) and an optional
    typed line ``{day}`` ("8h-11h30, 13h30-17h"). Closed dates: repeated ``closed_date`` and an
    optional typed ``closed_dates`` list. A day's ranges must not overlap.
    """
    from tourplanner.domain.catalogue import WEEKDAYS

    result = ScheduleForm()
    for day in WEEKDAYS:
        _parse_day(form, day, result)
    _parse_closed(form, result)
    for name, low in NUMBER_FIELDS.items():
        raw = (form.get(name) or "").strip()
        result.numbers[name] = raw
        try:
            value = int(raw)
        except ValueError:
            result.errors[name] = FieldError("not_a_number" if raw else "required", raw)
            continue
        if not low <= value <= MAX_SETTING:
            result.errors[name] = FieldError("out_of_range", raw, low=low, high=MAX_SETTING)
        else:
            result.values[name] = value
    result.instant_confirmation = (form.get("instant_confirmation") or "") in ("1", "on", "yes")
    return result


def _parse_day(form: Any, day: str, result: ScheduleForm) -> None:
    starts, ends = form.getlist(f"{day}_start"), form.getlist(f"{day}_end")
    typed = [(s.strip(), e.strip()) for s, e in zip_longest(starts, ends, fillvalue="")]
    line = (form.get(day) or "").strip()
    if line:  # a typed line of ranges, e.g. from a browser without time pickers
        for part in re.split(r"[,;\n]+", line):
            if part.strip():
                typed.append((part.strip(), ""))
    rows = [(s, e) for s, e in typed if s or e]
    # Kept for the page: understood rows in HH:MM (what a time picker can show), refused
    # ones exactly as typed, in the same order (errors are keyed by position).
    result.ranges[day] = kept = []
    windows: list[tuple[str, str, str]] = []
    for n, (start, end) in enumerate(rows):
        name = f"{day}_{n}"
        try:
            opens, closes = _parse_row(start, end)
        except ValueError as exc:
            kept.append((start, end))
            result.errors[name] = FieldError(str(exc), _refused_part(str(exc), start, end))
            continue
        kept.append((opens, closes))
        if closes <= opens:
            result.errors[name] = FieldError("end_before_start", f"{opens}-{closes}")
            continue
        clash = next((label for a, b, label in windows if opens < b and a < closes), None)
        if clash:
            result.errors[name] = FieldError("overlap", f"{opens}-{closes}", other=clash)
            continue
        windows.append((opens, closes, f"{opens}-{closes}"))
    if windows:
        result.weekly_hours[day] = [[a, b] for a, b, _label in sorted(windows)]


def _parse_row(start: str, end: str) -> tuple[str, str]:
    """One picker pair; a whole range typed into the start field is understood too."""
    if start and not end:
        if not _RANGE_SEPARATOR.search(start):
            raise ValueError("missing_end")
        return parse_range_text(start)
    if end and not start:
        raise ValueError("missing_start")
    return _parse_time_field(start), _parse_time_field(end)


def _refused_part(code: str, start: str, end: str) -> str:
    """What the error message quotes: the one time that is not understood, else the row."""
    if code == "bad_time":
        for text in (start, end):
            try:
                parse_time_text(text)
            except ValueError:
                return text
    return f"{start}-{end}" if end else start


def _parse_time_field(text: str) -> str:
    try:
        return parse_time_text(text)
    except ValueError:
        raise ValueError("bad_time") from None


def _parse_closed(form: Any, result: ScheduleForm) -> None:
    typed = [d.strip() for d in form.getlist("closed_date")]
    typed += re.split(r"[\s,;]+", form.get("closed_dates") or "")
    result.closed = [d for d in typed if d]
    dates = set()
    for n, raw in enumerate(result.closed):
        try:
            result.closed[n] = parse_date_text(raw).isoformat()
        except ValueError:
            result.errors[f"closed_{n}"] = FieldError("bad_date", raw)
        else:
            dates.add(result.closed[n])
    result.closed_dates = sorted(dates)


def preview(
    weekly_hours: dict[str, list[list[str]]],
    closed_dates: list[str],
    duration: int,
    first: date,
    days: int = 14,
) -> list[tuple[date, list[tuple[time, time]], bool]]:
    """``(day, [(start, end)], closed)`` for ``days`` days from ``first``: what tourists will
    be offered (before the booking cut-off), computed like the slots themselves."""
    result = []
    for n in range(days):
        day = first + timedelta(days=n)
        closed = day.isoformat() in (closed_dates or [])
        result.append((day, session_times(weekly_hours, closed_dates, day, duration), closed))
    return result


@dataclass(frozen=True)
class BookedSession:
    """A live booking item in a session a schedule change would remove."""

    item_id: int
    reference: str
    status: str
    start: datetime
    end: datetime
    adults: int
    children: int
    seniors: int
    contact_name: str
    lang: str


class SessionsBooked(Conflict):
    """The change would remove sessions holding live bookings (``items``); nothing was saved.

    ``cancellable`` False: staff cannot go ahead from the page (kept for callers that
    refuse outright); with their confirmation every such item is declined or cancelled.
    """

    def __init__(self, items: list[BookedSession], *, cancellable: bool = True) -> None:
        super().__init__(
            "this change removes sessions that hold bookings: "
            + ", ".join(f"{i.reference} ({i.start:%d/%m/%Y %H:%M})" for i in items),
            code="sessions_booked",
            references=[i.reference for i in items],
        )
        self.items = items
        self.cancellable = cancellable


def booked_sessions_removed(
    experience: Experience,
    weekly_hours: dict[str, list[list[str]]],
    closed_dates: list[str],
    *,
    now: datetime,
) -> list[BookedSession]:
    """Live (pending or confirmed) items in future schedule sessions the new hours and closed
    dates would no longer produce. Extra sessions stay: they are offered even on closed days."""
    from tourplanner.adapters.orm import Booking, BookingItem

    rows = db.session.execute(
        select(BookingItem, Booking, Slot)
        .join(Booking, BookingItem.booking_id == Booking.id)
        .join(Slot, BookingItem.slot_id == Slot.id)
        .where(
            BookingItem.experience_id == experience.id,
            BookingItem.status.in_(("pending", "confirmed")),
            BookingItem.start > now,
            Slot.is_extra.is_(False),
        )
        .order_by(BookingItem.start, BookingItem.id)
    ).all()
    kept: dict[date, set[datetime]] = {}
    removed = []
    for item, booking, slot in rows:
        day = slot.start.astimezone(LOCAL_TZ).date()
        if day not in kept:
            kept[day] = {
                start
                for start, _end in session_datetimes(
                    weekly_hours, closed_dates, day, experience.duration_minutes
                )
            }
        if slot.start not in kept[day]:
            removed.append(
                BookedSession(
                    item.id,
                    booking.reference,
                    item.status,
                    item.start,
                    item.end,
                    item.adults,
                    item.children,
                    item.seniors,
                    booking.contact_name,
                    booking.lang or "vi",
                )
            )
    return removed


def update_schedule(
    experience_id: int,
    village_id: int | None,
    *,
    weekly_hours: dict,
    capacity: int,
    closed_dates: list[str],
    booking_cutoff_hours: int,
    free_cancellation_hours: int,
    instant_confirmation: bool | None = None,
    cancel_booked: Mapping[str, str] | None = None,
    user_id: int | None = None,
    now: datetime | None = None,
) -> Experience:
    """The village edits a workshop's schedule; future slots get the new capacity.

    A change that would remove sessions holding live bookings raises :class:`SessionsBooked`
    naming them, unless staff confirmed it: ``cancel_booked`` gives the reason the tourists
    read, per language (``{"vi": ..., "en": ...}``); then each such item is declined (pending)
    or cancelled free of charge (confirmed, :func:`booking_manage.cancel_by_village`), each
    tourist told, before the schedule is saved. Raises ValidationError naming the first bad
    field, NotFound for another village's experience (``village_id`` None: an admin).
    """
    from tourplanner.domain.catalogue import validate_weekly_hours

    now = now or now_utc()
    experience = db.session.get(Experience, experience_id)
    if experience is None or (village_id is not None and experience.village_id != village_id):
        raise NotFound("no such experience in your village", code="experience_not_found")
    try:
        validate_weekly_hours(weekly_hours)
        dates = sorted({date.fromisoformat(d).isoformat() for d in closed_dates})
    except ValueError as exc:
        raise ValidationError(str(exc), code="invalid_schedule") from None
    for name, value, low in (
        ("capacity", capacity, 1),
        ("booking_cutoff_hours", booking_cutoff_hours, 0),
        ("free_cancellation_hours", free_cancellation_hours, 0),
    ):
        if not isinstance(value, int) or value < low or value > MAX_SETTING:
            raise ValidationError(
                f"{name} must be a whole number of at least {low}",
                code="invalid_schedule",
                field=name,
            )
    booked = booked_sessions_removed(experience, weekly_hours, dates, now=now)
    if booked:
        _cancel_booked(booked, cancel_booked, experience.village_id, user_id, now)
    with unit_of_work():
        experience.weekly_hours = weekly_hours
        experience.capacity = capacity
        experience.closed_dates = dates
        experience.booking_cutoff_hours = booking_cutoff_hours
        experience.free_cancellation_hours = free_cancellation_hours
        if instant_confirmation is not None:
            experience.instant_confirmation = instant_confirmation
    apply_capacity(experience_id, capacity, now=now)
    return experience


def _cancel_booked(
    booked: list[BookedSession],
    reasons: Mapping[str, str] | None,
    village_id: int,
    user_id: int | None,
    now: datetime,
) -> None:
    """Without staff's confirmation (``reasons``) refuse, naming the bookings; with it,
    decline each pending request and cancel each confirmed item (free of charge), each
    tourist told in their own language, before the schedule is saved."""
    # Imported here: the booking services import this module (now_utc).
    from tourplanner.services import booking, booking_manage

    if not reasons:
        raise SessionsBooked(booked)
    for item in booked:
        reason = reasons.get(item.lang) or next(iter(reasons.values()))
        if item.status == "pending":
            booking.decide(
                item.item_id,
                accept=False,
                reason=reason,
                village_id=village_id,
                user_id=user_id,
                now=now,
            )
        else:
            booking_manage.cancel_by_village(
                item.item_id, reason=reason, village_id=village_id, user_id=user_id, now=now
            )
