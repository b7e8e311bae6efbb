"""Plan request validation: every bad field gives a 400 that names it (pure domain, no app)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tourplanner.domain.errors import ValidationError
from tourplanner.domain.planning import (
    ExperienceFacts,
    PlanRequest,
    make_offer,
    parse_request,
    visit_price,
)
from tourplanner.domain.pricing import Party

TODAY = date(2026, 6, 1)
DAY = (TODAY + timedelta(days=10)).isoformat()


def request(**overrides) -> dict:
    body = {
        "start": {"landmark": "hoan-kiem-lake"},
        "date": DAY,
        "start_time": "08:00",
        "end_time": "18:00",
        "mode": "car",
        "party": {"adults": 2, "children": 1},
        "interests": {"ceramics": 1.0, "silk_textiles": 0.5},
        "budget_vnd": 2_000_000,
        "must_include": ["bat-trang"],
        "exclude": [],
        "max_stops": 5,
        "alternatives": 3,
        "lang": "en",
    }
    body.update(overrides)
    return body


def test_a_complete_request_is_accepted():
    parsed = parse_request(request(), TODAY)
    assert isinstance(parsed, PlanRequest)
    assert parsed.party == Party(2, 1, 0)
    assert parsed.weight("ceramics") == 1.0
    assert parsed.weight("lacquer") == 0.2  # categories not named get the default weight
    assert parse_request(request(interests={}), TODAY).weight("lacquer") == 1.0
    assert parsed.as_dict()["party"] == {"adults": 2, "children": 1, "seniors": 0}


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"end_time": "07:00"}, "end_time", "end_before_start"),
        ({"end_time": "08:00"}, "end_time", "end_before_start"),
        ({"date": (TODAY - timedelta(days=1)).isoformat()}, "date", "date_in_past"),
        ({"date": "05/12/2026"}, "date", "invalid_field"),
        ({"party": {"adults": 0, "children": 0, "seniors": 0}}, "party", "invalid_party"),
        ({"party": {"adults": -1}}, "party.adults", "invalid_party"),
        ({"party": {"pets": 1}}, "party", "invalid_party"),
        ({"budget_vnd": -5}, "budget_vnd", "negative_budget"),
        ({"budget_vnd": "lots"}, "budget_vnd", "invalid_field"),
        ({"interests": {"pottery": 1.0}}, "interests.pottery", "unknown_category"),
        ({"interests": {"ceramics": 3}}, "interests.ceramics", "invalid_field"),
        ({"start": {"landmark": "Hoàn Kiếm"}}, "start.landmark", "invalid_field"),
        ({"start": {"lat": 21.0, "lon": 205.0}}, "start.lon", "invalid_field"),
        ({"start": {"lat": 21.0}}, "start", "invalid_start"),
        ({"start": {}}, "start", "missing_start"),
        ({"mode": "helicopter"}, "mode", "invalid_field"),
        ({"start_time": "8am"}, "start_time", "invalid_field"),
        ({"max_stops": 0}, "max_stops", "invalid_field"),
        ({"alternatives": 9}, "alternatives", "invalid_field"),
        ({"lang": "fr"}, "lang", "invalid_field"),
        ({"must_include": "bat-trang"}, "must_include", "invalid_field"),
        ({"exclude": ["bat-trang"]}, "exclude", "invalid_field"),
        ({"colour": "red"}, "colour", "unknown_field"),
    ],
)
def test_bad_input_names_the_field(overrides, field, code):
    with pytest.raises(ValidationError) as caught:
        parse_request(request(**overrides), TODAY)
    assert caught.value.status == 400
    assert caught.value.details["field"] == field
    assert caught.value.code == code
    assert field.split(".")[0] in caught.value.message


def test_a_missing_date_is_named():
    body = request()
    del body["date"]
    with pytest.raises(ValidationError) as caught:
        parse_request(body, TODAY)
    assert caught.value.details["field"] == "date"


def test_today_is_allowed():
    assert parse_request(request(date=TODAY.isoformat()), TODAY).day == TODAY


FACTS = ExperienceFacts(
    id=1,
    slug="bt-wheel",
    village="bat-trang",
    category="ceramics",
    kind="workshop",
    duration=90,
    prices={"adult": 150_000, "child": 100_000, "senior": 120_000},
    min_age=6,
    bookable=True,
)


def test_workshop_offer_prices_the_party_and_explains_itself():
    req = parse_request(request(), TODAY)
    offer, why = make_offer(FACTS, req, must=True)
    assert why is None
    assert offer.price_vnd == 2 * 150_000 + 100_000
    assert offer.score == 2.0  # weight 1.0 x workshop base value 2
    codes = [r["code"] for r in offer.reasons]
    assert codes == ["interest", "workshop", "min_age", "must_include"]


def test_workshop_without_a_child_price_is_not_offered_to_children():
    from dataclasses import replace

    facts = replace(FACTS, prices={"adult": 200_000, "child": None, "senior": None})
    with_child = parse_request(request(), TODAY)
    assert make_offer(facts, with_child) == (None, "no_price_for_party")
    adults = parse_request(request(party={"adults": 2}), TODAY)
    assert make_offer(facts, adults)[0].price_vnd == 400_000


def test_adults_only_experiences_are_not_offered_to_children():
    from dataclasses import replace

    facts = replace(FACTS, min_age=16)
    assert make_offer(facts, parse_request(request(), TODAY)) == (None, "adults_only")
    assert make_offer(facts, parse_request(request(party={"adults": 1}), TODAY))[0]


def test_visit_price_is_charged_only_per_person():
    party = Party(2, 1, 0)
    ticket = {
        "min": 20_000,
        "max": 20_000,
        "unit": "entrance ticket per person",
        "as_of": None,
        "source": "https://example.org",
    }
    price, note = visit_price(ticket, party)
    assert price == 60_000 and note["charged"] is True
    piece = {"min": 30_000, "max": 50_000, "unit": "per self-made piece", "as_of": "2015"}
    price, note = visit_price(piece, party)
    assert price == 0 and note["charged"] is False
    assert visit_price(None, party) == (0, None)
