"""Capacity is shared with the site: OCTO reservations (and confirmations that add units) race
site bookings for the last places of one session, and the session is never overbooked, on
SQLite and on PostgreSQL. Both take places through booking.take's conditional UPDATE."""

from __future__ import annotations

import itertools
import secrets
import shutil
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tourplanner.adapters.orm import BookingItem, Experience, Slot
from tourplanner.adapters.orm.octo import OctoBooking
from tourplanner.extensions import db
from tourplanner.services import agencies, availability

pytestmark = pytest.mark.integration

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
WHEEL = "bat-trang-workshop-pottery-wheel"
_hours = itertools.count()


def _app(database_uri: str, tmp_path) -> Any:
    from tourplanner import create_app

    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_uri,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "pool_size": 60},
            "WTF_CSRF_ENABLED": False,
            "SERVER_NAME": "localhost",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "SECRET_KEY_FILE": tmp_path / "secret_key",
            "RATE_LIMITS": False,  # many requests from one address at once
        }
    )


@pytest.fixture
def sqlite_app(template_db, tmp_path) -> Iterator[Any]:
    path = tmp_path / "race.sqlite3"
    shutil.copy(template_db, path)
    app = _app(f"sqlite:///{path}", tmp_path)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def postgres_app(postgres_url, tmp_path) -> Iterator[Any]:
    from tourplanner.config import _database_url

    app = _app(_database_url(postgres_url), tmp_path)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def _set_up(capacity: int, taken: int) -> tuple[int, str, str]:
    """A session nobody else uses (an extra one, some 200 days ahead), ``taken`` of its
    ``capacity`` places already gone, and an agency's live key."""
    wheel = db.session.scalars(select(Experience).where(Experience.slug == WHEEL)).one()
    while True:  # a session no earlier test on this database left a reservation or item on
        n = next(_hours)
        day = datetime.now(HANOI).date() + timedelta(days=200 + n // 10)
        start = datetime.combine(day, datetime.min.time(), HANOI) + timedelta(hours=6 + n % 10)
        view = availability.add_extra_slot(wheel.id, start, capacity)
        if _held(view.id) == 0 and not _any_reservation(view.id):
            break
    slot = db.session.get(Slot, view.id)
    # The capacity asked for, whatever the experience's (another test may have changed it).
    slot.capacity, slot.taken = capacity, taken
    slug = f"race-{secrets.token_hex(4)}"
    agency = agencies.create_agency("Race agency", f"{slug}@agency.example", slug=slug)
    _key_id, key = agencies.create_api_key(agency["id"], "race")
    db.session.commit()
    return slot.id, start.isoformat(), key


def _reserve(client: Any, key: str, availability_id: str, units: int = 1) -> Any:
    return client.post(
        "/octo/bookings",
        headers={"Authorization": f"Bearer {key}"},
        json={
            "productId": WHEEL,
            "optionId": "DEFAULT",
            "availabilityId": availability_id,
            "unitItems": [{"unitId": "adult"}] * units,
        },
    )


def _site(client: Any, slot_id: int, n: int) -> Any:
    return client.post(
        "/api/v1/bookings",
        json={
            "items": [{"slot_id": slot_id, "party": {"adults": 1}}],
            "contact": {"name": f"Racer {n}", "email": f"racer{n}@example.org"},
        },
    )


def _race(app: Any, calls: list) -> list[tuple[str, int, dict]]:
    """Run every ``(kind, call)`` at once, each on its own client and database session."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def one(n: int) -> None:
        kind, call = calls[n]
        client = app.test_client()
        barrier.wait()
        response = call(client)
        results[n] = (kind, response.status_code, response.get_json())

    threads = [threading.Thread(target=one, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _any_reservation(slot_id: int) -> bool:
    return (
        db.session.scalar(select(func.count(OctoBooking.id)).where(OctoBooking.slot_id == slot_id))
        > 0
    )


def _held(slot_id: int) -> int:
    """Places held by reservations and by live booking items of the slot, counted apart."""
    reservations = db.session.scalar(
        select(func.coalesce(func.sum(OctoBooking.places), 0)).where(OctoBooking.slot_id == slot_id)
    )
    items = db.session.scalar(
        select(func.coalesce(func.sum(BookingItem.adults), 0)).where(
            BookingItem.slot_id == slot_id, BookingItem.status.in_(("pending", "confirmed"))
        )
    )
    return int(reservations) + int(items)


def _last_places_are_never_overbooked(app: Any) -> None:
    slot_id, availability_id, key = _set_up(capacity=20, taken=12)
    calls = [("octo", lambda c: _reserve(c, key, availability_id)) for _ in range(15)] + [
        ("site", lambda c, n=n: _site(c, slot_id, n)) for n in range(15)
    ]
    results = _race(app, calls)
    won = [r for r in results if r[1] in (200, 201)]
    lost = [r for r in results if r[1] not in (200, 201)]
    assert len(won) == 8, sorted(r[1] for r in results)
    for kind, status, body in lost:
        if kind == "octo":
            assert (status, body["error"]) == (400, "UNPROCESSABLE_ENTITY"), body
        else:
            assert (status, body["error"]["code"]) == (409, "slot_full"), body
    db.session.expire_all()
    assert db.session.get(Slot, slot_id).taken == 20
    assert _held(slot_id) == 8, "every place taken is one a reservation or a booking holds"


def _confirmations_adding_units_are_never_overbooked(app: Any) -> None:
    slot_id, availability_id, key = _set_up(capacity=20, taken=0)
    client = app.test_client()
    held = [_reserve(client, key, availability_id, units=2).get_json()["uuid"] for _ in range(5)]
    # 10 places held; 5 confirmations each want a third unit, 10 site bookings one place each.
    confirm = {
        "contact": {"fullName": "Group"},
        "unitItems": [{"unitId": "adult"}] * 3,
    }
    calls = [
        (
            "confirm",
            lambda c, u=uuid: c.post(
                f"/octo/bookings/{u}/confirm",
                headers={"Authorization": f"Bearer {key}"},
                json=confirm,
            ),
        )
        for uuid in held
    ] + [("site", lambda c, n=n: _site(c, slot_id, 100 + n)) for n in range(10)]
    results = _race(app, calls)
    added = sum(1 for kind, status, _ in results if kind == "confirm" and status == 200)
    booked = sum(1 for kind, status, _ in results if kind == "site" and status == 201)
    assert added + booked == 10, sorted((k, s) for k, s, _ in results)
    db.session.expire_all()
    assert db.session.get(Slot, slot_id).taken == 20
    assert _held(slot_id) == 20


def test_octo_and_site_bookings_never_overbook_on_sqlite(sqlite_app):
    _last_places_are_never_overbooked(sqlite_app)


def test_octo_confirmations_and_site_bookings_never_overbook_on_sqlite(sqlite_app):
    _confirmations_adding_units_are_never_overbooked(sqlite_app)


def test_octo_and_site_bookings_never_overbook_on_postgresql(postgres_app):
    _last_places_are_never_overbooked(postgres_app)


def test_octo_confirmations_and_site_bookings_never_overbook_on_postgresql(postgres_app):
    _confirmations_adding_units_are_never_overbooked(postgres_app)
