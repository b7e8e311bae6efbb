"""Availability: time slots materialised from weekly schedules, with their remaining capacity.

Slots are stored rows (``slots``), created on demand for the days someone asks about, with
``INSERT ... ON CONFLICT DO NOTHING`` on the unique ``(experience_id, start)``: two requests
materialising the same day at once create each slot exactly once, on SQLite and PostgreSQL.

Which stored slots are offered for a day:

* schedule slots whose start is still produced by the experience's *current* weekly hours on a
  day that is not a closed date (a slot the village removed from its schedule keeps its
  bookings but is no longer offered);
* extra slots the village added by hand (offered even on a closed date: they are explicit);
* and only while booking is open: the slot starts at least ``booking_cutoff_hours`` after now.

Nothing is materialised outside the booking horizon: today (in Hanoi) to
``BOOKING_HORIZON_DAYS`` ahead. Anonymous availability requests create rows, so without this
bound three requests for the years 3000-5000 would write hundreds of useless slots.

This module is the contract the planner relies on (:class:`SlotView`, :func:`slots_for_day`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from flask import current_app
from sqlalchemy import insert, select, update

from tourplanner.adapters.orm import Experience, Slot
from tourplanner.domain.availability import (
    MAX_RANGE_DAYS,
    booking_open,
    days_between,
    local_datetime,
    local_today,
    session_datetimes,
)
from tourplanner.domain.errors import NotFound, ValidationError
from tourplanner.extensions import db
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
    experiences = _bookable(experience_ids)
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
    if not experience.bookable:
        return []
    return _offered([experience], days_between(start, end), now or now_utc())[experience.id]


def _bookable(experience_ids: Iterable[int]) -> list[Experience]:
    ids = list(experience_ids)
    if not ids:
        return []
    rows = db.session.scalars(select(Experience).where(Experience.id.in_(ids)))
    return [e for e in rows if e.bookable]


def _offered(
    experiences: list[Experience], days: list[date], now: datetime
) -> dict[int, list[SlotView]]:
    result: dict[int, list[SlotView]] = {e.id: [] for e in experiences}
    first_day, last_day = horizon(now)
    # The one gate every caller passes (planner, API, pages): no row outside the horizon.
    days = [d for d in days if first_day <= d <= last_day]
    if not experiences or not days:
        return result
    expected = _expected_starts(experiences, days, now)
    _materialise(experiences, expected, now)
    first = local_datetime(days[0], datetime.min.time())
    last = local_datetime(days[-1], datetime.min.time()) + timedelta(days=1)
    by_id = {e.id: e for e in experiences}
    stmt = (
        select(Slot)
        .where(Slot.experience_id.in_(list(by_id)), Slot.start >= first, Slot.start < last)
        .order_by(Slot.start, Slot.id)
    )
    for slot in db.session.scalars(stmt):
        exp = by_id[slot.experience_id]
        scheduled = (slot.experience_id, slot.start) in expected
        if (scheduled or slot.is_extra) and booking_open(slot.start, now, exp.booking_cutoff_hours):
            result[slot.experience_id].append(view(slot))
    return result


def _expected_starts(
    experiences: list[Experience], days: list[date], now: datetime
) -> dict[tuple[int, datetime], datetime]:
    """``{(experience_id, start): end}`` for every scheduled session still open to booking."""
    expected = {}
    for exp in experiences:
        for day in days:
            for start, end in session_datetimes(
                exp.weekly_hours, exp.closed_dates, day, exp.duration_minutes
            ):
                if booking_open(start, now, exp.booking_cutoff_hours):
                    expected[(exp.id, start)] = end
    return expected


def _materialise(experiences: list[Experience], expected: dict, now: datetime) -> None:
    if not expected:
        return
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
        for (eid, start), end in expected.items()
    ]
    with unit_of_work() as session:
        session.execute(_insert_ignoring_duplicates(session), rows)


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


def update_schedule(
    experience_id: int,
    village_id: int | None,
    *,
    weekly_hours: dict,
    capacity: int,
    closed_dates: list[str],
    booking_cutoff_hours: int,
    free_cancellation_hours: int,
) -> Experience:
    """The village edits a workshop's schedule; future slots get the new capacity.

    Raises ValidationError naming the first bad field, NotFound for another village's
    experience (``village_id`` None: an admin).
    """
    from tourplanner.domain.catalogue import validate_weekly_hours

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
        if not isinstance(value, int) or value < low or value > 10_000:
            raise ValidationError(
                f"{name} must be a whole number of at least {low}",
                code="invalid_schedule",
                field=name,
            )
    with unit_of_work():
        experience.weekly_hours = weekly_hours
        experience.capacity = capacity
        experience.closed_dates = dates
        experience.booking_cutoff_hours = booking_cutoff_hours
        experience.free_cancellation_hours = free_cancellation_hours
    apply_capacity(experience_id, capacity)
    return experience
