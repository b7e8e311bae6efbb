"""OCTO's shapes of our catalogue and bookings: plain Python, no Flask, no SQLAlchemy.

The OCTO reseller API (``/octo``, see docs/octo.md) names things its own way; this module
holds the mapping rules and renders OCTO's objects (product, option, unit, availability,
calendar day, booking, contact, pricing) from our rows, given as plain objects with the
attributes of the ORM models (read, never written). The use cases that query and write are
in :mod:`tourplanner.services.octo`.

* Products: a bookable workshop is ``START_TIME`` (its sessions are the availabilities); a
  visit its village sells tickets for is ``OPENING_HOURS`` (one availability per open day).
  The id is the experience's slug, the one option is ``DEFAULT``.
* Units: ``adult`` (ADULT, 16 and over), ``child`` (CHILD, under 16, only with a child
  price), ``senior`` (SENIOR, 60 and over; the adult price when there is no concession).
* Prices: integer VND, ``currencyPrecision`` 0; ``retail`` is the village's price and ``net``
  that price less the agency's commission rate (basis points).
* Statuses: a reservation is ``ON_HOLD`` until confirmed, ``EXPIRED`` or ``CANCELLED``; a
  confirmed one follows the village's answer on its booking item (pending ``PENDING``,
  confirmed ``CONFIRMED``, declined or unanswered ``REJECTED``, cancelled ``CANCELLED``,
  attended ``REDEEMED``).
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from tourplanner.domain import booking as rules
from tourplanner.domain.availability import LOCAL_TZ, local_datetime, session_times
from tourplanner.domain.catalogue import windows_on
from tourplanner.domain.errors import DomainError
from tourplanner.domain.pricing import MAX_PER_CATEGORY, Party, share_bp

if TYPE_CHECKING:  # the models' attributes are read; nothing here imports SQLAlchemy
    from tourplanner.adapters.orm import Experience
    from tourplanner.adapters.orm.octo import OctoBooking


CONTENT, PRICING, WEBHOOKS = "octo/content", "octo/pricing", "octo/webhooks"
CAPABILITIES: tuple[str, ...] = (CONTENT, PRICING, WEBHOOKS)
LANGS: tuple[str, ...] = ("vi", "en")
OPTION_ID = "DEFAULT"
CURRENCY = "VND"
TIME_ZONE = "Asia/Ho_Chi_Minh"
START_TIME, OPENING_HOURS = "START_TIME", "OPENING_HOURS"
DEFAULT_HOLD_MINUTES = 30
MAX_HOLD_MINUTES = 24 * 60
DEFAULT_TEST_BOOKING_HOURS = 24
MAX_CHECK_DAYS = 62
MAX_CALENDAR_DAYS = 366
WEBHOOK_CHANNEL = "octo_webhook"
WEBHOOK_EVENTS: tuple[str, ...] = ("booking_update",)
CHILD_MAX_AGE, SENIOR_MIN_AGE, MAX_AGE = 15, 60, 99


class OctoError(DomainError):
    """An OCTO error: HTTP 400 ``{"error": code, "errorMessage": message, **fields}``."""

    status = 400

    def __init__(self, code: str, message: str, **fields: Any) -> None:
        super().__init__(message, code=code, **fields)


def bad_request(message: str) -> OctoError:
    return OctoError("BAD_REQUEST", message)


def unprocessable(message: str) -> OctoError:
    return OctoError("UNPROCESSABLE_ENTITY", message)


def invalid_uuid(value: str) -> OctoError:
    return OctoError(
        "INVALID_BOOKING_UUID", "The uuid was already used, missing or invalid", uuid=value
    )


@dataclass(frozen=True)
class Caller:
    """Who calls: the API key's agency, the key, its mode, the capabilities the request asked
    for (those we support) and the language its content is wanted in."""

    agency_id: int
    key_id: int | None
    test_mode: bool
    capabilities: frozenset[str] = frozenset()
    lang: str = "vi"
    #: The site's public address (``PUBLIC_BASE_URL``), for links in content.
    base_url: str = ""

    def wants(self, capability: str) -> bool:
        return capability in self.capabilities


@dataclass(frozen=True)
class UnitItemInput:
    unit_id: str
    uuid: str | None = None
    reseller_reference: str | None = None
    contact: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class AvailabilityQuery:
    product_id: str
    option_id: str
    start: date | None = None
    end: date | None = None
    availability_ids: tuple[str, ...] | None = None
    units: tuple[UnitItemInput, ...] = ()


@dataclass(frozen=True)
class Reservation:
    product_id: str
    option_id: str
    availability_id: str | None
    unit_items: tuple[UnitItemInput, ...] | None
    uuid: str | None = None
    expiration_minutes: int | None = None
    notes: str | None = None
    reseller_reference: str | None = None
    contact: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Confirmation:
    contact: Mapping[str, Any] | None = None
    reseller_reference: str | None = None
    unit_items: tuple[UnitItemInput, ...] | None = None


@dataclass(frozen=True)
class Change:
    """A PATCH: None leaves a field as it is."""

    product_id: str | None = None
    option_id: str | None = None
    availability_id: str | None = None
    unit_items: tuple[UnitItemInput, ...] | None = None
    expiration_minutes: int | None = None
    notes: str | None = None
    reseller_reference: str | None = None
    contact: Mapping[str, Any] | None = None

    @property
    def moves(self) -> bool:
        """Whether it changes what is held (not only who and what is said about it)."""
        return any(
            v is not None
            for v in (
                self.product_id,
                self.option_id,
                self.availability_id,
                self.unit_items,
                self.expiration_minutes,
            )
        )


def utc(moment: datetime | None) -> str | None:
    """``2026-12-05T02:30:00Z``: OCTO's UTC date-times, whole seconds."""
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_iso(moment: datetime) -> str:
    """``2026-12-05T09:30:00+07:00``: a local date-time in Hanoi, whole seconds."""
    return moment.astimezone(LOCAL_TZ).replace(microsecond=0).isoformat()


