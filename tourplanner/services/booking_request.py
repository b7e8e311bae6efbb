"""The booking request: the JSON body of ``POST /api/v1/bookings`` validated into plain values.

Explicit ``items`` (slot and party each), a saved plan's itinerary, or a package on a date for
a party; the contact the villages will answer. Everything the booking services need arrives
through ``parse_request`` (a :class:`BookingRequest` or a :class:`PackageRequest`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from tourplanner.adapters.orm import Plan
from tourplanner.domain import inputs
from tourplanner.domain.errors import NotFound, Unprocessable, ValidationError
from tourplanner.domain.pricing import Party
from tourplanner.extensions import db

MAX_ITEMS = 10


@dataclass(frozen=True)
class ItemRequest:
    slot_id: int
    party: Party


@dataclass(frozen=True)
class BookingRequest:
    items: tuple[ItemRequest, ...]
    contact: dict[str, str | None]
    lang: str
    plan_id: str | None = None
    itinerary: int | None = None

    def fingerprint(self) -> str:
        data = {
            "items": [[i.slot_id, i.party.as_dict()] for i in self.items],
            "contact": self.contact,
            "lang": self.lang,
            "plan": [self.plan_id, self.itinerary],
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class PackageRequest:
    """A package for a party, starting on ``first_date``; the slots are the package's own."""

    slug: str
    first_date: date
    party: Party
    contact: dict[str, str | None]
    lang: str
    client_id: int | None = None
    notes: str | None = None

    def fingerprint(self, agency_id: int | None = None) -> str:
        """The request as asked (not the slots it resolves to), so that a retry replays the
        booking even once the package has filled up."""
        data = {
            "package": self.slug,
            "date": self.first_date.isoformat(),
            "party": self.party.as_dict(),
            "contact": self.contact,
            "lang": self.lang,
            "agency": agency_id,
            "client": self.client_id,
            "notes": self.notes,
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


ITEMS_FIELDS = ("items", "contact", "lang")
PACKAGE_FIELDS = ("package", "date", "party", "contact", "lang")
MAX_SLUG = 120
MAX_NOTES = 2000
PLAN_FIELDS = ("plan_id", "itinerary", "contact", "lang")
CONTACT_FIELDS = ("name", "email", "phone")
MAX_PLAN_ID = 32


def parse_request(data: Any) -> BookingRequest | PackageRequest:
    """Validate the JSON body of ``POST /api/v1/bookings`` (items, a saved plan or a package).

    Unknown fields are refused (the OpenAPI schema says ``additionalProperties: false``), every
    number is bounded and the contact is cleaned (:mod:`tourplanner.domain.inputs`).
    """
    if not isinstance(data, Mapping):
        raise ValidationError("send a JSON object", code="invalid_body", field="body")
    if "plan_id" in data:
        allowed = PLAN_FIELDS
    elif "package" in data:
        allowed = PACKAGE_FIELDS
    else:
        allowed = ITEMS_FIELDS
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationError(
            f"unknown field {unknown[0]!r}",
            code="unknown_field",
            field=unknown[0],
            allowed=list(allowed),
        )
    contact = _contact(data.get("contact"))
    lang = data.get("lang")
    if lang is not None and lang not in ("vi", "en"):
        raise ValidationError("'lang' must be vi or en", code="invalid_lang", field="lang")
    if "plan_id" in data:
        return _from_plan(data, contact, lang)
    if "package" in data:
        return PackageRequest(
            package_slug(data["package"]),
            first_date(data.get("date")),
            _party(data.get("party"), "party"),
            contact,
            lang or "vi",
        )
    if "items" not in data:
        raise ValidationError("send 'items' or 'plan_id'", code="missing_items", field="items")
    return BookingRequest(_items(data["items"]), contact, lang or "vi")


def package_slug(value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_SLUG or "\x00" in value:
        raise ValidationError(
            f"'package' must be a package slug (1 to {MAX_SLUG} characters)",
            code="invalid_package",
            field="package",
        )
    return value


def first_date(value: Any) -> date:
    """The package's first date, YYYY-MM-DD (the horizon is checked by the package's plan)."""
    if not isinstance(value, str):
        raise ValidationError("'date' must be YYYY-MM-DD", code="invalid_date", field="date")
    return inputs.date_param(value, "date")


def party(value: Any, where: str = "party") -> Party:
    """A party object (``{"adults": 2, "children": 1}``) or 400 ``invalid_party``."""
    return _party(value, where)


def contact(value: Any) -> dict[str, str | None]:
    """A contact object (name, e-mail, optional phone), cleaned, or 400 ``invalid_contact``."""
    return _contact(value)


def notes(value: Any) -> str | None:
    """Free notes for the villages (bounded, control characters stripped), or None."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_NOTES:
        raise ValidationError(
            f"'notes' must be text of at most {MAX_NOTES} characters",
            code="invalid_notes",
            field="notes",
        )
    inputs.check_text(value, "notes")
    return inputs.free_text(value, max_length=MAX_NOTES) or None


def _contact(value: Any) -> dict[str, str | None]:
    if not isinstance(value, Mapping):
        raise ValidationError(
            "'contact' needs name and email", code="invalid_contact", field="contact"
        )
    unknown = sorted(set(value) - set(CONTACT_FIELDS))
    if unknown:
        raise ValidationError(
            f"unknown field contact.{unknown[0]}",
            code="invalid_contact",
            field=f"contact.{unknown[0]}",
        )
    # Control characters are stripped: the name goes into e-mail and SMS text to villages.
    name = inputs.clean_text(
        value.get("name"),
        "contact.name",
        max_length=inputs.MAX_NAME_CHARS,
        min_length=1,
        code="invalid_contact",
    )
    email = inputs.email_address(value.get("email"), "contact.email")
    phone = value.get("phone")
    if phone is not None:
        phone = inputs.clean_text(
            phone, "contact.phone", max_length=inputs.MAX_PHONE_CHARS, code="invalid_contact"
        )
    return {"name": name, "email": email, "phone": phone or None}


def _party(value: Any, where: str) -> Party:
    if not isinstance(value, Mapping):
        raise ValidationError(
            f'{where} must be an object like {{"adults": 2}}', code="invalid_party", field=where
        )
    try:
        return Party.from_mapping(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{where}: {exc}", code="invalid_party", field=where) from None


def _items(value: Any) -> tuple[ItemRequest, ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_ITEMS:
        raise ValidationError(
            f"'items' must list 1 to {MAX_ITEMS} slots", code="invalid_items", field="items"
        )
    items = []
    for n, item in enumerate(value):
        where = f"items[{n}]"
        if not isinstance(item, Mapping):
            raise ValidationError(f"{where} must be an object", code="invalid_items", field=where)
        unknown = sorted(set(item) - {"slot_id", "party"})
        if unknown:
            raise ValidationError(
                f"unknown field {where}.{unknown[0]}",
                code="invalid_items",
                field=f"{where}.{unknown[0]}",
            )
        slot_id = inputs.bounded_int(
            item.get("slot_id"), f"{where}.slot_id", low=1, code="invalid_items"
        )
        items.append(ItemRequest(slot_id, _party(item.get("party"), f"{where}.party")))
    if len({i.slot_id for i in items}) != len(items):
        raise ValidationError("each slot may appear once", code="duplicate_slot", field="items")
    return tuple(items)


def _from_plan(data: Mapping, contact: dict, lang: str | None) -> BookingRequest:
    plan_id = data["plan_id"]
    if not isinstance(plan_id, str) or not 1 <= len(plan_id) <= MAX_PLAN_ID:
        raise ValidationError(
            f"'plan_id' must be a plan id (1 to {MAX_PLAN_ID} characters)",
            code="invalid_plan_id",
            field="plan_id",
        )
    index = inputs.bounded_int(data.get("itinerary", 0), "itinerary", code="invalid_itinerary")
    plan = db.session.get(Plan, plan_id)
    if plan is None:
        raise NotFound("no such plan", code="plan_not_found", plan_id=plan_id)
    itineraries = (plan.result or {}).get("itineraries") or []
    if not 0 <= index < len(itineraries):
        raise ValidationError(
            f"'itinerary' must be 0 to {len(itineraries) - 1}",
            code="invalid_itinerary",
            field="itinerary",
        )
    slot_ids = [s["slot_id"] for s in itineraries[index].get("stops", []) if s.get("slot_id")]
    if not slot_ids:
        raise Unprocessable(
            "this itinerary has no bookable stop (only visits)",
            code="nothing_to_book",
            plan_id=plan.id,
            itinerary=index,
        )
    party = _party((plan.request or {}).get("party"), "plan.party")
    items = tuple(ItemRequest(int(s), party) for s in dict.fromkeys(slot_ids))
    return BookingRequest(
        items,
        contact,
        lang or (plan.request or {}).get("lang") or "vi",
        plan_id=plan.id,
        itinerary=index,
    )
