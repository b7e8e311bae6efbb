"""The planner pages without JavaScript: form POST, the plan page, re-plan forms, print page."""

from __future__ import annotations

import pytest
from demo_days import open_day


@pytest.fixture
def form(app) -> dict:
    app.config["PLANNER_TIME_LIMIT"] = 0.1
    day = open_day(10)
    return {
        "start_kind": "landmark",
        "landmark": "hoan-kiem-lake",
        "date": day.isoformat(),
        "start_time": "08:00",
        "end_time": "18:00",
        "mode": "car",
        "adults": "2",
        "children": "1",
        "seniors": "0",
        "budget_vnd": "2.000.000",
        "interest-ceramics": "1",
        "interest-silk_textiles": "0.5",
        "max_stops": "5",
        "alternatives": "3",
    }


@pytest.mark.parametrize(("lang", "text"), [("en", "Plan my day"), ("vi", "Lập lịch trình")])
def test_the_form_is_served_in_both_languages(client, lang, text):
    # one request per test: the locale is cached for the app context the fixture holds
    assert text in client.get(f"/plan?lang={lang}").get_data(as_text=True)


def test_plain_form_post_plans_and_redirects_to_the_stable_url(client, form):
    response = client.post("/plan?lang=en", data=form)
    assert response.status_code == 303
    url = response.headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert 'id="plan-map"' in page and 'class="timeline"' in page
    assert "Book this day" in page and ".ics" in page
    plan_id = url.rsplit("/", 1)[1]
    stored = client.get(f"/api/v1/plans/{plan_id}").get_json()["request"]
    assert stored["budget_vnd"] == 2_000_000
    assert stored["interests"] == {"ceramics": 1.0, "silk_textiles": 0.5}
    assert stored["party"] == {"adults": 2, "children": 1, "seniors": 0}


def test_a_bad_field_re_renders_the_form_naming_it(client, form):
    response = client.post("/plan?lang=en", data={**form, "end_time": "07:00"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "end_time" in page and 'aria-invalid="true"' in page


def test_remove_add_and_retime_re_plan_without_javascript(client, form):
    url = client.post("/plan?lang=en", data=form).headers["Location"]
    plan_id = url.rsplit("/", 1)[1]
    first = client.get(f"/api/v1/plans/{plan_id}").get_json()
    removed = first["itineraries"][0]["stops"][0]["village"]
    response = client.post(f"/plans/{plan_id}/replan", data={"remove": removed})
    assert response.status_code == 303
    new_id = response.headers["Location"].rsplit("/", 1)[1]
    new = client.get(f"/api/v1/plans/{new_id}").get_json()
    assert removed in new["request"]["exclude"]
    assert all(removed not in [s["village"] for s in it["stops"]] for it in new["itineraries"])

    added = client.post(f"/plans/{new_id}/replan", data={"add": removed})
    again = client.get("/api/v1/plans/" + added.headers["Location"].rsplit("/", 1)[1]).get_json()
    assert removed in again["request"]["must_include"]
    assert removed not in again["request"]["exclude"]

    later = client.post(f"/plans/{plan_id}/replan", data={"start_time": "10:00"})
    retimed = client.get("/api/v1/plans/" + later.headers["Location"].rsplit("/", 1)[1]).get_json()
    assert retimed["itineraries"][0]["leave"].endswith("T10:00:00+07:00")


def test_print_page_and_edit_link(client, form):
    url = client.post("/plan?lang=en", data=form).headers["Location"]
    plan_id = url.rsplit("/", 1)[1]
    page = client.get(f"/plans/{plan_id}/print?lang=en").get_data(as_text=True)
    assert 'class="print-button"' in page and "js/print.js" in page and 'class="timeline"' in page
    edit = client.get(f"/plan?from={plan_id}&lang=en").get_data(as_text=True)
    assert 'value="2000000"' in edit
    assert client.get("/plans/nope/print").status_code == 404


def test_home_and_nav_link_to_the_planner(client):
    page = client.get("/?lang=en").get_data(as_text=True)
    assert page.count('href="/plan"') >= 2
