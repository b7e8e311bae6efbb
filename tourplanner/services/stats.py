"""The plan's targets, counted from the database: values, the list behind each, monthly trends.

Definitions (also in docs/targets.md; the denominators of the shares are the catalogue's
villages, which come from the city's recognition lists and district pages):

- ``villages_with_tourism``: villages with a published bookable experience and at least one
  booking item confirmed, completed or marked as a no-show whose session started in the last
  12 months or is still to come.
- ``tour_routes``: published tour routes (what ``GET /api/v1/routes`` lists).
- ``products_digitised``: published products (what the public catalogue shows).
- ``ocop_village_share``: villages flagged as having OCOP products, or with a published product
  whose OCOP certification is stated (``ocop_status`` "certified").
- ``ip_village_share``: villages flagged as IP-protected, or with a published product under IP
  protection.
- ``display_point_share``: villages with a display space, a sales point or an e-commerce link
  (or the flag ``has_display_space``).
- ``newly_recognised_villages`` / ``crafts_restored``: villages whose recognition decision /
  craft restoration the city recorded with a year from 2025 on.

Sample (demo) rows count like any other: production never holds them (``flask seed --demo``
refuses there); the dashboard says how many sample rows a figure includes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from tourplanner.adapters.orm import BookingItem, Experience, Product, TourRoute, Village
from tourplanner.domain import booking as rules
from tourplanner.domain import targets
from tourplanner.domain.availability import local_today
from tourplanner.domain.errors import NotFound
from tourplanner.extensions import db
from tourplanner.services.availability import now_utc
from tourplanner.services.catalogue import bookable_clause

COUNTED_STATES = (rules.CONFIRMED, rules.COMPLETED, rules.NO_SHOW)
TREND_MONTHS = 12


@dataclass
class Row:
    """One entry of the list behind a figure: a village, a product or a route."""

    kind: str
    slug: str
    name_vi: str
    name_en: str
    is_sample: bool = False
    detail: str = ""

    def name(self, lang: str) -> str:
        return (self.name_en or self.name_vi) if lang == "en" else self.name_vi


@dataclass
class Figure:
    target: targets.Target
    value: float
    rows: list[Row]
    #: Counts at the end of each month of the trend (None: the figure has no dated history).
    trend: list[float] | None = None
    samples: int = field(init=False)

    def __post_init__(self) -> None:
        self.samples = sum(1 for r in self.rows if r.is_sample)

    @property
    def key(self) -> str:
        return self.target.key

    @property
    def progress_2030(self) -> float | None:
        return targets.progress(self.value, self.target.target_2030)


@dataclass
class Dashboard:
    figures: list[Figure]
    months: list[str]
    villages: int
    at_risk: list[Row]

    def as_json(self) -> dict[str, dict[str, Any]]:
        return {f.key: targets.figure(f.target, f.value) for f in self.figures}


# --- the catalogue's villages and their flags -------------------------------------------------


def _village_row(v: Village, detail: str = "") -> Row:
    return Row("village", v.slug, v.name_vi, v.name_en, False, detail)


def _villages() -> list[Village]:
    return list(db.session.scalars(select(Village).order_by(Village.name_vi)))


def _product_villages(condition: Any) -> dict[int, datetime]:
    """``{village_id: when its first qualifying published product was digitised}``."""
    rows = db.session.execute(
        select(Product.village_id, Product.created_at).where(
            Product.review_status == "published", Product.village_id.is_not(None), condition
        )
    )
    first: dict[int, datetime] = {}
    for village_id, created in rows:
        if village_id not in first or created < first[village_id]:
            first[village_id] = created
    return first


def _share_figure(
    key: str,
    villages: list[Village],
    flagged: Callable[[Village], bool],
    by_product: dict[int, datetime],
    months: list[str],
) -> Figure:
    """Villages that qualify by a flag of their own (from the start) or by a product (from the
    month it was digitised); the trend is the share at the end of each month."""
    since: dict[int, date | None] = {}
    for v in villages:
        if flagged(v):
            since[v.id] = None
        elif v.id in by_product:
            since[v.id] = by_product[v.id].date()
    rows = [_village_row(v) for v in villages if v.id in since]
    dated = [d for d in since.values() if d is not None]
    always = len(since) - len(dated)
    counts = targets.cumulative_by_month(dated, months)
    trend = [targets.share(always + c, len(villages)) for c in counts]
    return Figure(targets.BY_KEY[key], targets.share(len(since), len(villages)), rows, trend=trend)


def _ocop_flag(v: Village) -> bool:
    return bool(v.has_ocop_products)


def _ip_flag(v: Village) -> bool:
    return bool(v.ip_protected)


def _has_display_point(v: Village) -> bool:
    return bool(v.has_display_space or v.display_space or v.sales_points or v.shop_links)


# --- tourism: villages with bookings --------------------------------------------------------


def _tourism_figure(now: datetime, months: list[str]) -> Figure:
    today = local_today(now)
    window_start = today - timedelta(days=365)
    trend_start = date.fromisoformat(months[0] + "-01") - timedelta(days=365)
    offering = select(Experience.village_id).where(*bookable_clause())
    items = db.session.execute(
        select(BookingItem.village_id, BookingItem.start).where(
            BookingItem.status.in_(COUNTED_STATES),
            BookingItem.village_id.in_(offering),
            BookingItem.start >= datetime.combine(trend_start, datetime.min.time(), now.tzinfo),
        )
    ).all()
    current = {vid for vid, start in items if start.date() >= window_start}
    villages = {
        v.id: v
        for v in db.session.scalars(
            select(Village).where(Village.id.in_(current)).order_by(Village.name_vi)
        )
    }
    trend: list[float] = []
    for month in months:
        end = _month_end(month)
        active = {vid for vid, start in items if end - timedelta(days=365) <= start.date() <= end}
        trend.append(len(active))
    rows = [_village_row(v) for v in sorted(villages.values(), key=lambda v: v.name_vi)]
    return Figure(targets.BY_KEY["villages_with_tourism"], len(rows), rows, trend=trend)


def _month_end(month: str) -> date:
    first = date.fromisoformat(month + "-01")
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


# --- routes and products --------------------------------------------------------------------


def _routes_figure(months: list[str]) -> Figure:
    routes = list(
        db.session.scalars(
            select(TourRoute).where(TourRoute.status == "published").order_by(TourRoute.name_vi)
        )
    )
    rows = [Row("route", r.slug, r.name_vi, r.name_en, r.is_sample) for r in routes]
    dated = [r.published_at.date() for r in routes if r.published_at is not None]
    trend = [float(c) for c in targets.cumulative_by_month(dated, months)]
    return Figure(targets.BY_KEY["tour_routes"], len(rows), rows, trend=trend)


def _products_figure(months: list[str]) -> Figure:
    products = list(
        db.session.scalars(
            select(Product).where(Product.review_status == "published").order_by(Product.name_vi)
        )
    )
    rows = [
        Row("product", p.slug, p.name_vi, p.name_en or "", p.is_sample, p.village_name or "")
        for p in products
    ]
    trend = [
        float(c)
        for c in targets.cumulative_by_month([p.created_at.date() for p in products], months)
    ]
    return Figure(targets.BY_KEY["products_digitised"], len(rows), rows, trend=trend)


def _year_figure(key: str, villages: list[Village], year_of: Callable[[Village], int | None]):
    rows = [
        _village_row(v, str(year_of(v)))
        for v in villages
        if (year_of(v) or 0) >= targets.PLAN_START_YEAR
    ]
    return Figure(targets.BY_KEY[key], len(rows), rows)


# --- the dashboard --------------------------------------------------------------------------


def dashboard(*, now: datetime | None = None) -> Dashboard:
    """Every target with its value, the list behind it and its trend over the last 12 months."""
    now = now or now_utc()
    today = local_today(now)
    months = targets.last_months(today, TREND_MONTHS)
    villages = _villages()
    ocop = _product_villages(Product.ocop_status == "certified")
    ip = _product_villages(Product.ip_protected.is_(True))
    figures = [
        _tourism_figure(now, months),
        _routes_figure(months),
        _products_figure(months),
        _share_figure(
            "ocop_village_share", villages, lambda v: bool(v.has_ocop_products), ocop, months
        ),
        _share_figure("ip_village_share", villages, lambda v: bool(v.ip_protected), ip, months),
        _share_figure("display_point_share", villages, _has_display_point, {}, months),
        _year_figure("newly_recognised_villages", villages, lambda v: v.recognised_year),
        _year_figure("crafts_restored", villages, lambda v: v.craft_restored_year),
    ]
    at_risk = [_village_row(v) for v in villages if v.craft_at_risk]
    return Dashboard(figures, months, len(villages), at_risk)


def targets_json(*, now: datetime | None = None) -> dict[str, dict[str, Any]]:
    """``GET /api/v1/stats/targets``: ``{key: {"value", "target_2030", "target_2050", "unit"}}``."""
    return dashboard(now=now).as_json()


def figure(key: str, *, now: datetime | None = None) -> Figure:
    """One target with the list behind it; NotFound for an unknown key."""
    if key not in targets.BY_KEY:
        raise NotFound("no such target", code="target_not_found", target=key)
    return next(f for f in dashboard(now=now).figures if f.key == key)


def targets_csv(*, now: datetime | None = None) -> str:
    """The figures and their monthly trend, one row per target."""
    board = dashboard(now=now)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["target", "unit", "value", "target_2030", "target_2050", *board.months])
    for f in board.figures:
        t = f.target
        trend = f.trend if f.trend is not None else [""] * len(board.months)
        writer.writerow([t.key, t.unit, f.value, t.target_2030, t.target_2050, *trend])
    return out.getvalue()


def rows_csv(key: str, *, now: datetime | None = None) -> str:
    """The list behind one figure."""
    f = figure(key, now=now)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["kind", "slug", "name_vi", "name_en", "sample", "detail"])
    for r in f.rows:
        writer.writerow([r.kind, r.slug, r.name_vi, r.name_en, r.is_sample, r.detail])
    return out.getvalue()
