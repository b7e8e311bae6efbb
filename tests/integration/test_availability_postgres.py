"""Availability on PostgreSQL: a day's sessions are made once (also by concurrent requests),
and a day asked about again costs reads only: no INSERT, no commit."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sql_events import statements_and_commits
from sqlalchemy import func, select

from tourplanner.adapters.orm import Experience, Slot, Village
from tourplanner.domain.availability import session_datetimes
from tourplanner.extensions import db
from tourplanner.services import availability

pytestmark = pytest.mark.integration

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
SLUG = "bat-trang-workshop-pottery-wheel"


def _reachable_pottery() -> int:
    """The pottery workshop's id, its village given a channel (or no session is offered)."""
    exp = db.session.scalars(select(Experience).where(Experience.slug == SLUG)).one()
    village = db.session.get(Village, exp.village_id)
    village.booking_email = village.booking_email or "pottery@bat-trang.example"
    db.session.commit()
    return exp.id


def _open_day(exp_id: int, weeks: int):
    """A day some weeks ahead on which the workshop has sessions (none used by other tests)."""
    exp = db.session.get(Experience, exp_id)
    day = datetime.now(HANOI).date() + timedelta(weeks=weeks)
    while not session_datetimes(exp.weekly_hours, exp.closed_dates, day, exp.duration_minutes):
        day += timedelta(days=1)
    return day


def _count(exp_id: int, day) -> int:
    first = datetime.combine(day, datetime.min.time(), HANOI)
    return db.session.scalar(
        select(func.count())
        .select_from(Slot)
        .where(
            Slot.experience_id == exp_id,
            Slot.start >= first,
            Slot.start < first + timedelta(days=1),
        )
    )


def test_concurrent_first_requests_make_each_session_once(pg_app):
    exp_id = _reachable_pottery()
    day = _open_day(exp_id, weeks=23)
    seen, errors = [], []

    def worker():
        try:
            with pg_app.app_context():
                seen.append([s.id for s in availability.slots_for_day([exp_id], day)[exp_id]])
                db.session.remove()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({tuple(ids) for ids in seen}) == 1 and seen[0]
    assert _count(exp_id, day) == len(seen[0])


def test_a_day_asked_about_again_only_reads(pg_app):
    exp_id = _reachable_pottery()
    day = _open_day(exp_id, weeks=25)
    first = availability.slots_for_day([exp_id], day)
    with statements_and_commits() as (statements, commits):
        again = availability.slots_for_day([exp_id], day)
    assert again == first and first[exp_id]
    assert not commits
    assert all(s.lstrip().upper().startswith("SELECT") for s in statements), statements
