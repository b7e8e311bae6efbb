"""Tour routes in a real browser (#13), on a phone (390 x 844) and a desktop: an admin turns a
saved plan into a tour route and publishes it; a tourist finds it in the handbook, plans it on
a date and books it; the targets dashboard shows one more route."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.browsing import sign_in

pytestmark = pytest.mark.e2e
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
PASSWORD = "correct horse battery staple 7"
ADMIN = "routes-admin@example.org"
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def site(live_server):
    from tourplanner.services import accounts

    with live_server.app.app_context():
        accounts.create_user(ADMIN, PASSWORD, "admin")
    return live_server


def _day(offset: int) -> str:
    return (datetime.now(HANOI).date() + timedelta(days=offset)).isoformat()


def _routes_figure(page, base: str) -> int:
    page.goto(f"{base}/admin/targets?lang=en")
    return int(page.locator("#tour_routes .target-value strong").inner_text().strip())


def _no_sideways_scroll(page) -> None:
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


def test_admin_publishes_a_saved_plan_as_a_route_and_a_tourist_plans_and_books_it(site, new_page):
    errors: list[str] = []
    admin = new_page()
    admin.on("pageerror", lambda exc: errors.append(str(exc)))
    created = admin.request.post(
        f"{site.url}/api/v1/plans",
        data={
            "start": {"landmark": "hoan-kiem-lake"},
            "date": _day(12),
            "party": {"adults": 2},
            "interests": {"ceramics": 1.0},
            "must_include": ["bat-trang-workshop-pottery-wheel"],
            "lang": "en",
        },
    )
    assert created.status == 201
    plan_url = created.json()["url"]

    # the admin: the dashboard's figure, then a draft from the saved plan, texts, publish
    sign_in(admin, site.url, ADMIN, PASSWORD, lang="en")
    before = _routes_figure(admin, site.url)
    admin.goto(f"{site.url}/admin/routes?lang=en")
    _no_sideways_scroll(admin)
    admin.fill("#from-plan", plan_url)
    admin.click("#from-plan-submit")
    admin.wait_for_url(re.compile(r"/admin/routes/[a-z0-9-]+$"))
    assert admin.get_attribute("#route-status", "data-status") == "draft"
    _no_sideways_scroll(admin)
    admin.fill("#name_vi", "Một ngày gốm Bát Tràng")
    admin.fill("#name_en", "A pottery day in Bat Trang")
    admin.fill("#theme_en", "Ceramics")
    admin.fill("#summary_vi", "Làm gốm trên bàn xoay ở Bát Tràng.")
    admin.fill("#summary_en", "Throw a pot on the wheel in Bat Trang.")
    admin.click("#route-save")
    admin.wait_for_selector(".flash")
    admin.click("#route-publish")
    admin.wait_for_selector("#route-status[data-status=published]")
    assert "route_published" in admin.locator("#route-history").inner_html()
    assert _routes_figure(admin, site.url) == before + 1

    # the tourist, on a phone: the handbook lists the route; its page; plan it on a date
    tourist = new_page()
    tourist.on("pageerror", lambda exc: errors.append(str(exc)))
    tourist.goto(f"{site.url}/villages?lang=en")
    tourist.locator("#handbook-routes a", has_text="A pottery day in Bat Trang").click()
    tourist.wait_for_selector("#route-map[data-loaded]")
    assert int(tourist.get_attribute("#route-map", "data-loaded")) >= 1
    assert tourist.locator(".route-timeline li.stop").count() >= 1
    _no_sideways_scroll(tourist)
    tourist.fill("#route-date", _day(14))
    tourist.fill("#route-adults", "2")
    tourist.click("#plan-route-submit")
    tourist.wait_for_url(re.compile(r"/plans/[^/?]+\?route="))
    stops = tourist.locator("#itinerary-0 .timeline li.stop")
    assert stops.count() >= 1
    assert "bat-trang" in stops.evaluate_all("els => els.map(e => e.dataset.village)")
    assert tourist.locator("#route-note").is_visible()
    _no_sideways_scroll(tourist)

    # ... and books the day through the itinerary's booking
    form = tourist.locator("#itinerary-0 .book-form")
    form.locator("input[name=name]").fill("Lan Nguyen")
    form.locator("input[name=email]").fill("lan@example.org")
    form.locator("input[name=phone]").fill("+84900000000")
    form.locator(".book-button").click()
    tourist.wait_for_function("/TP-[A-Z0-9]{6}/.test(document.body.innerText)")
    assert errors == []


def test_a_planner_request_for_a_routes_craft_shows_it_among_the_recommendations(site, page):
    from tourplanner.services import tour_routes

    with site.app.app_context():
        tour_routes.seed_demo_routes()
    page.goto(f"{site.url}/plan?lang=en")
    page.fill("#date", _day(10))
    page.select_option("#interest-silk_textiles", "1")
    page.click("#plan-submit")
    page.wait_for_url("**/plans/*")
    section = page.locator("#recommendations")
    section.wait_for()
    item = section.locator('li[data-slug="sample-silk-and-conical-hats"]')
    assert item.count() == 1
    assert "Matches your interests: silk and textiles" in item.inner_text()
    _no_sideways_scroll(page)
    item.locator("a").first.click()
    page.wait_for_url("**/routes/sample-silk-and-conical-hats")
    assert page.locator(".badge-sample").first.is_visible()


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_route_pages_fit_a_phone_and_put_the_map_beside_the_timeline_on_a_desktop(
    site, new_page, lang
):
    from tourplanner.services import tour_routes

    with site.app.app_context():
        tour_routes.seed_demo_routes()
    phone = new_page()
    for path in ("/routes", "/routes/sample-west-of-hanoi-two-days", "/villages/bat-trang"):
        phone.goto(f"{site.url}{path}?lang={lang}")
        _no_sideways_scroll(phone)
    desktop = new_page(**DESKTOP)
    desktop.goto(f"{site.url}/routes/sample-west-of-hanoi-two-days?lang={lang}")
    desktop.wait_for_selector("#route-map[data-loaded]")
    map_box = desktop.locator("#route-map").bounding_box()
    timeline_box = desktop.locator(".route-timeline").first.bounding_box()
    assert timeline_box["x"] >= map_box["x"] + map_box["width"]
    assert desktop.locator(".route-timeline").count() == 2
    _no_sideways_scroll(desktop)
