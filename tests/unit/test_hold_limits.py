"""Holds cannot be hoarded (per contact and per client address) and Idempotency-Keys expire
(issue #10: one anonymous request could hold every place of a day; a key replayed forever)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from demo_days import open_day
from sqlalchemy import func, select

from tourplanner.adapters.orm import Booking, BookingItem, Experience, Slot
from tourplanner.domain.errors import Conflict
from tourplanner.domain.pricing import Party
from tourplanner.extensions import db
from tourplanner.services import availability
from tourplanner.services import booking as service
from tourplanner.services.availability import SlotView, now_utc
from tourplanner.services.booking_request import BookingRequest, ItemRequest

POTTERY, CARVING = "bat-trang-workshop-pottery-wheel", "son-dong-workshop-wood-carving"
DAY = open_day(20, span=2, workshops=(POTTERY, CARVING))


def _slot(n: int = 0, slug: str = POTTERY) -> SlotView:
    exp = db.session.scalars(select(Experience).where(Experience.slug == slug)).one()
    return availability.slots_for_day([exp.id], DAY + timedelta(days=n))[exp.id][0]


def _request(
    slot: SlotView, adults: int, email: str = "lan@example.org", phone: str | None = None
) -> BookingRequest:
    contact = {"name": "Lan", "email": email, "phone": phone}
    return BookingRequest((ItemRequest(slot.id, Party(adults=adults)),), contact, "en")


def _taken(slot) -> int:
    db.session.expire_all()
    return db.session.get(Slot, slot.id).taken


def _bookings() -> int:
    return db.session.scalar(select(func.count()).select_from(Booking))


# --- per contact ---------------------------------------------------------------------------


def test_one_contact_cannot_hold_more_than_the_limit(app):
    app.config["HOLD_PLACES_PER_CONTACT"] = 6
    service.create_booking(_request(_slot(0), 4))
    with pytest.raises(Conflict) as refused:
        service.create_booking(_request(_slot(1), 3, email="LAN@Example.org"))
    assert refused.value.code == "too_many_held_places"
    assert refused.value.details == {"limit": 6, "held": 4, "requested": 3, "per": "contact"}
    assert _bookings() == 1 and _taken(_slot(1)) == 0
    service.create_booking(_request(_slot(1), 2, email="lan@example.org"))  # exactly 6


def test_the_same_phone_counts_as_the_same_contact(app):
    app.config["HOLD_PLACES_PER_CONTACT"] = 6
    service.create_booking(_request(_slot(0), 5, phone="+84 90 123 4567"))
    with pytest.raises(Conflict):
        service.create_booking(
            _request(_slot(1), 2, email="other@example.org", phone="8490-1234567")
        )
    service.create_booking(
        _request(_slot(1), 2, email="other@example.org", phone="+84 91 000 0000")
    )


def test_one_request_for_a_whole_day_is_refused_and_writes_nothing(client, app):
    slot = _slot(0, CARVING)
    app.config["HOLD_PLACES_PER_CONTACT"] = slot.capacity - 1
    response = client.post(
        "/api/v1/bookings",
        json={
            "items": [{"slot_id": slot.id, "party": {"adults": slot.capacity}}],
            "contact": {"name": "Hoarder", "email": "h@example.org"},
        },
    )
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert (
        error["code"] == "too_many_held_places" and error["details"]["limit"] == slot.capacity - 1
    )
    assert _bookings() == 0


def test_released_places_no_longer_count(app):
    app.config["HOLD_PLACES_PER_CONTACT"] = 4
    view, _ = service.create_booking(_request(_slot(0), 4))
    item = db.session.scalars(select(BookingItem)).one()
    service.decide(item.id, accept=False, reason="Closed that day", village_id=item.village_id)
    service.create_booking(_request(_slot(1), 4))
    assert view["reference"] and _bookings() == 2


def test_past_sessions_no_longer_count(app):
    app.config["HOLD_PLACES_PER_CONTACT"] = 4
    service.create_booking(_request(_slot(0), 4))
    after = _slot(0).end + timedelta(days=1)
    assert service.places_held_by_contact("lan@example.org", None, after) == 0
    assert service.places_held_by_contact("lan@example.org", None, now_utc()) == 4


def test_contact_limit_stays_with_rate_limits_off(app):
    app.config.update(RATE_LIMITS=False, HOLD_PLACES_PER_CONTACT=3)
    with pytest.raises(Conflict):
        service.create_booking(_request(_slot(0), 4))


# --- per client address --------------------------------------------------------------------


def test_one_address_cannot_reserve_more_than_its_daily_limit(app):
    app.config.update(HOLD_PLACES_PER_IP=6, HOLD_PLACES_PER_CONTACT=100)
    service.create_booking(_request(_slot(0), 4, email="a@example.org"), client_ip="198.51.100.7")
    with pytest.raises(Conflict) as refused:
        service.create_booking(
            _request(_slot(1), 3, email="b@example.org"), client_ip="198.51.100.7"
        )
    assert refused.value.code == "too_many_held_places" and refused.value.details["per"] == "ip"
    assert refused.value.details["limit"] == 6
    service.create_booking(_request(_slot(1), 3, email="c@example.org"), client_ip="198.51.100.8")


def test_rate_limits_off_turns_the_address_limit_off(app):
    app.config.update(HOLD_PLACES_PER_IP=2, HOLD_PLACES_PER_CONTACT=100, RATE_LIMITS=False)
    service.create_booking(_request(_slot(0), 4), client_ip="198.51.100.7")
    service.create_booking(_request(_slot(1), 4, email="b@example.org"), client_ip="198.51.100.7")
    assert _bookings() == 2


# --- idempotency keys expire ---------------------------------------------------------------


def test_an_idempotency_key_replays_for_a_day_only(app):
    first_at = now_utc()
    first, replayed = service.create_booking(
        _request(_slot(0), 2), idempotency_key="k-1", now=first_at
    )
    assert not replayed and first["manage_token"]
    again, replayed = service.create_booking(
        _request(_slot(0), 2), idempotency_key="k-1", now=first_at + timedelta(hours=23)
    )
    assert replayed and again["reference"] == first["reference"]
    assert again["manage_token"] is None  # the token went to the first answer only
    later, replayed = service.create_booking(
        _request(_slot(0), 2), idempotency_key="k-1", now=first_at + timedelta(hours=25)
    )
    assert not replayed and later["reference"] != first["reference"]
    assert _taken(_slot(0)) == 4
    old = db.session.scalars(select(Booking).where(Booking.reference == first["reference"])).one()
    assert old.idempotency_key is None  # freed in the new booking's transaction


def test_an_expired_key_may_carry_a_different_request(app):
    first_at = now_utc()
    service.create_booking(_request(_slot(0), 2), idempotency_key="k-2", now=first_at)
    view, replayed = service.create_booking(
        _request(_slot(1), 3), idempotency_key="k-2", now=first_at + timedelta(hours=24, seconds=1)
    )
    assert not replayed and view["items"][0]["party"]["adults"] == 3
