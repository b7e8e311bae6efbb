"""Backups: scripts/backup.sh dumps a live database, scripts/restore.sh restores it into an
empty one, and the restored database holds the same bookings, outbox and accounts."""

from __future__ import annotations

import os
import subprocess

import pytest
from booking_helpers import CONTACT, fresh_slot
from conftest import ROOT, make_app
from sqlalchemy import func, select

from tourplanner.adapters.orm import Booking, BookingItem, Notification, Slot, User, Village
from tourplanner.extensions import db

pytestmark = pytest.mark.integration
TABLES = (Village, Slot, Booking, BookingItem, Notification, User)


def _counts() -> dict[str, int]:
    return {t.__tablename__: db.session.scalar(select(func.count()).select_from(t)) for t in TABLES}


def _script(name: str, database_url: str, path) -> None:
    env = {**os.environ, "DATABASE_URL": database_url}
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / name), str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_backup_restores_into_an_empty_database_with_every_booking(
    postgres_cluster, postgres_url, tmp_path
):
    import psycopg

    app = make_app(postgres_url, RATE_LIMITS=False)
    with app.app_context():
        slot = fresh_slot()
        answer = app.test_client().post(
            "/api/v1/bookings",
            json={"items": [{"slot_id": slot.id, "party": {"adults": 2}}], "contact": CONTACT},
        )
        assert answer.status_code == 201, answer.get_json()
        reference = answer.get_json()["reference"]
        before = _counts()
        db.session.remove()
        db.engine.dispose()

    dump = tmp_path / "tourplanner.dump"
    _script("backup.sh", postgres_url, dump)
    with psycopg.connect(f"{postgres_cluster}/postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE restored")
    restored = f"{postgres_cluster}/restored"
    _script("restore.sh", restored, dump)

    copy = make_app(restored)
    with copy.app_context():
        try:
            assert _counts() == before
            booking = db.session.scalars(
                select(Booking).where(Booking.reference == reference)
            ).one()
            assert [i.adults for i in booking.items] == [2]
            assert db.session.get(Slot, slot.id).taken >= 2
        finally:
            db.session.remove()
            db.engine.dispose()
    # Restoring into a database that is not empty fails and changes nothing.
    again = subprocess.run(
        ["bash", str(ROOT / "scripts" / "restore.sh"), str(dump)],
        env={**os.environ, "DATABASE_URL": restored},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode != 0
