"""Availability: slots from weekly schedules, closed dates, cut-off, extra slots, the endpoint."""

from __future__ import annotations

import threading
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sql_events import statements_and_commits
from sqlalchemy import func, select

from tourplanner.adapters.orm import Experience, Slot
from tourplanner.domain.availability import Capacity, session_times
from tourplanner.extensions import db
from tourplanner.services import availability

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
MONDAY = date(2026, 12, 7)
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=HANOI)


def _pottery() -> Experience:
    return db.session.scalars(
        select(Experience).where(Experience.slug == "bat-trang-workshop-pottery-wheel")
    ).one()


def test_sessions_start_at_opening_and_follow_back_to_back_while_they_fit():
    hours = {"mon": [["08:00", "11:30"], ["13:30", "17:30"]]}
    assert session_times(hours, [], MONDAY, 90) == [
        (time(8, 0), time(9, 30)),
        (time(9, 30), time(11, 0)),
        (time(13, 30), time(15, 0)),
        (time(15, 0), time(16, 30)),
    ]
    assert session_times(hours, [MONDAY.isoformat()], MONDAY, 90) == []
    assert session_times({"mon": [["08:00", "08:30"]]}, [], MONDAY, 45) == []


def test_capacity_arithmetic_refuses_more_than_remaining():
    cap = Capacity(capacity=10, taken=8)
    assert cap.remaining == 2 and cap.can_book(2) and not cap.can_book(3)
    assert cap.book(2).remaining == 0
    with pytest.raises(ValueError):
        cap.book(3)
    assert cap.release(5).taken == 3


def test_slots_for_day_materialises_the_schedule_in_hanoi_time(app):
    exp = _pottery()
    slots = availability.slots_for_day([exp.id], MONDAY, now=NOW)[exp.id]
    assert [s.start.strftime("%H:%M") for s in slots] == ["08:00", "09:30", "13:30", "15:00"]
    first = slots[0]
    assert first.start == datetime(2026, 12, 7, 8, 0, tzinfo=HANOI)
    assert first.start.utcoffset().total_seconds() == 7 * 3600
    assert (first.end - first.start).total_seconds() == 90 * 60
    assert first.capacity == first.remaining == exp.capacity


def test_slots_for_day_is_idempotent(app):
    exp = _pottery()
    once = availability.slots_for_day([exp.id], MONDAY, now=NOW)
    twice = availability.slots_for_day([exp.id], MONDAY, now=NOW)
    assert once == twice
    assert db.session.scalar(select(func.count()).select_from(Slot)) == 4


def test_concurrent_materialisation_creates_each_slot_once(app):
    exp_id = _pottery().id
    results, errors = [], []

    def worker():
        try:
            with app.app_context():
                got = availability.slots_for_day([exp_id], MONDAY, now=NOW)[exp_id]
                results.append([s.id for s in got])
                db.session.remove()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({tuple(r) for r in results}) == 1
    assert db.session.scalar(select(func.count()).select_from(Slot)) == 4


def test_visits_and_unknown_ids_are_left_out(app):
    visit = db.session.scalars(select(Experience).where(Experience.kind == "visit")).first()
    assert availability.slots_for_day([visit.id, 999_999], MONDAY, now=NOW) == {}


def test_closed_dates_have_no_slots(app):
    exp = _pottery()
    assert "2027-02-06" in exp.closed_dates
    assert availability.slots_for_day([exp.id], date(2027, 2, 6), now=NOW) == {exp.id: []}


def test_slots_inside_the_booking_cutoff_are_not_offered(app):
    exp = _pottery()
    assert exp.booking_cutoff_hours == 12
    evening_before = datetime(2026, 12, 6, 22, 0, tzinfo=HANOI)  # 08:00, 09:30 < 12 h away
    slots = availability.slots_for_day([exp.id], MONDAY, now=evening_before)[exp.id]
    assert [s.start.strftime("%H:%M") for s in slots] == ["13:30", "15:00"]


def test_extra_slot_is_offered_and_schedule_changes_hide_old_slots(app):
    exp = _pottery()
    availability.slots_for_day([exp.id], MONDAY, now=NOW)
    extra = availability.add_extra_slot(exp.id, datetime(2026, 12, 7, 18, 0, tzinfo=HANOI), 6)
    exp.weekly_hours = {"mon": [["13:30", "17:30"]]}
    db.session.commit()
    slots = availability.slots_for_day([exp.id], MONDAY, now=NOW)[exp.id]
    assert [s.start.strftime("%H:%M") for s in slots] == ["13:30", "15:00", "18:00"]
    assert slots[-1].id == extra.id and slots[-1].capacity == 6


def test_capacity_change_applies_to_future_slots_but_never_below_taken(app):
    exp = _pottery()
    slots = availability.slots_for_day([exp.id], MONDAY, now=NOW)[exp.id]
    db.session.get(Slot, slots[0].id).taken = 7
    db.session.commit()
    availability.apply_capacity(exp.id, 5, now=NOW)
    after = availability.slots_for_day([exp.id], MONDAY, now=NOW)[exp.id]
    assert [(s.capacity, s.remaining) for s in after[:2]] == [(7, 0), (5, 5)]


