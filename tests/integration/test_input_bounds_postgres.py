"""On PostgreSQL, input that the database cannot hold is refused before any query: NUL bytes
(PostgreSQL text cannot contain them) and integers beyond its 4-byte ``integer`` (2**31 - 1).
Each was a 500 before the bounds; each is now a 400 (or a 404) and writes nothing."""

from __future__ import annotations

import pytest
from booking_helpers import CONTACT, fresh_slot
from sqlalchemy import func, select

from tourplanner.adapters.orm import Booking, Notification, Plan, Slot
from tourplanner.extensions import db

pytestmark = pytest.mark.integration


@pytest.fixture
def client(pg_app):
    pg_app.config["RATE_LIMITS"] = False
    return pg_app.test_client()


def _counts() -> tuple[int, ...]:
    db.session.expire_all()
    return tuple(
        db.session.scalar(select(func.count()).select_from(t))
        for t in (Booking, Notification, Plan, Slot)
    )


def _field(response, status: int = 400) -> str:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    return response.get_json()["error"]["details"].get("field")


def test_nul_bytes_in_name_query_and_path_are_400s(client):
    slot = fresh_slot()
    before = _counts()
    body = {
        "items": [{"slot_id": slot.id, "party": {"adults": 1}}],
        "contact": {**CONTACT, "name": "Lan\x00Nguyễn"},
    }
    assert _field(client.post("/api/v1/bookings", json=body)) == "contact.name"
    assert _field(client.get("/api/v1/villages?q=g%00m")) == "q"
    assert _field(client.get("/api/v1/products?village=bat%00trang")) == "village"
    assert _field(client.get("/api/v1/villages/bat%00trang")) == "path"
    assert _field(client.get("/api/v1/bookings/TP-%00?token=x")) == "path"
    assert _field(client.get("/api/v1/plans/p%00")) == "path"
    assert _counts() == before


def test_integers_beyond_postgresql_integer_are_refused(client):
    before = _counts()
    body = {"items": [{"slot_id": 2**31, "party": {"adults": 1}}], "contact": CONTACT}
    assert _field(client.post("/api/v1/bookings", json=body)) == "items[0].slot_id"
    assert _field(client.get("/api/v1/villages?page=2147483648")) == "page"
    assert client.get("/api/v1/experiences/2147483648").status_code == 404
    assert client.get("/api/v1/experiences/2147483648/availability").status_code == 404
    assert _counts() == before
