"""Exports of a saved plan: iCalendar (validated by icalendar), GeoJSON, directions links."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from demo_days import open_day
from icalendar import Calendar


@pytest.fixture
def plan(app, client):
    app.config["PLANNER_TIME_LIMIT"] = 0.1
    day = open_day(10)
    response = client.post(
        "/api/v1/plans",
        json={
            "start": {"landmark": "hoan-kiem-lake"},
            "date": day.isoformat(),
            "mode": "car",
            "party": {"adults": 2, "children": 1},
            "interests": {"ceramics": 1.0},
            "budget_vnd": 2_000_000,
            "must_include": ["bat-trang"],
            "lang": "en",
        },
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["itineraries"]
    return body


def test_ics_has_one_event_per_stop_with_location_and_travel(client, plan):
    response = client.get(f"/plans/{plan['id']}.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    cal = Calendar.from_ical(response.data)
    assert cal["VERSION"] == "2.0" and cal["PRODID"]
    events = cal.walk("VEVENT")
    stops = plan["itineraries"][0]["stops"]
    assert len(events) == len(stops)
    assert cal.walk("VTIMEZONE")
    for event, stop, leg in zip(events, stops, plan["itineraries"][0]["legs"], strict=False):
        start = event.decoded("DTSTART")
        assert start == datetime.fromisoformat(stop["start"])
        assert start.utcoffset() == timedelta(hours=7)
        assert event.decoded("DTEND") == datetime.fromisoformat(stop["end"])
        assert stop["village_name"]["en"] in str(event["LOCATION"])
        assert f"{leg['minutes']} min" in str(event["DESCRIPTION"])
        assert event["UID"] and event["DTSTAMP"]
        assert event["GEO"].latitude == pytest.approx(stop["lat"])
    # every component re-serialises and parses back identically
    assert Calendar.from_ical(cal.to_ical()).to_ical() == cal.to_ical()


def test_ics_of_an_alternative_and_of_a_missing_one(client, plan):
    last = len(plan["itineraries"]) - 1
    assert client.get(f"/plans/{plan['id']}.ics?itinerary={last}").status_code == 200
    assert client.get(f"/plans/{plan['id']}.ics?itinerary=9").status_code == 404
    assert client.get("/plans/unknown.ics").status_code == 404


def test_geojson_is_valid_with_lon_lat_order(client, plan):
    response = client.get(f"/api/v1/plans/{plan['id']}.geojson")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    fc = response.get_json()
    assert fc["type"] == "FeatureCollection"
    stops = plan["itineraries"][0]["stops"]
    points = [f for f in fc["features"] if f["geometry"]["type"] == "Point"]
    lines = [f for f in fc["features"] if f["geometry"]["type"] == "LineString"]
    assert len(points) == len(stops) + 1 and len(lines) == len(stops) + 1
    for feature in fc["features"]:
        assert feature["type"] == "Feature" and isinstance(feature["properties"], dict)
        coords = feature["geometry"]["coordinates"]
        pairs = [coords] if feature["geometry"]["type"] == "Point" else coords
        for lon, lat in pairs:
            # Hanoi: longitude ~105-106, latitude ~20-21 -> [lon, lat] order
            assert 105 < lon < 107 and 20 < lat < 22
    for feature, stop in zip(points[1:], stops, strict=True):
        assert feature["geometry"]["coordinates"] == [stop["lon"], stop["lat"]]
    start = points[0]["geometry"]["coordinates"]
    assert lines[0]["geometry"]["coordinates"][0] == start
    assert lines[-1]["geometry"]["coordinates"][-1] == start
    assert client.get(f"/api/v1/plans/{plan['id']}.geojson?itinerary=x").status_code == 400


def test_directions_links_for_map_apps(client, plan):
    body = client.get(f"/api/v1/plans/{plan['id']}").get_json()
    links = body["directions"][0]
    google = urlparse(links["google"])
    query = parse_qs(google.query)
    stops = plan["itineraries"][0]["stops"]
    assert google.netloc == "www.google.com" and query["travelmode"] == ["driving"]
    assert query["waypoints"][0].split("|") == [f"{s['lat']},{s['lon']}" for s in stops]
    assert query["origin"] == query["destination"]
    assert len(links["osm"]) == len(stops) + 1
    assert all(u.startswith("https://www.openstreetmap.org/directions?") for u in links["osm"])
    assert body["links"]["ics"].endswith(f"/plans/{plan['id']}.ics")
    assert body["links"]["geojson"].endswith(f"/api/v1/plans/{plan['id']}.geojson")
