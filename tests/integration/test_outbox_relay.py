"""The outbox relay on real PostgreSQL and Redis: a booking's request hands nothing to the
broker; the relay, woken by the commit's NOTIFY, hands each new row over once, a few rows per
task, and gives back the rows the broker refused."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import psycopg
import pytest
import redis as redis_client
from booking_helpers import fresh_slot, wait_until
from conftest import free_port, make_app
from deployment import environment, migrate_and_seed
from sqlalchemy import select, update

from tasks.relay import CHANNEL, GATHER_SECONDS, OutboxRelay, libpq_url
from tourplanner.adapters.orm import Booking, Notification
from tourplanner.extensions import db
from tourplanner.services import notifications

pytestmark = pytest.mark.integration
_emails = itertools.count()


@pytest.fixture(scope="module")
def database(postgres_cluster) -> str:
    """A database of its own: no other test's worker or relay listens on it."""
    name = f"relay_{int(time.time())}"
    with psycopg.connect(f"{postgres_cluster}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = f"{postgres_cluster}/{name}"
    migrate_and_seed(environment(url, "redis://127.0.0.1:1/0", 25))
    return url


@pytest.fixture
def broker(redis) -> Iterator[redis_client.Redis]:
    """Redis database 9, emptied: only this test's tasks are in it."""
    url = redis.url.rsplit("/", 1)[0] + "/9"
    client = redis_client.Redis.from_url(url)
    client.flushdb()
    client.url = url  # type: ignore[attr-defined]
    yield client
    client.flushdb()


@pytest.fixture
def app(database, broker):
    app = make_app(database, broker.url, OUTBOX_RELAY_POLL_SECONDS=60)
    with app.app_context():
        # Earlier tests' rows out of the way: each test sees its own only.
        db.session.execute(update(Notification).values(status="sent"))
        db.session.commit()
        yield app
        db.session.remove()
        db.engine.dispose()


def _book(app) -> str:
    response = app.test_client().post(
        "/api/v1/bookings",
        json={
            "items": [{"slot_id": fresh_slot().id, "party": {"adults": 1}}],
            "contact": {"name": "Relay", "email": f"relay-{next(_emails)}@example.org"},
        },
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["reference"]


def _rows(reference: str) -> list[Notification]:
    db.session.expire_all()
    return db.session.scalars(
        select(Notification).join(Booking).where(Booking.reference == reference)
    ).all()


def _queued(reference: str) -> bool:
    return all(row.queued_at is not None for row in _rows(reference))


def test_a_booking_request_hands_nothing_to_the_broker(app, broker):
    assert notifications.relayed()
    reference = _book(app)
    rows = _rows(reference)
    assert len(rows) >= 2 and {r.status for r in rows} == {"pending"}
    assert not _queued(reference) and broker.llen("celery") == 0


def test_the_relay_woken_by_the_commit_hands_each_new_row_over_once_in_one_task(app, broker):
    relay = OutboxRelay(app)  # polls every 60 s: only the NOTIFY can wake it sooner
    relay.start()
    try:
        time.sleep(1)  # listening, its first pass done
        reference = _book(app)
        wait_until(lambda: _queued(reference), timeout=10, what="the relay's pass")
        rows = _rows(reference)
        assert len(rows) <= notifications.RELAY_ROWS_PER_TASK
        assert broker.llen("celery") == 1  # one task for the booking's rows
        time.sleep(1)
        assert broker.llen("celery") == 1  # and nothing handed over twice
    finally:
        relay.stop(timeout=5)
    assert notifications.hand_over_new() == (0, 0)


def test_rows_the_broker_refuses_are_given_back_for_the_next_pass(app, database, broker):
    reference = _book(app)
    ids = sorted(row.id for row in _rows(reference))
    down = make_app(database, f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    with down.app_context():
        assert notifications.hand_over_new() == (len(ids), 0)
        assert not _queued(reference)
        db.session.remove()
        db.engine.dispose()
    assert notifications.hand_over_new() == (len(ids), len(ids))
    assert _queued(reference)


def test_a_pass_skips_rows_another_pass_is_taking(app, database, broker):
    first, second = _book(app), _book(app)
    locked = min(row.id for row in _rows(first))
    with psycopg.connect(libpq_url(app.config["SQLALCHEMY_DATABASE_URI"])) as other:
        other.execute("SELECT id FROM notifications WHERE id = %s FOR UPDATE", (locked,))
        found, handed = notifications.hand_over_new()
        assert found == handed == len(_rows(first)) + len(_rows(second)) - 1
        assert [row.id for row in _rows(first) if row.queued_at is None] == [locked]
    assert notifications.hand_over_new() == (1, 1)


def test_a_burst_of_commits_wakes_the_relay_once(app):
    """Hundreds of NOTIFYs arrive in one packet under load: one wake-up, one gathering wait
    and one pass for all of them (waiting once per NOTIFY held a burst back for seconds)."""
    relay = OutboxRelay(app)
    waits: list[float | None] = []
    relay._stop.wait = waits.append  # type: ignore[method-assign]
    url = libpq_url(app.config["SQLALCHEMY_DATABASE_URI"])
    with psycopg.connect(url, autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        with psycopg.connect(url) as other:  # 200 distinct NOTIFYs, delivered at its commit
            burst = "SELECT pg_notify(%s, g::text) FROM generate_series(1, 200) g"
            other.execute(burst, (CHANNEL,))
        relay._wait(listener)
        assert waits == [GATHER_SECONDS]
        assert next(listener.notifies(timeout=0), None) is None  # none left to wake it again