def _hhmm(moment: time) -> str:
    return moment.strftime("%H:%M")


def text_in(values: Mapping[str, str], lang: str) -> str:
    return values[lang] if lang in values else values["vi"]


def sellable(e: Experience) -> bool:
    """A bookable workshop, or a visit its village sells tickets for: its own opening hours
    (not the documented defaults), a daily capacity and an adult price."""
    if e.kind == "workshop":
        return e.bookable
    return (
        e.kind == "visit"
        and bool(e.weekly_hours)
        and not e.hours_are_default
        and bool(e.capacity)
        and e.price_adult_vnd is not None
    )


def availability_type(e: Experience) -> str:
    return START_TIME if e.kind == "workshop" else OPENING_HOURS


UNIT_TYPES = {"adult": "ADULT", "child": "CHILD", "senior": "SENIOR"}


UNIT_PARTY = {"adult": "adults", "child": "children", "senior": "seniors"}


UNIT_TITLES = {
    "adult": {"vi": "Người lớn", "en": "Adult"},
    "child": {"vi": "Trẻ em", "en": "Child"},
    "senior": {"vi": "Người cao tuổi", "en": "Senior"},
}


UNIT_AGES = {
    "adult": {"vi": "Từ 16 tuổi", "en": "Aged 16 and over"},
    "child": {"vi": "Dưới 16 tuổi", "en": "Under 16"},
    "senior": {"vi": "Từ 60 tuổi", "en": "Aged 60 and over"},
}


def unit_ids(e: Experience) -> list[str]:
    """The units this experience sells: children only with a child price and a minimum age
    under 16; seniors always (the adult price when there is no concession)."""
    ids = ["adult"]
    if e.price_child_vnd is not None and (e.min_age or 0) <= CHILD_MAX_AGE:
        ids.append("child")
    ids.append("senior")
    return ids


def unit_price(e: Experience, unit_id: str) -> int:
    prices = {"adult": e.price_adult_vnd, "child": e.price_child_vnd, "senior": e.price_senior_vnd}
    return prices[unit_id] if prices[unit_id] is not None else int(e.price_adult_vnd or 0)


def pricing(retail: int, commission_bp: int) -> dict[str, Any]:
    """OCTO's price object for ``retail`` VND: ``net`` less the agency's commission rate."""
    return {
        "original": retail,
        "retail": retail,
        "net": retail - share_bp(retail, commission_bp),
        "currency": CURRENCY,
        "currencyPrecision": 0,
        "includedTaxes": [],
    }


@dataclass(frozen=True)
class Sold:
    """What OCTO's product, option and unit shapes read of a product, whatever it is: an
    experience (:func:`sold`) or a published package (``octo_packages.sold``), in the caller's
    language. The renderers below are the same for both; only these facts differ."""

    id: str
    internal_name: str
    reference: str | None
    availability_type: str
    instant: bool
    min_age: int
    start_times: Sequence[str]
    free_cancellation_hours: int
    #: The units sold, in OCTO's order.
    units: Sequence[str]
    #: Retail VND per person of a unit (also of a unit no longer sold, for old bookings).
    price: Callable[[str], int]
    #: OCTO's content fields (``octo/content``), when the caller asked for them.
    content: Mapping[str, Any] | None = None


