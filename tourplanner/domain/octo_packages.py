"""OCTO's shapes of a published package sold as a product: plain Python, no Flask, no SQLAlchemy.

A package on a first date is several workshop sessions over one to five days, booked all or
nothing (docs/octo.md, "Packages"):

* product ``package:<slug>`` (the prefix keeps it apart from the experiences' slugs),
  ``START_TIME``, one option ``DEFAULT`` whose one start time is the package's first stop;
* one availability per first date, id ``<date>T<first stop's start>+07:00``; ``vacancies``
  and ``capacity`` are the fewest over the package's sessions; ``SOLD_OUT`` when a session is
  full, ``CLOSED`` (calendar) when the package does not run that date;
* units per participant category at the package's retail price per person (``net`` by the
  agency's rule of :func:`tourplanner.domain.octo.pricing`);
* status of a confirmed package booking: one answer over its items (:func:`package_status`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from tourplanner.domain.availability import LOCAL_TZ, local_datetime
from tourplanner.domain.octo import (
    CHILD_MAX_AGE,
    CONTENT,
    CURRENCY,
    ITEM_STATUS,
    MAX_AGE,
    OPTION_ID,
    PRICING,
    RESERVATION_STATUS,
    SENIOR_MIN_AGE,
    START_TIME,
    TIME_ZONE,
    UNIT_AGES,
    UNIT_TITLES,
    UNIT_TYPES,
    Caller,
    OctoError,
    contact_view,
    local_iso,
    parse_availability_id,
    pricing,
    text_in,
    utc,
    vacancy_status,
)
from tourplanner.domain.pricing import MAX_PER_CATEGORY

if TYPE_CHECKING:
    from tourplanner.adapters.orm.octo import OctoBooking

PREFIX = "package:"
UNITS = ("adult", "child", "senior")


def product_id(slug: str) -> str:
    return f"{PREFIX}{slug}"


def package_slug(value: object) -> str | None:
    """The package slug a product id names, or None when it is not a package's id."""
    if isinstance(value, str) and value.startswith(PREFIX) and len(value) <= 140:
        return value[len(PREFIX) :] or None
    return None


def invalid_product(value: object) -> OctoError:
    return OctoError(
        "INVALID_PRODUCT_ID",
        "The productId was missing or invalid",
        productId=value if isinstance(value, str) else "",
    )


@dataclass(frozen=True)
class PackageProduct:
    """What the OCTO shapes read of a published package (its public view and its workshops)."""

    slug: str
    name: Mapping[str, str]
    description: Mapping[str, str | None]
    included: Mapping[str, str | None]
    day_count: int
    #: Retail price per person and category (None: not sold to that category).
    retail: Mapping[str, int | None]
    first_start: time
    #: Minutes from the first stop's start to the last stop's end, days included.
    duration_minutes: int
    min_age: int
    instant: bool
    free_cancellation_hours: int
    booking_cutoff_hours: int

    @property
    def id(self) -> str:
        return product_id(self.slug)

    def units(self) -> list[str]:
        return [u for u in UNITS if self.retail.get(u) is not None]

    def availability_id(self, first_date: date) -> str:
        return local_iso(local_datetime(first_date, self.first_start))

    def first_date_of(self, value: object) -> date | None:
        """The first date an availability id names (its time must be the package's start)."""
        moment = parse_availability_id(value)
        if moment is None:
            return None
        local = moment.astimezone(LOCAL_TZ)
        day = local.date()
        return day if self.availability_id(day) == local_iso(local) else None


@dataclass(frozen=True)
class PackageDate:
    """The package on one first date: its sessions' fewest places, and when booking closes."""

    first_date: date
    vacancies: int | None
    capacity: int | None
    sold_out: bool
    cutoff: datetime | None


