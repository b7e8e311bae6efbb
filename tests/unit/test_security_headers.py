"""Security headers on every kind of response, a CSP without inline script, and no inline script
or event handler in any page (issue #10, items 3 and 4)."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from demo_days import open_day
from sqlalchemy import select

from tourplanner import ROOT
from tourplanner.adapters.orm import BookingItem, Experience, Village
from tourplanner.extensions import db
from tourplanner.security import headers
from tourplanner.services import availability, links

DAY = open_day(20)
CONTACT = {"name": "Lan", "email": "lan@example.org"}
ALWAYS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy")


def csp_directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    directives = {}
    for part in policy.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def assert_secure_headers(response, referrer: str = "strict-origin-when-cross-origin") -> None:
    for name in ALWAYS:
        assert name in response.headers, f"{name} missing on {response.status_code}"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == referrer
    assert "geolocation=()" in response.headers["Permissions-Policy"]
    csp = csp_directives(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"] and csp["form-action"] == ["'self'"]
    assert csp["connect-src"] == ["'self'"]


@pytest.fixture
def boom(app):
    """A route that fails: the 500 page must carry the headers too."""

    def fail():
        raise RuntimeError("boom")

    app.add_url_rule("/test-boom", "test_boom", fail)
    return "/test-boom"


@pytest.fixture
def plan_id(app, client) -> str:
    app.config["PLANNER_TIME_LIMIT"] = 0.1
    response = client.post(
        "/api/v1/plans",
        json={
            "start": {"landmark": "hoan-kiem-lake"},
            "date": open_day(10).isoformat(),
            "party": {"adults": 2},
            "interests": {"ceramics": 1.0},
        },
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _booking(client, slug: str = "bat-trang-workshop-pottery-wheel") -> dict:
    exp = db.session.scalars(select(Experience).where(Experience.slug == slug)).one()
    slot = availability.slots_for_day([exp.id], DAY)[exp.id][0]
    response = client.post(
        "/api/v1/bookings",
        json={"items": [{"slot_id": slot.id, "party": {"adults": 1}}], "contact": CONTACT},
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# --- headers on every kind of response -------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/?lang=en", 200),
        ("get", "/api/v1/villages", 200),
        ("get", "/static/js/map.js", 200),
        ("get", "/static/vendor/leaflet/leaflet.css", 200),
        ("get", "/no-such-page", 404),
        ("get", "/api/v1/no-such-thing", 404),
        ("post", "/villages", 405),
        ("delete", "/api/v1/villages", 405),
        ("post", "/api/v1/plans", 400),
    ],
)
def test_headers_are_on_pages_api_static_files_and_errors(client, method, path, status):
    with getattr(client, method)(path) as response:  # closes a static file's handle
        assert response.status_code == status
        assert_secure_headers(response)


def test_headers_are_on_the_500_page(client, boom):
    response = client.get(boom)
    assert response.status_code == 500
    assert_secure_headers(response)


def test_csp_allows_no_inline_script_nor_eval(client):
    csp = csp_directives(client.get("/"))
    for directive in ("script-src", "default-src", "style-src"):
        assert "'unsafe-inline'" not in csp[directive]
        assert "'unsafe-eval'" not in csp[directive]


def test_csp_allows_images_from_the_configured_tile_host_only(app, client):
    app.config["MAP_TILE_URL"] = "https://{s}.tiles.example.org/{z}/{x}/{y}.png"
    csp = csp_directives(client.get("/"))
    assert csp["img-src"] == ["'self'", "data:", "https://*.tiles.example.org"]


@pytest.mark.parametrize(
    ("url", "source"),
    [
        ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org"),
        ("https://{s}.tile.example.org/{z}/{x}/{y}.png", "https://*.tile.example.org"),
        ("https://tile-{s}.maps.example.org/{z}/{x}/{y}.png", "https://*.maps.example.org"),
        ("http://127.0.0.1:9/tiles/{z}/{x}/{y}.png", "http://127.0.0.1:9"),
        ("/tiles/{z}/{x}/{y}.png", None),
        ("javascript:alert(1)//{z}", None),
        ("https://{s}.org/{z}/{x}/{y}.png", None),
    ],
)
def test_tile_source_is_the_tile_origin(url, source):
    assert headers.tile_source(url) == source


# --- Strict-Transport-Security ---------------------------------------------------------------


def test_no_hsts_over_plain_http(app, client):
    app.config["PUBLIC_BASE_URL"] = "http://127.0.0.1:5000"
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_hsts_over_https(app, client):
    app.config["PUBLIC_BASE_URL"] = "http://127.0.0.1:5000"
    response = client.get("/", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_hsts_when_the_public_address_is_https(app, client):
    app.config["PUBLIC_BASE_URL"] = "https://villages.example.org"
    response = client.get("/api/v1/villages")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


# --- pages whose URL carries a token ----------------------------------------------------------


def test_booking_manage_page_sends_no_referrer_and_is_not_cached(client):
    body = _booking(client)
    token = parse_qs(urlsplit(body["manage_url"]).query)["token"][0]
    with_token = client.get(f"/bookings/{body['reference']}?token={token}&lang=en")
    assert with_token.status_code == 303  # the token moves to the session, off the URL
    assert with_token.headers["Referrer-Policy"] == "no-referrer"
    page = client.get(with_token.headers["Location"])
    assert page.status_code == 200
    assert_secure_headers(page, referrer="no-referrer")
    assert page.headers["Cache-Control"] == "no-store"
    api = client.get(f"/api/v1/bookings/{body['reference']}?token={token}")
    assert api.headers["Referrer-Policy"] == "no-referrer"
    assert api.headers["Cache-Control"] == "no-store"


def test_a_refused_token_page_sends_no_referrer_too(client):
    forged = client.get("/bookings/TP-AAAAAA?token=forged")
    assert forged.status_code in (403, 404)
    assert forged.headers["Referrer-Policy"] == "no-referrer"


def test_village_decision_page_sends_no_referrer(client):
    body = _booking(client)
    item = db.session.scalars(
        select(BookingItem).where(BookingItem.booking.has(reference=body["reference"]))
    ).one()
    token = links.decision_token(item.id, item.village_id)
    page = client.get(f"/village/decide?token={token}")
    assert page.status_code == 200
    assert_secure_headers(page, referrer="no-referrer")
    assert client.get("/village/decide?token=forged").headers["Referrer-Policy"] == "no-referrer"


def test_password_reset_endpoint_is_a_token_page():
    assert "web.password_reset" in headers.TOKEN_ENDPOINTS


def test_a_view_can_ask_for_no_referrer_with_the_decorator(app, client):
    @headers.carries_token
    def secret_link():
        return "ok"

    app.add_url_rule("/test-secret-link", "test_secret_link", secret_link)
    response = client.get("/test-secret-link?token=abc")
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get("/").headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


# --- no inline script or event handler in any page -------------------------------------------


class ScriptAudit(HTMLParser):
    """Collects inline scripts, on* attributes and javascript: URLs in an HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            if (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}={value!r}>")
        if tag == "script":
            self._inline_script = "src" not in values and values.get("type") != "application/json"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._inline_script = False

    def handle_data(self, data: str) -> None:
        if self._inline_script and data.strip():
            self.problems.append(f"inline <script>: {data.strip()[:60]!r}")


