"""Catalogue management on a phone (390x844) in Debian's Chromium: an admin sets a village's
position on the map picker and marks its craft at risk, and the village page shows both; village
staff propose a new story, the admin approves it, and the public page shows it. No page scrolls
sideways, in Vietnamese or English."""

from __future__ import annotations

import pytest

from tests.e2e.browsing import loopback_only, no_sideways_scroll, sign_in

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
STAFF = ("potter@bat-trang.example", "correct horse 41")
ADMIN = ("city@example.org", "correct horse 42")
STORY = "Seven centuries of pottery on the Red River, told by the potters themselves."


@pytest.fixture(scope="module")
def server(serve_app):
    live = serve_app()
    with live.app.app_context():
        from sqlalchemy import select

        from tourplanner.adapters.orm import Village
        from tourplanner.extensions import db
        from tourplanner.services import accounts

        accounts.create_user(*STAFF, "village", "bat-trang")
        accounts.create_user(*ADMIN, "admin")
        live.unmapped = db.session.scalars(  # type: ignore[attr-defined]
            select(Village.slug).where(Village.lat.is_(None)).order_by(Village.slug)
        ).first()
    return live


@pytest.fixture
def phone(new_page):
    def make():
        page = loopback_only(new_page(**PHONE, is_mobile=True, has_touch=True, locale="vi-VN"))
        page.errors = []  # type: ignore[attr-defined]
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))  # type: ignore[attr-defined]
        return page

    return make


def test_an_admin_sets_a_position_on_the_map_and_marks_the_craft_at_risk(phone, server):
    page = phone()
    sign_in(page, server.url, *ADMIN, lang="vi")
    page.goto(f"{server.url}/admin/catalogue?lang=vi")
    no_sideways_scroll(page)
    page.locator(f'a[href="/admin/catalogue/villages/{server.unmapped}"]').click()
    page.wait_for_load_state()
    no_sideways_scroll(page)
    assert page.locator("#f_lat").input_value() == ""

    page.locator(".pick-on-map").click()
    page.locator("#place-map").wait_for(state="visible")
    page.wait_for_timeout(700)  # the picker scrolls the map into view
    page.locator("#place-map").click(position={"x": 160, "y": 120})
    lat, lon = page.locator("#f_lat").input_value(), page.locator("#f_lon").input_value()
    assert lat and lon, "the map click fills both fields"
    assert 20.0 < float(lat) < 22.0 and 105.0 < float(lon) < 107.0
    page.locator("#f_coord_quality").select_option("survey")
    page.locator("#f_craft_at_risk").select_option("true")
    no_sideways_scroll(page)

    # Without a source the fact is refused next to the source field; the point stays typed.
    page.locator("#village-form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#f_source-error").is_visible()
    assert page.locator("#f_lat").input_value() == lat
    no_sideways_scroll(page)
    page.locator("#f_source").fill("Khảo sát tại làng, 30/11/2026")
    page.locator("#village-form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".flash").count() == 1
    assert page.locator(".cf-change.status-applied").count() == 1

    for lang in ("en", "vi"):
        page.goto(f"{server.url}/villages/{server.unmapped}?lang={lang}")
        no_sideways_scroll(page)
        assert page.locator("#map").count() == 1, "the village is on the map now"
        note = page.locator(".map-note").last.inner_text()
        assert f"{float(lat):.4f}, {float(lon):.4f}" in page.content()
        assert note
    page.goto(f"{server.url}/villages/{server.unmapped}?lang=en")
    assert page.locator(".badge-at-risk").inner_text() == "craft at risk — your visit helps"
    page.goto(f"{server.url}/villages?lang=en")
    assert page.locator(".badge-at-risk").count() >= 1
    assert not page.errors  # type: ignore[attr-defined]


def test_village_staff_propose_a_story_the_admin_approves_and_the_public_reads_it(phone, server):
    staff = phone()
    sign_in(staff, server.url, *STAFF, lang="vi")
    staff.goto(f"{server.url}/village/texts?lang=en")
    no_sideways_scroll(staff)
    staff.locator("#f_story_en").fill(STORY)
    staff.locator("#f_contact_email").fill("not an address")
    staff.locator("#texts-form button[type=submit]").click()
    staff.wait_for_load_state()
    assert staff.locator("#f_contact_email-error").is_visible()
    assert staff.locator("#f_story_en").input_value() == STORY  # what was typed is kept
    no_sideways_scroll(staff)
    staff.locator("#f_contact_email").fill("")
    staff.locator("#texts-form button[type=submit]").click()
    staff.wait_for_load_state()
    assert staff.locator("#waiting-note").is_visible()

    tourist = phone()
    tourist.goto(f"{server.url}/villages/bat-trang?lang=en")
    assert STORY not in tourist.content()

    admin = phone()
    sign_in(admin, server.url, *ADMIN, lang="vi")
    admin.goto(f"{server.url}/admin/catalogue/changes?status=pending&lang=vi")
    no_sideways_scroll(admin)
    card = admin.locator(".cf-change.status-pending", has_text=STORY)
    assert card.count() == 1
    card.locator("button[value=approve]").click()
    admin.wait_for_load_state()
    assert admin.locator(".cf-change.status-pending", has_text=STORY).count() == 0
    no_sideways_scroll(admin)

    tourist.goto(f"{server.url}/villages/bat-trang?lang=en")
    assert STORY in tourist.locator("article.village").inner_text()
    no_sideways_scroll(tourist)
    staff.goto(f"{server.url}/village/texts?lang=vi")
    assert staff.locator(".cf-change.status-approved").count() == 1
    no_sideways_scroll(staff)


def test_the_catalogue_pages_fit_a_phone_in_both_languages(phone, server):
    page = phone()
    sign_in(page, server.url, *ADMIN, lang="vi")
    paths = [
        "/admin/catalogue",
        "/admin/catalogue/villages/new",
        "/admin/catalogue/villages/bat-trang",
        "/admin/catalogue/villages/bat-trang/experiences/new",
        "/admin/catalogue/experiences/bat-trang-workshop-pottery-wheel",
        "/admin/catalogue/products",
        "/admin/catalogue/changes",
        "/admin/accounts",
    ]
    for lang in ("vi", "en"):
        for path in paths:
            page.goto(f"{server.url}{path}?lang={lang}")
            no_sideways_scroll(page)
    page.goto(f"{server.url}/admin/accounts?lang=en")
    page.locator("#email").fill("lacquer@ha-thai.example")
    page.locator("#role").select_option("village")
    page.locator("#account-form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#village-error").is_visible()  # village staff need their village
    assert page.locator("#email").input_value() == "lacquer@ha-thai.example"
    page.locator("#village").select_option("ha-thai")
    page.locator("#account-form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#new-password").is_visible()
    no_sideways_scroll(page)
    staff = phone()
    sign_in(staff, server.url, *STAFF, lang="vi")
    for path in ("/village/texts", "/village/experiences"):
        for lang in ("vi", "en"):
            staff.goto(f"{server.url}{path}?lang={lang}")
            no_sideways_scroll(staff)
    staff.goto(f"{server.url}/village/experiences?lang=en")
    staff.locator(".cf-rows a").first.click()
    staff.wait_for_load_state()
    no_sideways_scroll(staff)