def restrictions(min_age: int, unit_id: str) -> dict[str, Any]:
    """A unit's ages (its category's, never below the product's minimum age) and quantities."""
    ages = {
        "adult": (max(16, min_age), MAX_AGE),
        "child": (min_age, CHILD_MAX_AGE),
        "senior": (max(SENIOR_MIN_AGE, min_age), MAX_AGE),
    }[unit_id]
    return {
        "minAge": ages[0],
        "maxAge": ages[1],
        "idRequired": False,
        "minQuantity": None,
        "maxQuantity": MAX_PER_CATEGORY,
        "paxCount": 1,
        "accompaniedBy": [],
    }


def render_unit(s: Sold, unit_id: str, caller: Caller, commission_bp: int) -> dict[str, Any]:
    unit: dict[str, Any] = {
        "id": unit_id,
        "internalName": text_in(UNIT_TITLES[unit_id], caller.lang),
        "reference": None,
        "type": UNIT_TYPES[unit_id],
        "restrictions": restrictions(s.min_age, unit_id),
        "requiredContactFields": [],
    }
    if caller.wants(PRICING):
        price = pricing(s.price(unit_id), commission_bp)
        unit["pricingFrom"] = [price]
        unit["pricing"] = [price]
    if caller.wants(CONTENT):
        unit["title"] = text_in(UNIT_TITLES[unit_id], caller.lang)
        unit["shortDescription"] = text_in(UNIT_AGES[unit_id], caller.lang)
        unit["features"] = []
    return unit


def render_option(s: Sold, caller: Caller, commission_bp: int) -> dict[str, Any]:
    hours = s.free_cancellation_hours
    option: dict[str, Any] = {
        "id": OPTION_ID,
        "default": True,
        "internalName": s.internal_name,
        "reference": None,
        "availabilityLocalStartTimes": list(s.start_times),
        "cancellationCutoff": f"{hours} hours",
        "cancellationCutoffAmount": hours,
        "cancellationCutoffUnit": "hour",
        "requiredContactFields": [],
        "restrictions": {"minUnits": 1, "maxUnits": None},
        "units": [render_unit(s, u, caller, commission_bp) for u in s.units],
    }
    if s.content is not None:
        option.update(s.content)
    return option


def render_product(s: Sold, caller: Caller, commission_bp: int) -> dict[str, Any]:
    product: dict[str, Any] = {
        "id": s.id,
        "internalName": s.internal_name,
        "reference": s.reference,
        "locale": caller.lang,
        "timeZone": TIME_ZONE,
        "allowFreesale": False,
        "instantConfirmation": s.instant,
        "instantDelivery": s.instant,
        "availabilityRequired": True,
        "availabilityType": s.availability_type,
        "deliveryFormats": ["QRCODE"],
        "deliveryMethods": ["VOUCHER"],
        "redemptionMethod": "DIGITAL",
        "options": [render_option(s, caller, commission_bp)],
    }
    if caller.wants(PRICING):
        product.update(defaultCurrency=CURRENCY, availableCurrencies=[CURRENCY], pricingPer="UNIT")
    if s.content is not None:
        product.update(s.content)
    return product


def unit_view(e: Experience, unit_id: str, caller: Caller, commission_bp: int) -> dict[str, Any]:
    return render_unit(sold(e, caller), unit_id, caller, commission_bp)


def start_times(e: Experience) -> list[str]:
    """Every start time the schedule can produce in a week (``["08:00", "09:30"]``)."""
    if availability_type(e) == OPENING_HOURS:
        return ["00:00"]
    monday = date(2024, 1, 1)
    times = {
        _hhmm(start)
        for n in range(7)
        for start, _end in session_times(
            e.weekly_hours, [], monday + timedelta(days=n), e.duration_minutes
        )
    }
    return sorted(times) or ["00:00"]


def _summary(text: str | None) -> str | None:
    """The first sentence of a description, as a short description."""
    if not text:
        return None
    first = text.strip().split(". ")[0].strip()
    return first if first.endswith(".") else f"{first}."


