"""No overbooking on PostgreSQL: 50 concurrent requests for the last 10 places, itineraries
that reserve all or nothing, concurrent retries with one Idempotency-Key."""

from __future__ import annotations

import pytest
from booking_helpers import CONTACT, fresh_slot
from booking_race import race
from sqlalchemy import func, select

from tourplanner.adapters.orm import Booking, BookingItem, Slot
from tourplanner.extensions import db

pytestmark = pytest.mark.integration


@pytest.fixture
def app(pg_app):
    # Many bookings from one address at once: request-rate limits off (RATE_LIMITS=off).
    pg_app.config["RATE_LIMITS"] = False
    return pg_app


def test_fifty_concurrent_requests_for_the_last_ten_places_take_exactly_ten(app):
    slot = fresh_slot(capacity=20)
    db.session.get(Slot, slot.id).taken = 10
    db.session.commit()
    results = race(app, slot.id, 50, {"adults": 1})
    statuses = [status for status, _ in results]
    assert statuses.count(201) == 10 and statuses.count(409) == 40, sorted(statuses)
    assert all(
        body["error"]["code"] == "slot_full" and body["error"]["details"]["remaining"] == 0
        for status, body in results
        if status == 409
    )
    db.session.expire_all()
    assert db.session.get(Slot, slot.id).taken == 20
    assert (
        db.session.scalar(
            select(func.sum(BookingItem.adults)).where(BookingItem.slot_id == slot.id)
        )
        == 10
    )


def test_itinerary_whose_third_item_is_full_reserves_nothing(app):
    client = app.test_client()
    a, b, c = fresh_slot(10), fresh_slot(10, "lang-chuong-workshop-conical-hat"), fresh_slot(2)
    before = db.session.scalar(select(func.count()).select_from(Booking))
    response = client.post(
        "/api/v1/bookings",
        json={
            "contact": CONTACT,
            "items": [{"slot_id": s.id, "party": {"adults": 3}} for s in (a, b, c)],
        },
    )
    assert response.status_code == 409
    assert response.get_json()["error"]["details"]["slot_id"] == c.id
    db.session.expire_all()
    assert [db.session.get(Slot, s.id).taken for s in (a, b, c)] == [0, 0, 0]
    assert db.session.scalar(select(func.count()).select_from(Booking)) == before


def test_concurrent_retries_with_one_idempotency_key_reserve_once(app):
    slot = fresh_slot(capacity=20)
    results = race(app, slot.id, 10, {"adults": 2}, key=f"retry-{slot.id}")
    assert {status for status, _ in results} == {201}
    assert len({body["reference"] for _, body in results}) == 1
    db.session.expire_all()
    assert db.session.get(Slot, slot.id).taken == 2
