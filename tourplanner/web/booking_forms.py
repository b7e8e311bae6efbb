"""The tourist's booking forms (a planned day, a session on the village page): reading the
fields, every problem at once, each in the page's language next to its field.

Nothing here raises: :func:`read_contact` and :func:`read_party` return what was typed (to
show it again), the cleaned values and a ``{field: message}`` of what is wrong. The service
then gets only clean values; its own refusals (a full session, a hold limit, booking closed)
are worded by :func:`booking_refusal`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext

from tourplanner.domain import inputs
from tourplanner.domain.errors import DomainError, ValidationError
from tourplanner.domain.pricing import Party

CONTACT_FIELDS = ("name", "email", "phone")
PARTY_FIELDS = ("adults", "children", "seniors")
#: Most people of one category in a form (the API allows more; a family books on the page).
MAX_PER_CATEGORY = 50


def read_contact(form: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any], dict]:
    """``(typed, contact, errors)``: the contact for the booking service, if no errors."""
    typed = {name: (form.get(name) or "").strip() for name in CONTACT_FIELDS}
    errors: dict[str, str] = {}
    contact: dict[str, Any] = {"name": None, "email": None, "phone": None}
    try:
        contact["name"] = inputs.clean_text(
            typed["name"], "name", max_length=inputs.MAX_NAME_CHARS, min_length=1
        )
    except ValidationError as exc:
        errors["name"] = (
            _("Your name is too long: at most %(n)s characters.", n=inputs.MAX_NAME_CHARS)
            if "max_length" in exc.details
            else _("Write your name, so that the village knows who is coming.")
        )
    try:
        contact["email"] = inputs.email_address(typed["email"], "email")
    except ValidationError:
        errors["email"] = (
            _("Write your e-mail address: the village's answer is sent there.")
            if not typed["email"]
            else _(
                "“%(value)s” is not an e-mail address. Write it like lan@example.com.",
                value=typed["email"][:80],
            )
        )
    if typed["phone"]:
        try:
            contact["phone"] = inputs.clean_text(
                typed["phone"], "phone", max_length=inputs.MAX_PHONE_CHARS
            )
        except ValidationError:
            errors["phone"] = _(
                "Write a phone number of at most %(n)s characters, or leave it empty.",
                n=inputs.MAX_PHONE_CHARS,
            )
        if "phone" not in errors and not any(c.isdigit() for c in typed["phone"]):
            errors["phone"] = _("A phone number has digits, like 0912 345 678.")
    return typed, contact, errors


def read_party(form: Mapping[str, Any]) -> tuple[dict[str, str], Party | None, dict[str, str]]:
    """``(typed, party, errors)`` from the adults, children and seniors fields."""
    typed = {name: (form.get(name) or "").strip() for name in PARTY_FIELDS}
    counts: dict[str, int] = {}
    errors: dict[str, str] = {}
    for name in PARTY_FIELDS:
        raw = typed[name] or "0"
        if not raw.isdigit() or int(raw) > MAX_PER_CATEGORY:
            errors[name] = _("Give a whole number from 0 to %(n)s.", n=MAX_PER_CATEGORY)
        else:
            counts[name] = int(raw)
    if not errors and not sum(counts.values()):
        errors["adults"] = _("Say how many people are coming: at least one.")
    if errors:
        return typed, None, errors
    return typed, Party(**counts), errors


def booking_refusal(exc: DomainError, names: Mapping[int, str] | None = None) -> str:
    """A refusal of the booking service in plain words. ``names`` label slots by id (the
    workshop, its village and time) so that a full session is named."""
    details = exc.details
    label = (names or {}).get(details.get("slot_id")) or details.get("item")
    if exc.code == "slot_full":
        left = int(details.get("remaining") or 0)
        asked = int(details.get("requested") or 0)
        where = label or _("This session")
        if not left:
            return _("%(what)s is full: no place is left.", what=where)
        return ngettext(
            "%(what)s has only %(num)s place left; your party is %(asked)s.",
            "%(what)s has only %(num)s places left; your party is %(asked)s.",
            left,
            what=where,
            asked=asked,
        )
    if exc.code == "booking_closed":
        return _(
            "%(what)s can no longer be booked: booking closes %(n)s hours before it starts.",
            what=label or _("This session"),
            n=details.get("cutoff_hours", "?"),
        )
    if exc.code == "too_many_held_places":
        return _(
            "You already hold many places: at most %(n)s places can wait for an answer at "
            "once. Cancel or wait for an answer before asking for more.",
            n=details.get("limit", "?"),
        )
    if exc.code == "price_unavailable":
        return _("%(what)s has no price for everyone in your party.", what=label or "")
    if exc.code == "village_unreachable":
        return _(
            "%(what)s cannot be booked now: its village cannot receive requests yet. "
            "Please choose another workshop.",
            what=label or _("This session"),
        )
    if exc.code in ("slot_not_found", "nothing_to_book"):
        return _("There is nothing to book in this day any more. Please plan it again.")
    return _("The booking did not go through. Please try again.")