FEATURE_TEXTS = {
    "cancel": {
        "vi": "Hủy miễn phí đến {h} giờ trước giờ bắt đầu.",
        "en": "Free cancellation up to {h} hours before the start.",
    },
    "cutoff": {
        "vi": "Đặt trước ít nhất {h} giờ.",
        "en": "Book at least {h} hours ahead.",
    },
    "request": {
        "vi": "Làng nghề xác nhận từng yêu cầu; trạng thái là PENDING cho đến khi làng trả lời.",
        "en": "The village confirms each request; the booking is PENDING until it answers.",
    },
    "age": {"vi": "Từ {h} tuổi.", "en": "From age {h}."},
    "sample": {
        "vi": "Dữ liệu mẫu: lịch, sức chứa và giá là ví dụ để thử.",
        "en": "Sample data: the schedule, capacity and prices are invented for trying out.",
    },
}


def _feature(kind: str, key: str, lang: str, **values: Any) -> dict[str, str]:
    return {"shortDescription": text_in(FEATURE_TEXTS[key], lang).format(**values), "type": kind}


def _features(e: Experience, lang: str) -> list[dict[str, Any]]:
    features = [
        _feature("CANCELLATION_TERM", "cancel", lang, h=e.free_cancellation_hours),
        _feature("BOOKING_TERM", "cutoff", lang, h=e.booking_cutoff_hours),
    ]
    if not e.instant_confirmation:
        features.append(_feature("BOOKING_TERM", "request", lang))
    if e.min_age:
        features.append(_feature("PREBOOKING_INFORMATION", "age", lang, h=e.min_age))
    access = e.accessibility_en if lang == "en" else e.accessibility_vi
    if access:
        features.append({"shortDescription": access, "type": "ACCESSIBILITY_INFORMATION"})
    if e.is_sample:
        features.append(_feature("ADDITIONAL_INFORMATION", "sample", lang))
    return features


def _location(e: Experience, lang: str, base_url: str) -> list[dict[str, Any]]:
    village = e.village
    if not village.has_position:
        return []
    base = base_url.rstrip("/")
    return [
        {
            "title": village.name(lang),
            "shortDescription": None,
            "types": ["START"],
            "minutesTo": None,
            "minutesAt": e.duration_minutes,
            "place": {
                "latitude": village.lat,
                "longitude": village.lon,
                "postalAddress": {
                    "streetAddress": None,
                    "addressLocality": village.commune_2025 or village.commune,
                    "addressRegion": "Hà Nội",
                    "postalCode": None,
                    "addressCountry": "VN",
                    "postOfficeBoxNumber": None,
                },
                "identifiers": dict.fromkeys(IDENTIFIERS),
                "sameAs": [f"{base}/villages/{village.slug}"] if base else [],
            },
        }
    ]


IDENTIFIERS = (
    "googlePlaceId",
    "applePlaceId",
    "tripadvisorLocationId",
    "yelpPlaceId",
    "facebookPlaceId",
    "foursquarePlaceId",
    "baiduPlaceId",
    "amapPlaceId",
)


def _content(e: Experience, caller: Caller) -> dict[str, Any]:
    lang = caller.lang
    description = e.description(lang)
    return {
        "title": e.title(lang),
        "shortDescription": _summary(description),
        "description": description,
        "features": _features(e, lang),
        "faqs": [],
        "media": [],
        "locations": _location(e, lang, caller.base_url),
        "categoryLabels": ["classes"] if e.kind == "workshop" else ["day-trips"],
        "durationMinutesFrom": e.duration_minutes,
        "durationMinutesTo": None,
        "commentary": [{"format": "IN_PERSON", "language": code} for code in e.languages or []],
    }


def sold(e: Experience, caller: Caller) -> Sold:
    """What the OCTO shapes read of a sellable experience."""
    instant = bool(e.instant_confirmation)
    return Sold(
        id=e.slug,
        internal_name=e.title(caller.lang),
        reference=None,
        availability_type=availability_type(e),
        instant=instant,
        min_age=e.min_age or 0,
        start_times=start_times(e),
        free_cancellation_hours=e.free_cancellation_hours,
        units=unit_ids(e),
        price=lambda unit_id: unit_price(e, unit_id),
        content=_content(e, caller) if caller.wants(CONTENT) else None,
    )


def option_view(e: Experience, caller: Caller, commission_bp: int) -> dict[str, Any]:
    return render_option(sold(e, caller), caller, commission_bp)


def product_view(e: Experience, caller: Caller, commission_bp: int) -> dict[str, Any]:
    """The OCTO product of a sellable experience, in the caller's language."""
    return render_product(sold(e, caller), caller, commission_bp)


