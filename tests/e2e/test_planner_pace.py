"""Pace in a real browser on a phone-sized screen: a relaxed day has fewer stops and says its
road time; the re-plan form switches it to packed."""

from __future__ import annotations

import pytest
from demo_days import open_day

pytestmark = pytest.mark.e2e


def _fill_family(page, url: str) -> None:
    page.goto(f"{url}/plan?lang=en")
    page.select_option("#landmark", "hoan-kiem-lake")
    page.fill("#date", open_day(10).isoformat())
    page.fill("#start_time", "08:00")
    page.fill("#end_time", "18:00")
    page.select_option("#mode", "car")
    page.fill("#adults", "2")
    page.fill("#children", "1")
    page.select_option("#interest-ceramics", "1")
    page.select_option("#interest-silk_textiles", "1")


def _stops(page) -> int:
    page.wait_for_selector("#itinerary-0 .timeline li.stop")
    return page.locator("#itinerary-0 .timeline li.stop").count()


def test_relaxed_has_fewer_stops_and_the_road_time_then_replans_packed(live_server, page):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    _fill_family(page, live_server.url)
    page.check("#pace-packed")
    page.click("#plan-submit")
    page.wait_for_url("**/plans/*")
    packed = _stops(page)

    _fill_family(page, live_server.url)
    page.check("#pace-relaxed")
    page.click("#plan-submit")
    page.wait_for_url("**/plans/*")
    relaxed_url = page.url
    relaxed = _stops(page)
    assert relaxed <= 3 and relaxed < packed
    summary = page.locator("#itinerary-0 .summary").inner_text()
    assert "minutes on the road" in summary and "% of your day" in summary
    assert page.get_attribute("#plan-pace", "data-pace") == "relaxed"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.select_option("#new-pace", "packed")
    page.click("#pace-form button[type=submit]")
    page.wait_for_url(lambda url: url != relaxed_url and "/plans/" in url)
    assert page.get_attribute("#plan-pace", "data-pace") == "packed"
    assert _stops(page) > relaxed
    assert errors == []
