"""Availability and booking endpoints: slots with remaining capacity, bookings, cancellation.

Views translate HTTP to one service call; the services own validation and transactions.
JSON endpoints are exempt from the session CSRF check: they carry no session authority (a
booking is managed with its signed token, not a cookie).
"""

from __future__ import annotations

from datetime import date

from flask import jsonify, request

from tourplanner.api import bp
from tourplanner.api.openapi import (
    add_paths,
    add_schemas,
    add_tag,
    error_responses,
    json_response,
    path_param,
    query_param,
    ref,
)
from tourplanner.domain.availability import local_today
from tourplanner.domain.errors import ValidationError
from tourplanner.services import availability


def _date_arg(name: str, default: date) -> date:
    value = request.args.get(name)
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"'{name}' must be a date like 2026-12-01",
                              code="invalid_parameter", parameter=name, value=value) from None


@bp.get("/experiences/<int:experience_id>/availability")
def experience_availability(experience_id: int):
    unknown = set(request.args) - {"from", "to", "lang"}
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationError(f"unknown parameter '{name}'", code="invalid_parameter",
                              parameter=name)
    today = local_today(availability.now_utc())
    first = _date_arg("from", today)
    last = _date_arg("to", first)
    slots = availability.slots_between(experience_id, first, last)
    return jsonify({"experience_id": experience_id, "from": first.isoformat(),
                    "to": last.isoformat(), "slots": [s.as_dict() for s in slots]})


# --- OpenAPI description -------------------------------------------------------------------

DATE = {"type": "string", "format": "date"}
DATETIME = {"type": "string", "format": "date-time"}

add_schemas({
    "Slot": {"type": "object",
             "required": ["id", "experience_id", "start", "end", "capacity", "remaining"],
             "properties": {"id": {"type": "integer"}, "experience_id": {"type": "integer"},
                            "start": DATETIME, "end": DATETIME,
                            "capacity": {"type": "integer"},
                            "remaining": {"type": "integer", "minimum": 0}}},
    "Availability": {"type": "object", "required": ["experience_id", "from", "to", "slots"],
                     "properties": {"experience_id": {"type": "integer"}, "from": DATE,
                                    "to": DATE,
                                    "slots": {"type": "array", "items": ref("Slot")}}},
})
add_tag("bookings", "Availability, bookings and their management links")
add_paths({
    "/api/v1/experiences/{experience_id}/availability": {"get": {
        "tags": ["bookings"], "summary": "Bookable slots with their remaining capacity",
        "description": "Slots from the weekly schedule and the village's extra sessions, "
                       "without closed dates and without slots inside the booking cut-off. "
                       "A visit (not bookable) has no slots. At most 62 days per request.",
        "operationId": "getAvailability",
        "parameters": [
            path_param("experience_id", "Experience id", {"type": "integer"}),
            query_param("from", "First day (default: today in Hanoi)", DATE),
            query_param("to", "Last day, inclusive (default: from)", DATE),
            query_param("lang", "Language of messages (vi or en)",
                        {"type": "string", "enum": ["vi", "en"]}),
        ],
        "responses": {"200": json_response("Slots in start order", ref("Availability")),
                      **error_responses(400, 404)},
    }},
})
