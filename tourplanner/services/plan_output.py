"""Turn a solver solution into the itinerary JSON of ``POST /api/v1/plans``.

Times are ISO 8601 in Hanoi time (``+07:00``); ``village`` is the village slug; ``slot_id`` is
null for a visit that needs no booking. Legs go start -> stops -> start.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tourplanner.routing import Solution, Stop
from tourplanner.services import plan_text

if TYPE_CHECKING:
    from tourplanner.services.planning import Node, _Builder

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
START = "start"


def at(day: date, minutes: int) -> str:
    """ISO 8601 time with the +07:00 offset for minutes since midnight of ``day``."""
    midnight = datetime.combine(day, datetime.min.time(), HANOI)
    return (midnight + timedelta(minutes=minutes)).isoformat()


def _stop(builder: _Builder, node: Node, stop: Stop) -> dict[str, Any]:
    req = builder.request
    exp, offer = node.exp, node.offer
    reasons = list(offer.reasons)
    return {
        "village": offer.village,
        "experience_id": offer.experience_id,
        "slot_id": node.slots.get(stop.start) if exp.kind == "workshop" else None,
        "arrive": at(req.day, stop.arrival),
        "start": at(req.day, stop.start),
        "end": at(req.day, stop.end),
        "wait_minutes": stop.wait,
        "price_vnd": offer.price_vnd,
        "price_note": offer.price_note,
        "experience_slug": offer.slug,
        "kind": exp.kind,
        "category": offer.category,
        "title": {"vi": exp.title_vi, "en": exp.title_en},
        "village_name": {"vi": exp.village.name_vi, "en": exp.village.name_en},
        "lat": exp.village.lat,
        "lon": exp.village.lon,
        "sample": exp.is_sample,
        "hours_are_default": exp.kind == "visit" and exp.hours_are_default,
        "score": offer.score,
        "reasons": reasons,
        "explanation": plan_text.explain_stop(reasons, req.interests, req.lang, offer.price_note),
    }


def _leg(builder: _Builder, a: int, b: int) -> dict[str, Any]:
    """Leg between solver nodes ``a`` and ``b`` (0 = start)."""
    nodes = builder.nodes
    if a == 0:
        p = nodes[b - 1].point
        minutes, km = builder.start_minutes[p], builder.start_km[p]
    elif b == 0:
        p = nodes[a - 1].point
        minutes, km = builder.start_minutes[p], builder.start_km[p]
    else:
        pa, pb = nodes[a - 1].point, nodes[b - 1].point
        minutes, km = builder.minutes[pa][pb], builder.km[pa][pb]
    return {
        "from": START if a == 0 else nodes[a - 1].offer.village,
        "to": START if b == 0 else nodes[b - 1].offer.village,
        "mode": builder.request.mode,
        "km": round(km, 1),
        "minutes": minutes,
    }


def itinerary(builder: _Builder, solution: Solution) -> dict[str, Any]:
    """One itinerary: stops, legs, totals and an explanation."""
    req = builder.request
    schedule = solution.schedule[0]
    stops = [_stop(builder, builder.nodes[s.node - 1], s) for s in schedule]
    order = [0, *[s.node for s in schedule], 0]
    legs = [_leg(builder, a, b) for a, b in itertools.pairwise(order)]
    back = solution.returns[0]
    travel_minutes = sum(leg["minutes"] for leg in legs)
    day = req.day_minutes
    result = {
        "stops": stops,
        "legs": legs,
        "totals": {
            "cost_vnd": sum(s["price_vnd"] for s in stops),
            "travel_minutes": travel_minutes,
            # Share of the requested day (start to end time) spent on the road.
            "road_share_percent": round(100 * travel_minutes / day) if day else 0,
            "visit_minutes": sum(s.end - s.start for s in schedule),
            "wait_minutes": sum(s.wait for s in schedule),
            "km": round(sum(leg["km"] for leg in legs), 1),
            "score": round(solution.score, 4),
        },
        "leave": at(req.day, req.start_time.hour * 60 + req.start_time.minute),
        "return": at(req.day, back),
    }
    result["explanation"] = plan_text.explain_itinerary(result, req, req.lang)
    return result
