"""The tourist's booking, item by item (#9): each state in its own words, the total of what is
live, cancelling a confirmed part while another waits, withdrawing a request (places freed at
once, the village told), other sessions for a declined part, where to go and whom to call; the
answer to a request and the terms before booking; a village cancelling for a schedule change."""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from demo_days import open_day
from sqlalchemy import select

from tourplanner.adapters.orm import BookingItem, Experience, Notification, Slot, Village
from tourplanner.extensions import db
from tourplanner.services import availability, booking_manage
from tourplanner.services import booking as service

DAY = open_day(30)
POTTERY = "bat-trang-workshop-pottery-wheel"
HATS = "lang-chuong-workshop-conical-hat"
CONTACT = {"name": "Lan Nguyễn", "email": "lan@example.org", "phone": "0912 345 678"}


def _exp(slug: str) -> Experience:
    return db.session.scalars(select(Experience).where(Experience.slug == slug)).one()


def _slot(slug: str, n: int = 0, day: date = DAY):
    exp = _exp(slug)
    return availability.slots_for_day([exp.id], day)[exp.id][n]


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def _taken(slot_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Slot, slot_id).taken


def _village(slug: str) -> Village:
    return db.session.scalars(select(Village).where(Village.slug == slug)).one()


@pytest.fixture
def reachable(app):
    """Both villages receive their requests by e-mail (the village is told of changes)."""
    for slug in ("bat-trang", "lang-chuong"):
        _village(slug).booking_email = f"desk@{slug}.example"
    db.session.commit()


def _book_two(client) -> tuple[dict, BookingItem, BookingItem]:
    """A booking of a pottery session and a conical-hat session, in the tourist's English."""
    items = [
        {"slot_id": _slot(POTTERY).id, "party": {"adults": 2, "children": 1}},
        {"slot_id": _slot(HATS, 2).id, "party": {"adults": 2, "children": 1}},
    ]
    body = client.post(
        "/api/v1/bookings", json={"items": items, "contact": CONTACT, "lang": "en"}
    ).get_json()
    rows = db.session.scalars(
        select(BookingItem)
        .where(BookingItem.booking.has(reference=body["reference"]))
        .order_by(BookingItem.start)
    ).all()
    pottery, hats = sorted(rows, key=lambda i: i.experience.slug)
    return body, pottery, hats


def _open(client, body: dict, lang: str = "en") -> str:
    page = client.get(f"{urlsplit(body['manage_url']).path}?token={_token(body['manage_url'])}")
    assert page.status_code == 303
    return client.get(f"/bookings/{body['reference']}?lang={lang}").get_data(as_text=True)


def _card(page: str, item_id: int) -> str:
    start = page.index(f'id="item-{item_id}"')
    marks = ('class="booking-item ', 'class="booking-totals"')
    ends = [page.find(mark, start + 1) for mark in marks]
    return page[start : min(e for e in ends if e > 0)]


def _total(page: str) -> str:
    return re.search(r'class="live-total">([^<]+)<', page).group(1)


# --- states and the total ------------------------------------------------------------------


def test_a_declined_item_leaves_the_total_and_reads_apart_from_a_pending_one(client, reachable):
    body, pottery, hats = _book_two(client)
    service.decide(hats.id, accept=False, reason="The artisan is ill.", village_id=hats.village_id)
    page = _open(client, body)
    assert _total(page) == "400,000 VND"  # the pottery request only (2 x 150,000 + 100,000)
    declined, waiting = _card(page, hats.id), _card(page, pottery.id)
    assert "declined by the village" in declined and "The artisan is ill." in declined
    assert "(not in the total)" in declined and "(not in the total)" not in waiting
    assert "waiting for the village" in waiting and "state-pending" in waiting
    assert "state-declined" in declined
    view = booking_manage.manage_view(body["reference"], _token(body["manage_url"]))
    assert view["live_total_vnd"] == 400_000 and view["total_vnd"] == 670_000  # stored sum


