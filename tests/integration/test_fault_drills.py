"""Production at scale, on the real servers: several instances at once, and the fault drills.

* Two gunicorn instances and two Celery workers on one PostgreSQL and one Redis, beat once:
  no overbooking, every notification delivered exactly once, holds expire once.
* A worker killed with SIGKILL in the middle of deliveries: each message arrives once.
* Redis restarted without persistence while tasks are queued: delivered within a minute.
* PostgreSQL restarted under load: a JSON 503 during the outage, never a 500; the pool
  recovers by itself; nothing half-written.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from booking_helpers import fresh_slot, http_json, wait_until
from conftest import RedisServer, free_port, make_app, new_postgres_cluster
from deployment import (
    CountingMailbox,
    environment,
    migrate_and_seed,
    start_beat,
    start_web,
    start_worker,
)
from sqlalchemy import func, select, update

from tourplanner.adapters.orm import Booking, BookingItem, Notification, Slot
from tourplanner.extensions import db

pytestmark = pytest.mark.integration
VILLAGE_MAIL = "village@bat-trang.example"
_databases = itertools.count()


@pytest.fixture
def mailbox(request) -> Iterator[CountingMailbox]:
    """An SMTP capture; ``@pytest.mark.parametrize("mailbox", [delay], indirect=True)`` slows
    each message down (a worker can then be killed in the middle of its deliveries)."""
    from aiosmtpd.controller import Controller

    box = CountingMailbox(delay=getattr(request, "param", 0.0))
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


def _database(cluster_url: str) -> str:
    import psycopg

    name = f"drill{next(_databases)}_{int(time.time())}"
    with psycopg.connect(f"{cluster_url}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{cluster_url}/{name}"


@contextmanager
def _looking_at(database_url: str) -> Iterator[None]:
    """The app in this process on the deployment's database, to look at rows and make slots."""
    with make_app(database_url).app_context():
        try:
            yield
        finally:
            db.session.remove()
            db.engine.dispose()


def _booking_request(slot_id: int, n: int, adults: int = 1) -> dict:
    return {
        "items": [{"slot_id": slot_id, "party": {"adults": adults}}],
        "lang": "en",
        "contact": {"name": f"Drill {n}", "email": f"drill-{n}-{time.time_ns()}@example.org"},
    }


def _post_booking(base: str, request: dict, key: str = "") -> tuple[int, dict]:
    """Post a booking request, with an Idempotency-Key when ``key`` is given."""
    headers = {"Idempotency-Key": key} if key else None
    return http_json(f"{base}/api/v1/bookings", request, headers)


def _book(base: str, slot_id: int, n: int, adults: int = 1) -> tuple[int, dict]:
    return _post_booking(base, _booking_request(slot_id, n, adults))


def _rows(references: list[str]) -> list[Notification]:
    db.session.expire_all()
    return db.session.scalars(
        select(Notification).join(Booking).where(Booking.reference.in_(references))
    ).all()


def _all_sent(references: list[str], per_booking: int) -> bool:
    rows = _rows(references)
    return len(rows) == per_booking * len(references) and all(r.status == "sent" for r in rows)


def _once_each(mailbox: CountingMailbox, references: list[str], per_booking: int) -> None:
    for reference in references:
        counts = mailbox.ids(reference)
        assert len(counts) == per_booking, (reference, counts)
        assert set(counts.values()) == {1}, f"{reference} sent twice: {counts}"