def check_option(option_id: object) -> None:
    if option_id != OPTION_ID:
        raise OctoError(
            "INVALID_OPTION_ID",
            "The optionId was missing or invalid",
            optionId=option_id if isinstance(option_id, str) else "",
        )


SUPPLIER_TEXT = {
    "vi": "Trải nghiệm và vé tham quan tại các làng nghề truyền thống Hà Nội, đặt trực tiếp "
    "với làng nghề.",
    "en": "Hands-on workshops and visits at the traditional craft villages of Hanoi, booked "
    "directly with the villages.",
}


CAPABILITY_DOCS = {
    CONTENT: "Titles and descriptions in Vietnamese (vi) or English (en) by Accept-Language.",
    PRICING: "Prices per unit in VND (currencyPrecision 0): retail, and net for the agency.",
    WEBHOOKS: "POST/GET /webhooks, DELETE /webhooks/{id}: signed booking_update deliveries.",
}


def capabilities() -> list[dict[str, Any]]:
    return [
        {"id": c, "revision": 1, "required": False, "dependencies": [], "docs": CAPABILITY_DOCS[c]}
        for c in CAPABILITIES
    ]


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def windows(e: Experience, day: date) -> list[tuple[time, time]]:
    return windows_on(e.weekly_hours or {}, e.closed_dates or [], day)


def opening_hours(e: Experience, day: date) -> list[dict[str, str]]:
    return [{"from": _hhmm(a), "to": _hhmm(b)} for a, b in windows(e, day)]


def availability_id(e: Experience, start: datetime) -> str:
    """A session's local start; a visit's day at local midnight (OCTO's all-day id)."""
    if availability_type(e) == OPENING_HOURS:
        day = start.astimezone(LOCAL_TZ).date()
        return local_iso(local_datetime(day, time(0, 0)))
    return local_iso(start)


def parse_availability_id(value: object) -> datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def invalid_availability(value: object) -> OctoError:
    return OctoError(
        "INVALID_AVAILABILITY_ID",
        "The availabilityId was missing or invalid",
        availabilityId=value if isinstance(value, str) else "",
    )


def vacancy_status(remaining: int, capacity: int) -> str:
    if remaining <= 0:
        return "SOLD_OUT"
    if remaining * 2 < capacity:
        return "LIMITED"
    return "AVAILABLE"


def party_pricing(retail: Sequence[int], rate: int, *, once: bool) -> dict[str, Any]:
    """The price of several units: their retail total, and ``net`` either that total less the
    commission taken ``once`` on it (a package: docs/packages.md prices a party so, and so is
    its booking's ``commission_vnd``) or the sum of the per-person nets (an experience)."""
    if once:
        return pricing(sum(retail), rate)
    total = pricing(sum(retail), 0)
    total["net"] = sum(pricing(r, rate)["net"] for r in retail)
    return total


