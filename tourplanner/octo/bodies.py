"""Request bodies of ``/octo`` read into plain values: the one place for their types and bounds.

Every body is bounded JSON (:func:`tourplanner.api.body.json_body`: size, depth, no NUL or lone
surrogate); an empty body is an empty object, so that POSTs without one (cancel, extend) and
GETs that send ``Content-Type: application/json`` with nothing work. A wrong type is
``BAD_REQUEST`` naming the field; ids that are missing are the id's own error (a missing
``productId`` is ``INVALID_PRODUCT_ID``), checked by the service. Unknown fields are ignored:
OCTO grows by capabilities, and a reseller may send fields of one we do not support.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flask import request

from tourplanner.api.body import json_body
from tourplanner.domain import inputs
from tourplanner.domain.errors import ValidationError
from tourplanner.domain.octo import (
    CONTACT_FIELDS,
    CURRENCY,
    AvailabilityQuery,
    Change,
    Confirmation,
    OctoError,
    Reservation,
    UnitItemInput,
    bad_request,
)
from tourplanner.domain.pricing import MAX_PER_CATEGORY

MAX_ID = 120
MAX_REFERENCE = 100
MAX_NOTES = 2000
MAX_UNITS = 3 * MAX_PER_CATEGORY
MAX_IDS = 100
MAX_LOCALES = 10
MAX_URL = 500
CONTACT_LENGTHS = {
    "fullName": inputs.MAX_NAME_CHARS,
    "firstName": inputs.MAX_NAME_CHARS,
    "lastName": inputs.MAX_NAME_CHARS,
    "phoneNumber": inputs.MAX_PHONE_CHARS,
    "postalCode": 20,
    "country": 100,
    "notes": MAX_NOTES,
}


def body() -> dict[str, Any]:
    """The request's JSON object (``{}`` when there is no body)."""
    if not request.get_data(cache=True).strip():
        return {}
    if not request.is_json:
        raise bad_request("send JSON (Content-Type: application/json)")
    try:
        data = json_body()
    except ValidationError as exc:
        raise bad_request(exc.message) from None
    if not isinstance(data, dict):
        raise bad_request("the body must be a JSON object")
    return data


def text(data: Mapping[str, Any], name: str, max_length: int = MAX_ID) -> str | None:
    """An optional string field (None when absent or null)."""
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > max_length:
        raise bad_request(f"{name} must be text of at most {max_length} characters")
    return inputs.strip_controls(value)


def raw_id(data: Mapping[str, Any], name: str) -> Any:
    """An id as sent (the service says INVALID_..._ID for a missing or wrong one)."""
    value = data.get(name)
    return value if isinstance(value, str) and len(value) <= MAX_ID else (value and str(value))


def whole(data: Mapping[str, Any], name: str, low: int, high: int) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise bad_request(f"{name} must be a whole number from {low} to {high}")
    return value


def day(data: Mapping[str, Any], name: str) -> date | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(f"{name} must be a date (YYYY-MM-DD)")
    try:
        return inputs.date_param(value, name)
    except ValidationError:
        raise bad_request(f"{name} must be a date (YYYY-MM-DD)") from None


def currency(data: Mapping[str, Any]) -> None:
    value = data.get("currency")
    if value is not None and value != CURRENCY:
        raise bad_request(f"prices are in {CURRENCY} only")


