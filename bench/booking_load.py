"""Booking load benchmark: throughput, latency and overbookings on SQLite and PostgreSQL.

Serves the real app over HTTP (Werkzeug's threaded server in this process) and fires
``POST /api/v1/bookings`` from concurrent client threads at a small set of slots, so that many
requests compete for the last places. Reports, per database:

* requests/s and bookings/s (201 answers), p50 and p95 latency in milliseconds;
* how many answers were 409 (full) and how many were anything else (must be 0);
* overbookings: slots whose held places exceed their capacity, or whose ``taken`` counter
  disagrees with the items (must be 0).

PostgreSQL runs in a throw-away cluster (``initdb``/``pg_ctl`` from /usr/lib/postgresql/15/bin,
as the postgres user when run as root); it is skipped with a note when not installed.
Tune with BENCH_CLIENTS (default 16), BENCH_REQUESTS (400), BENCH_SLOTS (10), BENCH_CAPACITY (20).
Run: ``make bench`` or ``.venv/bin/python bench/booking_load.py``.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_BIN = Path("/usr/lib/postgresql/15/bin")
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "16"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "400"))
SLOTS = int(os.environ.get("BENCH_SLOTS", "10"))
CAPACITY = int(os.environ.get("BENCH_CAPACITY", "20"))
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextmanager
def postgres_database() -> Iterator[str | None]:
    """A fresh PostgreSQL database URL, or None when PostgreSQL 15 is not installed."""
    if not (PG_BIN / "initdb").exists():
        yield None
        return
    base = Path(tempfile.mkdtemp(prefix="tourplanner-bench-pg-"))
    base.chmod(0o755)
    data = base / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(data, "postgres")
    port = free_port()
    quiet = {"check": True, "stdout": subprocess.DEVNULL}
    subprocess.run(
        _as_postgres(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ]
        ),
        **quiet,
    )
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c max_connections=200"
    subprocess.run(
        _as_postgres(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(base / "log"),
                "-o",
                options,
                "-w",
                "start",
            ]
        ),
        **quiet,
    )
    try:
        import psycopg

        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True
        ) as conn:
            conn.execute("CREATE DATABASE bench")
        yield f"postgresql://postgres@127.0.0.1:{port}/bench"
    finally:
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
            stdout=subprocess.DEVNULL,
        )
        shutil.rmtree(base, ignore_errors=True)


def make_app(database_url: str):
    from tourplanner import create_app
    from tourplanner.config import _database_url

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": _database_url(database_url),
            "SQLALCHEMY_ENGINE_OPTIONS": {
                "pool_pre_ping": True,
                "pool_size": CLIENTS + 4,
                "max_overflow": 4,
            },
            "SECRET_KEY": secrets.token_urlsafe(48),
            "MAIL_ENABLED": False,
            # A load test from one address: request-rate limits off (RATE_LIMITS=off).
            "RATE_LIMITS": False,
        }
    )


def prepare(app) -> list[int]:
    """Migrate, seed, and create the contested slots (extra sessions far in the future)."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from tourplanner.adapters.orm import Experience
    from tourplanner.extensions import db
    from tourplanner.services import availability
    from tourplanner.services.catalogue_io import seed

    with app.app_context():
        upgrade()
        seed(demo=True)
        workshops = [e for e in db.session.scalars(select(Experience)) if e.bookable]
        # Far enough ahead for every cut-off, inside the booking horizon (366 days).
        first = datetime.combine(
            datetime.now(HANOI).date() + timedelta(days=200), datetime.min.time(), HANOI
        ) + timedelta(hours=8)
        slots = [
            availability.add_extra_slot(
                workshops[n % len(workshops)].id, first + timedelta(hours=n), CAPACITY
            ).id
            for n in range(SLOTS)
        ]
        db.session.remove()
    return slots