def test_a_confirmed_item_can_be_cancelled_while_another_is_pending(client, reachable):
    body, pottery, hats = _book_two(client)
    service.decide(pottery.id, accept=True, village_id=pottery.village_id)
    page = _open(client, body)
    assert "Cancel this part, free" in _card(page, pottery.id)
    assert "Withdraw this request" in _card(page, hats.id)
    response = client.post(f"/bookings/{body['reference']}/items/{pottery.id}/cancel?lang=en")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(BookingItem, pottery.id).status == "cancelled"
    assert db.session.get(BookingItem, hats.id).status == "pending"
    assert _taken(pottery.slot_id) == 0
    told = db.session.scalars(
        select(Notification.recipient).where(
            Notification.item_id == pottery.id, Notification.event == "village_cancelled"
        )
    ).all()
    assert told == ["desk@bat-trang.example"]
    page = client.get(f"/bookings/{body['reference']}?lang=en").get_data(as_text=True)
    assert "cancelled by you" in _card(page, pottery.id)
    assert _total(page) == "270,000 VND"  # the hats request: 2 x 100,000 + 70,000
    # The link used is replaced (as for a whole cancellation); this browser keeps the new one.
    assert client.get(f"/api/v1/bookings/{body['reference']}?token={_token(body['manage_url'])}")
    old = client.get(f"/api/v1/bookings/{body['reference']}?token={_token(body['manage_url'])}")
    assert old.status_code == 403


def test_a_late_cancellation_of_one_part_says_its_fee_first_and_records_it(client, reachable):
    body, pottery, _hats = _book_two(client)
    service.decide(pottery.id, accept=True, village_id=pottery.village_id)
    late = pottery.start - timedelta(hours=2)
    token = _token(body["manage_url"])
    before = booking_manage.manage_view(body["reference"], token, now=late)
    item = next(i for i in before["items"] if i["id"] == pottery.id)
    assert item["can_cancel"] and item["fee_if_cancelled_now"] == pottery.total_vnd
    after = booking_manage.cancel_item(body["reference"], token, pottery.id, now=late)
    assert after["fees_vnd"] == pottery.total_vnd


def test_a_withdrawn_request_frees_its_places_at_once_and_the_village_is_told(client, reachable):
    body, pottery, hats = _book_two(client)
    assert _taken(hats.slot_id) == 3
    _open(client, body)
    response = client.post(f"/bookings/{body['reference']}/items/{hats.id}/withdraw?lang=en")
    assert response.status_code == 303
    assert _taken(hats.slot_id) == 0
    item = db.session.get(BookingItem, hats.id)
    assert item.status == "cancelled" and item.cancellation_fee_vnd == 0
    assert db.session.get(BookingItem, pottery.id).status == "pending"
    assert db.session.scalars(
        select(Notification).where(
            Notification.item_id == hats.id,
            Notification.event == "village_cancelled",
            Notification.recipient == "desk@lang-chuong.example",
        )
    ).first()
    page = client.get(f"/bookings/{body['reference']}?lang=en").get_data(as_text=True)
    card = _card(page, hats.id)
    assert "withdrawn by you" in card and "state-withdrawn" in card
    assert "Withdraw this request" not in card
    # The village's decision link dies with the request.
    assert service.village_item(hats.id, hats.village_id)["status"] == "cancelled"


def test_an_answered_request_cannot_be_withdrawn(client, reachable):
    body, pottery, _hats = _book_two(client)
    service.decide(pottery.id, accept=True, village_id=pottery.village_id)
    with pytest.raises(service.Conflict) as refused:
        booking_manage.withdraw_item(body["reference"], _token(body["manage_url"]), pottery.id)
    assert refused.value.details["current_state"] == "confirmed"
    assert _taken(pottery.slot_id) == 3


def test_another_bookings_item_is_404_and_a_bad_link_403(client, reachable):
    body, pottery, _hats = _book_two(client)
    _other, _p, other_hats = _book_two(client)
    with pytest.raises(service.NotFound):
        booking_manage.withdraw_item(body["reference"], _token(body["manage_url"]), other_hats.id)
    with pytest.raises(service.Forbidden):
        booking_manage.withdraw_item(body["reference"], "wrong", pottery.id)


# --- a declined item: other sessions or a re-plan ------------------------------------------


def test_a_declined_item_offers_other_sessions_and_one_can_be_asked_for(client, reachable):
    body, pottery, _hats = _book_two(client)
    service.decide(pottery.id, accept=False, reason="Full.", village_id=pottery.village_id)
    page = _open(client, body)
    card = _card(page, pottery.id)
    assert "Other sessions of this workshop with room for you" in card
    assert "Plan the day again without it" in card
    view = booking_manage.manage_view(body["reference"], _token(body["manage_url"]))
    sessions = next(i for i in view["items"] if i["id"] == pottery.id)["other_sessions"]
    assert sessions and pottery.slot_id not in {s["id"] for s in sessions}
    chosen = sessions[0]
    response = client.post(
        f"/bookings/{body['reference']}/items/{pottery.id}/rebook", data={"slot_id": chosen["id"]}
    )
    assert response.status_code == 303
    assert _taken(chosen["id"]) == 3
    new = db.session.scalars(select(BookingItem).where(BookingItem.slot_id == chosen["id"])).one()
    assert new.status == "pending" and new.booking.reference == body["reference"]
    assert db.session.scalars(
        select(Notification).where(
            Notification.item_id == new.id, Notification.event == "village_requested"
        )
    ).first()
    again = client.post(
        f"/bookings/{body['reference']}/items/{pottery.id}/rebook",
        data={"slot_id": sessions[1]["id"]},
    )
    assert again.status_code == 303 and _taken(sessions[1]["id"]) == 0  # once per item


