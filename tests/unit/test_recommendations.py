"""Recommendations (#13): the city's routes and agencies' packages ranked for a tourist's request
(interest match, feasible that date with places for the party, travel time from the start) with
the reason in both languages, beside the planner's itinerary; villages that combine well."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from demo_days import open_day
from sqlalchemy import select

from tourplanner.adapters.orm import Experience, Village
from tourplanner.domain.pricing import Party
from tourplanner.extensions import db
from tourplanner.services import catalogue, planning, recommendations, tour_routes
from tourplanner.services.recommendations import interest_match, score

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


def _day(offset: int = 10, *, workshops: tuple[str, ...] = ()) -> str:
    """At least ``offset`` days ahead, on a day each of ``workshops`` holds sessions."""
    return open_day(offset, workshops=workshops).isoformat()


def _request(interests: dict, **overrides) -> dict:
    data = {
        "start": {"landmark": "hoan-kiem-lake"},
        "date": _day(),
        "party": {"adults": 2},
        "interests": interests,
        "lang": "en",
    }
    data.update(overrides)
    return data


@pytest.fixture
def routes(app):
    app.config["PLANNER_TIME_LIMIT"] = 0.1
    return tour_routes.seed_demo_routes()


def test_a_request_for_a_craft_a_route_serves_recommends_it_with_its_reason(routes):
    recs = recommendations.for_request(_request({"ceramics": 1.0}))
    assert recs[0].slug == "sample-red-river-ceramics" and recs[0].kind == "route"
    first = recs[0]
    assert first.feasible is True and first.matched == ["ceramics"]
    assert first.minutes is not None and first.minutes > 0
    assert first.reason["en"].startswith("Matches your interests: ceramics")
    assert "places for 2 people" in first.reason["en"]
    assert f"{first.minutes} min by car from Hoan Kiem Lake" in first.reason["en"]
    assert first.reason["vi"] and "gốm" in first.reason["vi"]  # the craft's Vietnamese name


def test_the_plan_page_shows_the_route_among_the_recommendations_with_its_reason(client, routes):
    form = {
        "start_kind": "landmark",
        "landmark": "hoan-kiem-lake",
        "date": _day(),
        "start_time": "08:00",
        "end_time": "18:00",
        "mode": "car",
        "adults": "2",
        "interest-ceramics": "1",
    }
    response = client.post("/plan?lang=en", data=form)
    assert response.status_code == 303
    page = client.get(response.headers["Location"] + "?lang=en").get_data(as_text=True)
    assert 'id="recommendations"' in page
    section = page.split('id="recommendations"')[1]
    assert 'data-slug="sample-red-river-ceramics"' in section
    assert "/routes/sample-red-river-ceramics" in section
    assert "Matches your interests: ceramics" in section


def test_routes_serving_nothing_the_tourist_named_are_not_recommended(routes):
    assert recommendations.for_request(_request({"incense": 1.0})) == []


def _fill(experience_slug: str):
    """A slots provider where every session of one experience has no place left."""
    real = planning.slots_provider()
    full = db.session.scalars(select(Experience.id).where(Experience.slug == experience_slug)).one()

    def provider(ids, day, now=None):
        slots = real(ids, day, now=now)
        if full in slots:
            slots[full] = [dataclasses.replace(s, remaining=0) for s in slots[full]]
        return slots

    return provider


def test_a_route_with_a_full_workshop_that_date_ranks_below_one_with_places_and_says_why(
    app, routes
):
    app.extensions[planning.SLOTS_KEY] = _fill("bat-trang-workshop-pottery-wheel")
    interests = {"ceramics": 1.0, "silk_textiles": 1.0, "conical_hats": 1.0}
    # Both routes' workshops hold sessions that day (Vạn Phúc's silk closes on Mondays).
    workshops = (
        "bat-trang-workshop-pottery-wheel",
        "van-phuc-workshop-silk-weaving",
        "lang-chuong-workshop-conical-hat",
    )
    recs = recommendations.for_request(_request(interests, date=_day(workshops=workshops)))
    slugs = [r.slug for r in recs]
    assert slugs.index("sample-silk-and-conical-hats") < slugs.index("sample-red-river-ceramics")
    full = recs[slugs.index("sample-red-river-ceramics")]
    assert full.feasible is False
    assert [(b["village"].slug, b["why"]) for b in full.blocked] == [("bat-trang", "full")]
    assert "not possible on" in full.reason["en"]
    assert "Bat Trang" in full.reason["en"] and "no session with places" in full.reason["en"]


def test_a_party_with_children_is_told_which_workshop_has_no_child_price(routes):
    recs = recommendations.for_request(
        _request({"wood_carving": 1.0}, party={"adults": 2, "children": 1}), limit=5
    )
    two_days = next(r for r in recs if r.slug == "sample-west-of-hanoi-two-days")
    son_dong = db.session.scalars(
        select(Experience).where(Experience.slug == "son-dong-workshop-wood-carving")
    ).one()
    assert son_dong.price_child_vnd is None  # the demo set publishes no child price for it
    assert two_days.feasible is False
    assert ("son-dong", "no_price_for_party") in [
        (b["village"].slug, b["why"]) for b in two_days.blocked
    ]
    assert "no price for every age in your party" in two_days.reason["en"]


def test_a_saved_plan_of_a_past_date_is_ranked_without_a_feasibility_claim(routes):
    ask = recommendations.Ask(
        day=datetime.now(HANOI).date() - timedelta(days=3),
        party=Party(adults=2),
        interests={"ceramics": 1.0},
        mode="car",
        start=(21.0285, 105.8522),
        start_name={"vi": "Hồ Hoàn Kiếm", "en": "Hoan Kiem Lake"},
    )
    recs = recommendations.rank(ask)
    assert recs and recs[0].feasible is None
    assert "open on" not in recs[0].reason["en"] and "not possible" not in recs[0].reason["en"]


def test_published_packages_are_recommended_too(app, routes):
    from tourplanner.services import agencies, packages

    agency = agencies.seed_demo_agency()
    slug = packages.seed_demo_package(agency["id"])
    villages = [v["slug"] for v in packages.get_published(slug)["villages"]]
    crafts = {catalogue.get_village(v).category for v in villages}
    recs = recommendations.for_request(_request({c: 1.0 for c in crafts}), limit=10)
    package = next(r for r in recs if r.kind == "package")
    assert package.slug == slug and package.is_sample and package.interest == 1.0
    assert package.reason["en"].startswith("Matches your interests")


def test_interest_match_counts_unnamed_crafts_as_zero_and_no_interests_as_everything():
    assert interest_match(["ceramics", "food"], {"ceramics": 1.0}) == (0.5, ["ceramics"])
    assert interest_match(["ceramics"], {"ceramics": 0.5, "food": 1.0}) == (0.5, ["ceramics"])
    assert interest_match(["ceramics", "food"], {}) == (1.0, ["ceramics", "food"])
    assert interest_match([], {"ceramics": 1.0}) == (0.0, [])


def test_feasible_beats_infeasible_and_of_equal_interest_the_nearer_wins():
    assert score(True, 0.2, 120) > score(False, 1.0, 5)
    assert score(True, 1.0, 30) > score(True, 1.0, 60)
    # an hour's extra drive costs a quarter of a perfect match
    assert score(True, 1.0, 60) == pytest.approx(score(True, 0.75, 0))


# --- villages that combine well -------------------------------------------------------------


def test_villages_that_combine_well_are_close_open_the_same_days_and_say_their_craft(app):
    bat_trang = catalogue.get_village("bat-trang")
    combos = recommendations.combine_well(bat_trang)
    assert combos and len(combos) <= recommendations.COMBINE_LIMIT
    minutes = [c["minutes"] for c in combos]
    assert minutes == sorted(minutes) and max(minutes) <= recommendations.COMBINE_MINUTES
    assert all(c["village"].slug != "bat-trang" and c["village"].has_position for c in combos)
    giang_cao = next(c for c in combos if c["village"].slug == "giang-cao")
    assert giang_cao["same_craft"] and "the same craft: ceramics" in giang_cao["reason"]["en"]
    other = next(c for c in combos if not c["same_craft"])
    assert "another craft" in other["reason"]["en"] and other["reason"]["vi"]
    mine = recommendations.open_days(bat_trang)
    assert all(c["days"] and c["days"] <= mine for c in combos)


def test_a_village_without_a_position_combines_with_nothing(app):
    unmapped = db.session.scalars(select(Village).where(Village.lat.is_(None))).first()
    assert recommendations.combine_well(unmapped) == []


def test_the_village_page_shows_villages_that_combine_well_with_a_plan_link(client):
    page = client.get("/villages/bat-trang?lang=en").get_data(as_text=True)
    assert 'id="combine-well"' in page and "Villages that combine well" in page
    assert 'data-village="giang-cao"' in page
    assert "/plan?must=bat-trang&amp;must=giang-cao" in page
