"""POST/GET /api/v1/plans against the seeded catalogue (real availability, fake geocoder)."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from demo_days import open_day

from tourplanner.domain.catalogue import windows_on
from tourplanner.domain.pricing import Party, party_price

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


def plan_day() -> date:
    """Ten days ahead in Hanoi: never in the past, beyond every booking cut-off."""
    return open_day(10)


def body(**overrides) -> dict:
    data = {
        "start": {"landmark": "hoan-kiem-lake"},
        "date": plan_day().isoformat(),
        "start_time": "08:00",
        "end_time": "18:00",
        "mode": "car",
        "party": {"adults": 2, "children": 1, "seniors": 0},
        "interests": {"ceramics": 1.0, "silk_textiles": 0.5},
        "budget_vnd": 2_000_000,
        "must_include": ["bat-trang"],
        "exclude": [],
        "max_stops": 5,
        "alternatives": 3,
        "lang": "en",
    }
    data.update(overrides)
    return data


@pytest.fixture(autouse=True)
def fast_planner(app):
    from fakes import FakeGeocoder

    from tourplanner.services.geocoding import EXTENSION_KEY

    app.config["PLANNER_TIME_LIMIT"] = 0.15
    app.extensions[EXTENSION_KEY] = FakeGeocoder(
        {"Bát Tràng, Gia Lâm": (20.975, 105.91), "Paris": (48.85, 2.35)}
    )
    return app


def minutes(iso: str) -> int:
    moment = datetime.fromisoformat(iso)
    assert moment.utcoffset() == timedelta(hours=7)
    return moment.hour * 60 + moment.minute


def check_stop(stop: dict, party: Party, lunch_minutes: int = 0) -> None:
    """The stop is open at its scheduled time and priced for the party, per the catalogue
    (``lunch_minutes``: a lunch taken at its village on arrival, before the visit)."""
    from tourplanner.adapters.orm import Experience, Slot
    from tourplanner.extensions import db

    exp = db.session.get(Experience, stop["experience_id"])
    assert exp.village.slug == stop["village"]
    start, end = minutes(stop["start"]), minutes(stop["end"])
    assert end - start == exp.duration_minutes
    idle = minutes(stop["start"]) - minutes(stop["arrive"]) - lunch_minutes
    assert idle == stop["wait_minutes"] >= 0
    if exp.kind == "workshop":
        slot = db.session.get(Slot, stop["slot_id"])
        assert slot.experience_id == exp.id
        assert slot.start.astimezone(HANOI).isoformat() == stop["start"]
        assert slot.capacity - slot.taken >= party.size
        prices = {
            "adult": exp.price_adult_vnd,
            "child": exp.price_child_vnd,
            "senior": exp.price_senior_vnd,
        }
        assert stop["price_vnd"] == party_price(prices, party)
    else:
        assert stop["slot_id"] is None
        windows = windows_on(exp.weekly_hours, exp.closed_dates, plan_day())
        assert any(
            a.hour * 60 + a.minute <= start and end <= b.hour * 60 + b.minute for a, b in windows
        )
        fact = exp.price_fact or {}
        per_person = "per person" in str(fact.get("unit"))
        assert stop["price_vnd"] == (fact["max"] * party.size if per_person else 0)


def check_itinerary(it: dict, request: dict) -> None:
    party = Party(**request["party"])
    stops, legs = it["stops"], it["legs"]
    assert 1 <= len(stops) <= request["max_stops"]
    lunch = it.get("lunch")
    for n, stop in enumerate(stops):
        on_arrival = lunch and lunch["on_arrival"] and lunch["after"] == n
        check_stop(stop, party, lunch["minutes"] if on_arrival else 0)
    assert it["totals"]["cost_vnd"] == sum(s["price_vnd"] for s in stops)
    assert it["totals"]["cost_vnd"] <= request["budget_vnd"]
    assert len(legs) == len(stops) + 1
    chain = ["start", *[s["village"] for s in stops], "start"]
    assert [(leg["from"], leg["to"]) for leg in legs] == list(itertools.pairwise(chain))
    clock = minutes(it["leave"])
    assert clock == 8 * 60
    for n, (stop, leg) in enumerate(zip(stops, legs, strict=False)):
        assert leg["mode"] == "car" and leg["km"] >= 0
        if lunch and lunch["after"] == n and not lunch["on_arrival"]:
            clock = minutes(lunch["end"]) - lunch["travel_before"]  # lunch on the way
        assert minutes(stop["arrive"]) == clock + leg["minutes"]
        clock = minutes(stop["end"])
    if lunch and lunch["after"] == len(stops):
        clock = minutes(lunch["end"]) - lunch["travel_before"]
    assert minutes(it["return"]) == clock + legs[-1]["minutes"] <= 18 * 60
    assert it["totals"]["travel_minutes"] == sum(leg["minutes"] for leg in legs)
    assert it["totals"]["visit_minutes"] == sum(
        minutes(s["end"]) - minutes(s["start"]) for s in stops
    )
    assert all(s["explanation"] for s in stops) and it["explanation"]


def test_real_catalogue_plan_from_hoan_kiem_by_car(client):
    request = body()
    response = client.post("/api/v1/plans", json=request)
    assert response.status_code == 201, response.get_json()
    plan = response.get_json()
    assert plan["id"] and plan["url"].endswith(plan["id"])
    assert 1 <= len(plan["itineraries"]) <= 3
    for it in plan["itineraries"]:
        check_itinerary(it, request)
    best = plan["itineraries"][0]
    assert "bat-trang" in [s["village"] for s in best["stops"]]
    assert any("you said you love ceramics" in s["explanation"].lower() for s in best["stops"])
    assert any(s["kind"] == "workshop" and s["slot_id"] for s in best["stops"])
    scores = [it["totals"]["score"] for it in plan["itineraries"]]
    assert scores[0] == max(scores)


def test_saved_plan_round_trips(client):
    created = client.post("/api/v1/plans", json=body()).get_json()
    fetched = client.get(f"/api/v1/plans/{created['id']}")
    assert fetched.status_code == 200
    plan = fetched.get_json()
    assert plan["itineraries"] == created["itineraries"]
    assert plan["request"]["party"] == {"adults": 2, "children": 1, "seniors": 0}
    assert plan["request"]["lang"] == "en"
    assert plan["request"]["start_point"]["landmark"] == "hoan-kiem-lake"
    assert client.get("/api/v1/plans/nope").status_code == 404


def test_nothing_open_gives_an_empty_result_with_the_reason(client):
    from tourplanner.adapters.orm import Experience
    from tourplanner.extensions import db

    closed = plan_day().isoformat()
    for exp in db.session.scalars(db.select(Experience)):
        exp.closed_dates = [*exp.closed_dates, closed]
    db.session.commit()
    response = client.post("/api/v1/plans", json=body(must_include=[]))
    assert response.status_code == 201
    plan = response.get_json()
    assert plan["itineraries"] == []
    assert plan["reason"]["code"] == "nothing_open"
    assert "Nothing is open" in plan["reason"]["message"]


def test_must_include_that_cannot_fit_is_explained_not_an_error(client):
    # Đường Lâm is far west; with two hours on foot it cannot be reached and back.
    response = client.post(
        "/api/v1/plans",
        json=body(must_include=["duong-lam"], mode="walk", start_time="09:00", end_time="11:00"),
    )
    assert response.status_code == 201
    plan = response.get_json()
    assert plan["reason"]["code"] == "must_include_infeasible"
    assert "duong-lam" in plan["reason"]["message"]
    assert all("duong-lam" not in [s["village"] for s in it["stops"]] for it in plan["itineraries"])


@pytest.mark.parametrize("graph", [True, False])
def test_a_must_include_says_whether_its_village_is_unreachable_or_its_workshop_full(
    app, client, graph
):
    from tourplanner.adapters.orm import Experience, Slot, Village
    from tourplanner.extensions import db
    from tourplanner.services import availability

    app.config["PLANNER_GRAPH"] = graph
    silk, pottery = "van-phuc-workshop-silk-weaving", "bat-trang-workshop-pottery-wheel"
    # Vạn Phúc loses its only channel (the fixtures' sample booking e-mail): nobody could
    # be told about a request, so availability offers none of its sessions.
    van_phuc = db.session.scalars(db.select(Village).where(Village.slug == "van-phuc")).one()
    van_phuc.booking_email = None
    db.session.commit()
    assert not (van_phuc.notify_phone or van_phuc.webhook_url)
    # Bát Tràng's pottery workshop is fully booked that day.
    pottery_id = db.session.scalars(
        db.select(Experience.id).where(Experience.slug == pottery)
    ).one()
    for view in availability.slots_for_day([pottery_id], plan_day())[pottery_id]:
        db.session.get(Slot, view.id).taken = view.capacity
    db.session.commit()
    plan = client.post("/api/v1/plans", json=body(must_include=[silk, pottery])).get_json()
    assert plan["reason"]["code"] == "must_include_unavailable"
    assert plan["reason"]["causes"] == {silk: ["village_unreachable"], pottery: ["no_free_slot"]}


def test_exclude_removes_a_village(client):
    plan = client.post(
        "/api/v1/plans", json=body(must_include=[], exclude=["bat-trang"])
    ).get_json()
    assert plan["itineraries"]
    for it in plan["itineraries"]:
        assert "bat-trang" not in [s["village"] for s in it["stops"]]


def test_vietnamese_explanations(client):
    plan = client.post("/api/v1/plans", json=body(lang="vi")).get_json()
    text = plan["itineraries"][0]["explanation"]
    assert "điểm dừng" in text


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"end_time": "07:00"}, "end_time"),
        ({"date": "2020-01-01"}, "date"),
        ({"start": {"landmark": "eiffel-tower"}}, "start.landmark"),
        ({"party": {"adults": 0, "children": 0, "seniors": 0}}, "party"),
        ({"budget_vnd": -1}, "budget_vnd"),
        ({"interests": {"knitting": 1}}, "interests.knitting"),
        ({"must_include": ["atlantis"]}, "must_include"),
        ({"exclude": ["atlantis"]}, "exclude"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(client, overrides, field):
    response = client.post("/api/v1/plans", json=body(**overrides))
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["details"]["field"] == field
    assert field.split(".")[0] in error["message"]


def test_a_body_that_is_not_json_is_a_400(client):
    response = client.post("/api/v1/plans", data="start=here")
    assert response.status_code == 400
    assert response.get_json()["error"]["details"]["field"] == "body"


def test_address_start_is_geocoded(client):
    response = client.post("/api/v1/plans", json=body(start={"address": "Bát Tràng, Gia Lâm"}))
    assert response.status_code == 201
    stored = client.get(f"/api/v1/plans/{response.get_json()['id']}").get_json()["request"]
    assert stored["start_point"]["lat"] == 20.975


def test_address_outside_hanoi_is_a_422(client):
    response = client.post("/api/v1/plans", json=body(start={"address": "Paris"}))
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "start_outside_area"


def test_unreachable_geocoder_asks_for_a_landmark_or_map_point(app, client):
    from fakes import FakeGeocoder

    from tourplanner.services.geocoding import EXTENSION_KEY

    app.extensions[EXTENSION_KEY] = FakeGeocoder(unavailable=True)
    response = client.post("/api/v1/plans", json=body(start={"address": "12 Hàng Gai"}))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "geocoder_unavailable"
    assert "landmark" in error["message"] and "map" in error["message"]


def test_geocoder_none_is_unavailable(app, client):
    from tourplanner.services.geocoding import EXTENSION_KEY

    app.extensions.pop(EXTENSION_KEY)
    app.config["GEOCODER"] = "none"
    response = client.post("/api/v1/plans", json=body(start={"address": "12 Hàng Gai"}))
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "geocoder_unavailable"


def test_map_point_start(client):
    response = client.post("/api/v1/plans", json=body(start={"lat": 21.0285, "lon": 105.8522}))
    assert response.status_code == 201
    assert response.get_json()["itineraries"]