def test_two_instances_two_workers_one_beat_book_notify_and_expire_exactly_once(
    processes, postgres_cluster, redis, mailbox
):
    database = _database(postgres_cluster)
    env = environment(database, redis.url.rsplit("/", 1)[0] + "/4", mailbox.port)
    migrate_and_seed(env)
    with _looking_at(database):
        slot = fresh_slot(capacity=10)
        webs = [start_web(processes, env, "web1"), start_web(processes, env, "web2")]
        start_worker(processes, env, "worker1")
        start_worker(processes, env, "worker2")
        start_beat(processes, env)

        with ThreadPoolExecutor(max_workers=40) as pool:
            answers = list(pool.map(lambda n: _book(webs[n % 2], slot.id, n), range(40)))
        statuses = Counter(status for status, _ in answers)
        assert statuses == {201: 10, 409: 30}, statuses
        db.session.expire_all()
        assert db.session.get(Slot, slot.id).taken == 10
        references = [body["reference"] for status, body in answers if status == 201]
        wait_until(lambda: _all_sent(references, 2), timeout=90, what="every notification")
        _once_each(mailbox, references, 2)

        db.session.execute(
            update(BookingItem)
            .where(BookingItem.slot_id == slot.id)
            .values(hold_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        db.session.commit()
        wait_until(lambda: _all_sent(references, 3), timeout=90, what="the expiry e-mails")
        time.sleep(3)  # several more beats: nothing expires or is sent twice
        _once_each(mailbox, references, 3)
        db.session.expire_all()
        assert db.session.get(Slot, slot.id).taken == 0


@pytest.mark.parametrize("mailbox", [0.15], indirect=True)
def test_a_worker_killed_mid_delivery_loses_and_repeats_nothing(
    processes, postgres_cluster, redis, mailbox
):
    database = _database(postgres_cluster)
    env = environment(
        database,
        redis.url.rsplit("/", 1)[0] + "/5",
        mailbox.port,
        NOTIFY_SENDING_STALE_SECONDS="3",
        NOTIFY_REQUEUE_SECONDS="3",
    )
    migrate_and_seed(env)
    with _looking_at(database):
        slot = fresh_slot(capacity=50)
        base = start_web(processes, env)
        start_worker(processes, env, "doomed")
        start_beat(processes, env)
        answers = [_book(base, slot.id, n) for n in range(10)]
        assert {status for status, _ in answers} == {201}
        references = [body["reference"] for _, body in answers]
        wait_until(
            lambda: len(mailbox.messages) >= 4 and mailbox.in_rcpt,
            timeout=60,
            what="the first messages, and the worker inside the next one",
        )
        processes.kill("doomed")
        assert len(mailbox.messages) < 20, "the kill came too late to be a drill"
        start_worker(processes, env, "survivor")
        wait_until(lambda: _all_sent(references, 2), timeout=90, what="every notification")
        time.sleep(4)  # past the stale-claim time: nothing is sent again
        _once_each(mailbox, references, 2)


def test_queued_notifications_survive_a_redis_restart_without_persistence(
    processes, postgres_cluster, mailbox, tmp_path
):
    broker = RedisServer(free_port(), tmp_path)
    broker.start()
    try:
        database = _database(postgres_cluster)
        env = environment(database, broker.url, mailbox.port)
        migrate_and_seed(env)
        with _looking_at(database):
            slot = fresh_slot(capacity=50)
            base = start_web(processes, env)
            start_beat(processes, env)  # its relay hands the rows to Redis; no worker yet
            answers = [_book(base, slot.id, n) for n in range(5)]
            references = [body["reference"] for _, body in answers]
            wait_until(
                lambda: all(r.queued_at is not None for r in _rows(references)),
                timeout=30,
                what="the relay to queue every notification",
            )
            broker.stop()  # no persistence: the queue is gone
            broker.start()
            back = time.monotonic()
            start_worker(processes, env)
            wait_until(lambda: _all_sent(references, 2), timeout=90, what="the lost tasks")
            assert time.monotonic() - back < 65, "not delivered within a minute of Redis"
            _once_each(mailbox, references, 2)
    finally:
        if broker.proc is not None:
            broker.stop()


def test_postgres_restart_under_load_gives_503_never_500_and_writes_nothing_half(
    processes, redis, mailbox
):
    cluster = new_postgres_cluster()
    try:
        database = cluster.create_database("drill")
        # A send whose result could not be written (the database was down) is tried again
        # soon; in production NOTIFY_SENDING_STALE_SECONDS is ten minutes.
        env = environment(
            database,
            redis.url.rsplit("/", 1)[0] + "/6",
            mailbox.port,
            NOTIFY_SENDING_STALE_SECONDS="5",
        )
        migrate_and_seed(env)
        with _looking_at(database):
            slot = fresh_slot(capacity=1000)
            base = start_web(processes, env, workers=2)
            start_worker(processes, env)
            start_beat(processes, env)
            # (when, status, answer, request, Idempotency-Key)
            answers: list[tuple[float, int, dict, dict, str]] = []
            stop = threading.Event()

            def load(n: int) -> None:
                for i in itertools.count():
                    if stop.is_set():
                        return
                    request, key = _booking_request(slot.id, n * 10_000 + i), f"drill-{n}-{i}"
                    try:
                        time.sleep(0.05)  # a steady load, not a flood the worker lags behind
                        status, body = _post_booking(base, request, key)
                    except OSError as exc:
                        status, body = -1, {"error": str(exc)}
                    answers.append((time.monotonic(), status, body, request, key))

            threads = [threading.Thread(target=load, args=(n,)) for n in range(6)]
            for thread in threads:
                thread.start()
            time.sleep(2)
            db.session.remove()
            db.engine.dispose()
            cluster.stop()
            down = time.monotonic()
            time.sleep(2)
            cluster.start()
            up = time.monotonic()
            time.sleep(4)
            stop.set()
            for thread in threads:
                thread.join(timeout=30)

            statuses = Counter(status for _, status, *_ in answers)
            assert set(statuses) <= {201, 503}, statuses
            outage = [(b, request, key) for _, s, b, request, key in answers if s == 503]
            assert outage, "no request saw the outage"
            assert {b["error"]["code"] for b, *_ in outage} == {"database_unavailable"}
            assert any(s == 201 for t, s, *_ in answers if t > up + 1), "the pool did not recover"
            assert any(down <= t <= up for t, *_ in answers)

            # A commit that reached the database just before its connection broke is answered
            # 503 though it was made: the client cannot tell, and learns it by retrying with
            # the same Idempotency-Key, which replays that booking or makes it now, once.
            created = [b["reference"] for _, s, b, *_ in answers if s == 201]
            for _, request, key in outage:
                status, body = _post_booking(base, request, key)
                assert status == 201, (status, body)
                created.append(body["reference"])
            assert len(set(created)) == len(created), "a retry booked twice"
            db.session.expire_all()
            stored = db.session.scalars(  # the drill's own: the demo data has bookings too
                select(Booking.reference).join(BookingItem).where(BookingItem.slot_id == slot.id)
            ).all()
            assert sorted(stored) == sorted(created), "a booking is lost or half-written"
            taken = db.session.scalar(
                select(func.sum(BookingItem.adults)).where(BookingItem.slot_id == slot.id)
            )
            assert db.session.get(Slot, slot.id).taken == taken == len(created)
            wait_until(
                lambda: processes.check_alive() or _all_sent(created, 2),
                timeout=120,
                what="every notification",
            )
    finally:
        cluster.destroy()
