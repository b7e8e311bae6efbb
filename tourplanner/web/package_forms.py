"""The package pages' forms: reading the fields into the packages service's input, and wording
its refusals in the page's language next to the field (owner: package pages work).

Nothing here touches the database. Each reader takes the submitted form (a MultiDict) and
returns the service's plain input; a field the page itself cannot read (a number that is not a
number) raises :class:`FormError` naming the form's field. :func:`field_of` maps a service
error's field (``days[0].start.lat``, ``party.adults``, ``stops[3].experience``) to the form
field that shows it, and :func:`message` words it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tourplanner.domain import inputs
from tourplanner.domain.errors import DomainError, ValidationError
from tourplanner.domain.pricing import CATEGORIES, Party
from tourplanner.services.packages import parse_date

PRICE_KEYS = ("adult", "child", "senior")
TEXT_FIELDS = ("description_vi", "description_en", "included_vi", "included_en")
#: The check's date and party, carried by every form of the builder (hidden fields).
CHECK_FIELDS = ("check_date", "check_adults", "check_children", "check_seniors")
#: Problem codes of the day check, as the pages say them.
PROBLEMS = {
    "closed_that_day": _l("closed that day"),
    "arrives_after_closing": _l("arrives after closing"),
    "full": _l("full"),
    "no_session": _l("no session at that time"),
    "over_day_hours": _l("over the day's hours"),
    "not_bookable": _l("takes no bookings"),
}


class FormError(ValidationError):
    """A field of a page's form (the form's name for it, not the API's)."""

    def __init__(self, field: str, code: str = "invalid_form", **details: Any) -> None:
        super().__init__(f"{field}: not understood", code=code, field=field, **details)


def problem_text(problem: Mapping[str, Any]) -> str:
    """One broken stop's reason in the page's language ("full: 2 places left")."""
    code = problem.get("code")
    if code == "full" and problem.get("left") is not None:
        return _("full: %(left)s places left", left=problem["left"])
    return str(PROBLEMS.get(code, problem.get("message") or code))


# --- reading fields --------------------------------------------------------------------------


def _digits(text: str | None) -> str:
    """Amounts as people type them: 1.250.000, 1,250,000, 1 250 000 -> 1250000."""
    return re.sub(r"[\s.,_]", "", text or "")


def count(form: Mapping[str, Any], name: str, field: str = "party") -> int:
    text = (form.get(name) or "0").strip() or "0"
    if not text.isascii() or not text.isdigit() or len(text) > 3:
        raise FormError(field)
    return int(text)


def party(form: Mapping[str, Any], prefix: str = "", field: str = "party") -> Party:
    try:
        return Party(**{c: count(form, prefix + c, field) for c in CATEGORIES})
    except ValueError:
        raise FormError(field) from None


def percent_bp(text: str | None) -> int:
    """``"25"`` or ``"12,5"`` percent -> basis points (2500, 1250); at most two decimals."""
    cleaned = (text or "").strip().replace(",", ".") or "0"
    if not re.fullmatch(r"\d{1,4}(\.\d{1,2})?", cleaned):
        raise FormError("markup")
    whole, _dot, decimals = cleaned.partition(".")
    return int(whole) * 100 + int((decimals + "00")[:2])


def retail_prices(form: Mapping[str, Any]) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for key in PRICE_KEYS:
        text = _digits(form.get(f"retail_{key}"))
        if text and not (text.isascii() and text.isdigit() and len(text) <= 12):
            raise FormError("retail_prices")
        out[key] = int(text) if text else None
    return out


def start(form: Mapping[str, Any]) -> dict[str, Any]:
    """A day's start: a landmark, or a hotel's coordinates, with an optional label."""
    label = (form.get("start_label") or "").strip()
    out: dict[str, Any] = {"label": label} if label else {}
    if form.get("start_kind") == "point":
        try:
            lat = float((form.get("lat") or "").strip().replace(",", "."))
            lon = float((form.get("lon") or "").strip().replace(",", "."))
        except ValueError:
            raise FormError("start") from None
        if lat != lat or lon != lon:  # NaN
            raise FormError("start")
        return {**out, "lat": lat, "lon": lon}
    return {**out, "landmark": (form.get("landmark") or "").strip()}


def hours(form: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "day_start": (form.get("day_start") or "").strip(),
        "day_end": (form.get("day_end") or "").strip(),
        "lunch": bool(form.get("lunch")),
    }


