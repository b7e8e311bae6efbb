"""A published route's public side: its typical day (timeline and map) and planning it on a date.

:func:`view` gives what the route's page shows: the stops of each day with typical times from
the centre (Hoàn Kiếm Lake) at the length's usual start, and the legs between them, from the
route engine's travel-time provider (cached per catalogue version and mode). Typical, never
promised: the real day comes from :func:`plan_on_date`.

"Plan this route on my date" (:func:`plan_on_date`) asks the planner for a day with the route's
stops of that day as must-visits, only those (``max_stops``), the route's crafts as interests
and the ``packed`` pace (the widest road-time share; must-visits are exempt from its other
rules). The planner re-times them on the real opening hours and free sessions of that date for
that party and may reorder them: the route's order is the curated suggestion, and the planner
has no ordering constraint, so :func:`order_note` tells the plan page when its order differs
or a stop could not be planned.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from tourplanner.adapters.orm import Landmark, TourRoute, TourRouteStop
from tourplanner.domain import tour_routes as rules
from tourplanner.domain.errors import ValidationError
from tourplanner.domain.planning import PACES
from tourplanner.extensions import db
from tourplanner.services import catalogue, plan_pool
from tourplanner.services.tour_routes import CENTRE, crafts, get_published

TRAVEL_KEY = "tourplanner.route_travel"


def travel(points: list[tuple[float, float]], mode: str) -> tuple[list, list]:
    """Minutes and km between points (the routing provider, cached per catalogue version)."""
    from tourplanner.routing.travel_time import CachedProvider, provider_from_config

    cache = current_app.extensions.get(TRAVEL_KEY)
    if cache is None:
        cache = CachedProvider(provider_from_config(current_app.config), max_entries=256)
        current_app.extensions[TRAVEL_KEY] = cache
    return cache.matrix(points, mode, version=catalogue.catalogue_version())


def stop_minutes(stop: TourRouteStop) -> int:
    """Typical minutes at a stop: its experience's, else the village's longest visit, else 60."""
    if stop.experience is not None:
        return stop.experience.duration_minutes
    visits = [e.duration_minutes for e in stop.village.experiences if e.kind == "visit"]
    return max(visits, default=60)


def _hhmm(minute: int) -> str:
    return f"{minute // 60 % 24:02d}:{minute % 60:02d}"


def _stop_view(stop: TourRouteStop, n: int) -> dict[str, Any]:
    village, experience = stop.village, stop.experience
    return {
        "n": n,
        "day": stop.day,
        "village": village,
        "experience": experience,
        "lat": village.lat,
        "lon": village.lon,
        "minutes": stop_minutes(stop),
        "note_vi": stop.note_vi,
        "note_en": stop.note_en,
        "sample": bool(experience and experience.is_sample),
    }


def _day_timeline(
    stops: list[dict[str, Any]], start: tuple[float, float] | None, mode: str, begin: int
) -> dict[str, Any]:
    """Typical times for one day's stops from ``start`` (or the first stop) and back."""
    mapped = [s for s in stops if s["lat"] is not None]
    origin = start or ((mapped[0]["lat"], mapped[0]["lon"]) if mapped else None)
    if origin is None or len(mapped) != len(stops):
        return {"stops": stops, "legs": [], "back": None, "leave": _hhmm(begin)}
    minutes, km = travel([origin, *[(s["lat"], s["lon"]) for s in stops]], mode)
    clock, legs, here = begin, [], 0
    for k, stop in enumerate(stops, start=1):
        legs.append({"minutes": round(minutes[here][k]), "km": round(km[here][k], 1)})
        clock += round(minutes[here][k])
        stop["arrive"] = _hhmm(clock)
        clock += stop["minutes"]
        stop["leave"] = _hhmm(clock)
        here = k
    back_leg = {"minutes": round(minutes[here][0]), "km": round(km[here][0], 1)}
    return {
        "stops": stops,
        "legs": legs,
        "back_leg": back_leg,
        "back": _hhmm(clock + back_leg["minutes"]),
        "leave": _hhmm(begin),
    }


