"""The one-statement booking write's parameters (adapters/orm/booking_writes.py): plain
Python, no database (its SQL runs in tests/integration/test_booking_postgres.py)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from tourplanner.adapters.orm import Booking, BookingItem, booking_writes


def test_rows_go_as_json_documents_keyed_by_column_name_with_aware_times():
    at = datetime(2027, 1, 2, 3, 4, tzinfo=UTC)
    values = booking_writes.parameters(
        SimpleNamespace(id=7, created_at=at, package_date=date(2027, 1, 5), items=["not a column"]),
        [SimpleNamespace(id=8, booking_id=7, end=at, prices_vnd={"adult": 100})],
        [{"booking_id": 7, "channel": "email", "payload": {"render": "requested"}}],
    )
    (booking,), (item,), (row,) = (json.loads(values[k]) for k in ("booking", "items", "rows"))
    # Every column, by its name; the models' defaults where a value was not given.
    assert set(booking) == {c.name for c in Booking.__table__.columns}
    assert (booking["id"], booking["created_at"], booking["package_date"]) == (
        7,
        at.isoformat(),
        "2027-01-05",
    )
    assert (booking["source"], booking["lang"], booking["notes"]) == ("site", "vi", None)
    assert set(item) == {c.name for c in BookingItem.__table__.columns}
    assert (item["id"], item["booking_id"], item["end"], item["prices_vnd"]) == (
        8,
        7,
        at.isoformat(),
        {"adult": 100},
    )
    # An outbox row gets every column but its id (the table's sequence draws it).
    assert "id" not in row and (row["status"], row["attempts"], row["subject"]) == (
        "pending",
        0,
        "",
    )


def test_a_naive_time_is_refused_as_the_models_refuse_it():
    with pytest.raises(ValueError, match="naive"):
        booking_writes.parameters(SimpleNamespace(id=1, created_at=datetime(2027, 1, 2)), [], [])


def test_the_statement_takes_the_places_first_only_for_one_slot():
    one, several = (booking_writes.statement(take).text for take in (True, False))
    assert one.startswith("WITH took AS (UPDATE slots") and one.count("FROM took") == 3
    assert "UPDATE" not in several and "took" not in several
    # One text for every booking: short enough for psycopg's cache of parsed queries.
    assert len(one) < 4096 and ":booking" in one and ":rows" in one
