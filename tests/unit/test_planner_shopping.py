"""The planner's shopping stop (#15 item 4): asked for with ``shopping: true``, every itinerary
gets one sales point open during the visit (its stated hours, its stated position), preferably
at a village of the day and of a craft the tourist likes, planned by the solver as a
must-visit; a sales point without hours or position is never planned; when none fits the
answer says why. The form, the plan page, the re-plan form, the exports and the OpenAPI
document carry it."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from demo_days import open_day
from sqlalchemy import select

from tourplanner.adapters.orm import Plan, Village
from tourplanner.domain.shopping import (
    NEAR_MINUTES,
    SHOPPING_MINUTES,
    Candidate,
    parse_hours,
    ranked,
    windows_in_day,
)
from tourplanner.extensions import db

DAY = open_day(10)


@pytest.fixture(autouse=True)
def quick(app):
    app.config["PLANNER_TIME_LIMIT"] = 0.1


def _village(slug: str) -> Village:
    return db.session.scalar(select(Village).where(Village.slug == slug))


def _sales_points(slug: str, *points: dict) -> Village:
    """Give a village sales points (test data): ``dlat``/``dlon`` place one next to the
    village's own position; a point without them has no position."""
    village = _village(slug)
    recorded = []
    for p in points:
        place = {k: v for k, v in p.items() if k not in ("dlat", "dlon")}
        if "dlat" in p:
            place["lat"], place["lon"] = village.lat + p["dlat"], village.lon + p["dlon"]
        recorded.append(place)
    village.sales_points = recorded
    db.session.commit()
    return village


def _request(**overrides) -> dict:
    return {
        "start": {"landmark": "hoan-kiem-lake"},
        "date": DAY.isoformat(),
        "start_time": "08:00",
        "end_time": "18:00",
        "party": {"adults": 2},
        "interests": {"ceramics": 1.0},
        "lang": "en",
        "shopping": True,
        **overrides,
    }


