"""The packages API (issue #11, item 7): the public read API (published packages, their days,
stops, retail prices, villages and terms, the dates they run for a party) and the agency
endpoints with an API key. A second agency gets 404 for the package, its bookings and its
clients; prices for a mixed party equal hand-computed figures; a booking through the real
booking plan reserves every item at once, or nothing when one session is full (the 409 names
it). Every answer is checked against the OpenAPI document."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from package_fixtures import agency
from sqlalchemy import func, select
from test_openapi import check_response

from tourplanner.adapters.orm import Booking, BookingItem, Experience, Slot
from tourplanner.domain.availability import local_today
from tourplanner.domain.pricing import Party
from tourplanner.extensions import db
from tourplanner.services import agencies, availability, package_booking, packages

CONTACT = {"name": "Mai Trần", "email": "mai@example.org", "phone": "+84 91 111 2222"}
#: Six villages over two days (the sample package's stops, every one open on Saturdays).
DAY_1 = (
    "quat-dong-workshop-embroidery",
    "xuan-la-workshop-to-he",
    "lang-chuong-workshop-conical-hat",
)
DAY_2 = (
    "kim-hoang-workshop-folk-painting",
    "van-phuc-workshop-silk-weaving",
    "phu-vinh-workshop-bamboo-weaving",
)
MIXED = {"adults": 2, "children": 1, "seniors": 1}


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def spec(client) -> dict:
    return client.get("/api/v1/openapi.json").get_json()


@pytest.fixture(autouse=True)
def quick_fill(app):
    app.config["PACKAGE_FILL_TIME_LIMIT"] = 0.05


@pytest.fixture
def sample(app) -> str:
    """The demo data's sample agency and its published 2-day package (``flask seed --demo``)."""
    return packages.seed_demo_package(agencies.seed_demo_agency()["id"])


def _closed_dates() -> set[date]:
    rows = db.session.scalars(select(Experience.closed_dates)).all()
    return {date.fromisoformat(d) for dates in rows for d in dates or []}


def next_day(weekday: int, after: int = 10, span: int = 2) -> date:
    """The first date with ``weekday`` at least ``after`` days ahead such that none of the
    ``span`` days from it is a catalogue closed date."""
    closed = _closed_dates()
    day = local_today(availability.now_utc()) + timedelta(days=after)
    while day.weekday() != weekday or any(day + timedelta(days=n) in closed for n in range(span)):
        day += timedelta(days=1)
    return day


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def new_agency(name: str, *, commission_bp: int = 1000) -> tuple[int, dict[str, str]]:
    row = agency(name, commission_bp=commission_bp)
    _key_id, key = agencies.create_api_key(row.id, "tests")
    return row.id, bearer(key)


