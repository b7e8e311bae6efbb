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
    thirty_race_for_ten_places,
)

from tourplanner.domain.pricing import Party
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
    # The plan worked out once, before the threads.
    package_booking._booking_plan(pkg.slug, FIRST, party, agency_id=None, now=None)
    thirty_race_for_ten_places(app, pkg, FIRST, plan)

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
