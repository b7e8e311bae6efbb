"""Bookings through the API: atomic holds, prices, idempotency, signed links, bad input."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from demo_days import open_day
from sqlalchemy import select

from tourplanner.adapters.orm import Booking, BookingItem, Experience, Notification, Plan, Slot
from tourplanner.extensions import db
from tourplanner.services import availability
from tourplanner.services import booking as service

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
#: Every workshop these tests book holds sessions that day (Sơn Đồng closes on Sundays).
DAY = open_day(
    30,
    workshops=(
        "bat-trang-workshop-pottery-wheel",
        "lang-chuong-workshop-conical-hat",
        "son-dong-workshop-wood-carving",
    ),
)
CONTACT = {"name": "Lan Nguyễn", "email": "lan@example.org", "phone": "+84 90 000 0000"}


def _exp(slug: str) -> Experience:
    return db.session.scalars(select(Experience).where(Experience.slug == slug)).one()


def _slots(slug: str, day: date = DAY) -> list:
    exp = _exp(slug)
    return availability.slots_for_day([exp.id], day)[exp.id]


def _book(client, items, headers=None, **extra):
    return client.post(
        "/api/v1/bookings",
        json={"items": items, "contact": CONTACT, "lang": "en", **extra},
        headers=headers or {},
    )


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def _taken(slot_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Slot, slot_id).taken


def test_booking_one_slot_holds_places_and_prices_each_category(app, client):
    slot = _slots("bat-trang-workshop-pottery-wheel")[0]
    response = _book(client, [{"slot_id": slot.id, "party": {"adults": 2, "children": 1}}])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "pending"
    assert body["reference"].startswith("TP-") and len(body["reference"]) == 9
    assert body["total_vnd"] == 2 * 150_000 + 100_000
    assert body["items"][0]["total_vnd"] == 400_000
    assert body["items"][0]["status"] == "pending"
    public = app.config["PUBLIC_BASE_URL"]
    assert body["manage_url"].startswith(f"{public}/bookings/{body['reference']}?token=")
    assert _taken(slot.id) == 3
    stored = db.session.scalars(select(Booking)).one()
    assert stored.total_vnd == 400_000


def test_manage_link_shows_the_booking_and_forged_links_are_403(client):
    slot = _slots("bat-trang-workshop-pottery-wheel")[0]
    body = _book(client, [{"slot_id": slot.id, "party": {"adults": 1}}]).get_json()
    ref, token = body["reference"], _token(body["manage_url"])
    assert client.get(f"/api/v1/bookings/{ref}?token={token}").get_json()["reference"] == ref
    assert client.get(f"/api/v1/bookings/{ref.lower()}?token={token}").status_code == 200
    forged = client.get(f"/api/v1/bookings/{ref}?token={token[:-2]}xx")
    assert forged.status_code == 403 and forged.get_json()["error"]["code"] == "invalid_token"
    assert client.get(f"/api/v1/bookings/{ref}").status_code == 403
    other = _book(client, [{"slot_id": slot.id, "party": {"adults": 1}}]).get_json()
    assert client.get(f"/api/v1/bookings/{other['reference']}?token={token}").status_code == 403
    page = client.get(f"/bookings/{ref}?token={token}&lang=en", follow_redirects=True)
    assert page.status_code == 200 and ref in page.get_data(as_text=True)
    assert client.get(f"/bookings/{ref}?token=nope").status_code == 403


def test_expired_manage_link_is_403(client, app):
    slot = _slots("bat-trang-workshop-pottery-wheel")[0]
    body = _book(client, [{"slot_id": slot.id, "party": {"adults": 1}}]).get_json()
    later = slot.end + timedelta(days=app.config["MANAGE_LINK_DAYS_AFTER_VISIT"], seconds=1)
    with pytest.raises(service.Forbidden) as refused:
        service.get_for_tourist(body["reference"], _token(body["manage_url"]), now=later)
    assert refused.value.code == "link_expired"


def test_party_larger_than_remaining_is_409_with_remaining_and_writes_nothing(client):
    slot = _slots("son-dong-workshop-wood-carving")[0]  # capacity 8
    assert _book(client, [{"slot_id": slot.id, "party": {"adults": 6}}]).status_code == 201
    response = _book(client, [{"slot_id": slot.id, "party": {"adults": 3}}])
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "slot_full"
    assert error["details"]["slot_id"] == slot.id and error["details"]["remaining"] == 2
    assert _taken(slot.id) == 6
    assert db.session.scalar(select(db.func.count()).select_from(Booking)) == 1


def test_itinerary_whose_third_item_is_full_reserves_nothing(client):
    a = _slots("bat-trang-workshop-pottery-wheel")[0]
    b = _slots("lang-chuong-workshop-conical-hat")[0]
    c = _slots("son-dong-workshop-wood-carving")[0]
    assert _book(client, [{"slot_id": c.id, "party": {"adults": 8}}]).status_code == 201
    before = db.session.scalar(select(db.func.count()).select_from(Notification))
    response = _book(client, [{"slot_id": s.id, "party": {"adults": 2}} for s in (a, b, c)])
    assert response.status_code == 409
    assert response.get_json()["error"]["details"] == {
        "slot_id": c.id,
        "remaining": 0,
        "requested": 2,
    }
    assert (_taken(a.id), _taken(b.id), _taken(c.id)) == (0, 0, 8)
    assert db.session.scalar(select(db.func.count()).select_from(Booking)) == 1
    assert db.session.scalar(select(db.func.count()).select_from(Notification)) == before


def test_itinerary_booking_across_villages_holds_every_item(client):
    a = _slots("bat-trang-workshop-pottery-wheel")[0]
    b = _slots("lang-chuong-workshop-conical-hat")[2]
    body = _book(
        client,
        [
            {"slot_id": a.id, "party": {"adults": 1, "seniors": 1}},
            {"slot_id": b.id, "party": {"adults": 1, "seniors": 1}},
        ],
    ).get_json()
    assert [i["village"]["slug"] for i in body["items"]] == ["bat-trang", "lang-chuong"]
    assert body["total_vnd"] == sum(i["total_vnd"] for i in body["items"])
    assert (_taken(a.id), _taken(b.id)) == (2, 2)


def test_idempotency_key_returns_the_same_booking_and_reserves_once(client):
    slot = _slots("bat-trang-workshop-pottery-wheel")[0]
    items = [{"slot_id": slot.id, "party": {"adults": 2}}]
    first = _book(client, items, headers={"Idempotency-Key": "abc-123"})
    again = _book(client, items, headers={"Idempotency-Key": "abc-123"})
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.get_json()["reference"] == again.get_json()["reference"]
    assert _taken(slot.id) == 2
    other = _book(
        client,
        [{"slot_id": slot.id, "party": {"adults": 3}}],
        headers={"Idempotency-Key": "abc-123"},
    )
    assert other.status_code == 422
    assert other.get_json()["error"]["code"] == "idempotency_key_reused"


@pytest.mark.parametrize(
    "body,status,code",
    [
        ({"items": [{"slot_id": 99999999, "party": {"adults": 1}}]}, 404, "slot_not_found"),
        ({"items": [{"slot_id": "x", "party": {"adults": 1}}]}, 400, "invalid_items"),
        ({"items": []}, 400, "invalid_items"),
        ({"items": [{"slot_id": 1, "party": {"adults": 0}}]}, 400, "invalid_party"),
        ({"items": [{"slot_id": 1, "party": {"pets": 1}}]}, 400, "invalid_party"),
        ({}, 400, "missing_items"),
    ],
)
def test_bad_booking_requests_are_clear_4xx(client, body, status, code):
    response = client.post("/api/v1/bookings", json={"contact": CONTACT, **body})
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["code"] == code


def test_bad_contact_and_non_json_are_400(client):
    slot = _slots("bat-trang-workshop-pottery-wheel")[0]
    items = [{"slot_id": slot.id, "party": {"adults": 1}}]
    bad = client.post(
        "/api/v1/bookings", json={"items": items, "contact": {"name": "A", "email": "nope"}}
    )
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_contact"
    assert client.post("/api/v1/bookings", data="x").status_code == 400


def test_slot_in_the_past_or_inside_cutoff_is_refused(client):
    exp = _exp("bat-trang-workshop-pottery-wheel")
    slot = availability.add_extra_slot(exp.id, datetime.now(HANOI) + timedelta(hours=2), 5)
    response = _book(client, [{"slot_id": slot.id, "party": {"adults": 1}}])
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "booking_closed"


def _pending_item(client, slug="bat-trang-workshop-pottery-wheel", adults=2):
    slot = _slots(slug)[0]
    body = _book(client, [{"slot_id": slot.id, "party": {"adults": adults}}]).get_json()
    return body, db.session.scalars(
        select(BookingItem).where(BookingItem.booking.has(reference=body["reference"]))
    ).one()


def test_state_machine_decline_releases_and_wrong_transitions_name_the_state(client):
    body, item = _pending_item(client)
    view = service.decide(item.id, accept=False, reason="Kiln repair", village_id=item.village_id)
    assert view["status"] == "declined" and view["items"][0]["decision_reason"] == "Kiln repair"
    assert _taken(item.slot_id) == 0
    token = _token(body["manage_url"])
    response = client.post(f"/api/v1/bookings/{body['reference']}/cancel?token={token}")
    assert response.status_code == 409
    assert response.get_json()["error"]["details"]["current_state"] == "declined"
    with pytest.raises(service.Conflict) as exc:
        service.decide(item.id, accept=True, village_id=item.village_id)
    assert exc.value.details["current_state"] == "declined"


def test_decline_needs_a_reason(client):
    _body, item = _pending_item(client)
    with pytest.raises(service.ValidationError):
        service.decide(item.id, accept=False, reason=" ", village_id=item.village_id)


def test_pending_booking_cannot_be_cancelled_but_confirmed_can_and_frees_places(client):
    body, item = _pending_item(client)
    token = _token(body["manage_url"])
    url = f"/api/v1/bookings/{body['reference']}/cancel?token={token}"
    pending = client.post(url)
    assert pending.status_code == 409
    assert pending.get_json()["error"]["details"]["current_state"] == "pending"
    service.decide(item.id, accept=True, village_id=item.village_id)
    cancelled = client.post(url)
    assert cancelled.status_code == 200
    assert cancelled.get_json()["status"] == "cancelled"
    assert cancelled.get_json()["items"][0]["cancellation_fee_vnd"] == 0  # 30 days ahead: free
    assert _taken(item.slot_id) == 0
    assert client.post(url).status_code == 403  # cancelling replaced the token
    again = f"{url.split('?')[0]}?token={_token(cancelled.get_json()['manage_url'])}"
    assert client.post(again).status_code == 409


def test_late_cancellation_records_the_fee(app, client):
    _body, item = _pending_item(client)
    service.decide(item.id, accept=True, village_id=item.village_id)
    late = item.start - timedelta(hours=2)
    view = service.cancel(item.booking.reference, _token(_body["manage_url"]), now=late)
    assert view["items"][0]["cancellation_fee_vnd"] == item.total_vnd


def test_other_villages_cannot_decide(client):
    _body, item = _pending_item(client)
    other = _exp("lang-chuong-workshop-conical-hat").village_id
    with pytest.raises(service.NotFound):
        service.decide(item.id, accept=True, village_id=other)


def test_unanswered_hold_expires_frees_places_and_tells_the_tourist(client):
    _body, item = _pending_item(client)
    assert service.expire_holds(now=item.hold_expires_at - timedelta(minutes=1)) == []
    assert service.expire_holds(now=item.hold_expires_at) == [item.id]
    db.session.expire_all()
    assert db.session.get(BookingItem, item.id).status == "expired"
    assert _taken(item.slot_id) == 0
    told = db.session.scalars(select(Notification).where(Notification.event == "expired")).one()
    assert told.recipient == CONTACT["email"] and told.status == "sent"
    assert service.expire_holds(now=item.hold_expires_at + timedelta(hours=1)) == []


def test_attendance_only_after_the_start(client):
    _body, item = _pending_item(client)
    service.decide(item.id, accept=True, village_id=item.village_id)
    with pytest.raises(service.Conflict):
        service.record_attendance(item.id, attended=True, village_id=item.village_id)
    view = service.record_attendance(
        item.id, attended=False, village_id=item.village_id, now=item.start + timedelta(minutes=5)
    )
    assert view["status"] == "no_show"


def test_reminder_is_queued_once_the_day_before(client):
    _body, item = _pending_item(client)
    service.decide(item.id, accept=True, village_id=item.village_id)
    day_before = item.start - timedelta(days=1)
    assert service.queue_reminders(now=day_before) == [item.id]
    assert service.queue_reminders(now=day_before) == []
    reminder = db.session.scalars(select(Notification).where(Notification.event == "reminder"))
    assert len(reminder.all()) == 1


def test_booking_a_saved_plan_books_its_slots_with_the_plan_party(client):
    a = _slots("bat-trang-workshop-pottery-wheel")[0]
    b = _slots("lang-chuong-workshop-conical-hat")[2]
    stops = [
        {"village": "bat-trang", "experience_id": a.experience_id, "slot_id": a.id},
        {"village": "van-phuc", "experience_id": 1, "slot_id": None},
        {"village": "lang-chuong", "experience_id": b.experience_id, "slot_id": b.id},
    ]
    db.session.add(
        Plan(
            id="plan1",
            request={"party": {"adults": 2, "children": 1}, "lang": "en"},
            result={"itineraries": [{"stops": stops}, {"stops": [stops[1]]}]},
        )
    )
    db.session.commit()
    body = client.post(
        "/api/v1/bookings", json={"plan_id": "plan1", "itinerary": 0, "contact": CONTACT}
    ).get_json()
    assert [i["slot_id"] for i in body["items"]] == [a.id, b.id]
    assert body["items"][0]["party"] == {"adults": 2, "children": 1, "seniors": 0}
    assert body["lang"] == "en"
    visits_only = client.post(
        "/api/v1/bookings", json={"plan_id": "plan1", "itinerary": 1, "contact": CONTACT}
    )
    assert visits_only.status_code == 422
    assert visits_only.get_json()["error"]["code"] == "nothing_to_book"
    assert (
        client.post("/api/v1/bookings", json={"plan_id": "nope", "contact": CONTACT}).status_code
        == 404
    )
    assert (
        client.post(
            "/api/v1/bookings", json={"plan_id": "plan1", "itinerary": 5, "contact": CONTACT}
        ).status_code
        == 400
    )


def test_village_and_tourist_are_notified_through_the_outbox(client):
    body, _item = _pending_item(client)
    rows = db.session.scalars(select(Notification).order_by(Notification.id)).all()
    assert [(n.event, n.channel, n.status) for n in rows] == [
        ("requested", "email", "sent"),
        ("village_requested", "email", "sent"),  # the demo village's sample booking e-mail
    ]
    assert body["reference"] in rows[0].subject
