"""With a real Redis, Celery worker, SMTP server and webhook receiver: the village hears about
every request once, the tourist hears about every answer, even when Redis was down."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from booking_helpers import CONTACT, fresh_slot, set_up_village, wait_until
from sqlalchemy import select, update

from tourplanner.adapters.notifiers import verify
from tourplanner.adapters.orm import BookingItem, Notification, Slot
from tourplanner.extensions import db
from tourplanner.services import booking as service

pytestmark = pytest.mark.integration
PUBLIC = "http://tourplanner.test"

VILLAGE_MAIL = "workshop@bat-trang.example"


@pytest.fixture
def app(pg_app, worker, receiver):
    set_up_village("bat-trang", email=VILLAGE_MAIL, webhook_url=receiver.url)
    return pg_app


def _book(app, slot, adults: int = 2) -> dict:
    response = app.test_client().post(
        "/api/v1/bookings",
        json={
            "items": [{"slot_id": slot.id, "party": {"adults": adults}}],
            "contact": CONTACT,
            "lang": "en",
        },
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _rows(reference: str) -> list[Notification]:
    db.session.expire_all()
    return db.session.scalars(
        select(Notification)
        .where(Notification.booking.has(reference=reference))
        .order_by(Notification.id)
    ).all()


def _all_sent(reference: str, count: int) -> bool:
    rows = _rows(reference)
    return len(rows) == count and all(r.status == "sent" for r in rows)


def test_request_reaches_village_by_mail_and_signed_webhook_once_then_tourist_hears(
    app, smtp, receiver
):
    body = _book(app, fresh_slot())
    ref = body["reference"]
    wait_until(lambda: _all_sent(ref, 3), what="tourist ack + village mail + webhook sent")
    assert len(smtp.to(VILLAGE_MAIL, ref)) == 1
    assert len(smtp.to(CONTACT["email"], f"Booking request {ref} received")) == 1
    (hook,) = receiver.for_reference(ref)
    header = hook["headers"]["X-Tourplanner-Signature"]
    assert header.startswith("t=") and ",v1=" in header
    assert verify("test-webhook-secret", header, hook["body"])
    assert not verify("test-webhook-secret", header, hook["body"], now=time.time() + 301)
    ack = smtp.to(CONTACT["email"], f"Booking request {ref} received")[0].get_content()
    assert f"{PUBLIC}/bookings/{ref}?token=" in ack
    assert hook["json"]["event"] == "booking.requested"
    decide_url = hook["json"]["items"][0]["decide_url"]
    village_mail = smtp.to(VILLAGE_MAIL, ref)[0].get_content()
    assert decide_url in village_mail

    # the village accepts through the signed link in its e-mail
    client = app.test_client()
    path = decide_url.removeprefix("http://tourplanner.test")
    assert client.get(path).status_code == 200
    assert client.post(path, data={"action": "accept"}).status_code == 200
    confirmed = wait_until(
        lambda: smtp.to(CONTACT["email"], f"Booking {ref} confirmed"),
        what="the tourist's confirmation",
    )
    assert len(confirmed) == 1
    # Only the token's hash is kept: later e-mails point to the first one's link.
    assert "token=" not in confirmed[0].get_content()
    assert _rows(ref)[-1].attempts == 1


def test_booking_succeeds_while_redis_is_down_and_notifies_once_it_is_back(app, redis, smtp):
    slot = fresh_slot()
    redis.stop()
    try:
        body = _book(app, slot)
        ref = body["reference"]
        rows = _rows(ref)
        assert len(rows) == 3 and {r.status for r in rows} == {"pending"}
        assert all(r.queued_at is None for r in rows)
        assert smtp.to(VILLAGE_MAIL, ref) == []
    finally:
        redis.start()
    wait_until(
        lambda: _all_sent(ref, 3),
        timeout=60,
        what="the outbox to be delivered after Redis came back",
    )
    assert len(smtp.to(VILLAGE_MAIL, ref)) == 1
    assert len(smtp.to(CONTACT["email"], ref)) == 1


def test_unanswered_hold_expires_frees_places_and_tells_the_tourist(app, smtp):
    slot = fresh_slot(capacity=6)
    body = _book(app, slot, adults=4)
    ref = body["reference"]
    wait_until(lambda: _all_sent(ref, 3), what="request notifications")
    db.session.execute(
        update(BookingItem)
        .where(BookingItem.booking.has(reference=ref))
        .values(hold_expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    db.session.commit()
    told = wait_until(
        lambda: smtp.to(CONTACT["email"], f"Booking request {ref} expired"),
        what="the expiry e-mail (beat task)",
    )
    assert len(told) == 1
    db.session.expire_all()
    assert db.session.get(Slot, slot.id).taken == 0
    item = db.session.scalars(
        select(BookingItem).where(BookingItem.booking.has(reference=ref))
    ).one()
    assert item.status == "expired"
    with pytest.raises(service.Conflict):
        service.decide(item.id, accept=True, village_id=item.village_id)


def test_failed_webhook_is_retried_with_backoff_and_delivered_once(app, receiver):
    receiver.fail_next = 1
    body = _book(app, fresh_slot())
    ref = body["reference"]
    wait_until(lambda: _all_sent(ref, 3), what="the webhook after one retry")
    assert receiver.failed >= 1 and len(receiver.for_reference(ref)) == 1
    hook = next(r for r in _rows(ref) if r.channel == "webhook")
    assert hook.attempts == 2 and hook.last_error is None
