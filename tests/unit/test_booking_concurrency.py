"""No overbooking on SQLite: 50 concurrent requests for the last 10 places of one slot.

Each thread sends a real HTTP-level request through the Flask app in its own app context, so
every request has its own database session and connection, as under a threaded server.
"""

from __future__ import annotations

import pytest
from booking_race import race
from demo_days import open_day
from sqlalchemy import func, select

from tourplanner.adapters.orm import BookingItem, Experience, Slot
from tourplanner.extensions import db
from tourplanner.services import availability


@pytest.fixture
def app(app):
    """Request-rate limits off (RATE_LIMITS=off): 50 bookings from one address at once."""
    app.config["RATE_LIMITS"] = False
    return app


def _slot_with_ten_left(app) -> int:
    exp = db.session.scalars(
        select(Experience).where(Experience.slug == "bat-trang-workshop-pottery-wheel")
    ).one()
    slot = availability.slots_for_day([exp.id], open_day(20))[exp.id][0]
    db.session.get(Slot, slot.id).taken = slot.capacity - 10
    db.session.commit()
    return slot.id


def test_fifty_concurrent_requests_for_the_last_ten_places_take_exactly_ten(app):
    slot_id = _slot_with_ten_left(app)
    results = race(app, slot_id, 50, {"adults": 1})
    statuses = sorted(status for status, _ in results)
    assert statuses.count(201) == 10
    assert statuses.count(409) == 40, statuses
    assert all(body["error"]["code"] == "slot_full" for status, body in results if status == 409)
    db.session.expire_all()
    slot = db.session.get(Slot, slot_id)
    assert slot.taken == slot.capacity
    held = db.session.scalar(
        select(func.sum(BookingItem.adults)).where(BookingItem.slot_id == slot_id)
    )
    assert held == 10


def test_concurrent_retries_with_one_idempotency_key_reserve_once(app):
    slot_id = _slot_with_ten_left(app)
    results = race(app, slot_id, 8, {"adults": 2}, key="same-key")
    assert {status for status, _ in results} == {201}
    assert len({body["reference"] for _, body in results}) == 1
    db.session.expire_all()
    assert db.session.get(Slot, slot_id).remaining == 8