def priced_units(
    s: Sold, units: Sequence[str], rate: int, *, once: bool
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per-unit prices of every unit sold, and the total of ``units`` (one adult if none)."""
    per_unit = [{"unitId": u, **pricing(s.price(u), rate)} for u in s.units]
    chosen = list(units) or ["adult"]
    return per_unit, party_pricing([s.price(u) for u in chosen], rate, once=once)


def units_total(
    e: Experience, units: Sequence[str], rate: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """An experience's per-unit prices and the total of ``units`` (nets summed per person)."""
    per_unit = [{"unitId": u, **pricing(unit_price(e, u), rate)} for u in unit_ids(e)]
    chosen = list(units) or ["adult"]
    return per_unit, party_pricing([unit_price(e, u) for u in chosen], rate, once=False)


def render_availability(
    *,
    availability_id: str,
    start: datetime,
    end: datetime,
    cutoff: datetime | None,
    all_day: bool,
    status: str,
    vacancies: int | None,
    capacity: int | None,
    units: Sequence[str],
    opening: list[dict[str, str]],
    caller: Caller,
    prices: tuple[list[dict[str, Any]], dict[str, Any]],
) -> dict[str, Any]:
    """One OCTO availability; ``available`` also says whether ``units`` fit."""
    result: dict[str, Any] = {
        "id": availability_id,
        "localDateTimeStart": local_iso(start),
        "localDateTimeEnd": local_iso(end),
        "utcCutoffAt": utc(cutoff),
        "allDay": all_day,
        "available": status != "SOLD_OUT"
        and (vacancies is None or vacancies >= max(1, len(units))),
        "status": status,
        "vacancies": vacancies,
        "capacity": capacity,
        "maxUnits": None,
        "openingHours": opening,
    }
    if caller.wants(PRICING):
        result["unitPricing"], result["pricing"] = prices
    if caller.wants(CONTENT):
        result.update(title=None, shortDescription="")
    return result


def availability_view(
    e: Experience,
    view: Any,
    caller: Caller,
    rate: int,
    units: Sequence[str] = (),
) -> dict[str, Any]:
    """One session (or a visit's day) as an OCTO availability."""
    all_day = availability_type(e) == OPENING_HOURS
    day = view.start.astimezone(LOCAL_TZ).date()
    start = local_datetime(day, time(0, 0)) if all_day else view.start
    return render_availability(
        availability_id=availability_id(e, view.start),
        start=start,
        end=start + timedelta(days=1) if all_day else view.end,
        cutoff=view.start - timedelta(hours=e.booking_cutoff_hours),
        all_day=all_day,
        status=vacancy_status(view.remaining, view.capacity),
        vacancies=view.remaining,
        capacity=view.capacity,
        units=units,
        opening=opening_hours(e, day),
        caller=caller,
        prices=units_total(e, units, rate),
    )


def check_units(e: Experience, units: Iterable[UnitItemInput]) -> list[str]:
    """The unit ids a request names, each checked (INVALID_UNIT_ID)."""
    return check_unit_ids(unit_ids(e), units)


def check_unit_ids(allowed: Sequence[str], units: Iterable[UnitItemInput]) -> list[str]:
    """The unit ids a request names, each one of ``allowed`` (INVALID_UNIT_ID)."""
    chosen = []
    for item in units:
        if item.unit_id not in allowed:
            raise OctoError(
                "INVALID_UNIT_ID", "The unitId was missing or invalid", unitId=item.unit_id
            )
        chosen.append(item.unit_id)
    return chosen


def check_range(first: date, last: date, limit: int) -> None:
    if last < first:
        raise bad_request("localDateEnd must not be before localDateStart")
    if (last - first).days >= limit:
        raise bad_request(f"ask for at most {limit} days at a time")


def render_calendar_day(
    *,
    day: date,
    status: str,
    available: bool,
    vacancies: int | None,
    capacity: int | None,
    opening: list[dict[str, str]],
    caller: Caller,
    prices: tuple[list[dict[str, Any]], dict[str, Any]],
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "localDate": day.isoformat(),
        "available": available,
        "status": status,
        "vacancies": vacancies,
        "capacity": capacity,
        "openingHours": opening,
    }
    if caller.wants(PRICING):
        result["unitPricingFrom"], result["pricingFrom"] = prices
    return result


def calendar_day(
    e: Experience,
    day: date,
    views: list[Any],
    caller: Caller,
    rate: int,
    units: Sequence[str],
) -> dict[str, Any]:
    """One day of the calendar. A day without sessions open to booking is CLOSED; its
    opening hours are still the venue's for that date (none on a closed date)."""
    if views:
        vacancies = max(v.remaining for v in views)
        capacity = sum(v.capacity for v in views)
        status = vacancy_status(sum(v.remaining for v in views), capacity)
        available = vacancies >= max(1, len(units))
    else:
        vacancies = capacity = None
        status, available = "CLOSED", False
    return render_calendar_day(
        day=day,
        status=status,
        available=available,
        vacancies=vacancies,
        capacity=capacity,
        opening=opening_hours(e, day),
        caller=caller,
        prices=units_total(e, units, rate),
    )


CONTACT_FIELDS = (
    "fullName",
    "firstName",
    "lastName",
    "emailAddress",
    "phoneNumber",
    "locales",
    "postalCode",
    "country",
    "notes",
)


def normal_uuid(value: object) -> str | None:
    """``value`` as a lower-case UUID, or None when it is not one."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        return str(uuidlib.UUID(value))
    except ValueError:
        return None


def new_uuid() -> str:
    return str(uuidlib.uuid4())


def unit_items(
    e: Experience | None,
    items: Sequence[UnitItemInput] | None,
    previous: Sequence[Mapping] = (),
    *,
    allowed: Sequence[str] | None = None,
) -> tuple[list[dict[str, Any]], Party]:
    """The stored unit items (each with its lower-case uuid, kept when the reseller sends it
    again) and the party they make; none at all is UNPROCESSABLE_ENTITY. The units allowed
    are the experience's, or ``allowed`` (a package's)."""
    if not items:
        raise unprocessable("unitItems must list at least one unit")
    check_unit_ids(allowed if allowed is not None else unit_ids(e), items)
    known = {u.get("uuid"): u for u in previous}
    stored, seen = [], set()
    for item in items:
        uid = normal_uuid(item.uuid) if item.uuid is not None else None
        if item.uuid is not None and uid is None:
            raise bad_request(f"unitItems: {item.uuid!r} is not a UUID")
        uid = uid or new_uuid()
        if uid in seen:
            raise bad_request(f"unitItems: the uuid {uid} appears twice")
        seen.add(uid)
        old = known.get(uid, {})
        stored.append(
            {
                "uuid": uid,
                "unitId": item.unit_id,
                "resellerReference": item.reseller_reference or old.get("resellerReference"),
                "contact": dict(item.contact or old.get("contact") or {}),
            }
        )
    return stored, party_of(stored)


def party_of(items: Sequence[Mapping[str, Any]]) -> Party:
    counts = dict.fromkeys(UNIT_PARTY.values(), 0)
    for item in items:
        counts[UNIT_PARTY[item["unitId"]]] += 1
    try:
        return Party(**counts)
    except ValueError as exc:
        raise unprocessable(f"unitItems: {exc}") from None


def contact_view(stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """OCTO's contact object: every field, ``None`` (``[]`` for locales) when not given."""
    stored = stored or {}
    view = {name: stored.get(name) for name in CONTACT_FIELDS}
    view["locales"] = list(stored.get("locales") or [])
    if not view["fullName"]:
        parts = [p for p in (stored.get("firstName"), stored.get("lastName")) if p]
        view["fullName"] = " ".join(parts) or None
    return view


