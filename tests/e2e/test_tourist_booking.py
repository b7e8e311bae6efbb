"""The tourist's booking on a phone (390 x 844, Vietnamese; #9 items 6 and 7): book a session
from the village page's calendar, read the request's answer, and manage the booking part by
part: a declined part leaves the total and offers other sessions, a confirmed part is
cancelled while another waits, a pending request is withdrawn and its places freed."""

from __future__ import annotations

from datetime import date

import pytest
from demo_days import open_day
from sqlalchemy import select

pytestmark = pytest.mark.e2e

WIDTH = 390
POTTERY = "bat-trang-workshop-pottery-wheel"
HATS = "lang-chuong-workshop-conical-hat"


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH


def _app_call(app, fn):
    with app.app_context():
        return fn()


def _slot(app, slug: str, n: int, day: date):
    from tourplanner.adapters.orm import Experience
    from tourplanner.extensions import db
    from tourplanner.services import availability

    def find():
        exp = db.session.scalars(select(Experience).where(Experience.slug == slug)).one()
        return availability.slots_for_day([exp.id], day)[exp.id][n].id

    return _app_call(app, find)


def _taken(app, slot_id: int) -> int:
    from tourplanner.adapters.orm import Slot
    from tourplanner.extensions import db

    def read():
        db.session.expire_all()
        return db.session.get(Slot, slot_id).taken

    return _app_call(app, read)


def _items(app, reference: str) -> dict[str, int]:
    """``{experience slug: item id}`` of a booking."""
    from tourplanner.adapters.orm import BookingItem
    from tourplanner.extensions import db

    def read():
        rows = db.session.scalars(
            select(BookingItem).where(BookingItem.booking.has(reference=reference))
        ).all()
        return {i.experience.slug: i.id for i in rows}

    return _app_call(app, read)


def _decide(app, item_id: int, accept: bool) -> None:
    from tourplanner.services import booking

    def run():
        village = booking.village_item(item_id, None)["village_id"]
        booking.decide(
            item_id, accept=accept, reason=None if accept else "Lò đang sửa.", village_id=village
        )

    _app_call(app, run)


def test_book_a_session_from_the_village_calendar_then_withdraw_it(live_server, page):
    page.goto(f"{live_server.url}/villages/bat-trang?lang=vi")
    box = page.locator(".book-calendar").first
    assert box.locator(".calendar li").count() >= 30 + 7
    _fits(page)
    box.locator(".calendar li.open").nth(3).click()  # picks that day's first session
    picked = box.locator("select[name=slot_id]").input_value()
    assert picked
    box.locator("input[name=adults]").fill("2")
    box.locator("input[name=children]").fill("1")
    box.locator("input[name=name]").fill("Lan Nguyễn")
    box.locator("input[name=email]").fill("lan@example.org")
    box.locator("button[type=submit]").click()
    page.wait_for_url("**/bookings/TP-*")
    assert page.locator("#request-sent").is_visible()
    _fits(page)
    assert _taken(live_server.app, int(picked)) == 3
    page.locator("button.withdraw-item").click()
    page.wait_for_load_state()
    assert page.locator(".flash-success").count() == 1
    assert page.locator(".state-withdrawn").count() == 1
    assert _taken(live_server.app, int(picked)) == 0
    _fits(page)


def test_a_wrong_entry_on_the_village_form_is_red_next_to_its_field_and_kept(live_server, page):
    page.goto(f"{live_server.url}/villages/bat-trang?lang=vi")
    box = page.locator(".book-calendar").first
    box.locator("input[name=email]").fill("lan@")
    box.locator("button[type=submit]").click()
    page.wait_for_load_state()
    box = page.locator(".book-calendar").first
    errors = box.locator(".field-error")
    assert errors.count() == 3  # session, name, e-mail
    color = errors.first.evaluate("e => getComputedStyle(e).color")
    assert color == "rgb(153, 27, 27)"  # the red of errors, never the green of successes
    assert box.locator("input[name=email]").input_value() == "lan@"
    _fits(page)


def test_manage_a_two_village_booking_part_by_part_on_a_phone(live_server, page):
    app = live_server.app
    day = open_day(20)
    items = [
        {"slot_id": _slot(app, POTTERY, 0, day), "party": {"adults": 2}},
        {"slot_id": _slot(app, HATS, 2, day), "party": {"adults": 2}},
    ]
    body = page.request.post(
        f"{live_server.url}/api/v1/bookings",
        data={
            "items": items,
            "contact": {"name": "Lan", "email": "lan@example.org"},
            "lang": "vi",
        },
    ).json()
    by_slug = _items(app, body["reference"])
    _decide(app, by_slug[POTTERY], accept=False)
    page.goto(body["manage_url"])
    page.wait_for_url("**/bookings/TP-*")
    _fits(page)
    declined = page.locator(f"#item-{by_slug[POTTERY]}")
    assert declined.locator(".state-declined").count() == 1
    assert "Lò đang sửa." in declined.text_content()
    assert page.locator(".live-total").text_content().strip() == "200.000 ₫"  # the hats only
    # Another session of the declined workshop, asked for from its card.
    declined.locator(".other-sessions button").first.click()
    page.wait_for_load_state()
    assert page.locator(".state-pending").count() == 2  # the hats, and the new session
    # The hats are confirmed; they can be cancelled while the new pottery request waits.
    _decide(app, by_slug[HATS], accept=True)
    page.reload()
    hats = page.locator(f"#item-{by_slug[HATS]}")
    assert hats.locator(".state-confirmed").count() == 1
    assert "tel:" in hats.inner_html() or hats.locator(".place").count() == 1
    hats.locator("button.cancel-item").click()
    page.wait_for_load_state()
    assert page.locator(f"#item-{by_slug[HATS]} .state-cancelled").count() == 1
    assert page.locator(".state-pending").count() == 1
    _fits(page)
