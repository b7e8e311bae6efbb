"""No overbooking on PostgreSQL: 50 concurrent requests for the last 10 places, itineraries
that reserve all or nothing, concurrent retries with one Idempotency-Key; and what the one
statement that writes a booking on PostgreSQL writes (adapters/orm/booking_writes.py)."""

from __future__ import annotations

import pytest
from booking_helpers import CONTACT, fresh_slot
from booking_race import race
from sql_events import statements_and_commits
from sqlalchemy import func, select

from tourplanner.adapters.orm import AuditEvent, Booking, BookingItem, Notification, Slot
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


def _contact(tag: str) -> dict:
    return {**CONTACT, "email": f"{tag}@example.org"}


def _rows_of(reference: str) -> tuple[Booking, list[Notification]]:
    db.session.expire_all()
    booking = db.session.scalars(select(Booking).where(Booking.reference == reference)).one()
    rows = db.session.scalars(
        select(Notification).where(Notification.booking_id == booking.id).order_by(Notification.id)
    ).all()
    return booking, list(rows)


def test_a_one_slot_booking_writes_every_row_and_takes_its_places_in_one_statement(app):
    slot = fresh_slot(capacity=5)
    with statements_and_commits() as (statements, commits):
        response = app.test_client().post(
            "/api/v1/bookings",
            json={
                "contact": _contact("one-statement"),
                "items": [{"slot_id": slot.id, "party": {"adults": 2}}],
            },
        )
    assert response.status_code == 201, response.get_json()
    writes = [s for s in statements if not s.lstrip().upper().startswith("SELECT")]
    assert len(writes) == 1 and writes[0].startswith("WITH took AS (UPDATE slots"), writes
    assert len(commits) == 1
    booking, rows = _rows_of(response.get_json()["reference"])
    (item,) = booking.items
    assert (item.slot_id, item.adults, item.status) == (slot.id, 2, "pending")
    assert booking.status == "pending" and booking.total_vnd == item.total_vnd > 0
    assert item.start == slot.start and item.hold_expires_at.tzinfo is not None
    assert rows and rows[0].recipient == "one-statement@example.org"
    assert all(r.item_id == item.id for r in rows)
    village = [r for r in rows if r.event == "village_requested"]
    assert village and all(r.payload["items"] == r.payload["pending"] == [item.id] for r in village)
    assert db.session.get(Slot, slot.id).taken == 2


def test_a_full_slot_writes_nothing_and_says_what_is_left(app):
    slot = fresh_slot(capacity=3)
    db.session.get(Slot, slot.id).taken = 2
    db.session.commit()
    counts = [select(func.count()).select_from(t) for t in (Booking, BookingItem, Notification)]
    before = [db.session.scalar(c) for c in counts]
    response = app.test_client().post(
        "/api/v1/bookings",
        json={"contact": _contact("full"), "items": [{"slot_id": slot.id, "party": {"adults": 2}}]},
    )
    assert response.status_code == 409
    details = response.get_json()["error"]["details"]
    assert (details["remaining"], details["requested"], details["slot_id"]) == (1, 2, slot.id)
    db.session.expire_all()
    assert [db.session.scalar(c) for c in counts] == before
    assert db.session.get(Slot, slot.id).taken == 2


def test_an_instantly_confirmed_item_is_written_confirmed_and_audited(app):
    waits = fresh_slot(10)
    instant = fresh_slot(10, "lang-chuong-workshop-conical-hat")
    db.session.get(Slot, instant.id).experience.instant_confirmation = True
    db.session.commit()
    try:
        response = app.test_client().post(
            "/api/v1/bookings",
            json={
                "contact": _contact("instant"),
                "items": [{"slot_id": s.id, "party": {"adults": 1}} for s in (waits, instant)],
            },
        )
    finally:
        db.session.get(Slot, instant.id).experience.instant_confirmation = False
        db.session.commit()
    assert response.status_code == 201, response.get_json()
    booking, rows = _rows_of(response.get_json()["reference"])
    states = {i.slot_id: (i.status, i.decided_at is not None) for i in booking.items}
    assert states == {waits.id: ("pending", False), instant.id: ("confirmed", True)}
    assert booking.status == "pending"  # one village has still to answer
    confirmed = next(i for i in booking.items if i.slot_id == instant.id)
    audit = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.event == "booking_decided", AuditEvent.subject == booking.reference
        )
    ).all()
    assert [(a.details["item_id"], a.details["via"]) for a in audit] == [
        (confirmed.id, "instant_confirmation")
    ]
    instant_village = [r for r in rows if r.payload.get("items") == [confirmed.id]]
    assert instant_village and all(r.payload["pending"] == [] for r in instant_village)
    assert [db.session.get(Slot, s.id).taken for s in (waits, instant)] == [1, 1]


def test_without_the_relay_the_request_hands_over_the_rows_its_statement_wrote(app):
    app.config["OUTBOX_RELAY"] = "direct"
    try:
        slot = fresh_slot(capacity=5)
        response = app.test_client().post(
            "/api/v1/bookings",
            json={
                "contact": _contact("direct"),
                "items": [{"slot_id": slot.id, "party": {"adults": 1}}],
            },
        )
    finally:
        app.config["OUTBOX_RELAY"] = "auto"
    assert response.status_code == 201, response.get_json()
    _, rows = _rows_of(response.get_json()["reference"])
    assert rows and all(r.queued_at is not None for r in rows)
