"""The planner page (#9 item 8): a lunch break planned like a stop with a window (on for days
over 6 hours, off by a switch), explanations in the tourist's words with no weights or scores,
the weekday with every date, a share button; and item 4 on the planner form: every error at
once, next to its field, in the page's language, with what was typed kept."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from demo_days import open_day

from tourplanner.domain.planning import LUNCH_WINDOW, parse_request

DAY = open_day(10)
WEEKDAYS_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@pytest.fixture(autouse=True)
def quick(app):
    app.config["PLANNER_TIME_LIMIT"] = 0.1


def _plan(client, **overrides) -> dict:
    data = {
        "start": {"landmark": "hoan-kiem-lake"},
        "date": DAY.isoformat(),
        "start_time": "08:00",
        "end_time": "18:00",
        "party": {"adults": 2, "children": 1},
        "interests": {"ceramics": 1.0, "silk_textiles": 0.5},
        "lang": "en",
        **overrides,
    }
    response = client.post("/api/v1/plans", json=data)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _minutes(iso: str) -> int:
    moment = datetime.fromisoformat(iso)
    return moment.hour * 60 + moment.minute


def test_an_8_to_18_day_has_a_lunch_break_between_11_and_13_30(client):
    plan = _plan(client)
    assert plan["itineraries"]
    for it in plan["itineraries"]:
        lunch = it["lunch"]
        assert lunch, it
        start, end = _minutes(lunch["start"]), _minutes(lunch["end"])
        assert LUNCH_WINDOW[0] <= start and end <= LUNCH_WINDOW[1]
        assert 45 <= end - start <= 60 and lunch["minutes"] == end - start
        assert lunch["village"] in {s["village"] for s in it["stops"]} | {lunch["village"]}
        # No stop overlaps the lunch.
        for stop in it["stops"]:
            assert _minutes(stop["end"]) <= start or end <= _minutes(stop["start"])
        assert "Lunch break of" in it["explanation"]


def test_the_lunch_is_placed_by_the_solver_among_the_stops_not_counted_as_one(client):
    plan = _plan(client, pace="relaxed")
    for it in plan["itineraries"]:
        assert len(it["stops"]) <= 3  # relaxed: at most 3 stops, the lunch apart
        assert len(it["legs"]) == len(it["stops"]) + 1
        assert it["totals"]["visit_minutes"] == sum(
            _minutes(s["end"]) - _minutes(s["start"]) for s in it["stops"]
        )


def test_the_lunch_is_off_by_the_switch_and_for_short_days(client):
    off = _plan(client, lunch=False)
    assert all("lunch" not in it for it in off["itineraries"])
    short = _plan(client, start_time="08:00", end_time="12:00")
    assert all("lunch" not in it for it in short["itineraries"])
    asked = _plan(client, start_time="09:00", end_time="14:00", lunch=True)
    assert any(it.get("lunch") for it in asked["itineraries"])


def test_the_lunch_rule_reads_the_day():
    def lunch(**fields):
        data = {"start": {"landmark": "hoan-kiem-lake"}, "date": DAY.isoformat(), **fields}
        return parse_request({"party": {"adults": 1}, **data}, DAY).lunch_break

    assert lunch() == (11 * 60, 13 * 60 + 30, 60)
    assert lunch(pace="packed") == (11 * 60, 13 * 60 + 30, 45)
    assert lunch(start_time="08:00", end_time="14:00") is None  # 6 hours: not over
    assert lunch(start_time="12:30", end_time="19:00") == (12 * 60 + 30, 13 * 60 + 30, 60)
    assert lunch(start_time="12:50", end_time="19:00") is None  # 40 minutes left
    assert lunch(lunch=False) is None


def test_the_form_switch_turns_the_lunch_off_and_the_plan_page_back_on(client):
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
        "lunch": "off",  # the hidden field; the ticked box would add "on" after it
    }
    url = client.post("/plan?lang=en", data=form).headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert 'class="lunch"' not in page and 'id="lunch-on"' in page
    plan_id = url.rsplit("/", 1)[1]
    again = client.post(f"/plans/{plan_id}/replan?lang=en", data={"lunch": "on"})
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert 'class="lunch"' in page and "Lunch break" in page
    ticked = client.post("/plan?lang=en", data={**form, "lunch": ["off", "on"]})
    page = client.get(ticked.headers["Location"]).get_data(as_text=True)
    assert 'class="lunch"' in page


def test_explanations_speak_of_what_the_tourist_said_never_weights_or_scores(client):
    plan = _plan(client)
    page = client.get(f"/plans/{plan['id']}?lang=en").get_data(as_text=True)
    assert "weight" not in page.lower() and "Interest score" not in page
    reasons = re.findall(r'<p class="why">([^<]*)</p>', page)
    assert reasons and all(not re.search(r"(?<![\d.])\d\.\d(?!\d)", r) for r in reasons)
    assert any("You said you love ceramics" in r for r in reasons)
    filler = _plan(client, interests={"ceramics": 1.0}, pace="packed")
    texts = [s["explanation"] for it in filler["itineraries"] for s in it["stops"]]
    assert any("a craft you did not name" in t for t in texts) or all(
        "ceramics" in t for t in texts
    )
    plain = _plan(client, interests={})
    assert "you named no craft" in plain["itineraries"][0]["stops"][0]["explanation"]


@pytest.mark.parametrize(("lang", "names"), [("vi", WEEKDAYS_VI), ("en", WEEKDAYS_EN)])
def test_the_plan_page_gives_the_weekday_with_the_date_and_a_share_button(client, lang, names):
    plan = _plan(client, lang=lang)
    page = client.get(f"/plans/{plan['id']}?lang={lang}").get_data(as_text=True)
    h1 = re.search(r"<h1>(.*?)</h1>", page, re.S).group(1)
    assert f"{names[DAY.weekday()]} {DAY:%d/%m/%Y}" in h1
    assert 'id="share-plan"' in page and 'id="copy-plan-link"' in page
    assert 'id="plan-url">http' in page
    printed = client.get(f"/plans/{plan['id']}/print?lang={lang}").get_data(as_text=True)
    assert f"{names[DAY.weekday()]} {DAY:%d/%m/%Y}" in printed


def test_every_planner_error_stands_by_its_field_in_vietnamese_at_once(client):
    form = {
        "start_kind": "landmark",
        "landmark": "hoan-kiem-lake",
        "date": "2020-01-01",
        "start_time": "18:00",
        "end_time": "08:00",
        "mode": "car",
        "adults": "0",
        "children": "0",
        "budget_vnd": "-5",
        "max_stops": "99",
        "alternatives": "2",
    }
    response = client.post("/plan?lang=vi", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    errors = dict(re.findall(r'<span class="field-error" id="([a-z_]+)-error">([^<]+)<', page))
    assert set(errors) == {"date", "end_time", "adults", "budget_vnd", "max_stops"}, errors
    for message in errors.values():  # plain words, no field codes
        assert not re.search(r"\b(end_time|budget_vnd|max_stops|party|date):", message)
    assert 'value="2020-01-01"' in page and 'value="-5"' in page and 'value="99"' in page
    assert 'aria-invalid="true" aria-describedby="date-error"' in page


def test_a_start_outside_hanoi_is_explained_next_to_the_start(client):
    form = {
        "start_kind": "point",
        "lat": "10.77",
        "lon": "106.70",
        "date": DAY.isoformat(),
        "start_time": "08:00",
        "end_time": "18:00",
        "mode": "car",
        "adults": "2",
        "max_stops": "5",
        "alternatives": "2",
    }
    page = client.post("/plan?lang=en", data=form).get_data(as_text=True)
    assert "outside Hanoi" in page and "start_outside_area" not in page