def view(route: TourRoute) -> dict[str, Any]:
    """What the route's page shows: days with their stops, typical times and legs, map points.

    Times are typical (from the route's typical start, the centre, at 08:00), never promised:
    the real day comes from planning the route on a date.
    """
    centre = db.session.scalar(select(Landmark).where(Landmark.slug == CENTRE))
    start = (centre.lat, centre.lon) if centre else None
    begin_h, begin_m = (int(x) for x in rules.LENGTH_HOURS[route.length][0].split(":"))
    stops = [_stop_view(s, n) for n, s in enumerate(route.stops, start=1)]
    days = sorted({s["day"] for s in stops}) or [1]
    timeline = [
        {
            "day": d,
            **_day_timeline(
                [s for s in stops if s["day"] == d],
                start,
                route.travel_mode,
                begin_h * 60 + begin_m,
            ),
        }
        for d in days
    ]
    points = [
        {
            "n": s["n"],
            "lat": s["lat"],
            "lon": s["lon"],
            "day": s["day"],
            "name_vi": s["village"].name_vi,
            "name_en": s["village"].name_en,
        }
        for s in stops
        if s["lat"] is not None
    ]
    return {
        "route": route,
        "stops": stops,
        "days": timeline,
        "centre": centre,
        "map": {"points": points, "start": {"lat": start[0], "lon": start[1]} if start else None},
        "categories": categories(route),
    }


def categories(route: TourRoute) -> list[str]:
    """The crafts a route serves (:func:`tourplanner.services.tour_routes.crafts`)."""
    return crafts(route)


# --- plan this route on my date -------------------------------------------------------------


def _minutes_of(text: object) -> int | None:
    try:
        hours, minutes = str(text).split(":")
        return int(hours) * 60 + int(minutes)
    except ValueError:
        return None


def pace_for(road_minutes: int | None, start_time: object, end_time: object) -> str:
    """``balanced`` when the route's typical road time fits its share of the day, else
    ``packed`` (the widest share). Fillers never join a route's day either way while every
    must-visit fits, since ``max_stops`` is the number of must-visits."""
    begin, end = _minutes_of(start_time), _minutes_of(end_time)
    if road_minutes is None or begin is None or end is None or end <= begin:
        return "packed"
    fits = road_minutes <= PACES["balanced"].max_road_share * (end - begin)
    return "balanced" if fits else "packed"


def plan_request(
    route: TourRoute, given: Mapping[str, Any], road_minutes: int | None = None
) -> dict[str, Any]:
    """The planner request for one day of the route on the tourist's date, for their party.

    ``given``: ``date``, ``party``, optional ``start`` (default the centre), ``start_time``,
    ``end_time`` (default the length's typical hours), ``mode`` (default the route's), ``day``
    (which day of a two-day route, default 1) and ``lang``. ``road_minutes``: the day's
    typical time on the road (chooses the pace, :func:`pace_for`).
    """
    day = given.get("day") or 1
    stops = [s for s in route.stops if s.day == day] or list(route.stops)
    must = [s.experience.slug if s.experience else s.village.slug for s in stops]
    begin, end = rules.LENGTH_HOURS[route.length]
    start_time = given.get("start_time") or begin
    end_time = given.get("end_time") or end
    return {
        "start": given.get("start") or {"landmark": CENTRE},
        "date": given.get("date"),
        "start_time": start_time,
        "end_time": end_time,
        "mode": given.get("mode") or route.travel_mode,
        "party": given.get("party"),
        "interests": {c: 1.0 for c in categories(route)},
        "must_include": must,
        "max_stops": max(1, len(must)),
        "alternatives": 1,
        "pace": pace_for(road_minutes, start_time, end_time),
        "lang": given.get("lang") or "vi",
    }


def road_minutes(route: TourRoute, day: int = 1) -> int | None:
    """Typical minutes on the road of one day of the route (from the centre and back)."""
    for timeline in view(route)["days"]:
        if timeline["day"] == day and timeline["legs"]:
            legs = [*timeline["legs"], timeline["back_leg"]]
            return sum(leg["minutes"] for leg in legs)
    return None


def plan_on_date(
    slug: str, given: Mapping[str, Any], *, now: datetime | None = None
) -> tuple[str, dict[str, Any]]:
    """Plan a published route on a date: ``(plan id, result)`` from the planner, in the plans
    pool like every other plan (never a solve in a web process outside the embedded set-up)."""
    route = get_published(slug)
    day = given.get("day") or 1
    if not isinstance(day, int) or not 1 <= day <= rules.LENGTH_DAYS[route.length]:
        raise ValidationError("day: not a day of this route", code="invalid_field", field="day")
    request = plan_request(route, given, road_minutes(route, day))
    return plan_pool.create_plan(request, now=now)


def order_note(route: TourRoute, itinerary: Mapping[str, Any], day: int = 1) -> dict[str, Any]:
    """How a planned itinerary compares with the route's day: same order, reordered, missing."""
    wanted = [s.village.slug for s in route.stops if s.day == day]
    got = [s["village"] for s in itinerary.get("stops", [])]
    kept = [v for v in got if v in wanted]
    return {
        "missing": [v for v in wanted if v not in got],
        "reordered": kept != [v for v in wanted if v in kept],
    }