def _plan(client, **overrides) -> dict:
    response = client.post("/api/v1/plans", json=_request(**overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _minutes(iso: str) -> int:
    moment = datetime.fromisoformat(iso)
    return moment.hour * 60 + moment.minute


def _shops(itinerary: dict) -> list[dict]:
    return [s for s in itinerary["stops"] if s["kind"] == "shopping"]


MARKET = {
    "name": "Chợ gốm",
    "address": "Bát Tràng",
    "hours": "7:30–17:30",
    "dlat": 0.002,
    "dlon": 0.001,
}


# --- the rules (plain Python) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "windows"),
    [
        ("7:00–18:00", [(420, 1080)]),
        ("08:00 - 17:30", [(480, 1050)]),
        ("8h-11h30, 13h30-17h", [(480, 690), (810, 1020)]),
        ("hằng ngày 7h - 18h", [(420, 1080)]),
        ("Daily 8:00-17:00", [(480, 1020)]),
    ],
)
def test_hours_written_as_time_ranges_are_read(text, windows):
    assert parse_hours(text) == windows


@pytest.mark.parametrize(
    "text",
    [None, "", "by appointment", "Thứ 2 – Thứ 6: 8:00–17:00", "8:00", "18:00-8:00", "8-12, 11-15"],
)
def test_hours_we_cannot_read_without_guessing_are_not_known(text):
    assert parse_hours(text) is None


def test_windows_are_cut_to_the_day_and_must_hold_the_visit():
    assert windows_in_day([(420, 1080)], 480, 1020, SHOPPING_MINUTES) == [(480, 1020)]
    assert windows_in_day([(990, 1080)], 480, 1000, SHOPPING_MINUTES) == []


def test_a_sales_point_at_a_village_of_the_day_of_a_loved_craft_with_ocop_comes_first():
    def candidate(key, **facts):
        base = {
            "village": f"v{key}",
            "index": 0,
            "category": "ceramics",
            "minutes": 5,
            "at_day_village": False,
            "ocop_products": 0,
        }
        return Candidate(key=key, **{**base, **facts})

    far = candidate(1, minutes=NEAR_MINUTES + 1, ocop_products=3)
    near = candidate(2, minutes=NEAR_MINUTES)
    here = candidate(3, at_day_village=True, minutes=0, category="lacquer")
    here_loved = candidate(4, at_day_village=True, minutes=2)
    here_loved_ocop = candidate(5, at_day_village=True, minutes=4, ocop_products=1)
    order = ranked([far, near, here, here_loved, here_loved_ocop], {"ceramics": 1.0})
    assert [c.key for c in order] == [5, 4, 3, 2, 1]


# --- planned by the solver ------------------------------------------------------------------


def test_every_itinerary_has_one_shopping_stop_open_during_the_visit(client):
    _sales_points("bat-trang", MARKET)
    plan = _plan(client)
    assert plan["shopping"] == {"planned": True}
    assert "reason" not in plan
    assert plan["itineraries"]
    for it in plan["itineraries"]:
        shops = _shops(it)
        assert len(shops) == 1, it["stops"]
        shop = shops[0]
        assert it["shopping"] == it["stops"].index(shop)
        start, end = _minutes(shop["start"]), _minutes(shop["end"])
        assert end - start == SHOPPING_MINUTES
        assert start >= 7 * 60 + 30 and end <= 17 * 60 + 30  # its stated hours
        assert shop["title"] == {"vi": "Chợ gốm", "en": "Chợ gốm"}
        assert shop["sales_point"]["hours"] == "7:30–17:30"
        assert shop["sales_point"]["address"] == "Bát Tràng"
        assert shop["experience_id"] is None and shop["slot_id"] is None
        assert shop["price_vnd"] == 0
        assert "Shopping stop at Chợ gốm" in it["explanation"]
        # Not counted as one of the stops chosen for the interests.
        assert it["explanation"].startswith(f"{len(it['stops']) - 1} stops")
        assert it["totals"]["cost_vnd"] == sum(s["price_vnd"] for s in it["stops"])


def test_the_stop_says_why_with_the_villages_ocop_products(client):
    _sales_points("bat-trang", MARKET)
    plan = _plan(client)
    shop = _shops(plan["itineraries"][0])[0]
    codes = [r["code"] for r in shop["reasons"]]
    assert codes[0] == "shopping" and "ocop_products" in codes and codes[-1] == "shop_hours"
    why = shop["explanation"]
    assert why.startswith("You asked for a shopping stop")
    assert "OCOP products of Bat Trang" in why and "(ceramics)" in why
    assert "you said you love ceramics" in why
    assert "open 7:30–17:30, as the village states" in why
    assert "price" not in shop["explanation"].lower()


def test_the_schedule_with_the_shop_is_feasible(client):
    """Each stop starts after the previous one ends plus the leg's minutes, within the day."""
    _sales_points("bat-trang", MARKET)
    plan = _plan(client, end_time="16:00", lunch=False)
    for it in plan["itineraries"]:
        clock = 8 * 60
        for stop, leg in zip(it["stops"], it["legs"], strict=False):
            assert _minutes(stop["start"]) >= clock + leg["minutes"]
            clock = _minutes(stop["end"])
        assert clock + it["legs"][-1]["minutes"] <= _minutes(it["return"]) <= 16 * 60
        shop = _shops(it)[0]
        into = it["legs"][it["stops"].index(shop)]
        assert into["to"] == shop["place"] == "sales_point:bat-trang:0"


def test_the_same_request_gives_the_same_plan(client):
    _sales_points("bat-trang", MARKET)
    first = _plan(client)["itineraries"]
    again = _plan(client)["itineraries"]
    assert first == again


def test_a_sales_point_near_the_days_villages_of_a_loved_craft_is_preferred(client):
    _sales_points("bat-trang", MARKET)
    _sales_points(
        "van-phuc", {"name": "Silk shop", "hours": "8:00-18:00", "dlat": 0.001, "dlon": 0.0}
    )
    plan = _plan(client, interests={"ceramics": 1.0, "silk_textiles": 0.0})
    best = plan["itineraries"][0]
    assert {s["village"] for s in best["stops"] if s["kind"] != "shopping"} & {"bat-trang"}
    assert _shops(best)[0]["title"]["en"] == "Chợ gốm"


def test_a_sales_point_without_hours_or_position_is_never_planned(client):
    _sales_points(
        "bat-trang",
        {"name": "No hours", "dlat": 0.001, "dlon": 0.001},
        {"name": "No position", "hours": "7:00-18:00"},
        {"name": "Unreadable hours", "hours": "ask the family", "dlat": 0.002, "dlon": 0.0},
    )
    plan = _plan(client)
    assert plan["itineraries"]  # the day is planned without it
    assert all(not _shops(it) and it["shopping"] is None for it in plan["itineraries"])
    reason = plan["shopping"]["reason"]
    assert plan["shopping"]["planned"] is False
    assert reason["code"] == "shopping_unavailable" and reason["cause"] == "none_open"
    assert reason["message"] == reason["text"]["en"]
    assert "known position and opening hours" in reason["text"]["en"]
    assert reason["text"]["vi"]
    assert plan["reason"] == reason
    assert "No shopping stop fits into this day." in plan["itineraries"][0]["explanation"]


def test_hours_outside_the_day_are_respected(client):
    _sales_points("bat-trang", {**MARKET, "hours": "16:00-17:00"})
    plan = _plan(client, end_time="15:00")
    assert plan["shopping"]["reason"]["cause"] == "none_open"
    late = _plan(client, end_time="18:00")
    for it in late["itineraries"]:
        shop = _shops(it)[0]
        assert _minutes(shop["start"]) >= 16 * 60 and _minutes(shop["end"]) <= 17 * 60


def test_when_no_open_sales_point_fits_the_answer_says_so(client):
    # Open only in the last half hour of the day: there is no time to drive back after it.
    _sales_points("bat-trang", {**MARKET, "hours": "17:30-18:00"})
    plan = _plan(client)
    assert plan["itineraries"]
    assert plan["shopping"]["planned"] is False
    assert plan["shopping"]["reason"]["cause"] == "none_fits"
    assert all(not _shops(it) for it in plan["itineraries"])


def test_a_left_out_villages_sales_point_is_not_planned(client):
    _sales_points("bat-trang", MARKET)
    plan = _plan(client, exclude=["bat-trang"])
    assert plan["shopping"]["reason"]["cause"] == "none_open"


def test_without_shopping_nothing_changes(client):
    _sales_points("bat-trang", MARKET)
    plan = _plan(client, shopping=False)
    assert "shopping" not in plan
    assert all("shopping" not in it and not _shops(it) for it in plan["itineraries"])


def test_shopping_must_be_true_false_or_null(client):
    response = client.post("/api/v1/plans", json=_request(shopping="yes"))
    assert response.status_code == 400
    assert response.get_json()["error"]["details"]["field"] == "shopping"
    assert client.post("/api/v1/plans", json=_request(shopping=None)).status_code == 201


def test_the_saved_request_and_the_api_plan_carry_it(client):
    _sales_points("bat-trang", MARKET)
    plan = _plan(client)
    assert db.session.get(Plan, plan["id"]).request["shopping"] is True
    again = client.get(f"/api/v1/plans/{plan['id']}").get_json()
    assert again["request"]["shopping"] is True and again["shopping"]["planned"] is True


def test_the_openapi_document_names_the_option_and_the_stop(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    assert schemas["PlanRequest"]["properties"]["shopping"]["type"] == ["boolean", "null"]
    assert "shopping" in schemas["PlanStop"]["properties"]["kind"]["enum"]
    assert "shopping" in schemas["Itinerary"]["properties"]
    assert "shopping_unavailable" in schemas["Plan"]["properties"]["shopping"]["description"]


# --- pages and exports ----------------------------------------------------------------------


def test_the_form_has_the_checkbox_and_sends_it(client):
    page = client.get("/plan?lang=en").get_data(as_text=True)
    assert 'name="shopping"' in page
    assert "Add a shopping stop (a village shop or OCOP sales point)" in page
    _sales_points("bat-trang", MARKET)
    form = {
        "start_kind": "landmark",
        "landmark": "hoan-kiem-lake",
        "date": DAY.isoformat(),
        "start_time": "08:00",
        "end_time": "18:00",
        "mode": "car",
        "adults": "2",
        "interest-ceramics": "1",
        "max_stops": "5",
        "alternatives": "2",
        "shopping": "on",
    }
    response = client.post("/plan?lang=en", data=form)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    plan_id = response.headers["Location"].rsplit("/", 1)[-1]
    row = db.session.get(Plan, plan_id)
    assert row.request["shopping"] is True
    edit = client.get(f"/plan?from={plan_id}&lang=en").get_data(as_text=True)
    assert 'id="shopping" checked' in edit


def test_the_plan_page_shows_the_shopping_stop_and_replans_without_it(client):
    _sales_points("bat-trang", MARKET)
    plan = _plan(client)
    page = client.get(f"/plans/{plan['id']}?lang=en").get_data(as_text=True)
    assert 'data-kind="shopping"' in page and "Shopping stop" in page
    assert "purchases are up to you" in page and "open 7:30–17:30" in page
    assert 'id="shopping-off"' in page
    response = client.post(f"/plans/{plan['id']}/replan?lang=en", data={"shopping": "off"})
    assert response.status_code == 303
    new_id = response.headers["Location"].rsplit("/", 1)[-1]
    assert db.session.get(Plan, new_id).request["shopping"] is False
    page = client.get(f"/plans/{new_id}?lang=en").get_data(as_text=True)
    assert 'data-kind="shopping"' not in page and 'id="shopping-on"' in page


def test_the_plan_page_says_why_there_is_no_shopping_stop(client):
    _sales_points("bat-trang", {**MARKET, "hours": "by appointment"})
    plan = _plan(client)
    page = client.get(f"/plans/{plan['id']}?lang=en").get_data(as_text=True)
    assert 'data-code="shopping_unavailable"' in page
    assert "no village sales point with a known position and opening hours" in page
    assert "none fits into this day" in page


def test_exports_show_the_shopping_stop(client):
    _sales_points("bat-trang", MARKET)
    plan = _plan(client)
    shop = _shops(plan["itineraries"][0])[0]
    ics = client.get(f"/plans/{plan['id']}.ics?lang=en").get_data(as_text=True)
    assert "Shopping stop: Chợ gốm" in ics or "Điểm mua sắm: Chợ gốm" in ics
    geojson = client.get(f"/api/v1/plans/{plan['id']}.geojson").get_json()
    points = [f for f in geojson["features"] if f["properties"]["role"] == "stop"]
    shop_point = next(f for f in points if f["properties"]["kind"] == "shopping")
    assert shop_point["geometry"]["coordinates"] == [shop["lon"], shop["lat"]]
    legs = [f for f in geojson["features"] if f["properties"]["role"] == "leg"]
    assert any(f["geometry"]["coordinates"][1] == [shop["lon"], shop["lat"]] for f in legs)
    assert f"{shop['lat']},{shop['lon']}" in json.dumps(plan["directions"][0])
    printed = client.get(f"/plans/{plan['id']}/print?lang=en").get_data(as_text=True)
    assert 'data-kind="shopping"' in printed and "Chợ gốm" in printed


def test_the_per_request_path_plans_no_shopping_stop_and_says_so(app, client):
    app.config["PLANNER_GRAPH"] = False
    _sales_points("bat-trang", MARKET)
    plan = _plan(client)
    assert plan["itineraries"]
    assert all(not _shops(it) and it["shopping"] is None for it in plan["itineraries"])
    assert plan["shopping"]["reason"]["cause"] == "not_planned"


def test_the_plan_page_in_vietnamese_shows_the_shopping_stop(client):
    _sales_points("bat-trang", MARKET)
    plan = _plan(client, lang="vi")
    page = client.get(f"/plans/{plan['id']}?lang=vi")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'data-kind="shopping"' in text and "Chợ gốm" in text
    shop = _shops(plan["itineraries"][0])[0]
    assert shop["village_name"]["vi"] in text
