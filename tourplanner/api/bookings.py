"""Availability and booking endpoints: slots with remaining capacity, bookings, cancellation.

Views translate HTTP to one service call; the services own validation and transactions.
JSON endpoints are exempt from the session CSRF check: they carry no session authority (a
booking is managed with its signed token, not a cookie).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response, jsonify, request, url_for

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
from tourplanner.extensions import csrf
from tourplanner.services import availability, booking, booking_request

MAX_KEY_LENGTH = 200


def _date_arg(name: str, default: date) -> date:
    value = request.args.get(name)
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            f"'{name}' must be a date like 2026-12-01",
            code="invalid_parameter",
            parameter=name,
            value=value,
        ) from None


@bp.get("/experiences/<int:experience_id>/availability")
def experience_availability(experience_id: int):
    unknown = set(request.args) - {"from", "to", "lang"}
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationError(
            f"unknown parameter '{name}'", code="invalid_parameter", parameter=name
        )
    today = local_today(availability.now_utc())
    first = _date_arg("from", today)
    last = _date_arg("to", first)
    slots = availability.slots_between(experience_id, first, last)
    return jsonify(
        {
            "experience_id": experience_id,
            "from": first.isoformat(),
            "to": last.isoformat(),
            "slots": [s.as_dict() for s in slots],
        }
    )


def _public(view: dict[str, Any]) -> dict[str, Any]:
    """The booking as the API shows it: the token becomes the management link."""
    token = view.pop("manage_token")
    reference = view["reference"]
    return {
        **view,
        "manage_url": url_for(
            "web.booking_manage",
            reference=reference,
            token=token,
            lang=view["lang"],
            _external=True,
        ),
        "cancel_url": url_for(
            "api.booking_cancel", reference=reference, token=token, _external=True
        ),
    }


@bp.post("/bookings")
@csrf.exempt
def booking_create():
    key = request.headers.get("Idempotency-Key", "").strip() or None
    if key and len(key) > MAX_KEY_LENGTH:
        raise ValidationError(
            f"Idempotency-Key is at most {MAX_KEY_LENGTH} characters",
            code="invalid_idempotency_key",
        )
    parsed = booking_request.parse_request(request.get_json(silent=True))
    view, replayed = booking.create_booking(parsed, idempotency_key=key)
    response: Response = jsonify(_public(view))
    response.status_code = 201
    response.headers["Location"] = url_for("api.booking_detail", reference=view["reference"])
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.get("/bookings/<reference>")
def booking_detail(reference: str):
    return jsonify(_public(booking.get_for_tourist(reference, request.args.get("token"))))


@bp.post("/bookings/<reference>/cancel")
@csrf.exempt
def booking_cancel(reference: str):
    return jsonify(_public(booking.cancel(reference, request.args.get("token"))))


# --- OpenAPI description -------------------------------------------------------------------

DATE = {"type": "string", "format": "date"}
DATETIME = {"type": "string", "format": "date-time"}

add_schemas(
    {
        "Slot": {
            "type": "object",
            "required": ["id", "experience_id", "start", "end", "capacity", "remaining"],
            "properties": {
                "id": {"type": "integer"},
                "experience_id": {"type": "integer"},
                "start": DATETIME,
                "end": DATETIME,
                "capacity": {"type": "integer"},
                "remaining": {"type": "integer", "minimum": 0},
            },
        },
        "Availability": {
            "type": "object",
            "required": ["experience_id", "from", "to", "slots"],
            "properties": {
                "experience_id": {"type": "integer"},
                "from": DATE,
                "to": DATE,
                "slots": {"type": "array", "items": ref("Slot")},
            },
        },
    }
)
add_tag("bookings", "Availability, bookings and their management links")
add_paths(
    {
        "/api/v1/experiences/{experience_id}/availability": {
            "get": {
                "tags": ["bookings"],
                "summary": "Bookable slots with their remaining capacity",
                "description": "Slots from the weekly schedule and the village's extra sessions, "
                "without closed dates and without slots inside the booking cut-off. "
                "A visit (not bookable) has no slots. At most 62 days per request.",
                "operationId": "getAvailability",
                "parameters": [
                    path_param("experience_id", "Experience id", {"type": "integer"}),
                    query_param("from", "First day (default: today in Hanoi)", DATE),
                    query_param("to", "Last day, inclusive (default: from)", DATE),
                    query_param(
                        "lang",
                        "Language of messages (vi or en)",
                        {"type": "string", "enum": ["vi", "en"]},
                    ),
                ],
                "responses": {
                    "200": json_response("Slots in start order", ref("Availability")),
                    **error_responses(400, 404),
                },
            }
        },
    }
)

NULLABLE_STR = {"type": ["string", "null"]}
NULLABLE_INT = {"type": ["integer", "null"]}
STATE = {
    "type": "string",
    "enum": ["pending", "confirmed", "declined", "expired", "cancelled", "completed", "no_show"],
}
PARTY = {
    "type": "object",
    "properties": {
        "adults": {"type": "integer", "minimum": 0},
        "children": {"type": "integer", "minimum": 0},
        "seniors": {"type": "integer", "minimum": 0},
    },
    "additionalProperties": False,
}
CONTACT = {
    "type": "object",
    "required": ["name", "email"],
    "properties": {
        "name": {"type": "string"},
        "email": {"type": "string", "format": "email"},
        "phone": NULLABLE_STR,
    },
}


def _obj(required: list[str], **props: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props}


add_schemas(
    {
        "BookingRequest": {
            "oneOf": [
                _obj(
                    ["items", "contact"],
                    items={
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 10,
                        "items": _obj(
                            ["slot_id", "party"], slot_id={"type": "integer"}, party=PARTY
                        ),
                    },
                    contact=CONTACT,
                    lang={"type": "string", "enum": ["vi", "en"]},
                ),
                _obj(
                    ["plan_id", "contact"],
                    plan_id={"type": "string"},
                    itinerary={"type": "integer", "minimum": 0, "default": 0},
                    contact=CONTACT,
                    lang={"type": "string", "enum": ["vi", "en"]},
                ),
            ]
        },
        "BookingItem": _obj(
            ["id", "slot_id", "experience_id", "start", "end", "party", "total_vnd", "status"],
            id={"type": "integer"},
            slot_id={"type": "integer"},
            experience_id={"type": "integer"},
            experience=_obj(
                ["slug", "title_vi", "title_en"],
                slug={"type": "string"},
                title_vi={"type": "string"},
                title_en={"type": "string"},
                sample={"type": "boolean"},
            ),
            village=_obj(
                ["slug"],
                slug={"type": "string"},
                name_vi={"type": "string"},
                name_en={"type": "string"},
            ),
            start=DATETIME,
            end=DATETIME,
            party=PARTY,
            prices_vnd=_obj([], adult=NULLABLE_INT, child=NULLABLE_INT, senior=NULLABLE_INT),
            total_vnd={"type": "integer"},
            status=STATE,
            hold_expires_at=DATETIME,
            free_cancellation_until=DATETIME,
            decision_reason=NULLABLE_STR,
            cancellation_fee_vnd=NULLABLE_INT,
        ),
        "Booking": _obj(
            ["reference", "status", "items", "total_vnd", "manage_url"],
            reference={"type": "string", "examples": ["TP-7K3Q9M"]},
            status=STATE,
            items={"type": "array", "items": ref("BookingItem")},
            total_vnd={"type": "integer"},
            lang={"type": "string"},
            contact=CONTACT,
            created_at=DATETIME,
            plan_id=NULLABLE_STR,
            itinerary=NULLABLE_INT,
            manage_url={"type": "string", "description": "Signed page to view or cancel"},
            cancel_url={"type": "string", "description": "Signed API link to cancel (POST)"},
        ),
    }
)
REFERENCE = path_param("reference", "Booking reference, e.g. TP-7K3Q9M")
TOKEN = query_param("token", "The signed token from manage_url", {"type": "string"})
add_paths(
    {
        "/api/v1/bookings": {
            "post": {
                "tags": ["bookings"],
                "summary": "Hold one slot or a whole planned itinerary",
                "description": "Every item is reserved or none is. The hold waits for each "
                "village's answer (pending → confirmed / declined / expired). A retried request "
                "with the same Idempotency-Key returns the same booking and reserves "
                "nothing twice. 409 slot_full names the slot and what remains; 409 "
                "booking_closed a slot inside the booking cut-off or in the past; 422 "
                "nothing_to_book an itinerary without bookable stops.",
                "operationId": "createBooking",
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("BookingRequest")}},
                },
                "responses": {
                    "201": json_response("The booking, pending", ref("Booking")),
                    **error_responses(400, 404, 409, 422),
                },
            }
        },
        "/api/v1/bookings/{reference}": {
            "get": {
                "tags": ["bookings"],
                "summary": "A booking, through its signed link",
                "operationId": "getBooking",
                "parameters": [REFERENCE, TOKEN],
                "responses": {
                    "200": json_response("The booking", ref("Booking")),
                    **error_responses(403, 404),
                },
            }
        },
        "/api/v1/bookings/{reference}/cancel": {
            "post": {
                "tags": ["bookings"],
                "summary": "Cancel a confirmed booking, through its signed link",
                "description": "Free until the experience's free-cancellation hours before the "
                "start; later the item's price is recorded as the cancellation fee. "
                "409 invalid_transition names the current state.",
                "operationId": "cancelBooking",
                "parameters": [REFERENCE, TOKEN],
                "responses": {
                    "200": json_response("The cancelled booking", ref("Booking")),
                    **error_responses(403, 404, 409),
                },
            }
        },
    }
)
