"""OCTO's shapes of a published package sold as a product: plain Python, no Flask, no SQLAlchemy.

A package on a first date is several workshop sessions over one to five days, booked all or
nothing (docs/octo.md, "Packages"):

* product ``package:<slug>`` (the prefix keeps it apart from the experiences' slugs),
  ``START_TIME``, one option ``DEFAULT`` whose one start time is the package's first stop;
* one availability per first date, id ``<date>T<first stop's start>+07:00``; ``vacancies``
  and ``capacity`` are the fewest over the package's sessions; ``SOLD_OUT`` when a session is
  full, ``CLOSED`` (calendar) when the package does not run that date;
* units per participant category at the package's retail price per person (``net`` less the
  agency's commission, :func:`tourplanner.domain.octo.pricing`; a party's once on its total);
* rendered by the renderers of :mod:`tourplanner.domain.octo` (``render_*``) from a
  :class:`~tourplanner.domain.octo.Sold` (:func:`sold`): only the facts differ;
* status of a confirmed package booking: one answer over its items (:func:`package_status`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from tourplanner.domain.availability import LOCAL_TZ, local_datetime
from tourplanner.domain.octo import (
    CONTENT,
    ITEM_STATUS,
    RESERVATION_STATUS,
    START_TIME,
    Caller,
    OctoError,
    Sold,
    local_iso,
    parse_availability_id,
    priced_units,
    render_availability,
    render_booking,
    render_calendar_day,
    render_option,
    render_product,
    render_unit,
    text_in,
    utc,
    vacancy_status,
)

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


def sold(p: PackageProduct, caller: Caller) -> Sold:
    """What the OCTO shapes read of a package: one start time (its first stop's), the
    package's retail prices, its own content."""
    return Sold(
        id=p.id,
        internal_name=text_in(p.name, caller.lang),
        reference=p.slug,
        availability_type=START_TIME,
        instant=p.instant,
        min_age=p.min_age,
        start_times=[p.first_start.strftime("%H:%M")],
        free_cancellation_hours=p.free_cancellation_hours,
        units=p.units(),
        price=lambda unit_id: int(p.retail.get(unit_id) or 0),
        content=_content(p, caller) if caller.wants(CONTENT) else None,
    )


def unit_view(p: PackageProduct, unit_id: str, caller: Caller, rate: int) -> dict[str, Any]:
    return render_unit(sold(p, caller), unit_id, caller, rate)


def option_view(p: PackageProduct, caller: Caller, rate: int) -> dict[str, Any]:
    return render_option(sold(p, caller), caller, rate)


def product_view(p: PackageProduct, caller: Caller, rate: int) -> dict[str, Any]:
    return render_product(sold(p, caller), caller, rate)


def units_total(
    p: PackageProduct, caller: Caller, units: Sequence[str], rate: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per-unit prices and the party's total, its commission taken once on it."""
    return priced_units(sold(p, caller), units, rate, once=True)


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
    return render_availability(
        availability_id=p.availability_id(day.first_date),
        start=start,
        end=end,
        cutoff=day.cutoff,
        all_day=False,
        status=status_of(day),
        vacancies=day.vacancies,
        capacity=day.capacity,
        units=units,
        opening=[],
        caller=caller,
        prices=units_total(p, caller, units, rate),
    )


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
    return render_calendar_day(
        day=on,
        status=status,
        available=available,
        vacancies=vacancies,
        capacity=capacity,
        opening=[],
        caller=caller,
        prices=units_total(p, caller, units, rate),
    )


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


def _confirmed_at(row: OctoBooking, status: str) -> datetime | None:
    """When the booking was confirmed: when its last village accepted (a test booking: when
    the reseller confirmed it); never, for one withdrawn before every village answered."""
    if status not in ("CONFIRMED", "REDEEMED", "CANCELLED"):
        return None
    if row.booking is None:
        return row.confirmed_at
    decided = [i.decided_at for i in row.booking.items]
    return max(decided) if decided and None not in decided else None


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
    cancellation = None
    if status == "CANCELLED":
        items = list(row.booking.items) if row.booking is not None else []
        fee = sum(i.cancellation_fee_vnd or 0 for i in items)
        cancellation = {
            "refund": "NONE" if fee else "FULL",
            "reason": row.cancellation_reason,
            "utcCancelledAt": utc(row.cancelled_at),
        }
    return render_booking(
        row,
        sold(p, caller),
        caller,
        rate,
        status=status,
        confirmed_at=_confirmed_at(row, status),
        cancellable=cancellable,
        cancellation=cancellation,
        availability_id=p.availability_id(day.first_date),
        availability=availability_view(p, day, caller, rate),
        price_of=lambda unit_id: unit_price(row, p, unit_id),
        once=True,
    )