def merge_contact(previous: Mapping[str, Any], given: Mapping[str, Any] | None) -> dict[str, Any]:
    return {**previous, **(given or {})}


def village_contact(contact: Mapping[str, Any]) -> dict[str, str | None]:
    """What the village sees of the reseller's customer (the booking's contact columns)."""
    view = contact_view(contact)
    return {
        "name": (view["fullName"] or "")[:200],
        "email": (view["emailAddress"] or "")[:254],
        "phone": (view["phoneNumber"] or None) and view["phoneNumber"][:40],
    }


def contact_lang(contact: Mapping[str, Any], fallback: str) -> str:
    for locale in contact_view(contact)["locales"]:
        code = str(locale)[:2].lower()
        if code in LANGS:
            return code
    return fallback


ITEM_STATUS = {
    rules.PENDING: "PENDING",
    rules.CONFIRMED: "CONFIRMED",
    rules.DECLINED: "REJECTED",
    rules.EXPIRED: "REJECTED",  # the village did not answer in time
    rules.CANCELLED: "CANCELLED",
    rules.COMPLETED: "REDEEMED",
    rules.NO_SHOW: "CONFIRMED",
}


RESERVATION_STATUS = {
    "on_hold": "ON_HOLD",
    "expired": "EXPIRED",
    "cancelled": "CANCELLED",
    "pending": "PENDING",  # a test booking of an experience the village answers
    "confirmed": "CONFIRMED",
}


def _item(row: OctoBooking) -> Any:
    return row.booking.items[0] if row.booking is not None and row.booking.items else None


def octo_status(row: OctoBooking) -> str:
    """The booking's OCTO status: the reservation's own until confirmed, then the village's
    answer on its booking item."""
    item = _item(row)
    return ITEM_STATUS[item.status] if item is not None else RESERVATION_STATUS[row.status]


def free_until(row: OctoBooking) -> datetime:
    """Cancellation is free (and allowed through OCTO) until this moment."""
    return row.slot.start - timedelta(hours=row.experience.free_cancellation_hours)


def _confirmed_at(row: OctoBooking, status: str) -> datetime | None:
    if status not in ("CONFIRMED", "REDEEMED", "CANCELLED"):
        return None
    item = _item(row)
    return item.decided_at if item is not None else row.confirmed_at


def _cancellation(row: OctoBooking, status: str) -> dict[str, Any] | None:
    if status != "CANCELLED":
        return None
    item = _item(row)
    fee = item.cancellation_fee_vnd if item is not None else 0
    return {
        "refund": "NONE" if fee else "FULL",
        "reason": row.cancellation_reason or (item.decision_reason if item is not None else None),
        "utcCancelledAt": utc(row.cancelled_at or (item.cancelled_at if item else None)),
    }


