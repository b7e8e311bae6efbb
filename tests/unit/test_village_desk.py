"""The village back-office on a phone: requests as cards, decisions with preset reasons,
filters, the week's sessions with check-in, the count of new requests, the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, time, timedelta

import pytest
from demo_days import open_day
from sqlalchemy import select

from tourplanner.adapters.orm import BookingItem, Experience, Slot
from tourplanner.domain.availability import LOCAL_TZ
from tourplanner.extensions import db
from tourplanner.services import accounts, availability, village_desk
from tourplanner.services import booking as service

DAY = open_day(15)
POTTERY = "bat-trang-workshop-pottery-wheel"
HATS = "lang-chuong-workshop-conical-hat"


def _exp(slug: str) -> Experience:
    return db.session.scalars(select(Experience).where(Experience.slug == slug)).one()


def _book(client, slug: str = POTTERY, *, n: int = 0, party=None, lang="en", **contact):
    exp = _exp(slug)
    slot = availability.slots_for_day([exp.id], DAY)[exp.id][n]
    body = client.post(
        "/api/v1/bookings",
        json={
            "items": [{"slot_id": slot.id, "party": party or {"adults": 2}}],
            "contact": {"name": "Lan", "email": "lan@example.org", **contact},
            "lang": lang,
        },
    ).get_json()
    return db.session.scalars(
        select(BookingItem).where(BookingItem.booking.has(reference=body["reference"]))
    ).one()


@pytest.fixture
def staff(app):
    accounts.create_user("potter@bat-trang.example", "correct horse 1", "village", "bat-trang")
    accounts.create_user("hats@lang-chuong.example", "correct horse 2", "village", "lang-chuong")


def _login(client, email="potter@bat-trang.example", password="correct horse 1"):
    assert client.post("/login", data={"email": email, "password": password}).status_code == 302


def _card_html(page: str, item_id: int) -> str:
    start = page.index(f'id="item-{item_id}"')
    return page[start : page.index("</article>", start)]


def test_a_request_card_has_tap_links_the_party_in_words_hanoi_time_and_a_countdown(client, staff):
    item = _book(
        client,
        party={"adults": 2, "children": 1},
        name="Lan Nguyễn",
        phone="0912 345 678",
    )
    _login(client)
    card = _card_html(client.get("/village/?lang=en").get_data(as_text=True), item.id)
    assert 'href="tel:0912345678"' in card and 'href="mailto:lan@example.org"' in card
    assert "2 adults, 1 child" in card and "2 / 1 / 0" not in card
    assert "400,000 VND" in card
    hanoi = item.start.astimezone(availability.LOCAL_TZ)
    utc = item.start.astimezone(UTC)
    assert f"{hanoi:%d/%m/%Y}, {hanoi:%H:%M}–" in card and f"{utc:%H:%M}–" not in card
    assert "hours left" in card
    assert 'value="accept"' in card and 'value="decline"' in card
    vietnamese = _card_html(client.get("/village/?lang=vi").get_data(as_text=True), item.id)
    assert "400.000 ₫" in vietnamese


def test_party_words_use_singulars_in_english(client, staff):
    item = _book(client, party={"adults": 1, "children": 2, "seniors": 1})
    _login(client)
    card = _card_html(client.get("/village/?lang=en").get_data(as_text=True), item.id)
    assert "1 adult, 2 children, 1 senior" in card


def test_declining_with_a_preset_reason_stores_it_in_the_tourists_language(client, staff):
    item = _book(client, lang="en")
    _login(client)
    response = client.post(
        f"/village/items/{item.id}/decision?lang=vi",
        data={"action": "decline", "reason_preset": "artisan", "reason": "Xin lỗi."},
    )
    assert response.status_code == 302
    db.session.refresh(item)
    assert item.status == "declined"
    assert item.decision_reason == "The artisan is not available that day. Xin lỗi."


def test_declining_without_a_reason_is_refused_and_the_request_stays_open(client, staff):
    item = _book(client)
    _login(client)
    page = client.post(
        f"/village/items/{item.id}/decision?lang=en",
        data={"action": "decline", "reason_preset": "other"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Choose a reason for declining" in page and "flash-error" in page
    db.session.refresh(item)
    assert (item.status, item.decision_reason) == ("pending", None)


def test_filters_show_pending_confirmed_and_past_requests_apart(client, staff):
    waiting = _book(client, n=0)
    accepted = _book(client, n=1)
    declined = _book(client, n=2)
    service.decide(accepted.id, accept=True, village_id=accepted.village_id)
    service.decide(declined.id, accept=False, reason="Full", village_id=declined.village_id)
    _login(client)
    shown = {}
    for show in ("pending", "confirmed", "past"):
        page = client.get(f"/village/?show={show}&lang=en").get_data(as_text=True)
        shown[show] = {i.id for i in (waiting, accepted, declined) if f'id="item-{i.id}"' in page}
    assert shown == {"pending": {waiting.id}, "confirmed": {accepted.id}, "past": {declined.id}}
    now = availability.now_utc()
    assert village_desk.counts(waiting.village_id, now=now) == {
        "pending": 1,
        "confirmed": 1,
        "past": 1,
    }


def test_the_back_office_hides_the_tourist_menu_and_counts_new_requests(client, staff):
    _book(client, n=0)
    _book(client, n=1)
    _book(client, HATS)  # another village's request is not counted
    _login(client)
    for url in ("/village/?lang=en", "/village/today?lang=en", "/village/schedule?lang=en"):
        page = client.get(url).get_data(as_text=True)
        assert 'aria-label="Main"' not in page, url
        assert '<span class="nav-count"' in page and ">2</span>" in page, url


def _started(item: BookingItem) -> None:
    """Move a confirmed item's session to an hour ago, or to Hanoi's midnight when that is
    closer (still today's session just after midnight). Bookings refuse sessions in the past."""
    now = availability.now_utc()
    midnight = datetime.combine(now.astimezone(LOCAL_TZ).date(), time(), LOCAL_TZ)
    start = max(now - timedelta(hours=1), midnight)
    slot = db.session.get(Slot, item.slot_id)
    slot.start, slot.end = start, start + timedelta(minutes=90)
    item.start, item.end = slot.start, slot.end
    slot.is_extra = True  # offered as a stored session whatever the schedule says
    db.session.commit()


def test_the_week_lists_each_sessions_places_and_who_is_coming(client, staff):
    item = _book(client, party={"adults": 2, "children": 1}, name="Mai Trần", phone="0987654321")
    service.decide(item.id, accept=True, village_id=item.village_id)
    _login(client)
    days = village_desk.week(item.village_id, now=availability.now_utc(), days=20)
    session = next(
        s for d in days for s in d.sessions if any(g.item_id == item.id for g in s.guests)
    )
    assert (session.capacity, session.remaining) == (20, 17)
    page = client.get("/village/today?lang=en").get_data(as_text=True)
    assert "Today" in page and "No session." not in page.split("</section>")[0]
    # The request's day is beyond the first week: not listed; today's started session is.
    _started(item)
    page = client.get("/village/today?lang=en").get_data(as_text=True)
    guest = page[page.index(f'id="guest-{item.id}"') :]
    assert "Mai Trần" in guest and "2 adults, 1 child" in guest
    assert 'href="tel:0987654321"' in guest and "17 of 20 places left" in page
    assert 'value="completed"' in guest


def test_check_in_from_the_week_records_attendance(client, staff):
    item = _book(client)
    service.decide(item.id, accept=True, village_id=item.village_id)
    _started(item)
    _login(client)
    response = client.post(
        f"/village/items/{item.id}/attendance", data={"outcome": "completed", "back": "today"}
    )
    assert response.status_code == 302 and "/village/today" in response.headers["Location"]
    db.session.refresh(item)
    assert item.status == "completed"


def test_check_in_is_refused_before_the_session_starts(client, staff):
    item = _book(client)
    service.decide(item.id, accept=True, village_id=item.village_id)
    _login(client)
    page = client.post(
        f"/village/items/{item.id}/attendance?lang=en",
        data={"outcome": "completed"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Check-in opens when the session starts." in page
    db.session.refresh(item)
    assert item.status == "confirmed"


def test_csv_export_holds_only_the_villages_own_bookings_with_formulas_defused(client, staff):
    ours = _book(client, name="=HYPERLINK(1)")
    theirs = _book(client, HATS)
    _login(client)
    response = client.get("/village/bookings.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [r["reference"] for r in rows] == [ours.booking.reference]
    assert theirs.booking.reference not in response.get_data(as_text=True)
    assert rows[0]["contact_name"] == "'=HYPERLINK(1)"
    assert (rows[0]["adults"], rows[0]["total_vnd"]) == ("2", "300000")


def test_another_villages_request_is_404_for_decisions_and_attendance(client, staff):
    theirs = _book(client, HATS)
    _login(client)
    assert (
        client.post(f"/village/items/{theirs.id}/decision", data={"action": "accept"}).status_code
        == 404
    )
    assert (
        client.post(
            f"/village/items/{theirs.id}/attendance", data={"outcome": "completed"}
        ).status_code
        == 404
    )
    db.session.refresh(theirs)
    assert theirs.status == "pending"


def test_the_signed_decision_link_declines_with_a_preset_reason(client, staff):
    from tourplanner.services import links

    item = _book(client, lang="vi")
    token = links.decision_token(item.id, item.village_id)
    page = client.get(f"/village/decide?token={token}&lang=en").get_data(as_text=True)
    assert 'name="reason_preset"' in page and 'href="mailto:lan@example.org"' in page
    client.post(
        "/village/decide",
        data={"token": token, "action": "decline", "reason_preset": "weather"},
    )
    db.session.refresh(item)
    assert item.status == "declined" and item.decision_reason


def test_tel_uri_keeps_digits_and_a_leading_plus():
    assert village_desk.tel_uri("+84 912.345-678") == "tel:+84912345678"
    assert village_desk.tel_uri("0912 345 678") == "tel:0912345678"
    assert village_desk.tel_uri("") is None and village_desk.tel_uri(None) is None


def test_cards_of_the_past_come_latest_first(app, client, staff):
    first = _book(client, n=0)
    later = _book(client, n=2)
    for item in (first, later):
        service.decide(item.id, accept=False, reason="Full", village_id=item.village_id)
    now = datetime.now(UTC)
    past = village_desk.cards(first.village_id, "past", now=now)
    assert [c.item_id for c in past] == [later.id, first.id]