def details(form: Any, *, create: bool) -> dict[str, Any]:
    """The package's fields from the details form (the new-package form also has the first
    day's start point and hours, which every day copies)."""
    days = (form.get("days") or "").strip()
    data: dict[str, Any] = {
        "name_vi": form.get("name_vi") or "",
        "name_en": form.get("name_en") or "",
        **{name: (form.get(name) or "").strip() or None for name in TEXT_FIELDS},
        "days": int(days) if days.isascii() and days.isdigit() and len(days) < 3 else days,
        "travel_mode": form.get("travel_mode") or "car",
        "interests": form.getlist("interests"),
        "party": party(form).as_dict(),
        "markup_kind": form.get("markup_kind") if form.get("markup_kind") else "percent",
        "markup_bp": percent_bp(form.get("markup_percent")),
        "retail_prices": retail_prices(form),
    }
    if create:
        data.update(start=start(form), **hours(form))
    return data


def day_settings(form: Mapping[str, Any], number: int) -> dict[str, Any]:
    """One day's start point, hours and lunch, as the service's per-day update."""
    return {"days": [{"number": number, "start": start(form), **hours(form)}]}


def stops(form: Any) -> list[dict[str, Any]]:
    """A day's stops after the button pressed: ``op`` is ``save`` (the locks as ticked),
    ``add`` (the experience picked, at the end), ``up:<i>``, ``down:<i>`` or ``remove:<i>``."""
    locked = set(form.getlist("locked"))
    out = [{"experience": s, "locked": s in locked} for s in form.getlist("stop")]
    kind, _sep, arg = (form.get("op") or "save").partition(":")
    at = int(arg) if arg.isascii() and arg.isdigit() and int(arg) < len(out) else None
    if kind == "add":
        slug = (form.get("add") or "").strip()
        if not slug:
            raise FormError("add", code="nothing_picked")
        out.append({"experience": slug, "locked": bool(form.get("add_locked"))})
    elif kind == "remove" and at is not None:
        del out[at]
    elif kind == "up" and at:
        out[at - 1], out[at] = out[at], out[at - 1]
    elif kind == "down" and at is not None and at + 1 < len(out):
        out[at], out[at + 1] = out[at + 1], out[at]
    return out


def check_args(
    values: Mapping[str, Any], prefix: str = ""
) -> tuple[date | None, Party | None, dict[str, str]]:
    """The builder's check date and party (``date``, ``adults``... in the query; the
    ``check_*`` hidden fields of a form with ``prefix="check_"``): None for what is not
    given; errors by field."""
    errors: dict[str, str] = {}

    def get(name: str) -> str:
        return str(values.get(prefix + name) or "")

    on = None
    if get("date").strip():
        try:
            on = parse_date(get("date").strip())
        except ValidationError:
            errors["check_date"] = _("A date like 2026-12-01.")
    who = None
    if any(get(c).strip() for c in CATEGORIES):
        try:
            who = party({c: get(c) for c in CATEGORIES})
        except FormError:
            errors["check_party"] = _("At least one person, at most 100 per category.")
    return on, who, errors


def check_query(on: date | None, who: Party | None) -> dict[str, Any]:
    """The builder's URL arguments for a check date and party."""
    args: dict[str, Any] = {}
    if on is not None:
        args["date"] = on.isoformat()
    if who is not None:
        args.update(who.as_dict())
    return args