def test_a_session_that_is_not_an_alternative_is_refused(client, reachable):
    body, pottery, hats = _book_two(client)
    service.decide(pottery.id, accept=False, reason="Full.", village_id=pottery.village_id)
    with pytest.raises(service.Conflict) as refused:
        booking_manage.rebook_item(
            body["reference"], _token(body["manage_url"]), pottery.id, _slot(HATS, 0).id
        )
    assert refused.value.code == "not_a_replacement"
    with pytest.raises(service.Conflict):  # a pending item is not rebooked
        booking_manage.rebook_item(
            body["reference"], _token(body["manage_url"]), hats.id, _slot(HATS, 0).id
        )


# --- where to go ---------------------------------------------------------------------------


def test_the_page_gives_the_address_meeting_point_phone_and_directions(client, reachable):
    village = _village("bat-trang")
    village.display_space = {"name": "Nhà trưng bày gốm", "address": "Xóm 3", "phone": None}
    village.notify_phone = "0912 000 111"
    db.session.commit()
    body, pottery, _hats = _book_two(client)
    card = _card(_open(client, body, "vi"), pottery.id)
    assert "Nhà trưng bày gốm, Xóm 3" in card
    assert 'href="tel:0912000111"' in card
    assert "https://www.google.com/maps/dir/?api=1&amp;destination=" in card
    assert village.commune_2025 in card


# --- the answer and the terms before booking -----------------------------------------------


def test_the_answer_says_how_many_villages_were_asked_and_by_when(client, reachable):
    body, pottery, hats = _book_two(client)
    client.get(f"/bookings/{body['reference']}?token={_token(body['manage_url'])}")
    page = client.get(f"/bookings/{body['reference']}?sent=1&lang=en").get_data(as_text=True)
    notice = page[page.index('id="request-sent"') :]
    notice = notice[: notice.index("</div>")]
    assert "Your request has been sent to 2 villages." in notice
    latest = max(pottery.hold_expires_at, hats.hold_expires_at).astimezone(availability.LOCAL_TZ)
    assert latest.strftime("%d/%m/%Y, %H:%M") in notice
    assert "Booked" not in page


def test_the_plan_page_shows_each_workshops_price_breakdown_and_terms(client):
    plan = _plan(client)
    page = client.get(f"/plans/{plan}?lang=en").get_data(as_text=True)
    form = page[page.index('class="book-form"') :]
    assert "2 adults × 150,000 VND = 300,000 VND" in form
    assert "1 child × 100,000 VND = 100,000 VND" in form
    assert "Free cancellation until 24 hours before the start" in form
    assert "Booking closes 12 hours before the start." in form


