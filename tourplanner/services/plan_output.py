"""Turn a solver solution into the itinerary JSON of ``POST /api/v1/plans``.

Times are ISO 8601 in Hanoi time (``+07:00``); ``village`` is the village slug; ``slot_id`` is
null for a visit that needs no booking. Legs go start -> stops -> start.

A shopping stop is a stop of ``kind`` "shopping" at a village's sales point: no experience,
slot or price (``experience_id``, ``slot_id``, ``experience_slug`` null, ``price_vnd`` 0), its
``title`` the sales point's name, ``sales_point`` what the village recorded (name, address,
hours, its place in the village's list) and ``place`` the leg name of its position
(``sales_point:<village>:<n>``; legs name other stops by their village slug).
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tourplanner.domain.availability import LOCAL_TZ
from tourplanner.domain.planning import LUNCH_SCORE
from tourplanner.domain.shopping import NEAR_MINUTES
from tourplanner.routing import Solution, Stop
from tourplanner.services import plan_text

if TYPE_CHECKING:
    from tourplanner.services.planning import Node, _Builder

START = "start"


def at(day: date, minutes: int) -> str:
    """ISO 8601 time with the +07:00 offset for minutes since midnight of ``day``."""
    midnight = datetime.combine(day, datetime.min.time(), LOCAL_TZ)
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


def _shop_stop(builder: _Builder, stop: Stop, others: list[Stop]) -> dict[str, Any]:
    """The shopping stop, with why this sales point (see the module text)."""
    req = builder.request
    sales, _windows = builder.shops[stop.node - builder.first_shop]
    village = sales.village
    names = {"vi": village.name_vi, "en": village.name_en}
    reasons: list[dict[str, Any]] = [{"code": "shopping"}]
    ocop = builder.shop_ocop.get(village.id)
    if ocop and ocop[0]:
        reasons.append(
            {
                "code": "ocop_products",
                "village": names,
                "category": village.category,
                "count": ocop[0],
                "stars": ocop[1],
            }
        )
    else:
        reasons.append({"code": "sales_point", "village": names, "category": village.category})
    here = builder.point_of(stop.node)
    visits = [s for s in others if not builder.is_extra(s.node)]
    if any(builder.nodes[s.node - 1].offer.village == village.slug for s in visits):
        reasons.append({"code": "shop_here", "village": names})
    elif visits:
        near = min(visits, key=lambda s: (builder.leg(builder.point_of(s.node), here)[0], s.node))
        minutes = builder.leg(builder.point_of(near.node), here)[0]
        if minutes <= NEAR_MINUTES:
            v = builder.nodes[near.node - 1].exp.village
            reasons.append(
                {
                    "code": "shop_near",
                    "minutes": minutes,
                    "village": {"vi": v.name_vi, "en": v.name_en},
                }
            )
    if req.interests:
        reasons.append(
            {
                "code": "interest",
                "category": village.category,
                "weight": req.weight(village.category),
            }
        )
    reasons.append({"code": "shop_hours", "hours": sales.hours})
    return {
        "village": village.slug,
        "experience_id": None,
        "slot_id": None,
        "arrive": at(req.day, stop.arrival),
        "start": at(req.day, stop.start),
        "end": at(req.day, stop.end),
        "wait_minutes": stop.wait,
        "price_vnd": 0,
        "price_note": None,
        "experience_slug": None,
        "kind": "shopping",
        "category": village.category,
        "title": {"vi": sales.name, "en": sales.name},
        "village_name": names,
        "lat": sales.lat,
        "lon": sales.lon,
        "sample": False,
        "hours_are_default": False,
        "score": 0.0,
        "reasons": reasons,
        "explanation": plan_text.explain_stop(reasons, req.interests, req.lang),
        "sales_point": {
            "name": sales.name,
            "address": sales.address,
            "hours": sales.hours,
            "village": village.slug,
            "index": sales.index,
        },
        "place": sales.key,
    }


def _leg(builder: _Builder, a: int, b: int) -> dict[str, Any]:
    """Leg between solver nodes ``a`` and ``b`` (0 = start; a lunch node is at its village)."""
    minutes, km = builder.leg(
        None if a == 0 else builder.point_of(a), None if b == 0 else builder.point_of(b)
    )
    return {
        "from": START if a == 0 else _place(builder, a),
        "to": START if b == 0 else _place(builder, b),
        "mode": builder.request.mode,
        "km": km,
        "minutes": minutes,
    }


def _place(builder: _Builder, node: int) -> str:
    if builder.is_shop(node):
        return builder.shops[node - builder.first_shop][0].key
    if builder.is_lunch(node):
        return builder.point_village[builder.point_of(node)].slug
    return builder.nodes[node - 1].offer.village


def _legs(builder: _Builder, schedule: list[Stop]) -> list[dict[str, Any]]:
    """Legs start -> stops -> start; the legs into and out of the lunch are one leg (the
    lunch is taken on the way, at a village of the day)."""
    order = [0, *[s.node for s in schedule], 0]
    legs = [_leg(builder, a, b) for a, b in itertools.pairwise(order)]
    for k in range(len(schedule) - 1, -1, -1):
        if builder.is_lunch(schedule[k].node):
            into, out = legs[k], legs[k + 1]
            legs[k : k + 2] = [
                {
                    **into,
                    "to": out["to"],
                    "km": into["km"] + out["km"],
                    "minutes": into["minutes"] + out["minutes"],
                }
            ]
    return [{**leg, "km": round(leg["km"], 1)} for leg in legs]


def _lunch(builder: _Builder, schedule: list[Stop]) -> dict[str, Any] | None:
    """The lunch break: when, where, and its place in the day (``after`` so many stops;
    ``on_arrival``: taken on reaching the next stop's village, before its visit)."""
    k = next((n for n, s in enumerate(schedule) if builder.is_lunch(s.node)), None)
    if k is None:
        return None
    stop, day = schedule[k], builder.request.day
    point = builder.point_of(stop.node)
    village = builder.point_village[point]
    before = schedule[k - 1].node if k else None
    after = schedule[k + 1].node if k + 1 < len(schedule) else None
    on_arrival = (
        after is not None
        and builder.point_of(after) == point
        and (before is None or builder.point_of(before) != point)
    )
    before_point = builder.point_of(before) if before is not None else None
    return {
        "start": at(day, stop.start),
        "end": at(day, stop.end),
        "arrive": at(day, stop.arrival),
        "minutes": stop.end - stop.start,
        "wait_minutes": stop.wait,
        # Minutes from the previous stop (or the start) to the lunch: 0 at that stop's village.
        "travel_before": _travel(builder, before_point, point),
        "village": village.slug,
        "village_name": {"vi": village.name_vi, "en": village.name_en},
        "after": k,
        "on_arrival": on_arrival,
    }


def _travel(builder: _Builder, a: int | None, b: int) -> int:
    """Minutes from point ``a`` (None: the start) to point ``b``."""
    return builder.leg(a, b)[0]


def _arrive_for_lunch(stops: list[dict[str, Any]], lunch: dict[str, Any] | None) -> None:
    """A lunch taken on reaching the next stop's village: that stop's arrival is the
    arrival at the village, and its wait counts the time before the lunch too."""
    if not lunch or not lunch["on_arrival"]:
        return
    stop = stops[lunch["after"]]
    stop["arrive"] = lunch["arrive"]
    stop["wait_minutes"] += lunch["wait_minutes"]


def itinerary(builder: _Builder, solution: Solution) -> dict[str, Any]:
    """One itinerary: stops, legs, the lunch break, totals and an explanation."""
    req = builder.request
    schedule = solution.schedule[0]
    visits = [s for s in schedule if not builder.is_lunch(s.node)]
    stops = [
        _shop_stop(builder, s, visits)
        if builder.is_shop(s.node)
        else _stop(builder, builder.nodes[s.node - 1], s)
        for s in visits
    ]
    legs = _legs(builder, schedule)
    lunch = _lunch(builder, schedule)
    _arrive_for_lunch(stops, lunch)
    back = solution.returns[0]
    travel_minutes = sum(leg["minutes"] for leg in legs)
    day = req.day_minutes
    score = solution.score - (LUNCH_SCORE if lunch else 0.0)
    result = {
        "stops": stops,
        "legs": legs,
        "totals": {
            "cost_vnd": sum(s["price_vnd"] for s in stops),
            "travel_minutes": travel_minutes,
            # Share of the requested day (start to end time) spent on the road.
            "road_share_percent": round(100 * travel_minutes / day) if day else 0,
            "visit_minutes": sum(s.end - s.start for s in visits),
            "wait_minutes": sum(s.wait for s in schedule),
            "km": round(sum(leg["km"] for leg in legs), 1),
            "score": round(score, 4),
        },
        "leave": at(req.day, req.start_time.hour * 60 + req.start_time.minute),
        "return": at(req.day, back),
    }
    if builder.lunch:
        result["lunch"] = lunch
    if req.shopping:
        # The shopping stop's place among the stops; null: asked for, none planned.
        result["shopping"] = next((k for k, s in enumerate(stops) if s["kind"] == "shopping"), None)
    result["explanation"] = plan_text.explain_itinerary(result, req, req.lang)
    return result
