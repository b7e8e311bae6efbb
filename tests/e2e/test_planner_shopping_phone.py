"""The shopping stop in a real browser on a phone-sized screen (#15 item 4): the planner form's
checkbox asks for one; the plan shows the sales point as a shopping stop with why, on the map
too; the re-plan button takes it off; nothing scrolls sideways."""

from __future__ import annotations

import pytest
from demo_days import open_day
from sqlalchemy import select

from tourplanner.adapters.orm import Village
from tourplanner.extensions import db

pytestmark = pytest.mark.e2e


@pytest.fixture
def market(live_server):
    """A sales point of Bát Tràng (test data, next to the village's own position)."""
    with live_server.app.app_context():
        village = db.session.scalar(select(Village).where(Village.slug == "bat-trang"))
        before = list(village.sales_points or [])
        village.sales_points = [
            {
                "name": "Chợ gốm",
                "address": "Bát Tràng",
                "hours": "7:30–17:30",
                "lat": village.lat + 0.002,
                "lon": village.lon + 0.001,
            }
        ]
        db.session.commit()
    yield
    with live_server.app.app_context():
        village = db.session.scalar(select(Village).where(Village.slug == "bat-trang"))
        village.sales_points = before
        db.session.commit()


def test_a_tourist_asks_for_a_shopping_stop_on_a_phone(live_server, page, market):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/plan?lang=en")
    page.select_option("#landmark", "hoan-kiem-lake")
    page.fill("#date", open_day(10).isoformat())
    page.fill("#adults", "2")
    page.select_option("#interest-ceramics", "1")
    label = page.locator("label.switch", has=page.locator("#shopping"))
    assert "Add a shopping stop (a village shop or OCOP sales point)" in label.inner_text()
    page.check("#shopping")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.click("#plan-submit")
    page.wait_for_url("**/plans/*")
    plan_url = page.url

    shop = page.locator("#itinerary-0 .timeline li.shopping")
    shop.wait_for()
    assert shop.count() == 1
    text = shop.inner_text()
    assert "Shopping stop" in text and "Chợ gốm" in text
    assert "open 7:30–17:30" in text and "purchases are up to you" in text
    assert "OCOP products of Bat Trang" in shop.locator(".why").inner_text()
    assert "Shopping stop at Chợ gốm" in page.locator("#itinerary-0 .summary").inner_text()
    page.wait_for_selector("#plan-map[data-loaded]")
    assert page.locator("#plan-map .stop-number.stop-shopping").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.click("#shopping-off")
    page.wait_for_url(lambda url: url != plan_url and "/plans/" in url)
    page.wait_for_selector("#itinerary-0 .timeline li.stop")
    assert page.locator(".timeline li.shopping").count() == 0
    assert page.locator("#shopping-on").is_visible()
    assert errors == []
