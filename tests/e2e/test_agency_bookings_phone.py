"""Agency booking pages in a browser at 390 px, in Vietnamese and English: an agency books its
package for a new client, follows the items, sees a declined item's replacements and the
reports; no page scrolls sideways."""

from __future__ import annotations

import pytest
from demo_days import open_day
from package_fixtures import agency, install_plans, package
from sqlalchemy import select

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
PASSWORD = "correct horse battery staple 9"
FIRST = open_day(40)


@pytest.fixture
def desk(live_server, monkeypatch):
    from tourplanner.adapters.orm import User
    from tourplanner.extensions import db
    from tourplanner.services import accounts

    with live_server.app.app_context():
        sen = agency("Sen")
        pkg = package(sen, FIRST)
        install_plans(monkeypatch, pkg)
        email = f"desk{sen.id}@sen.example"
        accounts.create_user(email, PASSWORD, "agency_admin")
        user = db.session.scalars(select(User).where(User.email == email)).one()
        user.agency_id = sen.id
        db.session.commit()
        return {"email": email, "slug": pkg.slug}


def _narrow(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url}: {width} px wide"


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_an_agency_books_follows_and_reports_on_a_phone(live_server, new_page, desk, lang):
    from tourplanner.adapters.orm import Booking
    from tourplanner.extensions import db
    from tourplanner.services import booking

    base = live_server.url
    page = new_page(**PHONE)
    page.goto(f"{base}/login?lang={lang}")
    page.fill("input[name=email]", desk["email"])
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_load_state()

    page.goto(f"{base}/agency/packages/{desk['slug']}/book?lang={lang}")
    _narrow(page)
    page.fill("input[name=date]", FIRST.isoformat())
    page.select_option("select[name=client]", "new")
    page.fill("input[name=client_name]", "Mai Trần")
    page.fill("input[name=client_email]", "not an address")
    page.fill("input[name=adults]", "2")
    page.locator("form.stacked button[type=submit]").click()
    page.wait_for_load_state()
    # The error stands by its field; what was typed is kept.
    assert page.locator("#error-client_email").is_visible()
    assert page.input_value("input[name=client_name]") == "Mai Trần"
    _narrow(page)
    page.fill("input[name=client_email]", "mai@example.org")
    page.locator("form.stacked button[type=submit]").click()
    page.wait_for_url("**/agency/bookings/TP-*")
    _narrow(page)
    reference = page.url.rsplit("/", 1)[1].split("?")[0]

    with live_server.app.app_context():
        stored = db.session.scalars(select(Booking).where(Booking.reference == reference)).one()
        assert len(stored.items) == 3
        first_item = stored.items[0].id
    with live_server.app.app_context():
        booking.decide(first_item, accept=False, reason="Lò nung hỏng", village_id=None)
    page.goto(f"{base}/agency/bookings/{reference}?lang={lang}")
    assert page.locator(f"#item-{first_item} input[name=slot_id]").count() >= 1
    _narrow(page)

    for path in ("/agency/bookings", "/agency/reports"):
        page.goto(f"{base}{path}?lang={lang}")
        assert reference in page.content() or path == "/agency/reports"
        _narrow(page)
