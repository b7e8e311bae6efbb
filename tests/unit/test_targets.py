"""The plan's targets: the dashboard, the public summary, the CSV and /api/v1/stats/targets
agree with counts computed directly from the database, and each figure moves with its facts."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

from demo_days import open_day
from sqlalchemy import func, select

from tourplanner.adapters.orm import (
    BookingItem,
    Experience,
    Product,
    TourRoute,
    TourRouteStop,
    Village,
)
from tourplanner.domain import targets
from tourplanner.extensions import db
from tourplanner.services import accounts, availability, booking, stats

KEYS = {
    "villages_with_tourism",
    "tour_routes",
    "products_digitised",
    "ocop_village_share",
    "ip_village_share",
    "display_point_share",
}


def _pct(part: int, whole: int) -> float:
    return round(100 * part / whole, 1)


def _direct_counts() -> dict[str, float]:
    """The definitions of docs/targets.md, written again as plain queries."""
    villages = db.session.scalars(select(Village)).all()
    published = select(Product).where(Product.review_status == "published")
    products = db.session.scalars(published).all()
    ocop = {p.village_id for p in products if p.ocop_status == "certified" and p.village_id}
    ocop |= {v.id for v in villages if v.has_ocop_products}
    ip = {p.village_id for p in products if p.ip_protected and p.village_id}
    ip |= {v.id for v in villages if v.ip_protected}
    display = {
        v.id
        for v in villages
        if v.has_display_space or v.display_space or v.sales_points or v.shop_links
    }
    routes = db.session.scalar(
        select(func.count()).select_from(TourRoute).where(TourRoute.status == "published")
    )
    return {
        "tour_routes": routes,
        "products_digitised": len(products),
        "ocop_village_share": _pct(len(ocop), len(villages)),
        "ip_village_share": _pct(len(ip), len(villages)),
        "display_point_share": _pct(len(display), len(villages)),
    }


def _route(slug: str, status: str = "published") -> None:
    village = db.session.scalars(select(Village).where(Village.slug == "bat-trang")).one()
    route = TourRoute(
        slug=slug,
        status=status,
        name_vi="Tuyến gốm",
        name_en="Ceramics route",
        published_at=datetime.now(UTC) if status == "published" else None,
    )
    route.stops.append(TourRouteStop(position=0, village_id=village.id))
    db.session.add(route)
    db.session.commit()


def test_api_returns_every_target_with_value_targets_and_unit(client):
    body = client.get("/api/v1/stats/targets").get_json()
    assert set(body) >= KEYS
    for key, figure in body.items():
        assert set(figure) == {"value", "target_2030", "target_2050", "unit"}, key
        assert figure["unit"] in ("count", "percent")
    assert body["tour_routes"]["target_2030"] == 10 and body["tour_routes"]["target_2050"] == 20
    assert body["ip_village_share"]["target_2050"] == 50


def test_figures_equal_counts_computed_directly_from_the_database(client, app):
    _route("ceramics-route")
    _route("draft-route", status="draft")
    with app.app_context():
        expected = _direct_counts()
    body = client.get("/api/v1/stats/targets").get_json()
    for key, value in expected.items():
        assert body[key]["value"] == value, key
    assert body["tour_routes"]["value"] == 1
    assert body["products_digitised"]["value"] > 0


def test_a_published_route_adds_one_to_the_figure_its_list_and_its_trend(app):
    before = stats.figure("tour_routes")
    _route("silk-route")
    after = stats.figure("tour_routes")
    assert after.value == before.value + 1
    assert "silk-route" in {r.slug for r in after.rows}
    assert after.trend[-1] == before.trend[-1] + 1


def test_villages_with_tourism_need_a_confirmed_booking_in_the_last_12_months(client, app):
    exp = db.session.scalars(
        select(Experience).where(Experience.slug == "bat-trang-workshop-pottery-wheel")
    ).one()
    day = open_day(10)
    slot = availability.slots_for_day([exp.id], day)[exp.id][0]
    answer = client.post(
        "/api/v1/bookings",
        json={
            "items": [{"slot_id": slot.id, "party": {"adults": 2}}],
            "contact": {"name": "Lan", "email": "lan@example.org"},
        },
    ).get_json()
    assert "bat-trang" not in {r.slug for r in stats.figure("villages_with_tourism").rows}
    item = db.session.scalars(
        select(BookingItem).where(BookingItem.booking.has(reference=answer["reference"]))
    ).one()
    booking.decide(item.id, accept=True, village_id=exp.village_id)
    figure = stats.figure("villages_with_tourism")
    assert "bat-trang" in {r.slug for r in figure.rows}
    assert figure.value == len(figure.rows)
    # Thirteen months on, the same booking no longer counts.
    later = datetime.now(UTC) + timedelta(days=400)
    assert "bat-trang" not in {
        r.slug for r in stats.figure("villages_with_tourism", now=later).rows
    }


def test_recognition_and_restoration_years_from_2025_count(app):
    villages = db.session.scalars(select(Village).order_by(Village.slug).limit(3)).all()
    villages[0].recognised_year = 2026
    villages[1].recognised_year = 2019  # before the plan: not new
    villages[2].craft_at_risk = True
    villages[2].craft_restored_year = 2027
    db.session.commit()
    board = stats.dashboard()
    by_key = {f.key: f for f in board.figures}
    assert [r.slug for r in by_key["newly_recognised_villages"].rows] == [villages[0].slug]
    assert [r.slug for r in by_key["crafts_restored"].rows] == [villages[2].slug]
    assert villages[2].slug in {r.slug for r in board.at_risk}


def test_pages_show_each_figure_and_link_to_the_list_behind_it(client, app):
    _route("ceramics-route")
    page = client.get("/targets?lang=en").get_data(as_text=True)
    for key in KEYS:
        assert f'href="/targets/{key}"' in page
    assert "Published tour routes" in page
    rows = client.get("/targets/tour_routes?lang=en").get_data(as_text=True)
    assert "Ceramics route" in rows
    vi = client.get("/targets?lang=vi").get_data(as_text=True)
    assert "Published tour routes" not in vi
    assert client.get("/targets/no_such_target").status_code == 404


def test_admin_dashboard_needs_an_admin_and_draws_a_chart(client, app):
    assert client.get("/admin/targets").status_code == 302
    accounts.create_user("city@example.org", "correct horse 9", "admin")
    client.post("/village/login", data={"email": "city@example.org", "password": "correct horse 9"})
    page = client.get("/admin/targets?lang=en").get_data(as_text=True)
    assert page.count('<svg class="trend"') >= 3


def test_csv_has_one_row_per_target_with_its_trend(client):
    text = client.get("/targets.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:5] == ["target", "unit", "value", "target_2030", "target_2050"]
    assert {r[0] for r in rows[1:]} == {t.key for t in targets.TARGETS}
    assert len(rows[0]) == 5 + stats.TREND_MONTHS
    listed = list(
        csv.reader(
            io.StringIO(client.get("/targets/products_digitised.csv").get_data(as_text=True))
        )
    )
    assert (
        len(listed) - 1
        == client.get("/api/v1/stats/targets").get_json()["products_digitised"]["value"]
    )


def test_cumulative_by_month_counts_events_before_the_window():
    months = targets.months_between(date(2026, 11, 1), date(2027, 1, 31))
    assert months == ["2026-11", "2026-12", "2027-01"]
    days = [date(2025, 5, 1), date(2026, 12, 3), date(2027, 1, 2), date(2027, 1, 9)]
    assert targets.cumulative_by_month(days, months) == [1, 2, 4]
