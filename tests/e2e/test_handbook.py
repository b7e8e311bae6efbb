"""The handbook on a phone (390x844) in a real browser, with no network beyond loopback.

Map tiles cannot load here (as on a bad connection): the page must still list every village,
draw the markers from our own GeoJSON, and never scroll sideways.

Uses tests/e2e/conftest.py: ``live_server`` (the seeded app on a free loopback port, tiles
pointing at a closed port) and ``new_page`` (Debian's Chromium through Playwright).
"""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def handbook_url(live_server) -> str:
    return live_server.url


@pytest.fixture
def phone(new_page):
    """A phone page that may only talk to loopback; records page errors."""
    page = new_page(**PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="vi-VN")
    blocked: list[str] = []

    def only_loopback(route):
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_loopback)
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))  # type: ignore[attr-defined]
    return page


def no_sideways_scroll(page) -> None:
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"page is {width}px wide on a {inner}px screen"


def test_home_on_a_phone_lists_every_village_and_draws_the_map(phone, handbook_url):
    phone.goto(handbook_url + "/")
    assert phone.locator("html").get_attribute("lang") == "vi"
    # all 78 villages listed; only the 43 with a sourced position are on the map
    assert phone.locator("#village-list > li").count() == 78
    phone.wait_for_selector('#map[data-loaded="43"]')
    assert phone.locator("#map").is_visible()
    assert phone.locator("#map .leaflet-marker-icon").count() == 43
    assert phone.get_by_role("heading", name="Sổ tay điện tử làng nghề Hà Nội").is_visible()
    no_sideways_scroll(phone)
    assert phone.errors == []  # type: ignore[attr-defined]


def test_switch_language_then_open_a_village(phone, handbook_url):
    phone.goto(handbook_url + "/")
    phone.get_by_role("link", name="English").click()
    phone.wait_for_selector('html[lang="en"]')
    assert phone.get_by_role("heading", name="All villages").is_visible()
    no_sideways_scroll(phone)

    phone.get_by_role("link", name="Bat Trang Ceramic Village").first.click()
    phone.wait_for_url("**/villages/bat-trang*")
    assert phone.locator("h1").inner_text() == "Bat Trang Ceramic Village"
    assert phone.get_by_text("Pottery wheel workshop").is_visible()
    assert phone.locator(".badge-sample").first.is_visible()
    phone.wait_for_selector('#map[data-loaded="1"]')
    no_sideways_scroll(phone)

    phone.get_by_role("link", name="Tiếng Việt").click()
    phone.wait_for_selector('html[lang="vi"]')
    assert phone.locator("h1").inner_text() == "Làng gốm Bát Tràng"
    no_sideways_scroll(phone)
    assert phone.errors == []  # type: ignore[attr-defined]


def test_village_list_filters_on_a_phone(phone, handbook_url):
    phone.goto(handbook_url + "/villages?lang=en")
    assert phone.locator("li.card").count() == 78
    phone.locator("select[name=category]").select_option("ceramics")
    phone.get_by_role("button", name="Filter").click()
    phone.wait_for_url("**category=ceramics*")
    assert 1 <= phone.locator("li.card").count() < 78
    assert phone.get_by_role("link", name="Bat Trang Ceramic Village").is_visible()
    no_sideways_scroll(phone)


def test_product_catalogue_search_without_diacritics(phone, handbook_url):
    phone.goto(handbook_url + "/products?lang=vi")
    no_sideways_scroll(phone)
    phone.locator("input[name=q]").fill("bat trang")
    phone.locator("form.filters button[type=submit]").click()
    phone.wait_for_url("**q=bat*")
    cards = phone.locator("li.card")
    assert cards.count() == 5
    assert all("Bát Tràng" in text for text in cards.all_inner_texts())
    no_sideways_scroll(phone)


def test_bad_filter_on_a_phone_is_a_message_not_an_error(phone, handbook_url):
    response = phone.goto(handbook_url + "/villages?category=pottery&lang=vi")
    assert response is not None and response.status == 200
    assert "Bộ lọc không hợp lệ" in phone.get_by_role("alert").inner_text()
    no_sideways_scroll(phone)