def contact(value: Any, name: str = "contact") -> dict[str, Any] | None:
    """A contact object, the fields OCTO names, bounded; None when absent."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise bad_request(f"{name} must be an object")
    found: dict[str, Any] = {}
    for field in CONTACT_FIELDS:
        if field not in value:
            continue
        if field == "locales":
            found[field] = _locales(value[field], f"{name}.locales")
        elif field == "emailAddress":
            found[field] = _email(value[field], f"{name}.emailAddress")
        else:
            found[field] = text(value, field, CONTACT_LENGTHS[field])
    return found


def _locales(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_LOCALES:
        raise bad_request(f"{name} must be a list of at most {MAX_LOCALES} language tags")
    if not all(isinstance(v, str) and 0 < len(v) <= 35 for v in value):
        raise bad_request(f"{name} must list language tags such as en or vi-VN")
    return list(value)


def _email(value: Any, name: str) -> str | None:
    if value is None or value == "":
        return None
    try:
        return inputs.email_address(value, name)
    except ValidationError as exc:
        raise bad_request(exc.message) from None


def unit_items(
    data: Mapping[str, Any], name: str = "unitItems"
) -> tuple[UnitItemInput, ...] | None:
    """``[{"unitId", "uuid"?, "resellerReference"?, "contact"?}]``; None when absent."""
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > MAX_UNITS:
        raise bad_request(f"{name} must be a list of at most {MAX_UNITS} unit items")
    items = []
    for n, item in enumerate(value):
        where = f"{name}[{n}]"
        if not isinstance(item, Mapping):
            raise bad_request(f"{where} must be an object")
        unit_id = item.get("unitId")
        if not isinstance(unit_id, str) or not 0 < len(unit_id) <= MAX_ID:
            raise OctoError(
                "INVALID_UNIT_ID", "The unitId was missing or invalid", unitId=str(unit_id or "")
            )
        items.append(
            UnitItemInput(
                unit_id=unit_id,
                uuid=text(item, "uuid", 40),
                reseller_reference=text(item, "resellerReference", MAX_REFERENCE),
                contact=contact(item.get("contact"), f"{where}.contact"),
            )
        )
    return tuple(items)


def _availability_units(data: Mapping[str, Any]) -> tuple[UnitItemInput, ...]:
    """``units: [{"id": "adult", "quantity": 2}]`` as one item per person."""
    value = data.get("units")
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_UNITS:
        raise bad_request("units must be a list of {id, quantity}")
    items: list[UnitItemInput] = []
    for entry in value:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str):
            raise bad_request("units must be a list of {id, quantity}")
        quantity = whole(entry, "quantity", 0, MAX_PER_CATEGORY) or 0
        items += [UnitItemInput(entry["id"][:MAX_ID])] * quantity
    if len(items) > MAX_UNITS:
        raise bad_request(f"ask for at most {MAX_UNITS} units")
    return tuple(items)


def availability_query(data: Mapping[str, Any]) -> AvailabilityQuery:
    """``POST /availability`` and ``/availability/calendar``."""
    currency(data)
    ids = data.get("availabilityIds")
    if ids is not None and (
        not isinstance(ids, list)
        or len(ids) > MAX_IDS
        or not all(isinstance(i, str) and len(i) <= 40 for i in ids)
    ):
        raise bad_request(f"availabilityIds must list at most {MAX_IDS} availability ids")
    start, end = day(data, "localDateStart"), day(data, "localDateEnd")
    single = day(data, "localDate")
    if single is not None:
        if start is not None or end is not None:
            raise bad_request("send localDate or localDateStart/localDateEnd, not both")
        start = end = single
    return AvailabilityQuery(
        product_id=raw_id(data, "productId"),
        option_id=raw_id(data, "optionId"),
        start=start,
        end=end,
        availability_ids=tuple(ids) if ids is not None else None,
        units=_availability_units(data),
    )


def reservation(data: Mapping[str, Any]) -> Reservation:
    """``POST /bookings``."""
    currency(data)
    return Reservation(
        product_id=raw_id(data, "productId"),
        option_id=raw_id(data, "optionId"),
        availability_id=raw_id(data, "availabilityId"),
        unit_items=unit_items(data),
        uuid=text(data, "uuid", 40),
        expiration_minutes=whole(data, "expirationMinutes", 1, 24 * 60),
        notes=text(data, "notes", MAX_NOTES),
        reseller_reference=text(data, "resellerReference", MAX_REFERENCE),
        contact=contact(data.get("contact")),
    )


def confirmation(data: Mapping[str, Any]) -> Confirmation:
    """``POST /bookings/{uuid}/confirm``."""
    return Confirmation(
        contact=contact(data.get("contact")),
        reseller_reference=text(data, "resellerReference", MAX_REFERENCE),
        unit_items=unit_items(data),
    )


def change(data: Mapping[str, Any]) -> Change:
    """``PATCH /bookings/{uuid}``."""
    return Change(
        product_id=raw_id(data, "productId"),
        option_id=raw_id(data, "optionId"),
        availability_id=raw_id(data, "availabilityId"),
        unit_items=unit_items(data),
        expiration_minutes=whole(data, "expirationMinutes", 1, 24 * 60),
        notes=text(data, "notes", MAX_NOTES),
        reseller_reference=text(data, "resellerReference", MAX_REFERENCE),
        contact=contact(data.get("contact")),
    )


def reason(data: Mapping[str, Any]) -> str | None:
    """``POST /bookings/{uuid}/cancel``: the optional ``reason``."""
    return text(data, "reason", 1000)


def expiration(data: Mapping[str, Any]) -> int | None:
    return whole(data, "expirationMinutes", 1, 24 * 60)


def webhook(data: Mapping[str, Any]) -> tuple[str, str]:
    """``POST /webhooks``: ``url`` and ``event``."""
    url, event = text(data, "url", MAX_URL), text(data, "event", 40)
    if not url:
        raise bad_request("url is required")
    return url, event or "booking_update"
