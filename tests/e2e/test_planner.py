"""The planner in a real browser on a phone-sized screen: fill the form, get an itinerary with
its map and timeline, remove a stop and re-plan."""

from __future__ import annotations

import pytest
from demo_days import open_day

pytestmark = pytest.mark.e2e


def test_plan_a_day_then_remove_a_stop_and_replan(live_server, page):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    day = open_day(10).isoformat()

    page.goto(f"{live_server.url}/plan?lang=en")
    page.select_option("#landmark", "hoan-kiem-lake")
    page.fill("#date", day)
    page.fill("#start_time", "08:00")
    page.fill("#end_time", "18:00")
    page.select_option("#mode", "car")
    page.fill("#adults", "2")
    page.fill("#children", "1")
    page.fill("#budget_vnd", "2000000")
    page.select_option("#interest-ceramics", "1")
    page.select_option("#interest-silk_textiles", "0.5")
    page.click("#plan-submit")

    page.wait_for_url("**/plans/*")
    page.wait_for_selector("#plan-map[data-loaded]")
    first_url = page.url
    stops = page.locator("#itinerary-0 .timeline li.stop")
    assert stops.count() >= 2
    assert int(page.get_attribute("#plan-map", "data-loaded")) == stops.count()
    assert page.locator("#plan-map .stop-number").count() >= stops.count()
    assert page.locator(".itinerary").count() >= 1
    # nothing scrolls sideways on a phone
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    removed = stops.nth(0).get_attribute("data-village")
    stops.nth(0).locator("button.remove-stop").click()
    page.wait_for_url(lambda url: url != first_url and "/plans/" in url)
    page.wait_for_selector("#plan-map[data-loaded]")
    villages = page.locator("#itinerary-0 .timeline li.stop").evaluate_all(
        "els => els.map(e => e.dataset.village)"
    )
    assert villages and removed not in villages
    assert errors == []


def test_a_bad_field_is_explained_on_the_form(live_server, page):
    page.goto(f"{live_server.url}/plan?lang=en")
    page.fill("#start_time", "18:00")
    page.fill("#end_time", "08:00")
    page.click("#plan-submit")
    page.wait_for_selector("#form-error:not([hidden])")
    assert "end_time" not in page.text_content("#form-error")  # words, not field codes
    assert "must end after it starts" in page.text_content("#end_time-error")
    assert page.get_attribute("#end_time", "aria-invalid") == "true"
    assert page.input_value("#end_time") == "08:00"  # what was typed is kept


def test_book_this_day_books_the_itinerary_in_one_step(live_server, page):
    day = open_day(12).isoformat()
    created = page.request.post(
        f"{live_server.url}/api/v1/plans",
        data={
            "start": {"landmark": "hoan-kiem-lake"},
            "date": day,
            "party": {"adults": 2},
            "interests": {"ceramics": 1.0},
            "must_include": ["bat-trang-workshop-pottery-wheel"],
            "lang": "en",
        },
    )
    assert created.status == 201
    page.goto(created.json()["url"] + "?lang=en")
    form = page.locator("#itinerary-0 .book-form")
    assert "Free cancellation until" in form.text_content()  # the terms, before booking
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    form.locator("input[name=name]").fill("Lan Nguyen")
    form.locator("input[name=email]").fill("lan@example.org")
    form.locator("input[name=phone]").fill("+84900000000")
    form.locator(".book-button").click()
    page.wait_for_url("**/bookings/TP-*")
    sent = page.locator("#request-sent")
    assert "Your request has been sent to 1 village." in sent.text_content()
    assert "TP-" in page.text_content("h1")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
