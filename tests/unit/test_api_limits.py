"""API limits and agreement with openapi.json: rate limits (429), the plan-concurrency cap
(503), 405 with Allow, links from PUBLIC_BASE_URL whatever the Host header, and the rules the
server enforces stated in the schema."""

from __future__ import annotations

import pytest
from demo_days import open_day
from sqlalchemy import select

from tourplanner.adapters.orm import Experience
from tourplanner.extensions import db
from tourplanner.services import availability

CONTACT = {"name": "Lan Nguyễn", "email": "lan@example.org"}
EVIL = "evil.example"


@pytest.fixture(autouse=True)
def fast_planner(app):
    from fakes import FakeGeocoder

    from tourplanner.services.geocoding import EXTENSION_KEY

    app.config["PLANNER_TIME_LIMIT"] = 0.1
    app.extensions[EXTENSION_KEY] = FakeGeocoder({})
    return app


def _plan_body() -> dict:
    day = open_day(10)
    return {
        "start": {"landmark": "hoan-kiem-lake"},
        "date": day.isoformat(),
        "party": {"adults": 1},
    }


def _slot_id() -> int:
    exp = db.session.scalars(
        select(Experience).where(Experience.slug == "bat-trang-workshop-pottery-wheel")
    ).one()
    day = open_day(30)
    return availability.slots_for_day([exp.id], day)[exp.id][0].id


def _json_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "details"}
    if code:
        assert error["code"] == code
    return error


# --- rate limits and the plan cap ------------------------------------------------------------


@pytest.mark.parametrize(
    "setting,path",
    [("RATE_LIMIT_BOOKINGS", "/api/v1/bookings"), ("RATE_LIMIT_PLANS", "/api/v1/plans")],
)
def test_posts_beyond_the_rate_limit_are_json_429s_with_retry_after(app, client, setting, path):
    app.config[setting] = "2 per minute"
    for _ in range(2):
        assert client.post(path, json={}).status_code == 400
    response = client.post(path, json={})
    _json_error(response, 429)
    assert int(response.headers["Retry-After"]) > 0


def test_rate_limits_off_lets_every_request_through(app, client):
    app.config.update(RATE_LIMIT_BOOKINGS="1 per minute", RATE_LIMITS=False)
    assert [client.post("/api/v1/bookings", json={}).status_code for _ in range(3)] == [400] * 3


def test_beyond_plan_concurrency_a_plan_request_is_a_503_with_retry_after(app, client):
    from tourplanner.services.planning import planning_place

    app.config["PLAN_CONCURRENCY"] = 1
    with planning_place() as placed:  # another request is computing a plan
        assert placed
        busy = client.post("/api/v1/plans", json=_plan_body())
        _json_error(busy, 503, "planner_busy")
        assert int(busy.headers["Retry-After"]) > 0
    assert client.post("/api/v1/plans", json=_plan_body()).status_code == 201


def test_a_503_keeps_its_own_retry_after_and_a_201_has_none_under_rate_limits(app, client):
    from tourplanner.services.planning import BUSY_RETRY_SECONDS, planning_place

    app.config.update(PLAN_CONCURRENCY=1, RATE_LIMIT_PLANS="100 per hour")
    with planning_place() as placed:
        assert placed
        busy = client.post("/api/v1/plans", json=_plan_body())
    made = client.post("/api/v1/plans", json=_plan_body())
    assert busy.status_code == 503 and busy.headers["X-RateLimit-Limit"] == "100"
    assert busy.headers["Retry-After"] == str(BUSY_RETRY_SECONDS)  # not the hour's reset
    assert made.status_code == 201 and "Retry-After" not in made.headers


def test_a_failed_plan_gives_its_place_back(app, client):
    app.config["PLAN_CONCURRENCY"] = 1
    bad = {**_plan_body(), "start_time": "18:00", "end_time": "08:00"}
    for _ in range(3):
        _json_error(client.post("/api/v1/plans", json=bad), 400, "end_before_start")
    assert client.post("/api/v1/plans", json=_plan_body()).status_code == 201


