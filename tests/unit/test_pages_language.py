"""Every interface string is in the page's language (#9, Must show): the tourist's planner and
booking pages, their forms with errors, and the village back-office carry no English text on a
Vietnamese page and no Vietnamese interface text on an English one.

The English side is every message of the code (what ``make extract-messages`` extracts, with
its placeholders matching anything), so a string nobody has translated yet is caught too; a
message whose translation is the same word in both languages ("API", "OCOP") is not.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from demo_days import open_day
from sqlalchemy import select

from tests.unit.test_i18n import PerRequestContextClient, extracted_ids, fragments
from tourplanner.adapters.orm import Experience
from tourplanner.extensions import db
from tourplanner.services import accounts, availability

DAY = open_day(20)
PASSWORD = "correct horse 1"
#: Words that are the same in both languages or names (not interface text to translate).
SAME = {"API", "OCOP", "GeoJSON", "E-mail", "Email", "Google Maps", "OpenStreetMap", "tourplanner"}


@pytest.fixture
def client(app):
    app.test_client_class = PerRequestContextClient
    app.config["PLANNER_TIME_LIMIT"] = 0.1
    return app.test_client()


@pytest.fixture(scope="module")
def catalog():
    from babel.messages.pofile import read_po

    from tests.unit.test_i18n import PO

    with PO.open("rb") as fh:
        return read_po(fh, locale="vi")


#: A message with placeholders is looked for only when its own words are this long: "%(n)s
#: villages" would match any text ending in "villages" (a village's notes, say).
MIN_LITERAL = 12


def _pattern(msgid: str) -> re.Pattern | None:
    parts = re.split(r"%\(\w+\)[sd]", msgid)
    if len(parts) > 1 and len("".join(parts).strip()) < MIN_LITERAL:
        return None
    return re.compile("^" + ".+".join(re.escape(p) for p in parts) + "$")


@pytest.fixture(scope="module")
def english(catalog):
    """Patterns of the English interface messages that have (or need) another wording."""
    found = []
    for msgid in extracted_ids():
        message = catalog.get(msgid)
        translated = message.string if message is not None else ""
        translated = translated if isinstance(translated, str) else translated[0]
        if translated == msgid or msgid in SAME or len(msgid) < 3:
            continue
        found.append(_pattern(msgid))
    return [p for p in found if p is not None]


@pytest.fixture(scope="module")
def vietnamese(catalog):
    """Patterns of the Vietnamese translations that differ from their English."""
    found = []
    for message in catalog:
        string = message.string if isinstance(message.string, str) else (message.string or [""])[0]
        if message.id and string and string != message.id and string not in SAME:
            found.append(_pattern(string))
    return [p for p in found if p is not None]


def _leaks(html: str, patterns: list[re.Pattern]) -> list[str]:
    return sorted({f for f in fragments(html) for p in patterns if p.match(f)})


@pytest.fixture
def pages(client) -> dict[str, tuple[str, str, dict | None]]:
    """``{name: (method, path, form)}`` of the pages to check, with the rows they need."""
    exp = db.session.scalars(
        select(Experience).where(Experience.slug == "bat-trang-workshop-pottery-wheel")
    ).one()
    slot = availability.slots_for_day([exp.id], DAY)[exp.id][0]
    plan = client.post(
        "/api/v1/plans",
        json={
            "start": {"landmark": "hoan-kiem-lake"},
            "date": DAY.isoformat(),
            "party": {"adults": 2},
            "interests": {"ceramics": 1.0},
            "must_include": ["bat-trang-workshop-pottery-wheel"],
        },
    ).get_json()
    booked = client.post(
        "/api/v1/bookings",
        json={
            "items": [{"slot_id": slot.id, "party": {"adults": 2}}],
            "contact": {"name": "Lan", "email": "lan@example.org"},
        },
    ).get_json()
    token = parse_qs(urlsplit(booked["manage_url"]).query)["token"][0]
    client.get(f"/bookings/{booked['reference']}?token={token}")
    accounts.create_user("potter@bat-trang.example", PASSWORD, "village", "bat-trang")
    return {
        "planner form": ("GET", "/plan", None),
        "planner form with errors": ("POST", "/plan", {"date": "x", "end_time": "25:00"}),
        "plan": ("GET", f"/plans/{plan['id']}", None),
        "plan, booking refused": ("POST", f"/plans/{plan['id']}/book", {"email": "x"}),
        "booking": ("GET", f"/bookings/{booked['reference']}?sent=1", None),
        "village booking refused": ("POST", "/villages/bat-trang/book", {"name": ""}),
        "sign-in refused": ("POST", "/login", {"email": "potter@bat-trang.example"}),
    }


BACK_OFFICE = ["/village/", "/village/?show=past", "/village/today", "/village/schedule"]


def _fetch(client, method: str, path: str, form: dict | None, lang: str) -> str:
    sep = "&" if "?" in path else "?"
    url = f"{path}{sep}lang={lang}"
    response = client.post(url, data=form) if method == "POST" else client.get(url)
    assert response.status_code < 500, (path, response.status_code)
    return response.get_data(as_text=True)


def _sign_in(client) -> None:
    data = {"email": "potter@bat-trang.example", "password": PASSWORD}
    assert client.post("/login", data=data).status_code == 302


def test_vietnamese_tourist_pages_carry_no_english_interface_text(client, pages, english):
    leaks = {
        name: found
        for name, (method, path, form) in pages.items()
        if (found := _leaks(_fetch(client, method, path, form, "vi"), english))
    }
    assert not leaks, leaks


def test_english_tourist_pages_carry_no_vietnamese_interface_text(client, pages, vietnamese):
    leaks = {
        name: found
        for name, (method, path, form) in pages.items()
        if (found := _leaks(_fetch(client, method, path, form, "en"), vietnamese))
    }
    assert not leaks, leaks


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_back_office_speaks_one_language(client, pages, english, vietnamese, lang):
    _sign_in(client)
    other = english if lang == "vi" else vietnamese
    leaks = {
        path: found
        for path in BACK_OFFICE
        if (found := _leaks(_fetch(client, "GET", path, None, lang), other))
    }
    assert not leaks, leaks