def create(client, headers, **fields):
    body = {
        "name_vi": "Hai ngày làng nghề",
        "name_en": "Two craft-village days",
        "days": 2,
        "start": {"landmark": "hoan-kiem-lake"},
        "day_start": "07:30",
        "day_end": "18:30",
        "party": MIXED,
        "markup_bp": 2500,
        **fields,
    }
    response = client.post("/api/v1/agency/packages", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response


def put_stops(client, headers, slug: str, number: int, stops, on: date, *, locked=True):
    response = client.put(
        f"/api/v1/agency/packages/{slug}/days/{number}/stops?date={on.isoformat()}",
        json={"stops": [{"experience": s, "locked": locked} for s in stops]},
        headers=headers,
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def build(client, headers, on: date, **fields) -> str:
    """A 2-day package over six villages (DAY_1, DAY_2) planned on ``on``; its slug."""
    slug = create(client, headers, **fields).get_json()["slug"]
    put_stops(client, headers, slug, 1, DAY_1, on)
    put_stops(client, headers, slug, 2, DAY_2, on)
    return slug


def publish(client, headers, slug: str) -> dict:
    response = client.post(f"/api/v1/agency/packages/{slug}/publish", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    body = response.get_json()["error"]
    assert body["code"] == code, body
    return body


def _url(path: str, **values) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: str(values[m.group(1)]), path)


# --- the public read API ---------------------------------------------------------------------


def test_the_public_list_has_published_packages_and_retail_prices_only(client, spec, sample):
    _owner, headers = new_agency("Sen")
    draft = create(client, headers).get_json()["slug"]
    response = client.get("/api/v1/packages")
    check_response(spec, "/api/v1/packages", "get", response)
    body = response.get_json()
    slugs = [p["slug"] for p in body["items"]]
    assert body["total"] == len(slugs) >= 1
    assert sample in slugs and draft not in slugs
    text = response.get_data(as_text=True)
    assert "net" not in text and "margin" not in text and "commission" not in text


def test_a_published_package_shows_days_stops_retail_prices_villages_and_terms(
    client, spec, sample
):
    response = client.get(f"/api/v1/packages/{sample}")
    check_response(spec, "/api/v1/packages/{slug}", "get", response)
    body = response.get_json()
    assert body["day_count"] == 2 and [d["number"] for d in body["days"]] == [1, 2]
    stops = [s["experience"] for d in body["days"] for s in d["stops"]]
    assert stops == [*DAY_1, *DAY_2]
    assert all(re.fullmatch(r"\d\d:\d\d", s["start"]) for d in body["days"] for s in d["stops"])
    assert len(body["villages"]) == 6
    assert set(body["prices"]) == {"retail"}
    assert body["prices"]["retail"]["adult"] == body["price_from_vnd"] > 0
    assert body["terms"] == {"free_cancellation_hours": 24, "booking_cutoff_hours": 12}
    assert "locked" not in json.dumps(body["days"])


def test_drafts_withdrawn_and_unknown_packages_are_404_to_the_public(client, spec):
    _owner, headers = new_agency("Sen")
    on = next_day(5)
    slug = build(client, headers, on)
    for path in ("/api/v1/packages/{slug}", "/api/v1/packages/{slug}/dates"):
        response = client.get(_url(path, slug=slug))
        error(response, 404, "package_not_found")
        check_response(spec, path, "get", response)
    publish(client, headers, slug)
    assert client.get(f"/api/v1/packages/{slug}").status_code == 200
    assert (
        client.post(f"/api/v1/agency/packages/{slug}/withdraw", headers=headers).status_code == 200
    )
    error(client.get(f"/api/v1/packages/{slug}"), 404, "package_not_found")
    error(client.get("/api/v1/packages/no-such-package"), 404, "package_not_found")


def test_dates_are_the_days_every_session_runs_with_places_for_the_party(client, spec):
    _owner, headers = new_agency("Sen")
    saturday = next_day(5, span=16)
    slug = create(client, headers, days=1).get_json()["slug"]
    # Kim Hoàng's painting workshop runs on Saturdays and Sundays only.
    put_stops(client, headers, slug, 1, ["kim-hoang-workshop-folk-painting"], saturday)
    publish(client, headers, slug)
    monday = saturday + timedelta(days=2)
    query = f"from={monday.isoformat()}&to={(monday + timedelta(days=13)).isoformat()}"
    response = client.get(f"/api/v1/packages/{slug}/dates?{query}&adults=2&children=1&seniors=1")
    check_response(spec, "/api/v1/packages/{slug}/dates", "get", response)
    body = response.get_json()
    days = [date.fromisoformat(d["date"]) for d in body["dates"]]
    assert days == [monday + timedelta(days=n) for n in (5, 6, 12, 13)]
    # Kim Hoàng: 120 000 / 80 000 / 100 000 VND; +25 % -> 150 000 / 100 000 / 125 000.
    assert {d["retail_total_vnd"] for d in body["dates"]} == {2 * 150_000 + 100_000 + 125_000}
    assert body["party"] == MIXED and body["from"] == monday.isoformat()
    # A full session takes its date off the list.
    exp = db.session.scalars(
        select(Experience).where(Experience.slug == "kim-hoang-workshop-folk-painting")
    ).one()
    planned = packages.get_published(slug)["days"][0]["stops"][0]["start"]
    for slot in availability.slots_for_day([exp.id], monday + timedelta(days=5))[exp.id]:
        if slot.start.astimezone(availability.LOCAL_TZ).strftime("%H:%M") == planned:
            row = db.session.get(Slot, slot.id)
            row.taken = row.capacity - 3
    db.session.commit()
    again = client.get(f"/api/v1/packages/{slug}/dates?{query}&adults=2&children=1&seniors=1")
    assert [d["date"] for d in again.get_json()["dates"]] == [
        (monday + timedelta(days=n)).isoformat() for n in (6, 12, 13)
    ]
    # Three people still fit: the day is back, with 3 places left.
    three = client.get(f"/api/v1/packages/{slug}/dates?{query}&adults=3").get_json()["dates"]
    assert three[0] == {
        "date": (monday + timedelta(days=5)).isoformat(),
        "retail_total_vnd": 3 * 150_000,
        "places_left": 3,
    }


@pytest.mark.parametrize(
    "query,code,field",
    [
        ("from=2026-13-01", "invalid_parameter", "from"),
        ("from=tomorrow", "invalid_parameter", "from"),
        ("to=2020-01-01", "invalid_range", "to"),
        ("days=63", "range_too_long", "to"),
        ("from=9999-12-31", "outside_horizon", "from"),
        ("adults=0", "invalid_party", "adults"),
        ("adults=0&children=0&seniors=0", "invalid_party", "adults"),
        ("adults=101", "invalid_parameter", "adults"),
        ("children=two", "invalid_parameter", "children"),
        ("colour=red", "invalid_parameter", "colour"),
    ],
)
def test_dates_refuse_bad_ranges_and_parties_with_clear_400s(
    client, spec, sample, query, code, field
):
    if query == "days=63":
        start = local_today(availability.now_utc()) + timedelta(days=3)
        query = f"from={start.isoformat()}&to={(start + timedelta(days=62)).isoformat()}"
    response = client.get(f"/api/v1/packages/{sample}/dates?{query}")
    body = error(response, 400, code)
    assert body["details"]["field"] == field
    check_response(spec, "/api/v1/packages/{slug}/dates", "get", response)


def test_dates_default_to_one_adult_over_the_next_month(client, sample):
    body = client.get(f"/api/v1/packages/{sample}/dates").get_json()
    today = local_today(availability.now_utc())
    assert body["party"] == {"adults": 1, "children": 0, "seniors": 0}
    assert (body["from"], body["to"]) == (
        today.isoformat(),
        (today + timedelta(days=30)).isoformat(),
    )
    assert body["dates"]  # the sample runs every weekend


# --- the agency's key ------------------------------------------------------------------------


def _agency_operations(spec) -> list[tuple[str, str]]:
    return [
        (path, method)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if operation.get("security") == [{"bearerAuth": []}]
    ]


PLACEHOLDERS = {"slug": "some-package", "number": 1, "reference": "TP-AAAAAA", "client_id": 1}


def test_every_agency_operation_needs_a_valid_key(client, spec):
    operations = _agency_operations(spec)
    assert len(operations) == 14
    owner, headers = new_agency("Sen")
    revoked_id, revoked = agencies.create_api_key(owner, "old")
    agencies.revoke_api_key(owner, revoked_id)
    for path, method in operations:
        url = _url(path, **PLACEHOLDERS)
        for sent in ({}, bearer("tp_live_nonsense"), bearer(revoked)):
            response = client.open(url, method=method.upper(), headers=sent, json={})
            error(response, 401, "unauthorized")
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            check_response(spec, path, method, response)
    agencies.suspend_agency(owner)
    for path, method in operations:
        response = client.open(_url(path, **PLACEHOLDERS), method=method.upper(), headers=headers)
        error(response, 403, "agency_suspended")
        check_response(spec, path, method, response)


# --- building and selling a package through the API ------------------------------------------


def test_an_agency_builds_checks_publishes_and_sells_a_two_day_package(app, client, spec):
    _owner, headers = new_agency("Sen")
    saturday = next_day(5)
    created = create(client, headers)
    check_response(spec, "/api/v1/agency/packages", "post", created)
    slug = created.get_json()["slug"]
    assert created.headers["Location"] == (
        app.config["PUBLIC_BASE_URL"].rstrip("/") + f"/api/v1/agency/packages/{slug}"
    )
    assert created.get_json()["status"] == "draft"
    put_stops(client, headers, slug, 1, DAY_1, saturday)
    response = client.put(
        f"/api/v1/agency/packages/{slug}/days/2/stops?date={saturday.isoformat()}",
        json=[{"experience": s, "locked": True} for s in DAY_2],  # a plain list works too
        headers=headers,
    )
    check_response(spec, "/api/v1/agency/packages/{slug}/days/{number}/stops", "put", response)
    view = response.get_json()
    assert view["check"]["ok"] is True
    assert len(view["villages"]) == 6
    assert [[s["experience"] for s in d["stops"]] for d in view["days"]] == [
        list(DAY_1),
        list(DAY_2),
    ]
    # On a Monday, day 2 is a Tuesday: Kim Hoàng's workshop is closed; the check says so.
    monday = saturday + timedelta(days=2)
    check = client.get(
        f"/api/v1/agency/packages/{slug}/check?date={monday.isoformat()}", headers=headers
    )
    check_response(spec, "/api/v1/agency/packages/{slug}/check", "get", check)
    problems = check.get_json()["problems"]
    assert {
        "code": "closed_that_day",
        "experience": "kim-hoang-workshop-folk-painting",
        "message": "closed that day",
        "day": 2,
    } in problems
    assert check.get_json()["ok"] is False
    dates = client.get(
        f"/api/v1/agency/packages/{slug}/dates?from={saturday.isoformat()}", headers=headers
    )
    check_response(spec, "/api/v1/agency/packages/{slug}/dates", "get", dates)
    assert saturday.isoformat() in [d["date"] for d in dates.get_json()["dates"]]
    published = client.post(f"/api/v1/agency/packages/{slug}/publish", headers=headers)
    check_response(spec, "/api/v1/agency/packages/{slug}/publish", "post", published)
    assert published.get_json()["status"] == "published"
    # A client books it for the Saturday: one booking, every item reserved at once.
    booking = client.post(
        "/api/v1/bookings",
        json={"package": slug, "date": saturday.isoformat(), "party": MIXED, "contact": CONTACT},
    )
    assert booking.status_code == 201, booking.get_json()
    check_response(spec, "/api/v1/bookings", "post", booking)
    items = booking.get_json()["items"]
    assert len(items) == 6 and {i["status"] for i in items} == {"pending"}
    assert (
        booking.get_json()["total_vnd"]
        == published.get_json()["prices"]["party_totals"]["retail_vnd"]
    )
    listed = client.get("/api/v1/agency/bookings", headers=headers)
    check_response(spec, "/api/v1/agency/bookings", "get", listed)
    assert [b["reference"] for b in listed.get_json()["items"]] == [booking.get_json()["reference"]]
    assert "manage_token" not in listed.get_data(as_text=True)
    mine = client.get("/api/v1/agency/packages", headers=headers)
    check_response(spec, "/api/v1/agency/packages", "get", mine)
    assert [(p["slug"], p["status"]) for p in mine.get_json()["items"]] == [(slug, "published")]
    withdrawn = client.post(f"/api/v1/agency/packages/{slug}/withdraw", headers=headers)
    check_response(spec, "/api/v1/agency/packages/{slug}/withdraw", "post", withdrawn)
    again = client.post(f"/api/v1/agency/packages/{slug}/withdraw", headers=headers)
    error(again, 409, "not_published")
    check_response(spec, "/api/v1/agency/packages/{slug}/withdraw", "post", again)


def test_fill_keeps_the_locked_stop_and_adds_others(client, spec):
    _owner, headers = new_agency("Sen")
    saturday = next_day(5)
    slug = create(client, headers, days=1).get_json()["slug"]
    put_stops(client, headers, slug, 1, ["van-phuc-workshop-silk-weaving"], saturday)
    response = client.post(
        f"/api/v1/agency/packages/{slug}/fill?date={saturday.isoformat()}", headers=headers
    )
    check_response(spec, "/api/v1/agency/packages/{slug}/fill", "post", response)
    view = response.get_json()
    stops = view["days"][0]["stops"]
    assert "van-phuc-workshop-silk-weaving" in [s["experience"] for s in stops]
    assert [s["locked"] for s in stops if s["experience"] == "van-phuc-workshop-silk-weaving"] == [
        True
    ]
    assert len(stops) >= 2
    assert view["fill"][0]["added"] == [s["experience"] for s in stops if not s["locked"]]
    assert view["fill"][0]["unfit_locked"] == []
    assert view["check"]["ok"] is True


def test_patch_changes_only_the_fields_sent_and_names_a_bad_field(client, spec):
    _owner, headers = new_agency("Sen")
    slug = create(client, headers).get_json()["slug"]
    path = "/api/v1/agency/packages/{slug}"
    response = client.patch(
        f"/api/v1/agency/packages/{slug}",
        json={
            "name_en": "Silk and clay",
            "days": [{"number": 2, "day_start": "09:00", "lunch": False}],
        },
        headers=headers,
    )
    check_response(spec, path, "patch", response)
    view = response.get_json()
    assert view["name"] == {"vi": "Hai ngày làng nghề", "en": "Silk and clay"}
    assert view["slug"] == slug  # the slug stays: links to it keep working
    assert [(d["day_start"], d["lunch"]) for d in view["days"]] == [
        ("07:30", True),
        ("09:00", False),
    ]
    for body, field, code in (
        ({"days": 6}, "days", "invalid_field"),
        ({"days": [{"number": 3}]}, "days", "unknown_day"),
        ({"day_start": "19:00"}, "day_end", "invalid_hours"),
        ({"start": {"lat": 10.8, "lon": 106.7}}, "start", "outside_hanoi"),
        ({"colour": "red"}, "colour", "unknown_field"),
    ):
        bad = client.patch(f"/api/v1/agency/packages/{slug}", json=body, headers=headers)
        assert error(bad, 400, code)["details"]["field"] == field
        check_response(spec, path, "patch", bad)
    bad = client.patch(f"/api/v1/agency/packages/{slug}", data="name", headers=headers)
    error(bad, 400, "invalid_body")


def test_create_names_the_bad_field(client, spec):
    _owner, headers = new_agency("Sen")
    for body, field, code in (
        ({"name_vi": "A", "start": {"landmark": "hoan-kiem-lake"}}, "name_en", "invalid_field"),
        ({"name_vi": "A", "name_en": "B"}, "start", "missing_field"),
        (
            {"name_vi": "A", "name_en": "B", "start": {"landmark": "atlantis"}},
            "start.landmark",
            "unknown_landmark",
        ),
    ):
        response = client.post("/api/v1/agency/packages", json=body, headers=headers)
        assert error(response, 400, code)["details"]["field"] == field
        check_response(spec, "/api/v1/agency/packages", "post", response)


def test_publishing_an_incomplete_package_is_a_422_naming_the_empty_day(client, spec):
    _owner, headers = new_agency("Sen")
    saturday = next_day(5)
    slug = create(client, headers).get_json()["slug"]
    put_stops(client, headers, slug, 1, DAY_1, saturday)
    response = client.post(f"/api/v1/agency/packages/{slug}/publish", headers=headers)
    assert error(response, 422, "package_incomplete")["details"]["empty_days"] == [2]
    check_response(spec, "/api/v1/agency/packages/{slug}/publish", "post", response)


# --- a second agency -------------------------------------------------------------------------


def test_a_second_agency_cannot_see_or_edit_the_package_its_bookings_or_its_clients(client, spec):
    owner, mine = new_agency("Sen")
    _other, theirs = new_agency("Lotus")
    saturday = next_day(5)
    slug = build(client, mine, saturday)
    client_id = agencies.create_client(owner, "Nguyễn Văn An", "an@example.org")
    view, _ = package_booking.book_package(
        slug, saturday, Party(adults=2), None, lang="en", agency_id=owner, client_id=client_id
    )
    reference = view["reference"]
    values = {"slug": slug, "number": 1, "reference": reference, "client_id": client_id}
    bodies = {
        ("/api/v1/agency/packages/{slug}", "patch"): {"name_en": "Taken over"},
        ("/api/v1/agency/packages/{slug}/days/{number}/stops", "put"): {"stops": []},
    }
    codes = {"reference": "booking_not_found", "client_id": "client_not_found"}
    checked = 0
    for path, method in _agency_operations(spec):
        if "{" not in path:
            continue
        url = _url(path, **values)
        response = client.open(
            url, method=method.upper(), headers=theirs, json=bodies.get((path, method))
        )
        name = re.search(r"\{([^}]+)\}", path).group(1)
        error(response, 404, codes.get(name, "package_not_found"))
        check_response(spec, path, method, response)
        # The owner still sees it (the request was well formed).
        if method == "get":
            assert client.get(url, headers=mine).status_code == 200, url
        checked += 1
    assert checked == 10
    # Nothing of the owner's in the other agency's lists.
    for path in ("/api/v1/agency/packages", "/api/v1/agency/bookings", "/api/v1/agency/clients"):
        assert client.get(path, headers=theirs).get_json() == {"items": [], "total": 0}
        assert client.get(path, headers=mine).get_json()["total"] == 1
    # Nothing changed: the package, its stops and its draft status are the owner's.
    package = client.get(f"/api/v1/agency/packages/{slug}", headers=mine).get_json()
    assert package["name"]["en"] == "Two craft-village days" and package["status"] == "draft"
    assert [len(d["stops"]) for d in package["days"]] == [3, 3]
    # Its draft cannot be booked with the other agency's key either.
    booking = client.post(
        "/api/v1/bookings",
        json={
            "package": slug,
            "date": saturday.isoformat(),
            "party": {"adults": 1},
            "contact": CONTACT,
        },
        headers=theirs,
    )
    error(booking, 404, "package_not_found")
    client_view = client.get(f"/api/v1/agency/clients/{client_id}", headers=mine)
    check_response(spec, "/api/v1/agency/clients/{client_id}", "get", client_view)
    assert client_view.get_json()["name"] == "Nguyễn Văn An"
    booking_view = client.get(f"/api/v1/agency/bookings/{reference}", headers=mine)
    check_response(spec, "/api/v1/agency/bookings/{reference}", "get", booking_view)
    assert booking_view.get_json()["client"] == {"id": client_id, "name": "Nguyễn Văn An"}


# --- prices ----------------------------------------------------------------------------------

# Day 1: Bát Tràng pottery (150 000 / 100 000 / 120 000 VND per adult / child / senior) and
# Làng Chuông hats (100 000 / 70 000 / 80 000); day 2: Xuân La tò he (60 000 / 50 000 /
# 50 000). Net per person: adult 310 000, child 220 000, senior 250 000.
PRICED = {
    1: ("bat-trang-workshop-pottery-wheel", "lang-chuong-workshop-conical-hat"),
    2: ("xuan-la-workshop-to-he",),
}
NET = {"adult": 310_000, "child": 220_000, "senior": 250_000}
# +25 %: 387 500 -> 388 000 (up to the thousand), 275 000 (exact), 312 500 -> 313 000.
RETAIL = {"adult": 388_000, "child": 275_000, "senior": 313_000}
MARGIN = {"adult": 78_000, "child": 55_000, "senior": 63_000}
# 10.01 % of retail, half up: 38 838.8 -> 38 839; 27 527.5 -> 27 528; 31 331.3 -> 31 331.
COMMISSION = {"adult": 38_839, "child": 27_528, "senior": 31_331}
# Two adults, a child and a senior.
TOTALS = {
    "net_vnd": 2 * 310_000 + 220_000 + 250_000,  # 1 090 000
    "retail_vnd": 2 * 388_000 + 275_000 + 313_000,  # 1 364 000
    "margin_vnd": 1_364_000 - 1_090_000,  # 274 000
    "commission_vnd": 136_536,  # 10.01 % of 1 364 000 = 136 536.4, once on the total
}


def test_prices_for_a_mixed_party_equal_hand_computed_figures(client, spec):
    owner, headers = new_agency("Sen", commission_bp=1001)
    saturday = next_day(5)
    slug = create(client, headers).get_json()["slug"]
    for number, stops in PRICED.items():
        put_stops(client, headers, slug, number, stops, saturday)
    # Through the service.
    prices = packages.get_for_agency(owner, slug)["prices"]
    assert (prices["net"], prices["retail"], prices["margin"], prices["commission"]) == (
        NET,
        RETAIL,
        MARGIN,
        COMMISSION,
    )
    assert prices["party_totals"] == TOTALS and prices["commission_bp"] == 1001
    # Through the API: the agency sees all four, the public retail only.
    response = client.get(f"/api/v1/agency/packages/{slug}", headers=headers)
    check_response(spec, "/api/v1/agency/packages/{slug}", "get", response)
    assert response.get_json()["prices"] == {**prices}
    publish(client, headers, slug)
    public = client.get(f"/api/v1/packages/{slug}").get_json()
    assert public["prices"] == {"retail": RETAIL} and public["price_from_vnd"] == 388_000
    query = f"from={saturday.isoformat()}&to={saturday.isoformat()}&adults=2&children=1&seniors=1"
    dates = client.get(f"/api/v1/packages/{slug}/dates?{query}").get_json()["dates"]
    assert [(d["date"], d["retail_total_vnd"]) for d in dates] == [
        (saturday.isoformat(), 1_364_000)
    ]
    # A booking of it costs the retail total; the villages get their net prices, the platform
    # its commission.
    booking = client.post(
        "/api/v1/bookings",
        json={"package": slug, "date": saturday.isoformat(), "party": MIXED, "contact": CONTACT},
    )
    assert booking.status_code == 201, booking.get_json()
    assert booking.get_json()["total_vnd"] == 1_364_000
    assert sum(i["total_vnd"] for i in booking.get_json()["items"]) == 1_090_000
    seen = client.get(f"/api/v1/agency/bookings/{booking.get_json()['reference']}", headers=headers)
    assert (
        seen.get_json()["total_vnd"],
        seen.get_json()["net_total_vnd"],
        seen.get_json()["commission_vnd"],
    ) == (
        1_364_000,
        1_090_000,
        136_536,
    )


def test_fixed_retail_prices_a_senior_without_one_pays_the_adults_and_a_margin_can_be_negative(
    client,
):
    _owner, headers = new_agency("Sen", commission_bp=1000)
    saturday = next_day(5)
    slug = create(
        client,
        headers,
        markup_kind="fixed",
        retail_prices={"adult": 400_000, "child": 200_000, "senior": None},
    ).get_json()["slug"]
    for number, stops in PRICED.items():
        put_stops(client, headers, slug, number, stops, saturday)
    prices = client.get(f"/api/v1/agency/packages/{slug}", headers=headers).get_json()["prices"]
    assert prices["retail"] == {"adult": 400_000, "child": 200_000, "senior": 400_000}
    assert prices["margin"] == {"adult": 90_000, "child": -20_000, "senior": 150_000}
    assert prices["commission"] == {"adult": 40_000, "child": 20_000, "senior": 40_000}
    assert prices["party_totals"] == {
        "net_vnd": 1_090_000,
        "retail_vnd": 1_400_000,
        "margin_vnd": 310_000,
        "commission_vnd": 140_000,
    }


# --- booking through the real booking plan ---------------------------------------------------


def _taken(slot_ids) -> list[int]:
    db.session.expire_all()
    return [db.session.get(Slot, s).taken for s in slot_ids]


def test_a_booking_through_the_real_plan_reserves_every_item_or_nothing(client, spec, monkeypatch):
    _owner, headers = new_agency("Sen")
    saturday = next_day(5)
    slug = build(client, headers, saturday)
    publish(client, headers, slug)
    party = Party(**MIXED)
    plan = packages.booking_plan(slug, saturday, party)
    ids = [i.slot_id for i in plan.items]
    assert len(ids) == 6
    before = _taken(ids)
    body = {"package": slug, "date": saturday.isoformat(), "party": MIXED, "contact": CONTACT}
    # Another booking takes day 2's last session between the plan and the hold.
    last = ids[-1]
    real = packages.booking_plan

    def racing(*args, **kwargs):
        found = real(*args, **kwargs)
        slot = db.session.get(Slot, last)
        slot.taken = slot.capacity - 1
        db.session.commit()
        return found

    monkeypatch.setattr(packages, "booking_plan", racing)
    bookings = db.session.scalar(select(func.count()).select_from(Booking))
    response = client.post("/api/v1/bookings", json=body)
    failure = error(response, 409, "slot_full")
    check_response(spec, "/api/v1/bookings", "post", response)
    assert failure["details"]["item"] == plan.labels[last]
    assert failure["details"]["item"].startswith("Day 2 · Rattan and bamboo weaving · ")
    assert failure["details"]["item"] in failure["message"]
    after = _taken(ids)
    assert after[:-1] == before[:-1]  # nothing reserved
    assert db.session.scalar(select(func.count()).select_from(Booking)) == bookings
    monkeypatch.setattr(packages, "booking_plan", real)
    # The plan itself now refuses the date and names the full stop.
    refused = client.post("/api/v1/bookings", json=body)
    problem = error(refused, 409, "package_not_runnable")["details"]["problems"]
    assert {
        "code": "full",
        "experience": DAY_2[2],
        "left": 1,
        "message": "full",
        "day": 2,
    } in problem
    # With the place back, the booking reserves all six items at once.
    slot = db.session.get(Slot, last)
    slot.taken = before[-1]
    db.session.commit()
    booked = client.post("/api/v1/bookings", json=body)
    assert booked.status_code == 201, booked.get_json()
    assert _taken(ids) == [t + 4 for t in before]
    assert sorted(i["slot_id"] for i in booked.get_json()["items"]) == sorted(ids)
    stored = db.session.scalars(
        select(Booking).where(Booking.reference == booked.get_json()["reference"])
    ).one()
    assert (stored.package_date, stored.source) == (saturday, "site")
    assert (
        db.session.scalar(
            select(func.count()).select_from(BookingItem).where(BookingItem.booking_id == stored.id)
        )
        == 6
    )


# --- found while writing these tests (services/packages.py; see the report) -----------------


def test_a_suspended_agencys_package_has_no_dates_and_cannot_be_booked(client):
    owner, headers = new_agency("Sen")
    saturday = next_day(5)
    slug = build(client, headers, saturday)
    publish(client, headers, slug)
    agencies.suspend_agency(owner)
    error(client.get(f"/api/v1/packages/{slug}"), 404, "package_not_found")
    error(client.get(f"/api/v1/packages/{slug}/dates"), 404, "package_not_found")
    booking = client.post(
        "/api/v1/bookings",
        json={
            "package": slug,
            "date": saturday.isoformat(),
            "party": {"adults": 1},
            "contact": CONTACT,
        },
    )
    error(booking, 404, "package_not_found")


def test_another_agencys_key_books_a_published_package_as_a_public_booking(client):
    _owner, mine = new_agency("Sen")
    _other, theirs = new_agency("Lotus")
    saturday = next_day(5)
    slug = build(client, mine, saturday)
    publish(client, mine, slug)
    booking = client.post(
        "/api/v1/bookings",
        json={
            "package": slug,
            "date": saturday.isoformat(),
            "party": {"adults": 1},
            "contact": CONTACT,
        },
        headers=theirs,
    )
    assert booking.status_code == 201
    stored = db.session.scalars(
        select(Booking).where(Booking.reference == booking.get_json()["reference"])
    ).one()
    assert stored.source == "site"


def test_the_write_endpoints_need_no_csrf_token_only_the_key(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    _owner, headers = new_agency("Sen")
    # A page form without its token is refused...
    assert (
        client.post("/login", data={"email": "a@example.org", "password": "x"}).status_code == 400
    )
    # ...the API's writes act on the key alone.
    slug = create(client, headers).get_json()["slug"]
    saturday = next_day(5)
    put_stops(client, headers, slug, 1, DAY_1, saturday)
    put_stops(client, headers, slug, 2, DAY_2, saturday)
    assert (
        client.patch(f"/api/v1/agency/packages/{slug}", json={}, headers=headers).status_code == 200
    )
    assert client.post(f"/api/v1/agency/packages/{slug}/fill", headers=headers).status_code == 200
    publish(client, headers, slug)
    withdrawn = client.post(f"/api/v1/agency/packages/{slug}/withdraw", headers=headers)
    assert withdrawn.status_code == 200