# --- 405 keeps Allow -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method,path",
    [("DELETE", "/api/v1/villages"), ("PUT", "/api/v1/bookings"), ("PATCH", "/api/v1/plans")],
)
def test_405_answers_carry_allow_in_the_json_shape(client, method, path):
    response = client.open(path, method=method)
    _json_error(response, 405, "method_not_allowed")
    assert response.headers["Allow"]
    assert method not in response.headers["Allow"]


# --- external URLs ---------------------------------------------------------------------------


def _no_evil(response) -> None:
    text = response.get_data(as_text=True)
    assert EVIL not in text
    assert all(EVIL not in value for _name, value in response.headers.items())


def test_a_forged_host_header_never_reaches_a_link(app, client):
    public = app.config["PUBLIC_BASE_URL"]
    base = f"http://{EVIL}"
    booking = client.post(
        "/api/v1/bookings",
        json={"items": [{"slot_id": _slot_id(), "party": {"adults": 1}}], "contact": CONTACT},
        base_url=base,
    )
    assert booking.status_code == 201
    _no_evil(booking)
    body = booking.get_json()
    assert body["manage_url"].startswith(public) and body["cancel_url"].startswith(public)
    assert booking.headers["Location"].startswith(public)
    plan = client.post("/api/v1/plans", json=_plan_body(), base_url=base)
    assert plan.status_code == 201
    _no_evil(plan)
    assert plan.headers["Location"].startswith(public)
    for url in (
        "/api/v1/villages?per_page=2&page=2",
        "/api/v1/villages/bat-trang",
        f"/api/v1/plans/{plan.get_json()['id']}",
    ):
        answer = client.get(url, base_url=base)
        assert answer.status_code == 200
        _no_evil(answer)


def test_list_links_are_relative(client):
    links = client.get("/api/v1/products?per_page=1&page=2").get_json()["links"]
    assert links["next"].startswith("/api/v1/products?") and "page=3" in links["next"]
    assert links["prev"].startswith("/api/v1/products?") and "page=1" in links["prev"]


# --- the schema states the rules -------------------------------------------------------------


@pytest.fixture
def spec(client) -> dict:
    return client.get("/api/v1/openapi.json").get_json()


def test_schema_states_contact_party_and_bounds(spec):
    schemas = spec["components"]["schemas"]
    items_branch = next(
        branch
        for branch in schemas["BookingRequest"]["oneOf"]
        if "items" in branch.get("properties", {})
    )
    contact = items_branch["properties"]["contact"]
    assert contact["properties"]["name"]["minLength"] == 1
    assert contact["additionalProperties"] is False
    party = items_branch["properties"]["items"]["items"]["properties"]["party"]
    assert party["minProperties"] == 1
    assert party["properties"]["adults"]["maximum"] == 100
    slot = items_branch["properties"]["items"]["items"]["properties"]["slot_id"]
    assert slot["maximum"] == 2**31 - 1
    plan = schemas["PlanRequest"]["properties"]
    assert plan["budget_vnd"]["maximum"] == 10**12
    assert plan["party"]["minProperties"] == 1
    assert "end_time" in spec["paths"]["/api/v1/plans"]["post"]["description"]


def test_schema_lists_the_catalogue_filter_values(app, spec):
    from tourplanner.services import catalogue

    params = {
        p["name"]: p["schema"] for p in spec["paths"]["/api/v1/villages"]["get"]["parameters"]
    }
    assert params["district"]["enum"] == catalogue.districts()
    assert params["bookable"]["enum"] == ["true", "false"]
    assert params["page"]["maximum"] == 2**31 - 1
    assert params["q"]["maxLength"] == 200
    products = {
        p["name"]: p["schema"] for p in spec["paths"]["/api/v1/products"]["get"]["parameters"]
    }
    assert "bat-trang" in products["village"]["enum"]


def test_every_operation_documents_400_and_posts_document_413_and_429(spec):
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert "400" in operation["responses"], (method, path)
    for path in ("/api/v1/bookings", "/api/v1/plans"):
        responses = spec["paths"][path]["post"]["responses"]
        assert {"413", "429"} <= set(responses)
        assert responses["429"]["headers"]["Retry-After"]["required"] is True
    assert "503" in spec["paths"]["/api/v1/plans"]["post"]["responses"]