def _times(row: OctoBooking, status: str, confirmed_at: datetime | None) -> dict[str, Any]:
    updated = row.updated_at
    if row.booking is not None and row.booking.updated_at > updated:
        updated = row.booking.updated_at
    return {
        "utcCreatedAt": utc(row.created_at),
        "utcUpdatedAt": utc(updated),
        "utcExpiresAt": utc(row.expires_at) if status in ("ON_HOLD", "EXPIRED") else None,
        "utcRedeemedAt": utc(updated) if status == "REDEEMED" else None,
        "utcConfirmedAt": utc(confirmed_at),
    }


def cancellable(status: str, now: datetime, *, starts: datetime, free_until: datetime) -> bool:
    """What a reseller may cancel: a hold, always; a request the village has not answered
    yet, until its session starts (withdrawn, free); a confirmed booking, until its
    free-cancellation cut-off."""
    if status == "ON_HOLD":
        return True
    if status == "PENDING":
        return now < starts
    return status == "CONFIRMED" and now < free_until


def _prices_of(row: OctoBooking, unit_id: str) -> int:
    """The price a unit was booked at (the booking's stored prices), else today's."""
    item = _item(row)
    if item is not None and item.prices_vnd:
        key = unit_id if item.prices_vnd.get(unit_id) is not None else "adult"
        return int(item.prices_vnd[key])
    return unit_price(row.experience, unit_id)


def _unit_item_view(
    s: Sold, item: Mapping[str, Any], status: str, price: int, caller: Caller, rate: int
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "uuid": item["uuid"],
        "resellerReference": item.get("resellerReference"),
        "supplierReference": None,
        "unitId": item["unitId"],
        "unit": render_unit(s, item["unitId"], caller, rate),
        "status": status,
        "utcRedeemedAt": None,
        "contact": contact_view(item.get("contact")),
        "ticket": None,
    }
    if caller.wants(PRICING):
        view["pricing"] = pricing(price, rate)
    return view


def _voucher(row: OctoBooking, status: str) -> dict[str, Any]:
    options = []
    if status in ("CONFIRMED", "REDEEMED"):
        options = [{"deliveryFormat": "QRCODE", "deliveryValue": row.supplier_reference}]
    return {"redemptionMethod": "DIGITAL", "utcRedeemedAt": None, "deliveryOptions": options}


def render_booking(
    row: OctoBooking,
    s: Sold,
    caller: Caller,
    rate: int,
    *,
    status: str,
    confirmed_at: datetime | None,
    cancellable: bool,
    cancellation: dict[str, Any] | None,
    availability_id: str,
    availability: dict[str, Any],
    price_of: Callable[[str], int],
    once: bool,
) -> dict[str, Any]:
    """The OCTO booking of a reservation or booking (of an experience or a package), in the
    caller's language and capabilities; ``price_of`` gives a unit's price as booked."""
    view: dict[str, Any] = {
        "id": row.uuid,
        "uuid": row.uuid,
        "testMode": bool(row.test_mode),
        "resellerReference": row.reseller_reference,
        "supplierReference": row.supplier_reference,
        "status": status,
        **_times(row, status, confirmed_at),
        "productId": s.id,
        "product": render_product(s, caller, rate),
        "optionId": OPTION_ID,
        "option": render_option(s, caller, rate),
        "cancellable": cancellable,
        "cancellation": cancellation,
        "freesale": False,
        "availabilityId": availability_id,
        "availability": availability,
        "contact": contact_view(row.contact),
        "notes": row.notes,
        "deliveryMethods": ["VOUCHER"],
        "voucher": _voucher(row, status),
        "unitItems": [
            _unit_item_view(s, u, status, price_of(u["unitId"]), caller, rate)
            for u in row.unit_items
        ],
    }
    if caller.wants(PRICING):
        retail = [price_of(u["unitId"]) for u in row.unit_items]
        view["pricing"] = party_pricing(retail, rate, once=once)
    return view


def booking_view(row: OctoBooking, caller: Caller, rate: int, now: datetime) -> dict[str, Any]:
    """The OCTO booking of an experience's reservation or booking."""
    e = row.experience
    status = octo_status(row)
    return render_booking(
        row,
        sold(e, caller),
        caller,
        rate,
        status=status,
        confirmed_at=_confirmed_at(row, status),
        cancellable=cancellable(status, now, starts=row.slot.start, free_until=free_until(row)),
        cancellation=_cancellation(row, status),
        availability_id=availability_id(e, row.slot.start),
        availability=availability_view(e, row.slot, caller, rate),
        price_of=lambda unit_id: _prices_of(row, unit_id),
        once=False,
    )
