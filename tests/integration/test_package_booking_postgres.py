"""No overbooking of packages on PostgreSQL: 30 concurrent bookings of one package for the same
date, with places for 10, end with exactly 10 whole package bookings and no item over capacity.
"""

from __future__ import annotations

import pytest
from package_fixtures import (
    agency,
    first_day,
    install_plans,
    leave_places,
    package,
    plan_for,
    race,
)
from sqlalchemy import func, select

from tourplanner.adapters.orm import Booking, BookingItem, Slot
from tourplanner.domain.pricing import Party
from tourplanner.extensions import db
from tourplanner.services import package_booking, reports

pytestmark = pytest.mark.integration

# A date no other integration test books (they use the seeded days and ~200 days ahead).
FIRST = first_day(150)


@pytest.fixture
def app(pg_app):
    # Thirty bookings from one address at once: request-rate limits off (RATE_LIMITS=off).
    pg_app.config["RATE_LIMITS"] = False
    return pg_app


def test_thirty_concurrent_package_bookings_for_ten_places_make_exactly_ten_whole_bookings(
    app, monkeypatch
):
    owner = agency("Sen")
    pkg = package(owner, FIRST)
    install_plans(monkeypatch, pkg)
    party = Party(adults=1)
    plan = plan_for(pkg, FIRST, party)
    leave_places(plan, 10)
    package_booking._booking_plan(pkg.slug, FIRST, party, agency_id=None, now=None)
    ids = [i.slot_id for i in plan.items]
    slug = pkg.slug

    def body(k: int) -> dict:
        return {
            "package": slug,
            "date": FIRST.isoformat(),
            "party": {"adults": 1},
            "contact": {"name": f"Guest {k}", "email": f"pg-guest{k}@example.org"},
        }

    results = race(app, 30, body)
    statuses = [status for status, _ in results]
    assert statuses.count(201) == 10 and statuses.count(409) == 20, sorted(statuses)
    assert all(
        b["error"]["code"] in ("slot_full", "package_not_runnable")
        for status, b in results
        if status == 409
    )
    db.session.expire_all()
    assert all(db.session.get(Slot, s).taken == db.session.get(Slot, s).capacity for s in ids)
    made = db.session.scalars(select(Booking).where(Booking.package_id == pkg.id)).all()
    assert len(made) == 10 and all(len(b.items) == len(ids) for b in made)
    for slot_id in ids:
        held = db.session.scalar(
            select(func.count()).select_from(BookingItem).where(BookingItem.slot_id == slot_id)
        )
        assert held == 10

    # The reports' SQL (GROUP BY month, shares in floating point) on PostgreSQL: ten sales of
    # the package, and by village the ten bookings' net adds up to the package's.
    agency_report = reports.report(owner.id)
    assert agency_report["totals"]["bookings"] == 10
    assert agency_report["totals"]["participants"] == 10
    assert agency_report["totals"]["net_vnd"] == 10 * plan.net_total_vnd
    assert agency_report["month"] == [{"key": f"{FIRST:%Y-%m}", **agency_report["totals"]}]
    villages = agency_report["village"]
    assert sum(v["net_vnd"] for v in villages) == 10 * plan.net_total_vnd
    assert sum(v["retail_vnd"] for v in villages) == 10 * plan.retail_total_vnd
