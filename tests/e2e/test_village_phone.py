"""A village's staff on a phone (390 x 844, Vietnamese; #9, Must show): sign in after a wrong
password (a red error, the e-mail kept), accept one request and decline another with a reason,
change a day's hours with the pickers, add a closed date, and upload a photo that then appears
on the public village page. No step scrolls sideways."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from demo_days import open_day
from sqlalchemy import select

pytestmark = pytest.mark.e2e

WIDTH = 390
PASSWORD = "correct horse battery staple 9"
EMAIL = "potter@bat-trang.example"
POTTERY = "bat-trang-workshop-pottery-wheel"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ERROR_RED = "rgb(153, 27, 27)"


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH, page.url


def _in_app(app, fn):
    with app.app_context():
        return fn()


@pytest.fixture(scope="module")
def village(live_server):
    """A staff account of Bát Tràng and two pending requests for its pottery workshop."""
    from tourplanner.adapters.orm import Experience
    from tourplanner.extensions import db
    from tourplanner.services import accounts, availability

    day = open_day(9)
    app = live_server.app

    def prepare():
        accounts.create_user(EMAIL, PASSWORD, "village", "bat-trang")
        exp = db.session.scalars(select(Experience).where(Experience.slug == POTTERY)).one()
        slots = availability.slots_for_day([exp.id], day)[exp.id]
        return exp.id, [s.id for s in slots[:2]]

    experience_id, slot_ids = _in_app(app, prepare)
    client = app.test_client()
    references = []
    for slot_id, name in zip(slot_ids, ("Lan", "Minh"), strict=True):
        body = client.post(
            "/api/v1/bookings",
            json={
                "items": [{"slot_id": slot_id, "party": {"adults": 2}}],
                "contact": {"name": name, "email": f"{name.lower()}@example.org"},
                "lang": "vi",
            },
        ).get_json()
        references.append(body["reference"])
    return {"app": app, "day": day, "experience_id": experience_id, "references": references}


def _statuses(app, references) -> list[str]:
    from tourplanner.adapters.orm import Booking
    from tourplanner.extensions import db

    def read():
        db.session.expire_all()
        rows = db.session.scalars(select(Booking).where(Booking.reference.in_(references)))
        by_ref = {b.reference: b.items[0] for b in rows}
        return [(by_ref[r].status, by_ref[r].decision_reason) for r in references]

    return _in_app(app, read)


def _experience(app, experience_id):
    from tourplanner.adapters.orm import Experience
    from tourplanner.extensions import db

    def read():
        db.session.expire_all()
        exp = db.session.get(Experience, experience_id)
        return dict(exp.weekly_hours), list(exp.closed_dates)

    return _in_app(app, read)


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (640, 360), (180, 90, 40)).save(out, "PNG")
    return out.getvalue()


def test_village_staff_work_through_their_day_on_a_phone(live_server, page, village):
    base, app = live_server.url, village["app"]
    # A wrong password first: a red error, the e-mail kept.
    page.goto(f"{base}/login?lang=vi")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", "not the password")
    page.click("form.stack button[type=submit]")
    error = page.locator("#signin-error")
    error.wait_for()
    assert error.evaluate("e => getComputedStyle(e).color") == ERROR_RED
    assert page.input_value("input[name=email]") == EMAIL
    _fits(page)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url("**/village/**")
    _fits(page)

    # Accept the first request, decline the second with a preset reason.
    first, second = village["references"]
    card = page.locator(".request-card", has_text=first)
    card.locator("button[value=accept]").click()
    page.wait_for_load_state()
    card = page.locator(".request-card", has_text=second)
    card.locator("summary").click()
    card.locator("input[name=reason_preset]").first.check()
    card.locator("button[value=decline]").click()
    page.wait_for_load_state()
    _fits(page)
    (accepted, _), (declined, reason) = _statuses(app, village["references"])
    assert accepted == "confirmed" and declined == "declined" and reason

    # A day's hours with the time pickers (a weekday without those bookings), a closed date.
    page.goto(f"{base}/village/schedule?lang=vi")
    _fits(page)
    section = page.locator(f"#experience-{village['experience_id']}")
    other = WEEKDAYS[(village["day"].weekday() + 1) % 7]
    row = section.locator(f".weekday[data-day={other}] .range").first
    row.locator(f"input[name={other}_end]").fill("11:00")
    closed = (village["day"] + timedelta(days=3)).isoformat()
    section.locator(".closed input[type=date]").first.fill(closed)
    section.locator(".schedule-form button[type=submit]:not([name])").click()
    page.wait_for_load_state()
    assert page.locator(".flash-success").count() == 1
    _fits(page)
    hours, dates = _experience(app, village["experience_id"])
    assert hours[other][0] == ["08:00", "11:00"] and closed in dates

    # A photo of the village with its credit and licence, then on the public village page.
    page.goto(f"{base}/village/photos?lang=vi")
    _fits(page)
    form = page.locator("#photo-upload")
    form.locator("input[type=file]").set_input_files(
        files=[{"name": "gom.png", "mimeType": "image/png", "buffer": _png()}]
    )
    form.locator("input[name=alt_vi]").fill("Thợ gốm bên bàn xoay")
    form.locator("input[name=credit]").fill("Làng gốm Bát Tràng")
    form.locator("select[name=licence]").select_option("cc-by-4.0")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".flash-success").count() == 1
    page.goto(f"{base}/villages/bat-trang?lang=vi")
    figure = page.locator("article.village figure.photo").first
    image = figure.locator("img")
    image.scroll_into_view_if_needed()
    loaded = "img => img.complete && img.naturalWidth > 0"
    page.wait_for_function(loaded, arg=image.element_handle())
    assert image.get_attribute("alt") == "Thợ gốm bên bàn xoay"
    assert "Làng gốm Bát Tràng" in figure.inner_text()
    _fits(page)
