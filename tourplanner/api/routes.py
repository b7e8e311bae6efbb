"""Tour routes in the JSON API: ``GET /api/v1/routes`` and ``GET /api/v1/routes/<slug>``.

Only published routes; a draft's slug is 404 like an unknown one. The list has every published
route (few: no paging) with its villages in order; the detail adds the stops with their
experience, day and notes. ``total`` of the list is what the targets count as ``tour_routes``.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from tourplanner.adapters.orm import TourRoute, TourRouteStop
from tourplanner.api import bp
from tourplanner.api.openapi import (
    add_filler,
    add_paths,
    add_schemas,
    add_tag,
    error_responses,
    json_response,
    path_param,
    query_param,
    ref,
)
from tourplanner.domain.catalogue import CATEGORIES
from tourplanner.domain.planning import MODES
from tourplanner.domain.tour_routes import LENGTHS
from tourplanner.services import catalogue, tour_routes
from tourplanner.services.notifications import public_url


def _village(stop: TourRouteStop) -> dict[str, Any]:
    v = stop.village
    return {
        "slug": v.slug,
        "name_vi": v.name_vi,
        "name_en": v.name_en,
        "category": v.category,
        "lat": v.lat,
        "lon": v.lon,
        "page_url": public_url("web.village", slug=v.slug),
    }


def _photos(route: TourRoute) -> list[dict[str, Any]]:
    return [
        {
            "url": public_url("web.product_image", name=p["name"]),
            "alt_vi": p.get("alt_vi") or "",
            "alt_en": p.get("alt_en") or "",
            "credit": p.get("credit") or "",
            "licence": p.get("licence") or "",
        }
        for p in route.photos or []
    ]


def route_summary(route: TourRoute) -> dict[str, Any]:
    return {
        "slug": route.slug,
        "name_vi": route.name_vi,
        "name_en": route.name_en,
        "theme_vi": route.theme_vi,
        "theme_en": route.theme_en,
        "length": route.length,
        "travel_mode": route.travel_mode,
        "crafts": tour_routes.crafts(route),
        "villages": [s.village.slug for s in route.stops],
        "is_sample": route.is_sample,
        "published_at": route.published_at.isoformat() if route.published_at else None,
        "url": public_url("api.route_detail", slug=route.slug),
        "page_url": public_url("web.route_page", slug=route.slug),
    }


def _stop(stop: TourRouteStop, n: int) -> dict[str, Any]:
    e = stop.experience
    return {
        "position": n,
        "day": stop.day,
        "village": _village(stop),
        "experience": None
        if e is None
        else {
            "slug": e.slug,
            "kind": e.kind,
            "title_vi": e.title_vi,
            "title_en": e.title_en,
            "duration_minutes": e.duration_minutes,
            "bookable": e.bookable,
            "is_sample": e.is_sample,
        },
        "note_vi": stop.note_vi,
        "note_en": stop.note_en,
    }


def route_detail_json(route: TourRoute) -> dict[str, Any]:
    return {
        **route_summary(route),
        "summary_vi": route.summary_vi,
        "summary_en": route.summary_en,
        "season_vi": route.season_vi,
        "season_en": route.season_en,
        "interests": list(route.interests or []),
        "photos": _photos(route),
        "stops": [_stop(s, n) for n, s in enumerate(route.stops, start=1)],
    }


@bp.get("/routes")
def routes_list():
    routes = tour_routes.published_filtered(request.args.to_dict())
    return jsonify({"items": [route_summary(r) for r in routes], "total": len(routes)})


@bp.get("/routes/<slug>")
def route_detail(slug: str):
    return jsonify(route_detail_json(tour_routes.get_published(slug)))


# --- OpenAPI --------------------------------------------------------------------------------

_TEXT_OR_NULL = {"type": ["string", "null"]}


def _obj(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


_SUMMARY = {
    "slug": {"type": "string"},
    "name_vi": {"type": "string"},
    "name_en": {"type": "string"},
    "theme_vi": _TEXT_OR_NULL,
    "theme_en": _TEXT_OR_NULL,
    "length": {"type": "string", "enum": list(LENGTHS)},
    "travel_mode": {"type": "string", "enum": list(MODES)},
    "crafts": {"type": "array", "items": {"type": "string", "enum": list(CATEGORIES)}},
    "villages": {
        "type": "array",
        "items": {"type": "string"},
        "description": "Village slugs in the route's order",
    },
    "is_sample": {"type": "boolean", "description": "Demonstration data (seed --demo)"},
    "published_at": {"type": ["string", "null"], "format": "date-time"},
    "url": {"type": "string"},
    "page_url": {"type": "string"},
}
add_schemas(
    {
        "TourRoute": _obj(list(_SUMMARY), **_SUMMARY),
        "TourRouteList": _obj(
            ["items", "total"],
            items={"type": "array", "items": ref("TourRoute")},
            total={"type": "integer", "minimum": 0},
        ),
        "TourRouteStop": _obj(
            ["position", "day", "village", "experience", "note_vi", "note_en"],
            position={"type": "integer", "minimum": 1},
            day={"type": "integer", "minimum": 1, "maximum": 2},
            village=_obj(
                ["slug", "name_vi", "name_en", "category", "lat", "lon", "page_url"],
                slug={"type": "string"},
                name_vi={"type": "string"},
                name_en={"type": "string"},
                category={"type": "string"},
                lat={"type": ["number", "null"]},
                lon={"type": ["number", "null"]},
                page_url={"type": "string"},
            ),
            experience={
                "oneOf": [
                    {"type": "null"},
                    _obj(
                        ["slug", "kind", "title_vi", "title_en", "duration_minutes"],
                        slug={"type": "string"},
                        kind={"type": "string", "enum": ["visit", "workshop"]},
                        title_vi={"type": "string"},
                        title_en={"type": "string"},
                        duration_minutes={"type": "integer"},
                        bookable={"type": "boolean"},
                        is_sample={"type": "boolean"},
                    ),
                ]
            },
            note_vi=_TEXT_OR_NULL,
            note_en=_TEXT_OR_NULL,
        ),
        "TourRouteDetail": {
            "allOf": [
                ref("TourRoute"),
                _obj(
                    ["summary_vi", "summary_en", "season_vi", "season_en", "photos", "stops"],
                    summary_vi=_TEXT_OR_NULL,
                    summary_en=_TEXT_OR_NULL,
                    season_vi=_TEXT_OR_NULL,
                    season_en=_TEXT_OR_NULL,
                    interests={"type": "array", "items": {"type": "string"}},
                    photos={"type": "array", "items": {"type": "object"}},
                    stops={"type": "array", "items": ref("TourRouteStop")},
                ),
            ]
        },
    }
)
add_paths(
    {
        "/api/v1/routes": {
            "get": {
                "tags": ["routes"],
                "summary": "Published tour routes, with their villages in order",
                "operationId": "listRoutes",
                "description": "Every published craft-village tour route curated by the city "
                "(real routes first, then by Vietnamese name; sample routes of the demo data "
                "have is_sample true). total is the targets' tour_routes figure. Unknown "
                "parameters and values are refused with 400.",
                "parameters": [
                    query_param(
                        "village", "Routes through this village (its slug)", {"type": "string"}
                    ),
                    query_param(
                        "interest",
                        "Routes serving this craft",
                        {"type": "string", "enum": list(CATEGORIES)},
                    ),
                    query_param(
                        "length", "Typical length", {"type": "string", "enum": list(LENGTHS)}
                    ),
                ],
                "responses": {
                    "200": json_response("The published routes", ref("TourRouteList")),
                    **error_responses(400),
                },
            }
        },
        "/api/v1/routes/{slug}": {
            "get": {
                "tags": ["routes"],
                "summary": "One published tour route with its stops in order",
                "operationId": "getRoute",
                "parameters": [path_param("slug", "The route's slug")],
                "responses": {
                    "200": json_response("The route", ref("TourRouteDetail")),
                    **error_responses(404),
                },
            }
        },
    }
)
add_tag("routes", "Craft-village tour routes curated by the city")


def _fill_villages(doc: dict[str, Any]) -> None:
    """The village filter takes one of the catalogue's village slugs (another value is 400
    invalid_filter): listed as an enum, like the catalogue's own village filters."""
    for param in doc["paths"]["/api/v1/routes"]["get"]["parameters"]:
        if param["name"] == "village":
            param["schema"]["enum"] = catalogue.village_slugs()


add_filler(_fill_villages)
