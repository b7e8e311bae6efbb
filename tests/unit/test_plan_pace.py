"""The pace of a plan and its road-time limit: the issue #17 family request, end to end."""

from __future__ import annotations

from datetime import datetime

import pytest
from plan_requests import INTERESTS, family
from plan_requests import post_plan as plan

from tourplanner.domain.planning import PACES

DAY_MINUTES = 600  # 08:00-18:00


@pytest.fixture(autouse=True)
def fast_planner(app):
    app.config["PLANNER_TIME_LIMIT"] = 0.15
    return app


def test_relaxed_gives_at_most_three_stops_and_a_quarter_of_the_day_on_the_road(client):
    result = plan(client, pace="relaxed")
    assert result["itineraries"]
    for it in result["itineraries"]:
        assert 1 <= len(it["stops"]) <= 3
        assert it["totals"]["travel_minutes"] <= DAY_MINUTES // 4
        assert all(s["end"] > s["start"] for s in it["stops"])


def test_every_itinerary_keeps_to_max_travel_minutes(client):
    result = plan(client, max_travel_minutes=90)
    assert result["itineraries"] or result["reason"]["code"] == "travel_limit"
    for it in result["itineraries"]:
        assert it["totals"]["travel_minutes"] <= 90
        assert sum(leg["minutes"] for leg in it["legs"]) <= 90


def test_a_limit_no_day_can_keep_says_so_and_why(client):
    result = plan(client, max_travel_minutes=10)
    assert result["itineraries"] == []
    reason = result["reason"]
    assert reason["code"] == "travel_limit"
    assert reason["limit"] == 10 and reason["nearest_round_trip"] > 10
    assert "10 minutes on the road" in reason["message"]


@pytest.mark.parametrize("pace", ["relaxed", "balanced"])
def test_no_stop_outside_the_stated_interests_unless_packed(client, pace):
    result = plan(client, pace=pace)
    assert result["itineraries"]
    for it in result["itineraries"]:
        assert {s["category"] for s in it["stops"]} <= set(INTERESTS)


def test_packed_may_fill_the_day_with_other_crafts_and_more_stops(client):
    relaxed = plan(client, pace="relaxed")["itineraries"][0]
    packed = plan(client, pace="packed")["itineraries"][0]
    assert len(packed["stops"]) > len(relaxed["stops"])
    assert len(packed["stops"]) <= PACES["packed"].max_stops


def test_stops_shorter_than_the_pace_allows_are_not_proposed(client):
    for it in plan(client, pace="relaxed")["itineraries"]:
        for stop in it["stops"]:
            start, end = (datetime.fromisoformat(stop[k]) for k in ("start", "end"))
            assert (end - start).total_seconds() / 60 >= PACES["relaxed"].min_visit_minutes


def test_each_stop_names_the_interest_it_serves_and_the_summary_the_road_share(client):
    it = plan(client, pace="balanced")["itineraries"][0]
    for stop in it["stops"]:
        assert "you said you love" in stop["explanation"].lower()
        assert "weight" not in stop["explanation"].lower()
    share = round(100 * it["totals"]["travel_minutes"] / DAY_MINUTES)
    assert it["totals"]["road_share_percent"] == share
    assert f"{it['totals']['travel_minutes']} minutes on the road" in it["explanation"]
    assert f"{share}% of your day" in it["explanation"]


def test_pace_and_limit_are_stored_and_default_to_balanced_without_limit(client):
    stored = client.get(f"/api/v1/plans/{plan(client)['id']}").get_json()["request"]
    assert stored["pace"] == "balanced" and stored["max_travel_minutes"] is None
    stored = client.get(
        f"/api/v1/plans/{plan(client, pace='packed', max_travel_minutes=120)['id']}"
    ).get_json()["request"]
    assert stored["pace"] == "packed" and stored["max_travel_minutes"] == 120


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pace", "hurried"),
        ("max_travel_minutes", 5),
        ("max_travel_minutes", "90"),
        ("max_travel_minutes", True),
    ],
)
def test_bad_pace_or_limit_is_a_400_naming_the_field(client, field, value):
    response = client.post("/api/v1/plans", json=family(**{field: value}))
    assert response.status_code == 400
    assert response.get_json()["error"]["details"]["field"] == field


def test_openapi_documents_pace_and_the_road_time_limit(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    props = spec["components"]["schemas"]["PlanRequest"]["properties"]
    assert props["pace"]["enum"] == ["relaxed", "balanced", "packed"]
    assert props["pace"]["default"] == "balanced"
    assert "minutes_per_point" not in props["pace"]["description"]
    assert "30 min of driving" in props["pace"]["description"]
    assert props["max_travel_minutes"]["type"] == ["integer", "null"]


def test_form_pace_is_shown_on_the_plan_page_and_the_replan_form_switches_it(client, app):
    app.config["PLANNER_TIME_LIMIT"] = 0.1
    form = {
        "start_kind": "landmark",
        "landmark": "hoan-kiem-lake",
        "date": family()["date"],
        "start_time": "08:00",
        "end_time": "18:00",
        "mode": "car",
        "adults": "2",
        "children": "1",
        "seniors": "0",
        "interest-ceramics": "1",
        "interest-silk_textiles": "1",
        "max_stops": "5",
        "alternatives": "3",
        "pace": "relaxed",
        "max_travel_minutes": "150",
    }
    url = client.post("/plan?lang=en", data=form).headers["Location"]
    plan_id = url.rsplit("/", 1)[1]
    page = client.get(url + "?lang=en").get_data(as_text=True)
    assert 'data-pace="relaxed"' in page and "Pace: Relaxed." in page
    assert "At most 150 minutes on the road." in page
    assert 'id="pace-form"' in page and "% of your day" in page
    stored = client.get(f"/api/v1/plans/{plan_id}").get_json()
    assert stored["request"]["pace"] == "relaxed"
    assert all(len(it["stops"]) <= 3 for it in stored["itineraries"])

    response = client.post(
        f"/plans/{plan_id}/replan", data={"pace": "packed", "max_travel_minutes": ""}
    )
    assert response.status_code == 303
    new_id = response.headers["Location"].rsplit("/", 1)[1]
    replanned = client.get(f"/api/v1/plans/{new_id}").get_json()["request"]
    assert replanned["pace"] == "packed" and replanned["max_travel_minutes"] is None
    edit = client.get(f"/plan?from={new_id}&lang=en").get_data(as_text=True)
    assert 'id="pace-packed" checked' in edit
