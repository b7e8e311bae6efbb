"""Sales reports of package bookings: bookings, participants, revenue (retail), net and the
platform's commission, by village, by package and by month.

An agency sees its own bookings (``agency_id``); admins see every agency's (``None``).

What counts: bookings still sold, i.e. whose summary status is pending, confirmed, completed
or no-show (a booking wholly declined, expired or cancelled is not a sale), and, by village,
their items in those states (a declined item's village is not paid, its replacement's is).

* By package and by month (the month of the package's first day): the booking's own figures,
  ``total_vnd`` (retail), ``net_total_vnd`` and ``commission_vnd``; participants are the
  party (the largest party of the booking's items).
* By village: net is the sum of the village's items (its own prices); bookings are the
  bookings with an item there; participants count a person once per session (places). A
  package's retail and commission are shared out between its villages in proportion to their
  net, rounded once per report row (so a column may differ from the package figures by a
  few VND).

Every figure is one SQL aggregation (GROUP BY), never a Python loop over bookings.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import Float, Integer, cast, distinct, extract, func, select

from tourplanner.adapters.orm import Agency, Booking, BookingItem, Package, Village
from tourplanner.domain import booking as rules
from tourplanner.extensions import db

SOLD = (rules.PENDING, rules.CONFIRMED, rules.COMPLETED, rules.NO_SHOW)
DIMENSIONS = ("village", "package", "month")
FIGURES = ("bookings", "participants", "retail_vnd", "net_vnd", "commission_vnd")


def _scope(stmt: Any, agency_id: int | None) -> Any:
    stmt = stmt.where(Booking.package_id.is_not(None), Booking.status.in_(SOLD))
    if agency_id is not None:
        stmt = stmt.where(Booking.agency_id == agency_id)
    return stmt


def _party_sizes() -> Any:
    """Per booking, its party: the largest party among its items."""
    size = BookingItem.adults + BookingItem.children + BookingItem.seniors
    return (
        select(BookingItem.booking_id.label("booking_id"), func.max(size).label("party"))
        .group_by(BookingItem.booking_id)
        .subquery()
    )


def _money(value: Any) -> int:
    return round(float(value or 0))


def by_package(agency_id: int | None = None) -> list[dict[str, Any]]:
    party = _party_sizes()
    stmt = (
        select(
            Package.slug,
            Package.name_vi,
            Package.name_en,
            Agency.name.label("agency"),
            func.count(Booking.id),
            func.coalesce(func.sum(party.c.party), 0),
            func.coalesce(func.sum(Booking.total_vnd), 0),
            func.coalesce(func.sum(Booking.net_total_vnd), 0),
            func.coalesce(func.sum(Booking.commission_vnd), 0),
        )
        .join(Package, Booking.package_id == Package.id)
        .join(Agency, Package.agency_id == Agency.id)
        .join(party, party.c.booking_id == Booking.id)
        .group_by(Package.id, Package.slug, Package.name_vi, Package.name_en, Agency.name)
        .order_by(Package.slug)
    )
    return [
        {
            "key": slug,
            "name_vi": name_vi,
            "name_en": name_en,
            "agency": agency,
            **_figures(row),
        }
        for slug, name_vi, name_en, agency, *row in db.session.execute(_scope(stmt, agency_id))
    ]


def by_month(agency_id: int | None = None) -> list[dict[str, Any]]:
    party = _party_sizes()
    year = cast(extract("year", Booking.package_date), Integer)
    month = cast(extract("month", Booking.package_date), Integer)
    stmt = (
        select(
            year,
            month,
            func.count(Booking.id),
            func.coalesce(func.sum(party.c.party), 0),
            func.coalesce(func.sum(Booking.total_vnd), 0),
            func.coalesce(func.sum(Booking.net_total_vnd), 0),
            func.coalesce(func.sum(Booking.commission_vnd), 0),
        )
        .join(party, party.c.booking_id == Booking.id)
        .group_by(year, month)
        .order_by(year, month)
    )
    return [
        {"key": f"{int(y):04d}-{int(m):02d}", **_figures(row)}
        for y, m, *row in db.session.execute(_scope(stmt, agency_id))
    ]


def by_village(agency_id: int | None = None) -> list[dict[str, Any]]:
    size = BookingItem.adults + BookingItem.children + BookingItem.seniors
    # The item's share of its booking: its net over the booking's net (NULL when 0).
    share = cast(BookingItem.total_vnd, Float) / func.nullif(Booking.net_total_vnd, 0)
    stmt = (
        select(
            Village.slug,
            Village.name_vi,
            Village.name_en,
            func.count(distinct(Booking.id)),
            func.coalesce(func.sum(size), 0),
            func.sum(share * Booking.total_vnd),
            func.coalesce(func.sum(BookingItem.total_vnd), 0),
            func.sum(share * Booking.commission_vnd),
        )
        .select_from(BookingItem)
        .join(Booking, BookingItem.booking_id == Booking.id)
        .join(Village, BookingItem.village_id == Village.id)
        .where(BookingItem.status.in_(SOLD))
        .group_by(Village.id, Village.slug, Village.name_vi, Village.name_en)
        .order_by(Village.slug)
    )
    return [
        {"key": slug, "name_vi": name_vi, "name_en": name_en, **_figures(row)}
        for slug, name_vi, name_en, *row in db.session.execute(_scope(stmt, agency_id))
    ]


def _figures(row: Any) -> dict[str, int]:
    bookings, participants, retail, net, commission = row
    return {
        "bookings": int(bookings),
        "participants": int(participants or 0),
        "retail_vnd": _money(retail),
        "net_vnd": _money(net),
        "commission_vnd": _money(commission),
    }


def totals(agency_id: int | None = None) -> dict[str, int]:
    party = _party_sizes()
    stmt = select(
        func.count(Booking.id),
        func.coalesce(func.sum(party.c.party), 0),
        func.coalesce(func.sum(Booking.total_vnd), 0),
        func.coalesce(func.sum(Booking.net_total_vnd), 0),
        func.coalesce(func.sum(Booking.commission_vnd), 0),
    ).join(party, party.c.booking_id == Booking.id)
    return _figures(db.session.execute(_scope(stmt, agency_id)).one())


def report(agency_id: int | None = None) -> dict[str, Any]:
    """Everything the report pages show."""
    return {
        "totals": totals(agency_id),
        "village": by_village(agency_id),
        "package": by_package(agency_id),
        "month": by_month(agency_id),
    }


ROWS = {"village": by_village, "package": by_package, "month": by_month}


def _cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula (= + - @, tab, CR) is quoted with '."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(dimension: str, agency_id: int | None = None) -> str:
    """One report table as CSV (``dimension``: village, package or month)."""
    rows = ROWS[dimension](agency_id)
    names = ["name_vi", "name_en"] if dimension != "month" else []
    if dimension == "package" and agency_id is None:
        names.append("agency")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([dimension, *names, *FIGURES])
    for row in rows:
        writer.writerow([_cell(row[k]) for k in ("key", *names, *FIGURES)])
    return out.getvalue()
