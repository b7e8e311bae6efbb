"""Availability and booking endpoints: slots with remaining capacity, bookings, cancellation.

Views translate HTTP to one service call; the services own validation and transactions.
JSON endpoints are exempt from the session CSRF check: they carry no session authority (a
booking is managed with its signed token, not a cookie).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response, jsonify, request

from tourplanner.api import bp
from tourplanner.api.body import json_body
from tourplanner.api.openapi import (
    BEARER,
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
from tourplanner.domain.availability import local_today
from tourplanner.domain.errors import ValidationError
from tourplanner.extensions import csrf
from tourplanner.security.limits import client_ip, limit, limiter, rate_limits_off
from tourplanner.services import availability, booking, booking_request, package_booking
from tourplanner.services.notifications import public_url

LANGS = ("vi", "en")

MAX_KEY_LENGTH = 200


def _date_arg(name: str, default: date) -> date:
    value = request.args.get(name)
    if value is None:
        return default
    return inputs.date_param(value, name)


@bp.get("/experiences/<int(max=2147483647):experience_id>/availability")
def experience_availability(experience_id: int):
    unknown = set(request.args) - {"from", "to", "lang"}
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationError(
            f"unknown parameter '{name}'", code="invalid_parameter", field=name, parameter=name
        )
    lang = request.args.get("lang")
    if lang is not None and lang not in LANGS:
        raise ValidationError(
            "'lang' must be vi or en", code="invalid_parameter", field="lang", parameter="lang"
        )
    now = availability.now_utc()
    first = _date_arg("from", local_today(now))
    last = _date_arg("to", first)
    slots = availability.slots_between(experience_id, first, last, now=now)
    return jsonify(
        {
            "experience_id": experience_id,
            "from": first.isoformat(),
            "to": last.isoformat(),
            "slots": [s.as_dict() for s in slots],
        }
    )


def _public(view: dict[str, Any]) -> dict[str, Any]:
    """The booking as the API shows it: the token becomes the management link.

    Links are built from PUBLIC_BASE_URL, never from the request's Host header: a forged Host
    must not put another site's address into a link that carries the booking's token.
    """
    token = view.pop("manage_token")
    reference = view["reference"]
    return {
        **view,
        "manage_url": public_url(
            "web.booking_manage", reference=reference, token=token, lang=view["lang"]
        ),
        "cancel_url": public_url("api.booking_cancel", reference=reference, token=token),
    }


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key", "").strip() or None
    if key is None:
        return None
    if len(key) > MAX_KEY_LENGTH or not all(" " <= c <= "~" for c in key):
        raise ValidationError(
            f"Idempotency-Key is at most {MAX_KEY_LENGTH} printable characters",
            code="invalid_idempotency_key",
            field="Idempotency-Key",
        )
    return key


def _agency_id() -> int | None:
    """The agency behind an ``Authorization: Bearer`` API key, if one is sent (optional here:
    without one the booking is a public one). A bad key is 401, never a public booking."""
    if "Authorization" not in request.headers:
        return None
    from tourplanner.api.auth import current_api_key

    return current_api_key().agency_id


@bp.post("/bookings")
@limiter.limit(lambda: limit("RATE_LIMIT_BOOKINGS"), exempt_when=rate_limits_off)
@csrf.exempt
def booking_create():
    key = _idempotency_key()
    agency_id = _agency_id()
    parsed = booking_request.parse_request(json_body())
    if isinstance(parsed, booking_request.PackageRequest):
        view, replayed = package_booking.book_package(
            parsed.slug,
            parsed.first_date,
            parsed.party,
            parsed.contact,
            lang=parsed.lang,
            agency_id=agency_id,
            idempotency_key=key,
            client_ip=client_ip(),
        )
    else:
        view, replayed = booking.create_booking(parsed, idempotency_key=key, client_ip=client_ip())
    response: Response = jsonify(_public(view))
    response.status_code = 201
    response.headers["Location"] = public_url("api.booking_detail", reference=view["reference"])
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
DATE_PARAM = {**DATE, "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
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
                "A visit (not bookable) has no slots. 400 (not expressible in the schema): "
                "`from` and `to` must lie inside the booking horizon, today (in Hanoi) to "
                "BOOKING_HORIZON_DAYS (366) days ahead (outside_horizon); `to` must not be "
                "before `from` and the window is at most AVAILABILITY_MAX_DAYS (62) days "
                "(invalid_range).",
                "operationId": "getAvailability",
                "parameters": [
                    path_param("experience_id", "Experience id", integer(0)),
                    query_param("from", "First day (default: today in Hanoi)", DATE_PARAM),
                    query_param("to", "Last day, inclusive (default: from)", DATE_PARAM),
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
PARTY = party_schema()
PARTY_OUT = {
    "type": "object",
    "properties": {name: {"type": "integer"} for name in ("adults", "children", "seniors")},
}
CONTACT = {
    "type": "object",
    "required": ["name", "email"],
    "description": "Control characters are stripped from name and phone. The e-mail address "
    "is checked (one address, IDNA domain; not its deliverability): 400 invalid_contact.",
    "properties": {
        "name": text(inputs.MAX_NAME_CHARS, visible=True),
        "email": {
            "type": "string",
            "format": "email",
            "maxLength": inputs.MAX_EMAIL_CHARS,
            "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*$",
        },
        "phone": text(inputs.MAX_PHONE_CHARS, nullable=True),
    },
    "additionalProperties": False,
}
CONTACT_OUT = {
    "type": "object",
    "required": ["name", "email"],
    "properties": {"name": {"type": "string"}, "email": {"type": "string"}, "phone": NULLABLE_STR},
}


def _obj(required: list[str], **props: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props}


def _closed(required: list[str], **props: Any) -> dict[str, Any]:
    """A request object: unknown fields are refused (400 unknown_field)."""
    return {**_obj(required, **props), "additionalProperties": False}


add_schemas(
    {
        "BookingRequest": {
            "oneOf": [
                _closed(
                    ["items", "contact"],
                    items={
                        "type": "array",
                        "minItems": 1,
                        "maxItems": booking_request.MAX_ITEMS,
                        "description": "Each slot at most once (400 duplicate_slot)",
                        "items": _closed(["slot_id", "party"], slot_id=integer(1), party=PARTY),
                    },
                    contact=CONTACT,
                    lang={"type": ["string", "null"], "enum": [*LANGS, None]},
                ),
                _closed(
                    ["plan_id", "contact"],
                    plan_id={
                        "type": "string",
                        "minLength": 1,
                        "maxLength": booking_request.MAX_PLAN_ID,
                        "pattern": inputs.NO_NUL_PATTERN,
                    },
                    itinerary=integer(0, default=0),
                    contact=CONTACT,
                    lang={"type": ["string", "null"], "enum": [*LANGS, None]},
                ),
                _closed(
                    ["package", "date", "party", "contact"],
                    package={
                        "type": "string",
                        "minLength": 1,
                        "maxLength": booking_request.MAX_SLUG,
                        "pattern": inputs.NO_NUL_PATTERN,
                        "description": "A published package's slug (with an agency's API "
                        "key: any of its own packages, drafts too)",
                    },
                    date={**DATE_PARAM, "description": "The package's first day"},
                    party=PARTY,
                    contact=CONTACT,
                    lang={"type": ["string", "null"], "enum": [*LANGS, None]},
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
            party=PARTY_OUT,
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
            contact=CONTACT_OUT,
            created_at=DATETIME,
            plan_id=NULLABLE_STR,
            itinerary=NULLABLE_INT,
            source={"type": "string", "enum": ["site", "agency", "octo"]},
            package=NULLABLE_STR,
            package_date={"type": ["string", "null"], "format": "date"},
            manage_url={"type": "string", "description": "Signed page to view or cancel"},
            cancel_url={"type": "string", "description": "Signed API link to cancel (POST)"},
        ),
    }
)
REFERENCE = path_param("reference", "Booking reference, e.g. TP-7K3Q9M")
# No NUL in either: the request check refuses it in any path or query (400 invalid_text).
TOKEN = query_param(
    "token",
    "The signed token from manage_url",
    {"type": "string", "pattern": inputs.NO_NUL_PATTERN},
)
REFERENCE["schema"] = {"type": "string", "maxLength": 64, "pattern": inputs.NO_NUL_PATTERN}
add_paths(
    {
        "/api/v1/bookings": {
            "post": {
                "tags": ["bookings"],
                "summary": "Hold one slot, a whole planned itinerary or a package on a date",
                "description": "Every item is reserved or none is: a package books every "
                "workshop of every day (the session at each stop's planned start) in one "
                "booking whose total is the package's retail price; 409 package_not_runnable "
                "lists why it cannot run that date, 404 package_not_found an unknown or "
                "unpublished package. With an agency's API key (Authorization: Bearer, "
                "optional) the booking is the agency's and its own drafts can be booked; a "
                "key sent but unknown or revoked is 401, a suspended agency's 403. "
                "The hold waits for each "
                "village's answer (pending → confirmed / declined / expired). A retried request "
                "with the same Idempotency-Key returns the same booking and reserves "
                "nothing twice. 409 slot_full names the slot (a package's item by its "
                "label, details.item) and what remains; 409 "
                "booking_closed a slot inside the booking cut-off or in the past; 409 "
                "too_many_held_places when the contact (HOLD_PLACES_PER_CONTACT) or the "
                "client address (HOLD_PLACES_PER_IP) would hold more places; 422 "
                "nothing_to_book an itinerary without bookable stops, price_unavailable a "
                "party the slot has no price for. 400 (not expressible in the schema): a slot "
                "listed twice (duplicate_slot), an itinerary index the plan does not have "
                "(invalid_itinerary), an e-mail address email-validator refuses "
                "(invalid_contact). Rate-limited per client address (RATE_LIMIT_BOOKINGS).",
                "operationId": "createBooking",
                # Optional: anyone may book; an agency's key makes the booking the agency's.
                "security": [{}, *BEARER],
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "description": "Printable characters; a retry with the same key and body "
                        "returns the first answer",
                        "schema": {
                            "type": "string",
                            "maxLength": MAX_KEY_LENGTH,
                            "pattern": "^[\\u0020-\\u007e]*$",
                        },
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("BookingRequest")}},
                },
                "responses": {
                    "201": {
                        **json_response("The booking, pending", ref("Booking")),
                        "headers": {
                            "Location": {
                                "description": "The booking's API resource",
                                "schema": {"type": "string"},
                            }
                        },
                    },
                    **error_responses(400, 401, 403, 404, 409, 413, 422, 429),
                },
            }
        },
        "/api/v1/bookings/{reference}": {
            "get": {
                "tags": ["bookings"],
                "summary": "A booking, through its signed link",
                "description": "403 for a wrong, replaced or expired token, and for an unknown "
                "reference (the answer does not tell which references exist).",
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