@contextmanager
def serve(app) -> Iterator[str]:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def post(base: str, slot_id: int, adults: int) -> tuple[int, float]:
    body = json.dumps(
        {
            "items": [{"slot_id": slot_id, "party": {"adults": adults}}],
            # One contact per request: the per-contact hold limit is not what is measured.
            "contact": {"name": "Bench", "email": f"bench-{random.randrange(10**9)}@example.org"},
        }
    ).encode()
    request = urllib.request.Request(
        f"{base}/api/v1/bookings",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    return status, time.perf_counter() - started


def load(base: str, slots: list[int]) -> tuple[list[tuple[int, float]], float]:
    rng = random.Random(7)
    plan = [(rng.choice(slots), rng.randint(1, 3)) for _ in range(REQUESTS)]
    results: list[tuple[int, float]] = []
    lock = threading.Lock()
    cursor = iter(plan)

    def client() -> None:
        while True:
            with lock:
                job = next(cursor, None)
            if job is None:
                return
            outcome = post(base, *job)
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, time.perf_counter() - started


def overbookings(app, slots: list[int]) -> int:
    """Slots holding more than their capacity, or whose counter disagrees with the items."""
    from sqlalchemy import func, select

    from tourplanner.adapters.orm import BookingItem, Slot
    from tourplanner.extensions import db

    bad = 0
    with app.app_context():
        for slot_id in slots:
            slot = db.session.get(Slot, slot_id)
            held = (
                db.session.scalar(
                    select(
                        func.coalesce(
                            func.sum(
                                BookingItem.adults + BookingItem.children + BookingItem.seniors
                            ),
                            0,
                        )
                    ).where(
                        BookingItem.slot_id == slot_id,
                        BookingItem.status.in_(("pending", "confirmed")),
                    )
                )
                or 0
            )
            bad += held > slot.capacity or held != slot.taken
        db.session.remove()
        db.engine.dispose()
    return bad


def run(label: str, database_url: str) -> dict[str, float | int | str]:
    app = make_app(database_url)
    slots = prepare(app)
    with serve(app) as base:
        results, elapsed = load(base, slots)
    latencies = sorted(latency for _status, latency in results)
    created = sum(1 for status, _ in results if status == 201)
    full = sum(1 for status, _ in results if status == 409)
    return {
        "database": label,
        "requests": len(results),
        "bookings": created,
        "full_409": full,
        "other": len(results) - created - full,
        "requests_per_s": len(results) / elapsed,
        "bookings_per_s": created / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[max(0, int(len(latencies) * 0.95) - 1)] * 1000,
        "overbookings": overbookings(app, slots),
    }


def report(rows: list[dict]) -> None:
    print(
        f"{CLIENTS} concurrent clients, {REQUESTS} requests for {SLOTS} slots x {CAPACITY} "
        f"places ({SLOTS * CAPACITY} places, parties of 1-3)"
    )
    header = (
        "database",
        "requests/s",
        "bookings/s",
        "p50 ms",
        "p95 ms",
        "201",
        "409",
        "other",
        "overbookings",
    )
    print("  ".join(f"{h:>12}" for h in header))
    for r in rows:
        cells = (
            r["database"],
            f"{r['requests_per_s']:.1f}",
            f"{r['bookings_per_s']:.1f}",
            f"{r['p50_ms']:.1f}",
            f"{r['p95_ms']:.1f}",
            r["bookings"],
            r["full_409"],
            r["other"],
            r["overbookings"],
        )
        print("  ".join(f"{c!s:>12}" for c in cells))


def main() -> int:
    import logging

    logging.disable(logging.WARNING)  # the server logs one line per request otherwise
    rows = []
    with tempfile.TemporaryDirectory(prefix="tourplanner-bench-") as tmp:
        rows.append(run("sqlite", f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"))
    with postgres_database() as url:
        if url is None:
            print("PostgreSQL 15 not installed: PostgreSQL run skipped")
        else:
            rows.append(run("postgresql", url))
    report(rows)
    if len(rows) == 2 and rows[0]["requests_per_s"]:
        print(
            f"postgresql/sqlite throughput ratio: "
            f"{rows[1]['requests_per_s'] / rows[0]['requests_per_s']:.2f}"
        )
    failed = any(r["overbookings"] or r["other"] for r in rows)
    if failed:
        print("FAIL: overbookings or unexpected answers")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