def _plan(client, party=None) -> str:
    data = {
        "start": {"landmark": "hoan-kiem-lake"},
        "date": DAY.isoformat(),
        "party": party or {"adults": 2, "children": 1},
        "interests": {"ceramics": 1.0},
        "must_include": [POTTERY],
        "lang": "en",
    }
    response = client.post("/api/v1/plans", json=data)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_book_this_day_shows_every_field_error_in_the_pages_language_and_keeps_the_input(client):
    plan = _plan(client)
    response = client.post(
        f"/plans/{plan}/book?lang=vi",
        data={"itinerary": "0", "name": "", "email": "lan@", "phone": "abc"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    form = page[page.index('class="book-form"') :]
    assert "Hãy ghi tên" in form or "Write your name" in form  # until the lead merges vi
    errors = re.findall(r'class="field-error" id="[^"]*"', form)
    assert len(errors) == 3
    assert 'value="lan@"' in form and 'value="abc"' in form
    assert "contact.email" not in page


def test_book_this_day_sends_the_request_and_the_page_says_so(client, reachable):
    plan = _plan(client)
    response = client.post(
        f"/plans/{plan}/book?lang=en",
        data={"itinerary": "0", "key": "k1", **CONTACT},
    )
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your request has been sent to 1 village." in page
    again = client.post(
        f"/plans/{plan}/book?lang=en", data={"itinerary": "0", "key": "k1", **CONTACT}
    )
    assert again.status_code == 303  # a double click books once
    assert db.session.scalar(select(db.func.count(BookingItem.id))) == 1


def test_a_full_session_names_the_workshop_and_the_places_left(client):
    plan = _plan(client, {"adults": 3})
    stop = client.get(f"/api/v1/plans/{plan}").get_json()["itineraries"][0]["stops"]
    slot_id = next(s["slot_id"] for s in stop if s.get("slot_id"))
    slot = db.session.get(Slot, slot_id)
    slot.taken = slot.capacity - 2
    db.session.commit()
    response = client.post(f"/plans/{plan}/book?lang=en", data={"itinerary": "0", **CONTACT})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Pottery wheel workshop (Bat Trang Ceramic Village), " in page
    assert "has only 2 places left; your party is 3." in page


# --- the village cancels -------------------------------------------------------------------


def test_the_village_cancels_a_confirmed_item_free_and_the_tourist_reads_why(client, reachable):
    body, pottery, _hats = _book_two(client)
    service.decide(pottery.id, accept=True, village_id=pottery.village_id)
    booking_manage.cancel_by_village(
        pottery.id, reason="The kiln is being repaired.", village_id=pottery.village_id
    )
    item = db.session.get(BookingItem, pottery.id)
    assert item.status == "cancelled" and item.cancellation_fee_vnd == 0
    assert _taken(pottery.slot_id) == 0
    mails = db.session.scalars(
        select(Notification).where(
            Notification.item_id == pottery.id, Notification.event == "cancelled"
        )
    ).all()
    assert [m.recipient for m in mails] == [CONTACT["email"]]
    assert "The kiln is being repaired." in mails[0].body
    card = _card(_open(client, body), pottery.id)
    assert "cancelled by the village" in card and "The kiln is being repaired." in card


def test_the_village_cancels_only_its_own_items_and_gives_a_reason(client, reachable):
    _body, pottery, hats = _book_two(client)
    service.decide(pottery.id, accept=True, village_id=pottery.village_id)
    with pytest.raises(service.NotFound):
        booking_manage.cancel_by_village(pottery.id, reason="x", village_id=hats.village_id)
    with pytest.raises(service.ValidationError):
        booking_manage.cancel_by_village(pottery.id, reason=" ", village_id=pottery.village_id)


# --- booking from the village page ---------------------------------------------------------


def test_the_village_page_shows_30_days_of_places_left_for_each_bookable_experience(client):
    exp = _exp(POTTERY)
    page = client.get("/villages/bat-trang?lang=en").get_data(as_text=True)
    box = page[page.index(f'id="book-{exp.id}"') :]
    box = box[: box.index("</section>")]
    days = re.findall(r'<li class="(open|full|closed)"', box)
    assert len(days) == 30
    assert days.count("open") >= 25  # sessions every day but the cut-off today
    assert "20<" in box  # places left in a session of 20
    assert "Can be booked" not in page
    assert f'action="/villages/bat-trang/book#book-{exp.id}"' in box
    assert "Free cancellation until 24 hours before the start" in box


def _village_form(slot_id: int, **fields) -> dict:
    return {
        "experience_id": str(_exp(POTTERY).id),
        "slot_id": str(slot_id),
        "adults": "2",
        "children": "1",
        "seniors": "0",
        **CONTACT,
        **fields,
    }


def test_one_session_is_booked_from_the_village_page(client, reachable):
    slot = _slot(POTTERY, 1)
    response = client.post("/villages/bat-trang/book?lang=en", data=_village_form(slot.id))
    assert response.status_code == 303
    assert _taken(slot.id) == 3
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your request has been sent to 1 village." in page
    assert "2 adults, 1 child" in page


def test_the_village_page_form_shows_every_error_by_its_field_and_keeps_the_input(client):
    form = _village_form("", name="", email="not-an-address", adults="0", children="0")
    response = client.post("/villages/bat-trang/book?lang=en", data=form)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    exp = _exp(POTTERY)
    errors = set(re.findall(rf'class="field-error" id="b{exp.id}-([a-z_]+)-error"', page))
    assert errors == {"slot_id", "name", "email", "adults"}
    assert 'value="not-an-address"' in page
    assert db.session.scalar(select(db.func.count(BookingItem.id))) == 0


def test_a_full_session_on_the_village_page_names_the_workshop_and_places_left(client):
    slot = _slot(POTTERY, 1)
    stored = db.session.get(Slot, slot.id)
    stored.taken = stored.capacity - 1
    db.session.commit()
    response = client.post("/villages/bat-trang/book?lang=en", data=_village_form(slot.id))
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Pottery wheel workshop (Bat Trang Ceramic Village)" in page
    assert "has only 1 place left; your party is 3." in page