def contact(form: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The public booking form's contact, cleaned; errors by field (all at once)."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {"name": None, "email": None, "phone": None}
    try:
        out["name"] = inputs.clean_text(
            (form.get("name") or "").strip(),
            "name",
            max_length=inputs.MAX_NAME_CHARS,
            min_length=1,
        )
    except ValidationError:
        errors["name"] = _("Give your name (at most %(n)s characters).", n=inputs.MAX_NAME_CHARS)
    try:
        out["email"] = inputs.email_address(form.get("email") or "", "email")
    except ValidationError:
        errors["email"] = _("Give an e-mail address where the villages can answer you.")
    phone = (form.get("phone") or "").strip()
    if phone:
        try:
            out["phone"] = inputs.clean_text(phone, "phone", max_length=inputs.MAX_PHONE_CHARS)
        except ValidationError:
            errors["phone"] = _("At most %(n)s characters.", n=inputs.MAX_PHONE_CHARS)
    return out, errors


# --- the service's refusals, by form field ---------------------------------------------------


def field_of(error: DomainError) -> str:
    """The form field that shows ``error`` (``form`` when none does)."""
    field = str(error.details.get("field") or "form")
    field = re.sub(r"^days\[\d+\]\.", "", field)
    if field.startswith("party"):
        return "party"
    if field.startswith("retail_prices"):
        return "retail_prices"
    if field.startswith("markup"):
        return "markup"
    if field.startswith("interests"):
        return "interests"
    if field.endswith("label"):
        return "start_label"
    if field.startswith("start"):
        return "start"
    if field.startswith("stops"):
        return "add"
    return field


def _messages() -> dict[str, str]:
    return {
        "name_vi": _("Give the name in Vietnamese (at most %(n)s characters).", n=200),
        "name_en": _("Give the name in English (at most %(n)s characters).", n=200),
        "description_vi": _("At most %(n)s characters.", n=5000),
        "description_en": _("At most %(n)s characters.", n=5000),
        "included_vi": _("At most %(n)s characters.", n=5000),
        "included_en": _("At most %(n)s characters.", n=5000),
        "days": _("From 1 to 5 days."),
        "travel_mode": _("Pick a way to travel from the list."),
        "interests": _("Pick crafts from the list."),
        "party": _("At least one person, at most 100 per category."),
        "markup": _("A markup in percent from 0 to 1000, for example 25 or 12.5."),
        "retail_prices": _("Whole amounts in VND, at most 1,000,000,000 per person."),
        "start": _("Pick a landmark, or give the hotel's latitude and longitude."),
        "start_label": _("At most %(n)s characters.", n=200),
        "day_start": _("A time like 08:00."),
        "day_end": _("A time like 17:30."),
        "add": _("Pick an experience from the list."),
        "date": _("A date like 2026-12-01."),
    }


def message(error: DomainError) -> str:
    """``error`` worded for the field :func:`field_of` names, in the page's language."""
    code, details = error.code, error.details
    if code == "invalid_hours":
        return _("The day must end after it starts.")
    if code == "outside_hanoi":
        return _("This point is outside the Hanoi area: give a start in or near Hanoi.")
    if code == "unknown_landmark":
        return _("Pick a landmark from the list.")
    if code == "duplicate_stop" and details.get("day"):
        return _("This experience is already on day %(day)s.", day=details["day"])
    if code == "duplicate_stop":
        return _("This experience is already on this day.")
    if code == "no_position":
        return _("This village's position is not known yet: it cannot be planned.")
    if code == "nothing_picked":
        return _("Pick an experience to add.")
    if code == "date_out_of_range":
        return _(
            "A date between %(first)s and %(last)s.",
            first=details.get("first", ""),
            last=details.get("last", ""),
        )
    if field_of(error) == "add" and details.get("max_items"):
        return _("At most %(n)s stops a day.", n=details["max_items"])
    return _messages().get(field_of(error), _("Check this field."))


def publish_message(error: DomainError) -> str:
    if error.code == "package_incomplete":
        days = ", ".join(str(d) for d in error.details.get("empty_days") or [])
        return _("Every day needs at least one stop (day %(days)s has none).", days=days)
    if error.code == "package_not_priced":
        return _("The package has no retail price per adult yet.")
    if error.code == "not_published":
        return _("Only a published package can be withdrawn.")
    return _("This could not be done.")


def package_refusal(error: DomainError) -> str:
    """A package booking's refusal in the page's language (the agency's and the public form)."""
    d = error.details
    if error.code == "slot_full":
        return _(
            "%(item)s is full: %(remaining)s place(s) left, %(requested)s asked. Nothing was "
            "reserved.",
            item=d.get("item") or d.get("slot_id"),
            remaining=d.get("remaining"),
            requested=d.get("requested"),
        )
    if error.code == "package_not_runnable":
        return _("This package cannot run on that date. Nothing was reserved.")
    if error.code == "booking_closed":
        return _("Booking has closed for a session of this package on that date.")
    if error.code in ("too_many_held_places", "too_many_holds"):
        return _("This contact already holds too many places.")
    if error.code == "idempotency_key_reused":
        return _("This form was already sent with other details: reload the page and try again.")
    if error.code in ("price_unavailable", "package_not_priced"):
        return _("A workshop of this package has no price for every person in the party.")
    return _("The booking could not be made. Nothing was reserved.")
