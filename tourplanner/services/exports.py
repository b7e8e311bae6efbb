"""Exports of a saved plan: iCalendar, GeoJSON and directions links for common map apps.

All read the stored plan JSON only (never the live catalogue), so an export always matches
what the traveller saw. ``itinerary`` picks one of the alternatives (0 = the best).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from tourplanner.adapters.orm import Plan
from tourplanner.domain.availability import LOCAL_TZ
from tourplanner.domain.errors import NotFound

GOOGLE_MODES = {
    "car": "driving",
    "motorbike": "driving",
    "bus_taxi": "driving",
    "bicycle": "bicycling",
    "walk": "walking",
}
OSM_ENGINES = {
    "car": "fossgis_osrm_car",
    "motorbike": "fossgis_osrm_car",
    "bus_taxi": "fossgis_osrm_car",
    "bicycle": "fossgis_osrm_bike",
    "walk": "fossgis_osrm_foot",
}


def pick(plan: Plan, index: int = 0) -> dict[str, Any]:
    """One itinerary of a plan, or 404 naming what is missing."""
    itineraries = plan.result.get("itineraries", [])
    if not 0 <= index < len(itineraries):
        raise NotFound(
            f"plan {plan.id!r} has no itinerary {index}",
            code="itinerary_not_found",
            id=plan.id,
            itinerary=index,
            available=len(itineraries),
        )
    return itineraries[index]


def _start(plan: Plan) -> dict[str, Any]:
    return plan.request["start_point"]


def _name(obj: dict[str, str], lang: str) -> str:
    return obj.get(lang) or obj.get("vi") or obj.get("en") or ""


def to_ics(plan: Plan, index: int = 0, *, url: str = "", lang: str | None = None) -> bytes:
    """An iCalendar file with one event per stop (location, travel time to it, why it is there).

    Times carry the Asia/Ho_Chi_Minh zone; a VTIMEZONE is included.
    """
    from icalendar import Calendar, Event, vGeo

    lang = lang or plan.request.get("lang", "vi")
    itinerary = pick(plan, index)
    cal = Calendar()
    cal.add("prodid", "-//tourplanner//Hanoi craft villages//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"tourplanner {plan.request['date']}")
    stamp = datetime.now(UTC)
    for k, (stop, leg) in enumerate(zip(itinerary["stops"], itinerary["legs"], strict=False)):
        event = Event()
        title = _name(stop["title"], lang)
        if stop.get("kind") == "shopping":
            title = ("Shopping stop: " if lang == "en" else "Điểm mua sắm: ") + title
        event.add("uid", f"{plan.id}-{index}-{k}@tourplanner")
        event.add("dtstamp", stamp)
        event.add("dtstart", datetime.fromisoformat(stop["start"]).astimezone(LOCAL_TZ))
        event.add("dtend", datetime.fromisoformat(stop["end"]).astimezone(LOCAL_TZ))
        event.add("summary", title)
        village = _name(stop["village_name"], lang)
        event.add("location", f"{village} ({stop['lat']:.5f}, {stop['lon']:.5f})")
        event.add("geo", vGeo((stop["lat"], stop["lon"])))
        travel = (
            f"Travel: {leg['minutes']} min by {leg['mode']} ({leg['km']} km), "
            f"arrive {stop['arrive'][11:16]}"
            if lang == "en"
            else f"Di chuyển: {leg['minutes']} phút ({leg['km']} km), "
            f"đến lúc {stop['arrive'][11:16]}"
        )
        lines = [travel, stop.get("explanation", "")]
        if stop.get("slot_id"):
            lines.append("Booking needed" if lang == "en" else "Cần đặt chỗ")
        shop = stop.get("sales_point")
        if shop:
            lines += [shop.get("address") or "", shop.get("hours") or ""]
        event.add("description", "\n".join(line for line in lines if line))
        if url:
            event.add("url", url)
        cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()


def _point(lat: float, lon: float, props: dict[str, Any]) -> dict[str, Any]:
    """RFC 7946 point: coordinates are [longitude, latitude]."""
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": props,
    }


def to_geojson(plan: Plan, index: int = 0) -> dict[str, Any]:
    """A FeatureCollection: the start, each stop (Point) and each leg (LineString)."""
    itinerary = pick(plan, index)
    start = _start(plan)
    features = [
        _point(
            start["lat"],
            start["lon"],
            {"role": "start", "name_vi": start["name_vi"], "name_en": start["name_en"]},
        )
    ]
    places = {"start": (start["lon"], start["lat"])}
    for order, stop in enumerate(itinerary["stops"], start=1):
        # A shopping stop's legs name its own place (its village may be another stop).
        places[stop.get("place") or stop["village"]] = (stop["lon"], stop["lat"])
        features.append(
            _point(
                stop["lat"],
                stop["lon"],
                {
                    "role": "stop",
                    "order": order,
                    "kind": stop.get("kind"),
                    "village": stop["village"],
                    "experience_id": stop["experience_id"],
                    "slot_id": stop["slot_id"],
                    "title_vi": stop["title"]["vi"],
                    "title_en": stop["title"]["en"],
                    "arrive": stop["arrive"],
                    "start": stop["start"],
                    "end": stop["end"],
                    "price_vnd": stop["price_vnd"],
                },
            )
        )
    for order, leg in enumerate(itinerary["legs"], start=1):
        line = [list(places[leg["from"]]), list(places[leg["to"]])]
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": line},
                "properties": {"role": "leg", "order": order, **leg},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def directions(plan: Plan, index: int = 0) -> dict[str, Any]:
    """Links for map apps: one Google Maps route with waypoints; OpenStreetMap per leg.

    OpenStreetMap's directions page routes between two points only, hence one link per leg.
    """
    itinerary = pick(plan, index)
    start = _start(plan)
    mode = plan.request.get("mode", "car")
    origin = f"{start['lat']},{start['lon']}"
    stops = [f"{s['lat']},{s['lon']}" for s in itinerary["stops"]]
    params = {
        "api": "1",
        "origin": origin,
        "destination": origin,
        "travelmode": GOOGLE_MODES.get(mode, "driving"),
    }
    if stops:
        params["waypoints"] = "|".join(stops)
    google = "https://www.google.com/maps/dir/?" + urlencode(params, quote_via=quote, safe=",")
    chain = [origin, *stops, origin]
    engine = OSM_ENGINES.get(mode, "fossgis_osrm_car")
    osm = [
        f"https://www.openstreetmap.org/directions?engine={engine}"
        f"&route={quote(a, safe=',')}%3B{quote(b, safe=',')}"
        for a, b in itertools.pairwise(chain)
    ]
    return {"google": google, "osm": osm}