def _restrictions(p: PackageProduct, unit_id: str) -> dict[str, Any]:
    ages = {
        "adult": (max(16, p.min_age), MAX_AGE),
        "child": (p.min_age, CHILD_MAX_AGE),
        "senior": (max(SENIOR_MIN_AGE, p.min_age), MAX_AGE),
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


def unit_view(p: PackageProduct, unit_id: str, caller: Caller, rate: int) -> dict[str, Any]:
    unit: dict[str, Any] = {
        "id": unit_id,
        "internalName": text_in(UNIT_TITLES[unit_id], caller.lang),
        "reference": None,
        "type": UNIT_TYPES[unit_id],
        "restrictions": _restrictions(p, unit_id),
        "requiredContactFields": [],
    }
    if caller.wants(PRICING):
        price = pricing(int(p.retail[unit_id] or 0), rate)
        unit["pricingFrom"] = [price]
        unit["pricing"] = [price]
    if caller.wants(CONTENT):
        unit["title"] = text_in(UNIT_TITLES[unit_id], caller.lang)
        unit["shortDescription"] = text_in(UNIT_AGES[unit_id], caller.lang)
        unit["features"] = []
    return unit


FEATURES = {
    "package": {
        "vi": "Gói {n} ngày: mọi buổi trải nghiệm được giữ chỗ cùng lúc, đủ cả hoặc không.",
        "en": "A {n}-day package: every workshop session is held at once, all or none.",
    },
    "cancel": {
        "vi": "Hủy miễn phí đến {h} giờ trước buổi đầu tiên.",
        "en": "Free cancellation up to {h} hours before the first session.",
    },
    "cutoff": {"vi": "Đặt trước ít nhất {h} giờ.", "en": "Book at least {h} hours ahead."},
    "request": {
        "vi": "Mỗi làng xác nhận phần của mình; trạng thái là PENDING cho đến khi mọi làng "
        "xác nhận, REJECTED nếu một làng từ chối.",
        "en": "Each village confirms its part; the booking is PENDING until every village "
        "has confirmed, REJECTED if one declines.",
    },
}


def _text(key: str, lang: str, **values: Any) -> str:
    return text_in(FEATURES[key], lang).format(**values)


def _content(p: PackageProduct, caller: Caller) -> dict[str, Any]:
    lang = caller.lang
    description = p.description.get(lang) or p.description.get("vi")
    features = [
        {"shortDescription": _text("package", lang, n=p.day_count), "type": "INCLUSION"},
        {
            "shortDescription": _text("cancel", lang, h=p.free_cancellation_hours),
            "type": "CANCELLATION_TERM",
        },
        {
            "shortDescription": _text("cutoff", lang, h=p.booking_cutoff_hours),
            "type": "BOOKING_TERM",
        },
    ]
    if not p.instant:
        features.append({"shortDescription": _text("request", lang), "type": "BOOKING_TERM"})
    included = p.included.get(lang) or p.included.get("vi")
    if included:
        features.append({"shortDescription": included, "type": "INCLUSION"})
    return {
        "title": text_in(p.name, lang),
        "shortDescription": description.split(". ")[0].rstrip(".") + "." if description else None,
        "description": description,
        "features": features,
        "faqs": [],
        "media": [],
        "locations": [],
        "categoryLabels": ["multi-day-tours" if p.day_count > 1 else "day-trips"],
        "durationMinutesFrom": p.duration_minutes,
        "durationMinutesTo": None,
        "commentary": [],
    }


def option_view(p: PackageProduct, caller: Caller, rate: int) -> dict[str, Any]:
    hours = p.free_cancellation_hours
    option: dict[str, Any] = {
        "id": OPTION_ID,
        "default": True,
        "internalName": text_in(p.name, caller.lang),
        "reference": None,
        "availabilityLocalStartTimes": [p.first_start.strftime("%H:%M")],
        "cancellationCutoff": f"{hours} hours",
        "cancellationCutoffAmount": hours,
        "cancellationCutoffUnit": "hour",
        "requiredContactFields": [],
        "restrictions": {"minUnits": 1, "maxUnits": None},
        "units": [unit_view(p, u, caller, rate) for u in p.units()],
    }
    if caller.wants(CONTENT):
        option.update(_content(p, caller))
    return option


def product_view(p: PackageProduct, caller: Caller, rate: int) -> dict[str, Any]:
    product: dict[str, Any] = {
        "id": p.id,
        "internalName": text_in(p.name, caller.lang),
        "reference": p.slug,
        "locale": caller.lang,
        "timeZone": TIME_ZONE,
        "allowFreesale": False,
        "instantConfirmation": p.instant,
        "instantDelivery": p.instant,
        "availabilityRequired": True,
        "availabilityType": START_TIME,
        "deliveryFormats": ["QRCODE"],
        "deliveryMethods": ["VOUCHER"],
        "redemptionMethod": "DIGITAL",
        "options": [option_view(p, caller, rate)],
    }
    if caller.wants(PRICING):
        product.update(defaultCurrency=CURRENCY, availableCurrencies=[CURRENCY], pricingPer="UNIT")
    if caller.wants(CONTENT):
        product.update(_content(p, caller))
    return product


def units_total(
    p: PackageProduct, units: Sequence[str], rate: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    per_unit = [{"unitId": u, **pricing(int(p.retail[u] or 0), rate)} for u in p.units()]
    chosen = list(units) or ["adult"]
    return per_unit, party_pricing([int(p.retail.get(u) or 0) for u in chosen], rate)


def party_pricing(retail: Sequence[int], rate: int) -> dict[str, Any]:
    """The price of a party: its retail total, ``net`` that total less the commission taken
    once on it (docs/packages.md, "Prices": the package booking's ``commission_vnd``), so it
    can differ by a dong from the sum of the per-person nets."""
    return pricing(sum(retail), rate)


def status_of(day: PackageDate) -> str:
    if day.sold_out or (not day.vacancies and day.vacancies is not None):
        return "SOLD_OUT"
    if day.vacancies is None or day.capacity is None:
        return "AVAILABLE"
    return vacancy_status(day.vacancies, day.capacity)


def _span(p: PackageProduct, first_date: date) -> tuple[datetime, datetime]:
    start = local_datetime(first_date, p.first_start)
    return start, start + timedelta(minutes=p.duration_minutes)


def availability_view(
    p: PackageProduct, day: PackageDate, caller: Caller, rate: int, units: Sequence[str] = ()
) -> dict[str, Any]:
    start, end = _span(p, day.first_date)
    status = status_of(day)
    result: dict[str, Any] = {
        "id": p.availability_id(day.first_date),
        "localDateTimeStart": local_iso(start),
        "localDateTimeEnd": local_iso(end),
        "utcCutoffAt": utc(day.cutoff),
        "allDay": False,
        "available": status != "SOLD_OUT"
        and (day.vacancies is None or day.vacancies >= max(1, len(units))),
        "status": status,
        "vacancies": day.vacancies,
        "capacity": day.capacity,
        "maxUnits": None,
        "openingHours": [],
    }
    if caller.wants(PRICING):
        result["unitPricing"], result["pricing"] = units_total(p, units, rate)
    if caller.wants(CONTENT):
        result.update(title=None, shortDescription="")
    return result


def calendar_day(
    p: PackageProduct,
    on: date,
    day: PackageDate | None,
    caller: Caller,
    rate: int,
    units: Sequence[str],
) -> dict[str, Any]:
    """One calendar entry: the package starting that date, CLOSED when it does not run."""
    if day is None:
        status, available, vacancies, capacity = "CLOSED", False, None, None
    else:
        status, vacancies, capacity = status_of(day), day.vacancies, day.capacity
        available = status != "SOLD_OUT" and (vacancies is None or vacancies >= max(1, len(units)))
    result: dict[str, Any] = {
        "localDate": on.isoformat(),
        "available": available,
        "status": status,
        "vacancies": vacancies,
        "capacity": capacity,
        "openingHours": [],
    }
    if caller.wants(PRICING):
        result["unitPricingFrom"], result["pricingFrom"] = units_total(p, units, rate)
    return result


def package_status(items: Iterable[Any], replaced: Iterable[int] = ()) -> str:
    """The OCTO status of a confirmed package booking over its items (each village answers
    its own): REJECTED as soon as one is declined or unanswered (unless the agency replaced
    it), PENDING while one waits, CANCELLED when every item is, REDEEMED when every item was
    attended, else CONFIRMED."""
    gone = set(replaced)
    statuses = [ITEM_STATUS[i.status] for i in items if i.id not in gone]
    if not statuses:
        return "PENDING"
    if "REJECTED" in statuses:
        return "REJECTED"
    if "PENDING" in statuses:
        return "PENDING"
    if all(s == "CANCELLED" for s in statuses):
        return "CANCELLED"
    if all(s == "REDEEMED" for s in statuses):
        return "REDEEMED"
    return "CONFIRMED"


def reservation_status(row: OctoBooking, replaced: Iterable[int] = ()) -> str:
    if row.booking is not None and row.booking.items:
        return package_status(row.booking.items, replaced)
    return RESERVATION_STATUS[row.status]


def unit_price(row: OctoBooking, p: PackageProduct | None, unit_id: str) -> int:
    """A unit's retail price as reserved (``package_terms``), else the package's today."""
    stored = (row.package_terms or {}).get("retail", {})
    if stored.get(unit_id) is not None:
        return int(stored[unit_id])
    return int((p.retail.get(unit_id) if p else None) or 0)


def booking_view(
    row: OctoBooking,
    p: PackageProduct,
    day: PackageDate,
    status: str,
    caller: Caller,
    rate: int,
    *,
    cancellable: bool,
) -> dict[str, Any]:
    """The OCTO booking of a package reservation or booking."""
    confirmed = status in ("CONFIRMED", "REDEEMED", "CANCELLED") and row.confirmed_at is not None
    cancelled = status == "CANCELLED"
    items = list(row.booking.items) if row.booking is not None else []
    fee = sum(i.cancellation_fee_vnd or 0 for i in items)
    updated = row.updated_at
    if row.booking is not None and row.booking.updated_at > updated:
        updated = row.booking.updated_at
    view: dict[str, Any] = {
        "id": row.uuid,
        "uuid": row.uuid,
        "testMode": bool(row.test_mode),
        "resellerReference": row.reseller_reference,
        "supplierReference": row.supplier_reference,
        "status": status,
        "utcCreatedAt": utc(row.created_at),
        "utcUpdatedAt": utc(updated),
        "utcExpiresAt": utc(row.expires_at) if status in ("ON_HOLD", "EXPIRED") else None,
        "utcRedeemedAt": utc(updated) if status == "REDEEMED" else None,
        "utcConfirmedAt": utc(row.confirmed_at) if confirmed else None,
        "productId": p.id,
        "product": product_view(p, caller, rate),
        "optionId": OPTION_ID,
        "option": option_view(p, caller, rate),
        "cancellable": cancellable,
        "cancellation": {
            "refund": "NONE" if fee else "FULL",
            "reason": row.cancellation_reason,
            "utcCancelledAt": utc(row.cancelled_at),
        }
        if cancelled
        else None,
        "freesale": False,
        "availabilityId": p.availability_id(day.first_date),
        "availability": availability_view(p, day, caller, rate),
        "contact": contact_view(row.contact),
        "notes": row.notes,
        "deliveryMethods": ["VOUCHER"],
        "voucher": {
            "redemptionMethod": "DIGITAL",
            "utcRedeemedAt": None,
            "deliveryOptions": [
                {"deliveryFormat": "QRCODE", "deliveryValue": row.supplier_reference}
            ]
            if status in ("CONFIRMED", "REDEEMED")
            else [],
        },
        "unitItems": [_unit_item(row, p, u, status, caller, rate) for u in row.unit_items],
    }
    if caller.wants(PRICING):
        view["pricing"] = party_pricing(
            [unit_price(row, p, u["unitId"]) for u in row.unit_items], rate
        )
    return view


def _unit_item(
    row: OctoBooking,
    p: PackageProduct,
    item: Mapping[str, Any],
    status: str,
    caller: Caller,
    rate: int,
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "uuid": item["uuid"],
        "resellerReference": item.get("resellerReference"),
        "supplierReference": None,
        "unitId": item["unitId"],
        "unit": unit_view(p, item["unitId"], caller, rate),
        "status": status,
        "utcRedeemedAt": None,
        "contact": contact_view(item.get("contact")),
        "ticket": None,
    }
    if caller.wants(PRICING):
        view["pricing"] = pricing(unit_price(row, p, item["unitId"]), rate)
    return view
