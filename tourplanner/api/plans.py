"""Day-trip plans: ``POST /api/v1/plans`` plans and saves, ``GET /api/v1/plans/<id>`` reads.

The JSON API is exempt from CSRF (it takes no cookies-based action on behalf of a user: a plan
is public and anonymous). Exports of a saved plan live in :mod:`tourplanner.api.plan_exports`.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request

from tourplanner.adapters.orm import Plan
from tourplanner.api import bp
from tourplanner.api.body import json_body
from tourplanner.api.openapi import (
    add_paths,
    add_schemas,
    add_tag,
    error_responses,
    integer,
    json_response,
    party_schema,
    path_param,
    query_param,
    ref,
    text,
)
from tourplanner.domain import inputs
from tourplanner.domain.catalogue import CATEGORIES
from tourplanner.domain.planning import (
    LANGS,
    MAX_ADDRESS_CHARS,
    MAX_ALTERNATIVES,
    MAX_SLUGS,
    MAX_STOPS_LIMIT,
    MAX_TRAVEL_MINUTES,
    MIN_TRAVEL_MINUTES,
    MODES,
    PACES,
)
from tourplanner.domain.shopping import SHOPPING_MINUTES
from tourplanner.extensions import csrf
from tourplanner.security.limits import limit, limiter, rate_limits_off
from tourplanner.services import exports, plan_pool, planning
from tourplanner.services.notifications import public_url


def plan_links(plan_id: str) -> dict[str, str]:
    """URLs of a saved plan: the page, the API resource and the exports that exist."""
    endpoints = {
        "page": ("web.plan_page", {}),
        "api": ("api.get_plan", {}),
        "ics": ("web.plan_ics", {}),
        "geojson": ("api.plan_geojson", {}),
        "print": ("web.plan_print", {}),
    }
    links = {}
    for name, (endpoint, extra) in endpoints.items():
        if endpoint in current_app.view_functions:
            # From PUBLIC_BASE_URL, never from the request's Host header.
            links[name] = public_url(endpoint, plan_id=plan_id, **extra)
    return links


def plan_body(row: Plan, with_request: bool = False) -> dict[str, Any]:
    """The API representation of a saved plan: result, links and map-app directions."""
    links = plan_links(row.id)
    body = {"id": row.id, "url": links.get("page", links["api"]), "links": links, **row.result}
    body["directions"] = [
        exports.directions(row, i) for i in range(len(row.result.get("itineraries", [])))
    ]
    if with_request:
        body["request"] = row.request
        body["created_at"] = row.created_at.isoformat() if row.created_at else None
    return body


@bp.post("/plans")
@limiter.limit(lambda: limit("RATE_LIMIT_PLANS"), exempt_when=rate_limits_off)
@csrf.exempt
def create_plan():
    plan_id, _ = plan_pool.create_plan(json_body())
    response = jsonify(plan_body(planning.get_plan(plan_id)))
    response.status_code = 201
    response.headers["Location"] = public_url("api.get_plan", plan_id=plan_id)
    return response


@bp.get("/plans/<plan_id>")
def get_plan(plan_id: str):
    return jsonify(plan_body(planning.get_plan(plan_id), with_request=True))


def itinerary_arg() -> int:
    """``?itinerary=N`` (default 0, the best itinerary)."""
    return inputs.int_param(request.args.get("itinerary", "0"), "itinerary")


@bp.get("/plans/<plan_id>.geojson")
def plan_geojson(plan_id: str):
    row = planning.get_plan(plan_id)
    response = jsonify(exports.to_geojson(row, itinerary_arg()))
    response.mimetype = "application/geo+json"
    return response


# --- OpenAPI -----------------------------------------------------------------------------

NSTR = {"type": ["string", "null"]}
INT = {"type": "integer"}
TIME = {
    "type": "string",
    "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$",
    "examples": ["08:00"],
}
ISO = {"type": "string", "format": "date-time", "examples": ["2026-12-05T09:05:00+07:00"]}
SLUG = {"type": "string", "maxLength": 120, "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"}
PLAN_ID = {"type": "string", "maxLength": 64, "pattern": inputs.NO_NUL_PATTERN}


def _obj(required: list[str], **props: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props}


def _closed(required: list[str], **props: Any) -> dict[str, Any]:
    return {**_obj(required, **props), "additionalProperties": False}


START = {
    "oneOf": [
        _closed(["landmark"], landmark={**SLUG, "examples": ["hoan-kiem-lake"]}),
        _closed(
            ["lat", "lon"],
            lat={"type": "number", "minimum": -90, "maximum": 90},
            lon={"type": "number", "minimum": -180, "maximum": 180},
        ),
        _closed(["address"], address=text(MAX_ADDRESS_CHARS, min_length=3, visible=True)),
    ],
    "description": "A landmark slug, a map point, or an address (geocoded when a geocoder is "
    "reachable, else 422 geocoder_unavailable). Points outside the Hanoi area: 422 "
    "start_outside_area; an unknown landmark: 400 unknown_landmark.",
}
SLUGS = {
    "type": ["array", "null"],
    "items": SLUG,
    "maxItems": MAX_SLUGS,
    "description": "Village or experience slugs",
}
PLAN_REQUEST = _closed(
    ["start", "date", "party"],
    start=START,
    date={
        "type": "string",
        "format": "date",
        "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        "description": "Today (in Hanoi) up to one year ahead (400 otherwise)",
    },
    start_time={**TIME, "default": "08:00"},
    end_time={**TIME, "default": "18:00", "description": "After start_time (400 otherwise)"},
    mode={"type": "string", "enum": list(MODES), "default": "car"},
    party=party_schema(),
    interests={
        "type": ["object", "null"],
        "description": "Craft category -> weight 0..1; unnamed "
        "categories weigh 0.2 (all 1.0 when empty)",
        "propertyNames": {"enum": list(CATEGORIES)},
        "additionalProperties": {"type": "number", "minimum": 0, "maximum": 1},
    },
    budget_vnd={"type": ["integer", "null"], "minimum": 0, "maximum": inputs.MAX_BUDGET_VND},
    must_include=SLUGS,
    exclude={**SLUGS, "description": "Slugs; none of them may also be in must_include (400)"},
    max_stops={**INT, "minimum": 1, "maximum": MAX_STOPS_LIMIT, "default": 5},
    alternatives={
        **INT,
        "minimum": 1,
        "maximum": MAX_ALTERNATIVES,
        "default": 3,
        "description": "How many itineraries to return at most (the best one included)",
    },
    lang={"type": "string", "enum": list(LANGS), "default": "vi"},
    pace={
        "type": "string",
        "enum": list(PACES),
        "default": "balanced",
        "description": "How full the day is. "
        + "; ".join(
            f"{p.name}: at most {p.max_stops} stops, each at least {p.min_visit_minutes} min, "
            f"at most {round(100 * p.max_road_share)}% of the day on the road, "
            f"1 interest point worth {p.minutes_per_point} min of driving, "
            f"{'with' if p.fillers else 'no'} stops outside the stated interests"
            for p in PACES.values()
        ),
    },
    max_travel_minutes={
        "type": ["integer", "null"],
        "minimum": MIN_TRAVEL_MINUTES,
        "maximum": MAX_TRAVEL_MINUTES,
        "description": "Most minutes on the road for the whole day (within the pace's share); "
        "when no itinerary can keep to it the answer has none and a reason",
    },
    lunch={
        "type": ["boolean", "null"],
        "description": "A lunch break of 45-60 min starting and ending between 11:00 and "
        "13:30, placed at a village of the day; null (default): on for days over 6 h",
    },
    shopping={
        "type": ["boolean", "null"],
        "default": False,
        "description": "true: every itinerary gets one shopping stop (kind 'shopping', "
        f"{SHOPPING_MINUTES} min, no price) at a village's sales point that states a position "
        "and opening hours and is open then, preferably at or near a village of the day, of a "
        "craft the tourist likes, with OCOP-rated products; when none fits, the plan's "
        "shopping.reason says so (code shopping_unavailable)",
    },
)
STOP = _obj(
    [
        "village",
        "experience_id",
        "slot_id",
        "arrive",
        "start",
        "end",
        "wait_minutes",
        "price_vnd",
        "explanation",
    ],
    village={"type": "string"},
    experience_id={"type": ["integer", "null"], "description": "null for a shopping stop"},
    slot_id={"type": ["integer", "null"]},
    arrive=ISO,
    start=ISO,
    end=ISO,
    wait_minutes=INT,
    price_vnd=INT,
    price_note={"type": ["object", "null"]},
    experience_slug={"type": ["string", "null"]},
    kind={"type": "string", "enum": ["visit", "workshop", "shopping"]},
    category={"type": "string"},
    title={"type": "object"},
    village_name={"type": "object"},
    lat={"type": "number"},
    lon={"type": "number"},
    sample={"type": "boolean"},
    hours_are_default={"type": "boolean"},
    score={"type": "number"},
    reasons={"type": "array", "items": {"type": "object"}},
    explanation={"type": "string"},
    sales_point={
        "type": "object",
        "description": "A shopping stop's sales point as its village records it: name, "
        "address, hours, village, index (its place in the village's list)",
    },
    place={
        "type": "string",
        "description": "A shopping stop's name in the legs: sales_point:<village>:<index>",
    },
)
LEG = _obj(
    ["from", "to", "mode", "km", "minutes"],
    **{
        "from": {
            "type": "string",
            "description": "Village slug, 'start' or a shopping stop's place "
            "(sales_point:<village>:<index>)",
        },
        "to": {"type": "string"},
        "mode": {"type": "string"},
        "km": {"type": "number"},
        "minutes": INT,
    },
)
ITINERARY = _obj(
    ["stops", "legs", "totals", "explanation"],
    stops={"type": "array", "items": ref("PlanStop")},
    legs={"type": "array", "items": ref("PlanLeg")},
    totals=_obj(
        ["cost_vnd", "travel_minutes", "visit_minutes", "score"],
        cost_vnd=INT,
        travel_minutes=INT,
        road_share_percent={**INT, "description": "Road time as a share of the day, in %"},
        visit_minutes=INT,
        wait_minutes=INT,
        km={"type": "number"},
        score={"type": "number"},
    ),
    leave=ISO,
    explanation={"type": "string"},
    kind={
        "type": "string",
        "enum": ["best", "lighter", "elsewhere", "other"],
        "description": "What the itinerary is beside the best day: lighter (fewer stops and "
        "less driving), elsewhere (in one other part of the city) or another of the search",
    },
    why={
        "type": "object",
        "description": "Why it is offered, in one line: code (= kind) and text {vi, en}",
    },
    lunch={
        "type": ["object", "null"],
        "description": "The lunch break (null: asked for but none fits the day; absent: "
        "not asked for): start, end, minutes, village, after (stops before it), on_arrival",
    },
    shopping={
        "type": ["integer", "null"],
        "description": "Index in stops of the shopping stop (null: asked for but none "
        "planned; absent: not asked for)",
    },
    **{"return": ISO},
)
PLAN = _obj(
    ["id", "url", "links", "itineraries"],
    id={"type": "string"},
    url={"type": "string"},
    links={"type": "object", "additionalProperties": {"type": "string"}},
    itineraries={"type": "array", "items": ref("Itinerary")},
    reason={
        **_obj(["code", "message"], code={"type": "string"}, message={"type": "string"}),
        "description": "Why the result is empty or partial",
    },
    shopping={
        "type": "object",
        "description": "Present when a shopping stop was asked for: planned (every itinerary "
        "has one) and, when not, reason {code: shopping_unavailable, cause: none_open | "
        "none_fits | not_planned, message, text {vi, en}}",
    },
    request={"type": "object"},
    created_at=ISO,
    directions={
        "type": "array",
        "description": "Per itinerary: a Google Maps route with "
        "waypoints and one OpenStreetMap link per leg",
        "items": _obj(
            ["google", "osm"],
            google={"type": "string"},
            osm={"type": "array", "items": {"type": "string"}},
        ),
    },
)

add_schemas(
    {
        "PlanRequest": PLAN_REQUEST,
        "PlanStop": STOP,
        "PlanLeg": LEG,
        "Itinerary": ITINERARY,
        "Plan": PLAN,
    }
)
add_tag("plans", "Day-trip planning")
add_paths(
    {
        "/api/v1/plans": {
            "post": {
                "tags": ["plans"],
                "summary": "Plan a day trip and save it under a stable URL",
                "operationId": "createPlan",
                "description": "Only experiences open that date with enough free places for the "
                "party are planned. An impossible request (nothing open) returns an "
                "empty list of itineraries with a reason. Bad fields give 400 with "
                "details.field naming the field; rules the schema cannot express are 400s "
                "too: end_time after start_time (end_before_start), date from today to one "
                "year ahead (date_in_past), no slug both in must_include and exclude, an "
                "unknown landmark. Rate-limited per client address (RATE_LIMIT_PLANS). Plans "
                "are computed in a bounded pool (PLAN_POOL_CAPACITY places for the plan "
                "workers; PLAN_CONCURRENCY per process in the embedded set-up): beyond it, or "
                "when the pool does not answer in time, 503 planner_busy with Retry-After.",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("PlanRequest")}},
                },
                "responses": {
                    "201": {
                        **json_response("The saved plan", ref("Plan")),
                        "headers": {
                            "Location": {
                                "description": "The plan's API resource",
                                "schema": {"type": "string"},
                            }
                        },
                    },
                    **error_responses(400, 413, 422, 429, 503),
                },
            }
        },
        "/api/v1/plans/{plan_id}": {
            "get": {
                "tags": ["plans"],
                "summary": "A saved plan",
                "operationId": "getPlan",
                "parameters": [path_param("plan_id", "Plan id", PLAN_ID)],
                "responses": {
                    "200": json_response("The plan with its request", ref("Plan")),
                    **error_responses(404),
                },
            }
        },
        "/api/v1/plans/{plan_id}.geojson": {
            "get": {
                "tags": ["plans"],
                "summary": "One itinerary of a plan as GeoJSON",
                "operationId": "getPlanGeojson",
                "description": "RFC 7946 FeatureCollection: the start and the stops as Points "
                "([longitude, latitude]) and the legs as LineStrings.",
                "parameters": [
                    path_param("plan_id", "Plan id", PLAN_ID),
                    query_param(
                        "itinerary",
                        "Which itinerary (0 = the best); one the plan does not have: 404",
                        integer(0, default=0),
                    ),
                ],
                "responses": {
                    "200": {
                        "description": "RFC 7946 FeatureCollection",
                        "content": {
                            "application/geo+json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["type", "features"],
                                    "properties": {
                                        "type": {"const": "FeatureCollection"},
                                        "features": {"type": "array"},
                                    },
                                }
                            }
                        },
                    },
                    **error_responses(400, 404),
                },
            }
        },
    }
)
