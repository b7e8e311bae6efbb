"""Packages in a browser (Debian's Chromium), on a phone (390 x 844) and a desktop: an agency
builds a 2-day package over at least 5 villages with the route engine's help, sees a broken
stop explained next to it, publishes it; a client books it for a date from its calendar and
every workshop is reserved at once; when one workshop's session is full the booking reserves
nothing and the 409 names that workshop. The sample package's pages fit a phone in both
languages, and another agency gets 404 on them. No page scrolls sideways on the phone."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from package_pages_helpers import agency_with_user, next_weekday, vietnamese, vietnamese_catalogue
from sqlalchemy import func, select

from tests.e2e.browsing import sign_in

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SATURDAY = next_weekday(5)
MONDAY = SATURDAY + timedelta(days=2)
#: The agency's own picks, locked: the engine fills around them. Kim Hoàng paints on
#: Saturdays and Sundays only, so a package starting on a Monday breaks on day 2.
PICKS = {1: "bat-trang-workshop-pottery-wheel", 2: "kim-hoang-workshop-folk-painting"}
_people = itertools.count()


@pytest.fixture(scope="module")
def server(serve_app, tmp_path_factory):
    translations = vietnamese_catalogue(tmp_path_factory.mktemp("translations"))
    return serve_app(BABEL_TRANSLATION_DIRECTORIES=str(translations), PACKAGE_FILL_TIME_LIMIT=0.3)


def _narrow(page, viewport=PHONE) -> None:
    if viewport["width"] > PHONE["width"]:
        return
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url}: {width} px wide"


def _agency(server, name: str) -> tuple[str, str]:
    email = f"desk{next(_people)}@{name.lower()}.example"
    with server.app.app_context():
        _id, password = agency_with_user(f"{name} {email}", email)
    return email, password


def _check_on(page, day) -> None:
    page.fill("#check-date", day.isoformat())
    page.locator("#check-form button[type=submit]").click()
    page.wait_for_url(f"**date={day.isoformat()}**")


def _add(page, number: int, experience: str) -> None:
    page.select_option(f"#add-{number}", experience)
    with page.expect_navigation():
        page.locator(f"#stops-{number} button[value=add]").click()


def _plan(server, slug: str, day, adults: int = 2):
    """Every workshop session a booking of ``slug`` from ``day`` takes, with places taken."""
    from tourplanner.adapters.orm import Slot
    from tourplanner.domain.pricing import Party
    from tourplanner.extensions import db
    from tourplanner.services import packages

    with server.app.app_context():
        plan = packages.booking_plan(slug, day, Party(adults=adults))
        return {i.slot_id: db.session.get(Slot, i.slot_id).taken for i in plan.items}


def _taken(server, slot_ids) -> dict[int, int]:
    from tourplanner.adapters.orm import Slot
    from tourplanner.extensions import db

    with server.app.app_context():
        return {s: db.session.get(Slot, s).taken for s in slot_ids}


def _build(server, page, lang: str, viewport) -> str:
    """The agency's part: a new 2-day package, filled by the engine around two locked picks,
    a broken stop seen on a Monday, published. Returns its slug."""
    from tourplanner.services import packages

    base = server.url
    page.goto(f"{base}/agency/packages/new?lang={lang}")
    _narrow(page, viewport)
    tag = next(_people)
    page.fill("#name_vi", f"Hai ngày làng nghề {tag}")
    page.fill("#name_en", f"Two craft-village days {tag}")
    page.fill("#days", "2")
    page.fill("#day_start", "07:30")
    page.fill("#day_end", "18:30")
    page.locator("#package-new button[type=submit]").click()
    page.wait_for_url("**/agency/packages/two-craft-village-days-*")
    slug = page.url.split("/agency/packages/", 1)[1].split("?")[0]
    _narrow(page, viewport)

    _check_on(page, SATURDAY)
    for number, experience in PICKS.items():
        _add(page, number, experience)
    with page.expect_navigation():
        page.locator("#fill").click()
    assert page.locator("#check-result.ok").is_visible()
    for experience in PICKS.values():  # the locked picks stay
        assert page.locator(f"#stop-{experience}").count() == 1
    # A lock's box saves at once (package_builder.js; without JavaScript: "Save the locks").
    lock = f"#stop-{PICKS[1]} input[name=locked]"
    assert page.is_checked(lock)
    with page.expect_navigation():
        page.uncheck(lock)
    assert not page.is_checked(lock)
    with page.expect_navigation():
        page.check(lock)
    assert page.is_checked(lock)
    _narrow(page, viewport)
    with server.app.app_context():
        view = packages.get_for_agency(_agency_id(slug), slug, first_date=SATURDAY)
    assert len(view["villages"]) >= 5, view["villages"]
    assert all(day["stops"] for day in view["days"])

    # Starting on a Monday, day 2 is a Tuesday: Kim Hoàng is closed, and says so by its stop.
    _check_on(page, MONDAY)
    broken = page.locator(f"#stop-{PICKS[2]}")
    assert "broken" in (broken.get_attribute("class") or "")
    reason = "closed that day" if lang == "en" else vietnamese("closed that day")
    assert reason in broken.locator(".problem").inner_text()
    assert page.locator("#check-result.broken").is_visible()
    _narrow(page, viewport)

    _check_on(page, SATURDAY)
    with page.expect_navigation():
        page.locator("#publish-button").click()
    assert page.locator("#public-link").is_visible()
    _narrow(page, viewport)
    return slug


def _agency_id(slug: str) -> int:
    from tourplanner.adapters.orm import Package
    from tourplanner.extensions import db

    return db.session.scalars(select(Package.agency_id).where(Package.slug == slug)).one()


def _book(page, base: str, slug: str, lang: str, day, email: str, *, from_calendar: bool):
    if from_calendar:
        page.goto(f"{base}/packages/{slug}?lang={lang}")
        page.locator(f'#calendar a[data-date="{day.isoformat()}"]').click()
        page.wait_for_url(f"**date={day.isoformat()}**")
    else:  # the date was free when the client looked; someone else took the last places
        page.goto(f"{base}/packages/{slug}?lang={lang}&date={day.isoformat()}")
    assert page.input_value("#book-date") == day.isoformat()
    page.fill("#b-adults", "2")
    page.fill("#b-children", "0")
    page.fill("#b-name", "Mai Trần")
    page.fill("#b-email", email)
    with page.expect_response(lambda r: r.url.endswith("/book")) as answer:
        page.locator("#book-button").click()
    page.wait_for_load_state()
    return answer.value.status


@pytest.mark.parametrize(
    ("viewport", "lang", "weeks"),
    [(PHONE, "vi", 1), (DESKTOP, "en", 2)],
    ids=["phone-vi", "desktop-en"],
)
def test_an_agency_builds_and_publishes_a_package_and_a_client_books_it(
    server, new_page, viewport, lang, weeks
):
    from tourplanner.adapters.orm import Booking, Experience, Slot
    from tourplanner.extensions import db

    base = server.url
    email, password = _agency(server, "Sen")
    agency_page = new_page(**viewport)
    sign_in(agency_page, base, email, password)
    slug = _build(server, agency_page, lang, viewport)

    # A client books the Saturday from the calendar: every workshop at once.
    before = _plan(server, slug, SATURDAY)
    client = new_page(**viewport)
    client.goto(f"{base}/packages/{slug}?lang={lang}")
    _narrow(client, viewport)
    assert client.locator("#timeline .stop").count() >= 5
    status = _book(client, base, slug, lang, SATURDAY, "mai@example.org", from_calendar=True)
    assert status == 303
    client.wait_for_url("**/bookings/TP-*")
    _narrow(client, viewport)
    reference = client.url.rsplit("/", 1)[1].split("?")[0]
    with server.app.app_context():
        stored = db.session.scalars(select(Booking).where(Booking.reference == reference)).one()
        assert sorted(i.slot_id for i in stored.items) == sorted(before)
        assert {i.status for i in stored.items} == {"pending"}
    assert _taken(server, before) == {s: t + 2 for s, t in before.items()}

    # Weeks later one workshop's session fills up: the booking reserves nothing and the 409
    # names that workshop, on the page and in the API. (Each run fills its own week: both
    # runs' packages may share sessions.)
    later_day = SATURDAY + timedelta(weeks=weeks)
    later = _plan(server, slug, later_day)
    full_id = list(later)[-1]
    with server.app.app_context():
        slot = db.session.get(Slot, full_id)
        slot.taken = slot.capacity
        experience = db.session.get(Experience, slot.experience_id)
        title, experience_slug = experience.title(lang), experience.slug
        db.session.commit()
        bookings = db.session.scalar(select(func.count(Booking.id)))
    later = _taken(server, later)
    status = _book(client, base, slug, lang, later_day, "mai@example.org", from_calendar=False)
    assert status == 409
    error = client.locator("#form-error")
    assert error.is_visible()
    assert title in error.inner_text()
    assert client.input_value("#b-name") == "Mai Trần"
    _narrow(client, viewport)
    api = client.request.post(
        f"{base}/api/v1/bookings",
        data={
            "package": slug,
            "date": later_day.isoformat(),
            "party": {"adults": 2},
            "contact": {"name": "Mai", "email": "mai@example.org"},
        },
    )
    assert api.status == 409
    problems = api.json()["error"]["details"]["problems"]
    assert [p["experience"] for p in problems] == [experience_slug]
    assert _taken(server, later) == later
    with server.app.app_context():
        assert db.session.scalar(select(func.count(Booking.id))) == bookings


def test_the_sample_package_pages_fit_a_phone_and_another_agency_gets_404(server, new_page):
    from tourplanner.services import agencies, packages

    base = server.url
    with server.app.app_context():
        sample = agencies.seed_demo_agency()
        slug = packages.seed_demo_package(sample["id"])
    assert sample["password"], "the sample agency exists already in this server's database"
    agency_paths = (
        "/agency/packages",
        "/agency/packages/new",
        f"/agency/packages/{slug}",
        f"/agency/packages/{slug}/book",
    )
    public_paths = ("/packages", f"/packages/{slug}")
    page = new_page(**PHONE)
    sign_in(page, base, sample["admin_email"], sample["password"])
    for lang in ("vi", "en"):
        for path in (*agency_paths, *public_paths):
            response = page.goto(f"{base}{path}?lang={lang}")
            assert response.status == 200, path
            _narrow(page)
    assert page.locator("#package-map").count() == 1

    email, password = _agency(server, "Lotus")
    other = new_page(**PHONE)
    sign_in(other, base, email, password)
    for path in agency_paths[2:]:
        assert other.goto(f"{base}{path}").status == 404, path
    assert other.goto(f"{base}/packages/{slug}").status == 200  # the public page is public