def script_problems(html: str) -> list[str]:
    audit = ScriptAudit()
    audit.feed(html)
    audit.close()
    return audit.problems


def test_the_audit_finds_inline_script_and_handlers():
    html = (
        '<button onclick="window.print()">x</button><script>alert(1)</script>'
        '<a href="javascript:void(0)">y</a><script src="/s.js"></script>'
        '<script type="application/json">{"a": 1}</script>'
    )
    assert len(script_problems(html)) == 3


def test_pages_have_no_inline_script_nor_event_handlers(client, plan_id):
    slug = db.session.scalars(select(Village.slug).order_by(Village.id)).first()
    body = _booking(client)
    paths = [
        "/?lang=en",
        "/?lang=vi",
        "/villages",
        f"/villages/{slug}",
        "/products",
        "/plan",
        f"/plans/{plan_id}",
        f"/plans/{plan_id}/print",
        "/api/v1/docs",
        "/village/login",
        "/village/password-reset",
        urlsplit(body["manage_url"]).path + "?" + urlsplit(body["manage_url"]).query,
        "/no-such-page",
    ]
    for path in paths:
        response = client.get(path, follow_redirects=True)  # the manage link redirects once
        assert response.status_code in (200, 404), path
        assert response.mimetype == "text/html", path
        assert script_problems(response.get_data(as_text=True)) == [], path


def test_templates_have_no_inline_script_nor_event_handlers():
    """Also the pages behind a sign-in, which the test above does not render."""
    found = {}
    for template in sorted(Path(ROOT, "templates").rglob("*.html")):
        problems = script_problems(template.read_text(encoding="utf-8"))
        if problems:
            found[str(template.relative_to(ROOT))] = problems
    assert found == {}
