"""The booking request: the JSON body of ``POST /api/v1/bookings`` validated into plain values.

Either explicit ``items`` (slot and party each) or a saved plan's itinerary; the contact the
villages will answer. Everything the booking service needs arrives through ``parse_request``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tourplanner.adapters.orm import Plan
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


def parse_request(data: Any) -> BookingRequest:
    """Validate the JSON body of ``POST /api/v1/bookings`` (items or a saved plan)."""
    if not isinstance(data, Mapping):
        raise ValidationError("send a JSON object", code="invalid_body")
    contact = _contact(data.get("contact"))
    lang = data.get("lang")
    if lang is not None and lang not in ("vi", "en"):
        raise ValidationError("'lang' must be vi or en", code="invalid_lang", field="lang")
    if "plan_id" in data:
        return _from_plan(data, contact, lang)
    if "items" not in data:
        raise ValidationError("send 'items' or 'plan_id'", code="missing_items", field="items")
    return BookingRequest(_items(data["items"]), contact, lang or "vi")


def _contact(value: Any) -> dict[str, str | None]:
    if not isinstance(value, Mapping):
        raise ValidationError(
            "'contact' needs name and email", code="invalid_contact", field="contact"
        )
    name, email, phone = (value.get(k) for k in ("name", "email", "phone"))
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise ValidationError(
            "contact.name is required (at most 200 characters)",
            code="invalid_contact",
            field="contact.name",
        )
    if not isinstance(email, str) or not _looks_like_email(email):
        raise ValidationError(
            "contact.email must be an e-mail address", code="invalid_contact", field="contact.email"
        )
    if phone is not None and (not isinstance(phone, str) or len(phone) > 40):
        raise ValidationError(
            "contact.phone must be text (at most 40 characters)",
            code="invalid_contact",
            field="contact.phone",
        )
    return {"name": name.strip(), "email": email.strip(), "phone": (phone or "").strip() or None}


def _looks_like_email(text: str) -> bool:
    local, _, domain = text.strip().rpartition("@")
    return bool(local) and "." in domain and " " not in text.strip() and len(text) <= 254


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
        slot_id = item.get("slot_id") if isinstance(item, Mapping) else None
        if not isinstance(slot_id, int) or isinstance(slot_id, bool):
            raise ValidationError(
                f"items[{n}].slot_id must be a slot id",
                code="invalid_items",
                field=f"items[{n}].slot_id",
            )
        items.append(ItemRequest(slot_id, _party(item.get("party"), f"items[{n}].party")))
    if len({i.slot_id for i in items}) != len(items):
        raise ValidationError("each slot may appear once", code="duplicate_slot", field="items")
    return tuple(items)


def _from_plan(data: Mapping, contact: dict, lang: str | None) -> BookingRequest:
    plan = db.session.get(Plan, str(data["plan_id"]))
    if plan is None:
        raise NotFound("no such plan", code="plan_not_found", plan_id=str(data["plan_id"]))
    index = data.get("itinerary", 0)
    itineraries = (plan.result or {}).get("itineraries") or []
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(itineraries):
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
