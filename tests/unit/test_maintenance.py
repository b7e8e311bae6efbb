"""Embedded maintenance: with no Redis (Celery eager) the web process itself expires holds."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta

from demo_days import open_day
from sqlalchemy import select, update

from tests.conftest import make_app
from tourplanner.adapters.orm import BookingItem, Experience, Slot
from tourplanner.extensions import db
from tourplanner.services import availability

CONTACT = {"name": "Lan", "email": "lan@example.org", "phone": "+84 90 000 0000"}


def _wait_for(predicate, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_unanswered_hold_expires_without_a_worker(template_db, tmp_path):
    path = tmp_path / "embedded.sqlite3"
    shutil.copy(template_db, path)
    app = make_app(path, TESTING=False, HOLD_EXPIRY_CHECK_SECONDS=0.1)
    client = app.test_client()
    with app.app_context():
        exp = db.session.scalars(
            select(Experience).where(Experience.slug == "bat-trang-workshop-pottery-wheel")
        ).one()
        slot = availability.slots_for_day([exp.id], open_day(30))[exp.id][0]
        response = client.post(
            "/api/v1/bookings",
            json={"items": [{"slot_id": slot.id, "party": {"adults": 2}}], "contact": CONTACT},
        )
        assert response.status_code == 201
        db.session.execute(
            update(BookingItem).values(hold_expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
        db.session.commit()
        slot_id = slot.id

    def expired() -> bool:
        with app.app_context():
            item = db.session.scalars(select(BookingItem)).one()
            return item.status == "expired" and db.session.get(Slot, slot_id).taken == 0

    assert _wait_for(expired)
    app.extensions["maintenance_stop"].set()
    with app.app_context():
        db.engine.dispose()


def test_no_background_loop_in_tests_or_with_a_worker(template_db, tmp_path):
    import threading

    path = tmp_path / "t.sqlite3"
    shutil.copy(template_db, path)
    before = {t.name for t in threading.enumerate()}
    app = make_app(path)  # TESTING
    app.test_client().get("/api/v1/landmarks")
    assert "maintenance" not in {t.name for t in threading.enumerate()} - before