def test_a_day_asked_about_again_writes_and_commits_nothing(app):
    exp_id = _pottery().id
    first = availability.slots_for_day([exp_id], MONDAY, now=NOW)
    with statements_and_commits() as (statements, commits):
        again = availability.slots_for_day([exp_id], MONDAY, now=NOW)
    assert again == first
    assert not commits
    assert not [s for s in statements if not s.lstrip().upper().startswith("SELECT")]
    # The schedule columns, the village's channels, the day's slots: nothing per slot.
    assert len(statements) == 3


def test_only_the_sessions_not_stored_yet_are_created(app):
    exp = _pottery()
    before = availability.slots_for_day([exp.id], MONDAY, now=NOW)[exp.id]
    db.session.get(Slot, before[0].id).taken = 3
    exp.weekly_hours = {**exp.weekly_hours, "mon": [*exp.weekly_hours["mon"], ["17:30", "19:00"]]}
    db.session.commit()
    with statements_and_commits() as (statements, commits):
        after = availability.slots_for_day([exp.id], MONDAY, now=NOW)[exp.id]
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1 and len(commits) == 1
    assert [s.start.strftime("%H:%M") for s in after] == [
        "08:00",
        "09:30",
        "13:30",
        "15:00",
        "17:30",
    ]
    # The stored sessions are the same rows, with their places taken.
    assert [s.id for s in after[:4]] == [s.id for s in before]
    assert after[0].remaining == exp.capacity - 3
    assert db.session.scalar(select(func.count()).select_from(Slot)) == 5


def test_an_edited_schedule_is_read_again_not_served_from_the_memo(app):
    exp = _pottery()
    assert availability.slots_for_day([exp.id], MONDAY, now=NOW)[exp.id]
    exp.closed_dates = [*exp.closed_dates, MONDAY.isoformat()]
    db.session.commit()
    assert availability.slots_for_day([exp.id], MONDAY, now=NOW) == {exp.id: []}
    exp.closed_dates = [d for d in exp.closed_dates if d != MONDAY.isoformat()]
    exp.duration_minutes = 120
    db.session.commit()
    slots = availability.slots_for_day([exp.id], MONDAY, now=NOW)[exp.id]
    # 08:00-11:30 and 13:30-17:30 in sessions of two hours.
    assert [s.start.strftime("%H:%M") for s in slots] == ["08:00", "13:30", "15:30"]


def test_a_cold_range_reads_the_experience_once_also_after_its_commit(app):
    exp_id = _pottery().id
    db.session.remove()
    with statements_and_commits() as (statements, commits):
        slots = availability.slots_between(exp_id, MONDAY, MONDAY + timedelta(days=6), now=NOW)
    assert slots and len(commits) == 1
    reads = [s for s in statements if "FROM experiences" in s]
    assert len(reads) == 1  # not again after the commit that expired it


def _monday_ahead(weeks: int = 4) -> date:
    """A Monday some weeks ahead of today in Hanoi (inside the booking horizon)."""
    today = datetime.now(HANOI).date()
    return today + timedelta(days=7 * weeks - today.weekday())


def test_availability_endpoint_lists_slots_with_remaining(client):
    exp = _pottery()
    monday = _monday_ahead()
    tuesday = monday + timedelta(days=1)
    body = client.get(
        f"/api/v1/experiences/{exp.id}/availability?from={monday}&to={tuesday}"
    ).get_json()
    assert len(body["slots"]) == 8
    slot = body["slots"][0]
    assert set(slot) == {"id", "experience_id", "start", "end", "capacity", "remaining"}
    assert slot["start"] == f"{monday}T08:00:00+07:00"
    assert slot["remaining"] == 20


@pytest.mark.parametrize(
    "query,code",
    [
        ("from=2030-13-01", "invalid_parameter"),
        ("from={d5}&to={d1}", "invalid_range"),
        ("from={d1}&to={d100}", "invalid_range"),
        ("colour=red", "invalid_parameter"),
    ],
)
def test_availability_endpoint_refuses_bad_ranges(client, query, code):
    exp = _pottery()
    today = datetime.now(HANOI).date()
    days = {f"d{n}": today + timedelta(days=n) for n in (1, 5, 100)}
    response = client.get(f"/api/v1/experiences/{exp.id}/availability?{query.format(**days)}")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == code


def test_availability_of_unknown_experience_is_404_and_of_a_visit_is_empty(client):
    assert client.get("/api/v1/experiences/999999/availability").status_code == 404
    visit = db.session.scalars(select(Experience).where(Experience.kind == "visit")).first()
    body = client.get(f"/api/v1/experiences/{visit.id}/availability").get_json()
    assert body["slots"] == []
