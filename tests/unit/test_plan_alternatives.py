"""Alternatives that differ in kind (#17 item 3): besides the best day, one with fewer stops and
less driving, and one in another part of the city when one exists, each with a one-line reason
in Vietnamese and English; shown on the plan page."""

from __future__ import annotations

import pytest
from plan_requests import post_plan as post

from tourplanner.domain.planning import PACES
from tourplanner.services import catalogue_graph


@pytest.fixture(autouse=True)
def quick(app):
    app.config["PLANNER_TIME_LIMIT"] = 0.15
    return app


def by_kind(result: dict) -> dict[str, dict]:
    return {it["kind"]: it for it in result["itineraries"]}


def day_villages(it: dict) -> set[str]:
    """The day's villages: its stops' and its lunch's."""
    lunch = it.get("lunch") or {}
    return {s["village"] for s in it["stops"]} | ({lunch["village"]} if lunch else set())


def parts_of(villages: set[str]) -> set[int]:
    graph = catalogue_graph.get("car")
    return {graph.villages[v].part for v in villages}


@pytest.mark.parametrize("pace", ["relaxed", "balanced", "packed"])
def test_the_lighter_day_has_fewer_stops_and_less_driving_than_the_best(client, pace):
    kinds = by_kind(post(client, pace=pace))
    best, lighter = kinds["best"], kinds["lighter"]
    assert result_order_starts_with_best(kinds)
    assert 1 <= len(lighter["stops"]) < len(best["stops"])
    assert lighter["totals"]["travel_minutes"] < best["totals"]["travel_minutes"]
    assert lighter["why"]["code"] == "lighter"
    text = lighter["why"]["text"]["en"]
    assert text.startswith("Fewer stops and less driving")
    assert f"{lighter['totals']['travel_minutes']} min on the road" in text
    assert f"{best['totals']['travel_minutes']} min" in text


def result_order_starts_with_best(kinds: dict[str, dict]) -> bool:
    return next(iter(kinds)) == "best"


@pytest.mark.parametrize("pace", ["relaxed", "balanced", "packed"])
def test_another_part_of_the_city_stays_in_one_part_that_is_not_the_best_days(client, pace):
    kinds = by_kind(post(client, pace=pace))
    best, elsewhere = kinds["best"], kinds["elsewhere"]
    parts = parts_of(day_villages(elsewhere))
    assert len(parts) == 1 and parts != parts_of(day_villages(best))
    assert elsewhere["why"]["code"] == "elsewhere"
    assert elsewhere["why"]["text"]["en"] and elsewhere["why"]["text"]["vi"]
    assert elsewhere["totals"]["travel_minutes"] <= PACES[pace].max_road_share * 600


def test_the_family_gets_a_day_west_of_the_red_river_beside_the_one_at_bat_trang(client):
    """Balanced: the best day stays east (Bát Tràng's pottery villages); the other part is
    Vạn Phúc's silk, on the other bank, and the reason says so."""
    kinds = by_kind(post(client))
    assert "bat-trang" in day_villages(kinds["best"])
    elsewhere = kinds["elsewhere"]
    assert "van-phuc" in day_villages(elsewhere)
    why = elsewhere["why"]
    assert why["side"] == "right"
    assert why["text"]["en"].startswith("Stays west of the Red River, around ")
    assert why["around"]["slug"] in day_villages(elsewhere)


def test_no_other_part_when_none_has_a_stop_for_the_day(client):
    """Ceramics only: its three villages are one part of the city, so no day elsewhere."""
    graph = catalogue_graph.get("car")
    ceramics = {v.part for v in graph.villages.values() if v.category == "ceramics"}
    assert len(ceramics) == 1
    result = post(client, interests={"ceramics": 1.0})
    kinds = [it["kind"] for it in result["itineraries"]]
    assert "elsewhere" not in kinds and kinds[0] == "best"
    assert {s["category"] for it in result["itineraries"] for s in it["stops"]} == {"ceramics"}


def test_every_itinerary_has_a_reason_in_both_languages_and_keeps_the_limits(client):
    result = post(client, max_travel_minutes=150)
    assert len(result["itineraries"]) == 3
    stop_sets = [frozenset(s["experience_id"] for s in it["stops"]) for it in result["itineraries"]]
    assert len(set(stop_sets)) == len(stop_sets)  # distinct days
    for it in result["itineraries"]:
        assert it["kind"] in ("best", "lighter", "elsewhere", "other")
        assert it["why"]["code"] == it["kind"]
        assert it["why"]["text"]["vi"] and it["why"]["text"]["en"]
        assert "\n" not in it["why"]["text"]["en"]
        assert it["totals"]["travel_minutes"] <= 150
        assert sum(leg["minutes"] for leg in it["legs"]) == it["totals"]["travel_minutes"]
        assert len(it["stops"]) <= PACES["balanced"].max_stops


def test_must_includes_stay_in_every_kind_of_day(client):
    result = post(client, must_include=["van-phuc"], pace="packed")
    for it in result["itineraries"]:
        assert "van-phuc" in {s["village"] for s in it["stops"]}, it["kind"]
    kinds = by_kind(result)
    if "elsewhere" in kinds:
        assert parts_of(day_villages(kinds["elsewhere"])) == parts_of({"van-phuc"})


def test_the_same_request_gives_the_same_days(client):
    def days(result: dict) -> list:
        return [
            (it["kind"], [s["experience_id"] for s in it["stops"]]) for it in result["itineraries"]
        ]

    assert days(post(client, pace="relaxed")) == days(post(client, pace="relaxed"))


def test_one_itinerary_asked_is_the_best_alone(client):
    result = post(client, alternatives=1)
    assert [it["kind"] for it in result["itineraries"]] == ["best"]


def test_the_plan_page_names_each_kind_and_says_why(client):
    plan_id = post(client)["id"]
    page = client.get(f"/plans/{plan_id}?lang=en").get_data(as_text=True)
    assert "Fewer stops, less driving" in page and "Another part of the city" in page
    assert 'class="why-kind"' in page
    assert "Stays west of the Red River, around" in page
