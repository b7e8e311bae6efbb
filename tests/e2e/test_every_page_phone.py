"""Every page of the site at 390 px: no sideways scroll, for every role and the error pages.

The pages are taken from the app's URL map (every GET route of the page blueprint), so a new
page is checked without anyone adding it here; a route whose arguments cannot be filled from
the demo data fails the test until :func:`_arguments` learns it. Downloads (CSV, iCalendar,
GeoJSON, images) are skipped: they have no layout.
"""

from __future__ import annotations

import pytest
from demo_days import open_day
from sqlalchemy import select

from tests.e2e.browsing import sign_in

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
PASSWORD = "correct horse battery staple 7"
#: Endpoints that are not pages (files, redirects to other pages, sign-out).
NOT_PAGES = {
    "web.product_image",
    "web.village_photo_file",
    "web.open_data_file",
    "web.admin_home",
}
#: Addresses of files to download (no layout).
DOWNLOADS = (".csv", ".ics", ".geojson", ".json", ".zip")
#: The role that may see each area; the rest are public.
AREAS = (("/admin/", "admin"), ("/agency/", "agency"), ("/village/", "village"))
PUBLIC_IN_AREAS = {"web.village_login", "web.password_reset_request", "web.password_reset"}


def _role_of(endpoint: str, rule: str) -> str | None:
    if endpoint in PUBLIC_IN_AREAS:
        return None
    return next((role for prefix, role in AREAS if rule.startswith(prefix)), None)


@pytest.fixture(scope="module")
def site(live_server):
    """The live app with one user per role and the sample rows pages need (a plan, a booking)."""
    from tourplanner.adapters.orm import Experience, Village
    from tourplanner.extensions import db
    from tourplanner.services import accounts, agencies, availability, packages, tour_routes

    app = live_server.app
    client = app.test_client()
    with app.app_context():
        accounts.create_user("city@example.org", PASSWORD, "admin")
        accounts.create_user("potter@example.org", PASSWORD, "village", "bat-trang")
        agency = agencies.create_agency("Hanoi Trails", "office@trails.example", slug="trails")
        agencies.set_agency_account("agent@trails.example", PASSWORD, "agency_admin", "trails")
        packages.seed_demo_package(agency["id"])  # published: its public and agency pages
        tour_routes.seed_demo_routes()
        users = {
            "admin": "city@example.org",
            "village": "potter@example.org",
            "agency": "agent@trails.example",
        }
        exp = db.session.scalars(
            select(Experience).where(Experience.slug == "bat-trang-workshop-pottery-wheel")
        ).one()
        slot = availability.slots_for_day([exp.id], open_day(12))[exp.id][0]
        village = db.session.scalars(select(Village).where(Village.slug == "bat-trang")).one()
        village_slug = village.slug
    plan = client.post(
        "/api/v1/plans",
        json={
            "date": open_day(12).isoformat(),
            "start": {"landmark": "hoan-kiem-lake"},
            "start_time": "08:00",
            "end_time": "17:00",
            "mode": "car",
            "party": {"adults": 2},
            "interests": {"ceramics": 1.0},
        },
    ).get_json()
    booked = client.post(
        "/api/v1/bookings",
        json={
            "items": [{"slot_id": slot.id, "party": {"adults": 2}}],
            "contact": {"name": "Lan", "email": "lan@example.org"},
        },
    ).get_json()
    return {
        "app": app,
        "url": live_server.url,
        "users": users,
        "plan_id": plan["id"],
        "booking": booked["reference"],
        "manage_url": booked.get("manage_url"),
        "village": village_slug,
    }


#: Which table a route's ``slug`` names, by a word of its endpoint (checked in this order).
SLUG_TABLES = (
    ("product", "Product"),
    ("package", "Package"),
    ("book", "Package"),
    ("route", "TourRoute"),
)


def _slug_for(endpoint: str, site: dict) -> str | None:
    from tourplanner.adapters import orm
    from tourplanner.extensions import db

    table = next((t for word, t in SLUG_TABLES if word in endpoint), None)
    if table is None:
        return site["village"]
    model = getattr(orm, table)
    return db.session.scalars(select(model.slug).order_by(model.id).limit(1)).first()


def _arguments(endpoint: str, names: set[str], site: dict) -> dict[str, str] | None:
    """Values for a route's arguments from the demo data; None when it cannot be filled."""
    fixed = {"plan_id": site["plan_id"], "reference": site["booking"], "key": "tour_routes"}
    with site["app"].app_context():
        values = {n: _slug_for(endpoint, site) if n == "slug" else fixed.get(n) for n in names}
    if any(v is None for v in values.values()):
        return None
    return values  # type: ignore[return-value]


def _pages(site: dict) -> tuple[list[tuple[str | None, str]], list[str]]:
    app = site["app"]
    pages, unfilled = [], []
    with app.test_request_context():
        from flask import url_for

        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if not rule.endpoint.startswith("web.") or "GET" not in rule.methods:
                continue
            if rule.endpoint in NOT_PAGES or rule.rule.endswith(DOWNLOADS):
                continue
            if rule.endpoint == "web.password_reset":
                continue  # needs a mailed token: the request page is checked instead
            args = _arguments(rule.endpoint, set(rule.arguments), site)
            if args is None:
                unfilled.append(rule.rule)
                continue
            pages.append((_role_of(rule.endpoint, rule.rule), url_for(rule.endpoint, **args)))
    return pages, unfilled


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_no_page_scrolls_sideways_at_390px(site, new_page, lang):
    pages, unfilled = _pages(site)
    assert not unfilled, f"teach _arguments these routes: {unfilled}"
    wide: list[str] = []
    by_role: dict[str | None, list[str]] = {}
    for role, path in pages:
        by_role.setdefault(role, []).append(path)
    by_role.setdefault(None, []).extend(["/no-such-page", "/villages/no-such-village"])
    for role, paths in by_role.items():
        if role is not None and role not in site["users"]:
            continue  # that role's accounts do not exist yet
        page = new_page(**PHONE)
        if role is not None:
            sign_in(page, site["url"], site["users"][role], PASSWORD)
        for path in paths:
            sep = "&" if "?" in path else "?"
            page.goto(f"{site['url']}{path}{sep}lang={lang}")
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                wide.append(f"{path} ({role or 'public'}): {width} px")
    assert not wide, "pages wider than 390 px:\n" + "\n".join(wide)
