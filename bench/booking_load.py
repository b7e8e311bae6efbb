"""Booking load on the production stack, side by side with the bare endpoint (issue #14).

Starts, from this load-generator process, the servers as production runs them:

* PostgreSQL 15 in a throw-away cluster (``initdb``/``pg_ctl`` from /usr/lib/postgresql/15/bin,
  as the postgres user when run as root), ``redis-server`` on a free port, gunicorn with
  ``BENCH_WORKERS`` (4) workers serving ``wsgi:app`` as ``gunicorn.conf.py`` sets them up
  (sync; ``BENCH_WEB_THREADS=4`` for gthread workers of 4 threads), one Celery worker
  (``--pool solo``, queue ``celery``), one beat (which also relays new outbox rows to the
  worker, ``tasks/relay.py``), both at ``NOTIFY_WORKER_NICE`` ``BENCH_NOTIFY_NICE`` (10) as
  ``make prod`` runs them, and, as the Procfile's ``planner``, the plan workers
  (``BENCH_PLAN_WORKERS``, 1, queue ``plans``, at ``PLAN_WORKER_NICE`` ``BENCH_PLAN_NICE``,
  10), migrated and seeded with ``flask db upgrade`` and ``flask seed --demo``;
* beside it, on the same database and with the same gunicorn settings, the bare endpoint
  (``bench/bare_booking_app.py``): one transaction with the conditional ``UPDATE`` and one
  ``INSERT``, the most the web stack and the database allow a booking.

Then ``wrk`` (Debian package; a Lua script writes the POST bodies, one contact e-mail per
request) drives both over the loopback with ``BENCH_CLIENTS`` (32) connections, each run bounded
in time (``BENCH_SECONDS``, 10) and count (``BENCH_MAX_REQUESTS``, 20000):

1. one-adult bookings to a slot with ample places: our requests/s and p95, the bare
   endpoint's, and the ratio (target: at least 0.5, p95 at most 100 ms);
2. the same bookings while 8 other clients post ``POST /api/v1/plans`` (each waits the
   ``Retry-After`` of a 503 before its next plan, as a polite client does): booking p95 with
   planners against alone (target: at most 2 times), ``BENCH_MIXED_REPEAT`` (3) pairs of
   runs, alone and with planners in turn (every other pair with planners first), so that the
   spread of the ratio on a shared machine is printed with it;
3. bookings to a slot with ``BENCH_SMALL_CAPACITY`` (60) places: only 201 and 409 answers,
   as many 201 as places, and 0 overbookings (slots whose ``taken`` exceeds the capacity or
   disagrees with the booked items).

The same again on SQLite for the embedded set-up (one gunicorn worker, no Redis, Celery
eager, plans in the web process). ``BENCH_ONLY=postgresql`` (or ``sqlite``) runs one of the two.
Without ``wrk`` the script stops with a note; without PostgreSQL 15 that run is skipped.
Exit status 1 on any overbooking or answer other than 201/409 (targets are reported, not
enforced). Run: ``make bench`` or ``.venv/bin/python bench/booking_load.py``.
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BIN = Path(sys.executable).parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "32"))
PLANNERS = int(os.environ.get("BENCH_PLANNERS", "8"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
MAX_REQUESTS = int(os.environ.get("BENCH_MAX_REQUESTS", "20000"))
SMALL_CAPACITY = int(os.environ.get("BENCH_SMALL_CAPACITY", "60"))
# 0 skips the mixed phase (a quicker run when only the booking path is being measured).
MIXED_REPEAT = max(0, int(os.environ.get("BENCH_MIXED_REPEAT", "3")))
# Threads per gunicorn worker (above 1: gthread workers); unset: as gunicorn.conf.py says.
WEB_THREADS = os.environ.get("BENCH_WEB_THREADS", "")
PLAN_WORKERS = int(os.environ.get("BENCH_PLAN_WORKERS", "1"))
PLAN_NICE = int(os.environ.get("BENCH_PLAN_NICE", "10"))
NOTIFY_NICE = int(os.environ.get("BENCH_NOTIFY_NICE", "10"))
ONLY = os.environ.get("BENCH_ONLY", "")
# A tree from before the plans pool (no tasks/plans.py) plans in the web process.
HAS_PLAN_POOL = (ROOT / "tasks" / "plans.py").exists()
# A candidate change can be measured against the same baseline: BENCH_APP=module:app served
# instead of wsgi:app, with BENCH_APP_PATH added to gunicorn's Python path.
APP = os.environ.get("BENCH_APP", "wsgi:app")
APP_PATH = os.environ.get("BENCH_APP_PATH", "")
AMPLE_CAPACITY = 10_000_000
WRK_THREADS = 2
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
#: The throw-away cluster's postmaster, for the CPU accounting (None: no cluster running).
POSTMASTER: dict[str, int] = {}

# Per-thread counters give every request its own contact; wrk copies each thread's status
# counts back in done(), which prints one JSON line for the parent to read.
WRK_SCRIPT = r"""
local threads = {}
local next_id = 1
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end
function init(args)
  n = 0
  answered = 0
  statuses = {}
  limit = tonumber(os.getenv("BENCH_PER_THREAD") or "0")
  kind = os.getenv("BENCH_KIND")
  slot = os.getenv("BENCH_SLOT")
  tag = os.getenv("BENCH_TAG")
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end
function request()
  n = n + 1
  local email = string.format("bench-%s-%d-%d@example.org", tag, tid, n)
  local body
  if kind == "bare" then
    body = string.format('{"slot_id": %s, "email": "%s"}', slot, email)
  elseif kind == "booking" then
    body = string.format(
      '{"items": [{"slot_id": %s, "party": {"adults": 1}}], '
      .. '"contact": {"name": "Bench", "email": "%s"}}', slot, email)
  end
  return wrk.format(nil, nil, nil, body)
end
function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  answered = answered + 1
  if limit > 0 and answered >= limit then
    wrk.thread:stop()
  end
end
function done(summary, latency, requests)
  local counts = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do
      counts[k] = (counts[k] or 0) + v
    end
  end
  local parts = {}
  for k, v in pairs(counts) do
    table.insert(parts, string.format('"%s": %d', k, v))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "seconds": %.6f, "p50_ms": %.3f, "p95_ms": %.3f, '
    .. '"p99_ms": %.3f, "socket_errors": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.timeout, table.concat(parts, ", ")))
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def wait_for(url: str, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers: up
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{what} did not come up at {url}")


@contextmanager
def postgres_server() -> Iterator[str]:
    """A throw-away PostgreSQL 15 cluster; yields the URL of a fresh ``bench`` database."""
    base = Path(tempfile.mkdtemp(prefix="tourplanner-bench-pg-"))
    base.chmod(0o755)
    data = base / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(data, "postgres")
    port = free_port()
    quiet = {"check": True, "stdout": subprocess.DEVNULL}
    initdb = [str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
    subprocess.run(_as_postgres([*initdb, "-E", "UTF8", "--no-locale", "--no-sync"]), **quiet)
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c max_connections=200"
    ctl = [str(PG_BIN / "pg_ctl"), "-D", str(data)]
    start = [*ctl, "-l", str(base / "log"), "-o", options, "-w", "start"]
    subprocess.run(_as_postgres(start), **quiet)
    POSTMASTER["pid"] = int((data / "postmaster.pid").read_text().split()[0])
    try:
        import psycopg

        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True
        ) as conn:
            conn.execute("CREATE DATABASE bench")
        yield f"postgresql://postgres@127.0.0.1:{port}/bench"
    finally:
        POSTMASTER.clear()
        subprocess.run(_as_postgres([*ctl, "-m", "fast", "-w", "stop"]), stdout=subprocess.DEVNULL)
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """A server process of our own, stopped with SIGTERM (then SIGKILL) at the end."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


REDIS: dict[str, int] = {}


def redis_server(stack: ExitStack, workdir: Path) -> str:
    port = free_port()
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    REDIS["pid"] = stack.enter_context(
        process(
            [*args, "--appendonly", "no", "--dir", str(workdir)],
            dict(os.environ),
            workdir / "redis.log",
        )
    ).pid
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.1)
    raise SystemExit("redis-server did not start")


def server_env(database_url: str, redis_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=secrets.token_urlsafe(48),
        # A load test from one address: request-rate and per-IP limits off.
        RATE_LIMITS="off",
        HOLD_PLACES_PER_CONTACT="1000000",
        MAIL_ENABLED="0",
        FLASK_APP="wsgi",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def create_slots(env: dict[str, str], capacities: list[int]) -> list[int]:
    """Extra sessions far ahead (inside the 366-day horizon), and the bare endpoint's table."""
    from sqlalchemy import text

    from tourplanner import create_app
    from tourplanner.config import _database_url

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": _database_url(env["DATABASE_URL"]),
            "SECRET_KEY": env["SECRET_KEY"],
            "MAIL_ENABLED": False,
            "RATE_LIMITS": False,
        }
    )
    from sqlalchemy import select

    from tourplanner.adapters.orm import Experience
    from tourplanner.extensions import db
    from tourplanner.services import availability

    with app.app_context():
        workshop = next(e for e in db.session.scalars(select(Experience)) if e.bookable)
        first = datetime.combine(
            datetime.now(HANOI).date() + timedelta(days=200), datetime.min.time(), HANOI
        ) + timedelta(hours=8)
        ids = [
            availability.add_extra_slot(workshop.id, first + timedelta(hours=n), size).id
            for n, size in enumerate(capacities)
        ]
        key = (
            "SERIAL PRIMARY KEY"
            if env["DATABASE_URL"].startswith("postgres")
            else ("INTEGER PRIMARY KEY AUTOINCREMENT")
        )
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    f"CREATE TABLE IF NOT EXISTS bare_bookings (id {key}, slot_id INTEGER "
                    "NOT NULL, email VARCHAR(254) NOT NULL, created_at TIMESTAMP NOT NULL)"
                )
            )
        db.session.remove()
        db.engine.dispose()
    return ids


OUTBOX_DRAIN_SECONDS = float(os.environ.get("BENCH_OUTBOX_DRAIN_SECONDS", "120"))


def outbox_waiting(database_url: str) -> int:
    """Notifications written but not sent yet (pending or being sent)."""
    from sqlalchemy import create_engine, text

    from tourplanner.config import _database_url

    engine = create_engine(_database_url(database_url))
    with engine.connect() as conn:
        waiting = conn.execute(
            text("SELECT COUNT(*) FROM notifications WHERE status IN ('pending', 'sending')")
        ).scalar_one()
    engine.dispose()
    return int(waiting)


def drain_outbox(database_url: str) -> dict[str, float]:
    """Wait (at most ``BENCH_OUTBOX_DRAIN_SECONDS``) until the worker has sent what the last run
    wrote: the next run then starts on a machine the worker no longer loads, and the wait says
    whether the notification worker keeps up with the bookings."""
    began = time.monotonic()
    waiting = left = outbox_waiting(database_url)
    while left and time.monotonic() - began < OUTBOX_DRAIN_SECONDS:
        time.sleep(0.5)
        left = outbox_waiting(database_url)
    return {"waiting": waiting, "left": left, "seconds": time.monotonic() - began}


def slot_check(database_url: str, slot_id: int) -> dict[str, int]:
    """A slot's capacity, its ``taken`` counter, and the places its live booked items hold."""
    from sqlalchemy import create_engine, text

    from tourplanner.config import _database_url

    engine = create_engine(_database_url(database_url))
    with engine.connect() as conn:
        capacity, taken = conn.execute(
            text("SELECT capacity, taken FROM slots WHERE id = :id"), {"id": slot_id}
        ).one()
        held = conn.execute(
            text(
                "SELECT COALESCE(SUM(adults + children + seniors), 0) FROM booking_items "
                "WHERE slot_id = :id AND status IN ('pending', 'confirmed')"
            ),
            {"id": slot_id},
        ).scalar_one()
    engine.dispose()
    return {"capacity": capacity, "taken": taken, "held": int(held)}


def plan_body() -> str:
    day = date.today() + timedelta(days=10)
    return json.dumps(
        {
            "start": {"landmark": "hoan-kiem-lake"},
            "date": day.isoformat(),
            "start_time": "08:00",
            "end_time": "17:00",
            "mode": "car",
            "party": {"adults": 2},
            "interests": {"ceramics": 1.0, "silk_textiles": 0.5},
            "max_stops": 5,
            "alternatives": 3,
            "lang": "en",
        }
    )


def wrk(
    url: str,
    script: Path,
    *,
    kind: str,
    clients: int,
    seconds: int,
    slot: int = 0,
    max_requests: int = MAX_REQUESTS,
) -> subprocess.Popen:
    threads = min(WRK_THREADS, clients)
    env = dict(
        os.environ,
        BENCH_KIND=kind,
        BENCH_SLOT=str(slot),
        BENCH_TAG=secrets.token_hex(4),
        BENCH_PER_THREAD=str(max(1, max_requests // threads)),
    )
    args = ["wrk", f"-t{threads}", f"-c{clients}", f"-d{seconds}s", "--timeout", "30s"]
    return subprocess.Popen(
        [*args, "-s", str(script), url], env=env, stdout=subprocess.PIPE, text=True
    )


class Planners:
    """``clients`` planners posting ``POST /api/v1/plans`` one after another for ``seconds``.

    Each waits the ``Retry-After`` of a 503 before it connects again, as a polite client does
    (wrk cannot: its delay comes after it has connected, and an idle open connection holds a
    sync worker for the whole delay). One connection per plan. :meth:`result` has the shape of
    :func:`result`'s.
    """

    def __init__(self, url: str, body: str, clients: int, seconds: float) -> None:
        self.url = urllib.parse.urlsplit(url)
        self.body = body.encode()
        self.deadline = time.monotonic() + seconds
        self.answers: list[tuple[int, float]] = []
        self.errors = 0
        self.began = time.monotonic()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]
        for thread in self.threads:
            thread.start()

    def _run(self) -> None:
        headers = {"Content-Type": "application/json", "Connection": "close"}
        while time.monotonic() < self.deadline:
            began = time.monotonic()
            conn = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=30)
            try:
                conn.request("POST", self.url.path, self.body, headers)
                response = conn.getresponse()
                response.read()
                self.answers.append((response.status, time.monotonic() - began))
                wait = response.getheader("Retry-After") if response.status == 503 else None
            except OSError:
                self.errors += 1
                wait = "0.1"
            finally:
                conn.close()
            if wait:
                time.sleep(max(0.0, min(float(wait), self.deadline - time.monotonic())))

    def result(self) -> dict:
        for thread in self.threads:
            thread.join()
        seconds = time.monotonic() - self.began
        times = sorted(t * 1000 for _, t in self.answers) or [0.0]

        def pct(q: float) -> float:
            return times[min(len(times) - 1, int(q * len(times)))]

        return {
            "requests": len(self.answers),
            "seconds": seconds,
            "rps": len(self.answers) / seconds if seconds else 0.0,
            "p50_ms": pct(0.50),
            "p95_ms": pct(0.95),
            "p99_ms": pct(0.99),
            "socket_errors": self.errors,
            "statuses": dict(Counter(str(status) for status, _ in self.answers)),
        }


def result(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate()
    for line in out.splitlines():
        if line.startswith("BENCH_RESULT "):
            found = json.loads(line.removeprefix("BENCH_RESULT "))
            found["rps"] = found["requests"] / found["seconds"] if found["seconds"] else 0.0
            return found
    raise SystemExit(f"wrk gave no result:\n{out}")


def cpu_seconds(roots: dict[str, int]) -> dict[str, float]:
    """CPU time (user + system) used so far by each root process and its descendants.

    Every server here shares the same 2 cores, so what a booking costs the machine is the sum
    over all of them (web, notification worker, PostgreSQL, Redis), not the web's share only.
    """
    parent: dict[int, int] = {}
    used: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended meanwhile
            continue
        fields = text.rsplit(")", 1)[1].split()
        pid = int(stat.parent.name)
        parent[pid] = int(fields[1])
        used[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    totals = dict.fromkeys(roots, 0.0)
    owner = {pid: role for role, pid in roots.items()}
    for pid, seconds in used.items():
        node, seen = pid, 0
        while node not in owner and node in parent and seen < 64:
            node, seen = parent[node], seen + 1
        if node in owner:
            totals[owner[node]] += seconds
    return totals


def measured(roots: dict[str, int], proc: subprocess.Popen) -> dict:
    """:func:`result` of ``proc``, with the CPU each server used meanwhile, per request."""
    before = cpu_seconds(roots)
    found = result(proc)
    found["cpu_ms"] = per_request(roots, before, cpu_seconds(roots), found["requests"])
    return found


def booked_and_sent(
    roots: dict[str, int], proc: subprocess.Popen, database_url: str | None
) -> tuple[dict, dict | None]:
    """:func:`measured` of a booking run; with workers (``database_url`` given), then the
    outbox drained, and ``cpu_ms_sent``: what the bookings cost once their messages are sent
    too (a worker that falls behind during the run spends its CPU after it)."""
    before = cpu_seconds(roots)
    found = measured(roots, proc)
    if database_url is None:
        return found, None
    drained = drain_outbox(database_url)
    found["cpu_ms_sent"] = per_request(roots, before, cpu_seconds(roots), found["requests"])
    return found, drained


def per_request(
    roots: dict[str, int], before: dict[str, float], after: dict[str, float], requests: int
) -> dict[str, float]:
    """Milliseconds of CPU per request of each server between two :func:`cpu_seconds`."""
    return {role: (after[role] - before[role]) * 1000 / max(1, requests) for role in roots}


def other_answers(found: dict, allowed: tuple[str, ...] = ("201", "409")) -> int:
    bad = sum(n for status, n in found["statuses"].items() if status not in allowed)
    return bad + found["socket_errors"]


def gunicorn_args(workers: int) -> list[str]:
    """gunicorn as gunicorn.conf.py sets it up, or with ``BENCH_WEB_THREADS`` threads."""
    args = [str(BIN / "gunicorn"), "--workers", str(workers)]
    return [*args, "--threads", WEB_THREADS] if WEB_THREADS else args


def start_workers(stack: ExitStack, env: dict[str, str], tmp: Path, label: str) -> dict[str, int]:
    """The Celery worker (queue ``celery``), the beat and, as the Procfile runs them, the plan
    workers; their process ids by role."""
    celery = [str(BIN / "celery"), "-A", "tasks.worker", "worker"]
    quiet = ["--without-gossip", "--without-mingle", "--loglevel", "WARNING"]
    queue = ["-Q", "celery", "-n", "worker@%h"] if HAS_PLAN_POOL else []
    env = {**env, "NOTIFY_WORKER_NICE": str(NOTIFY_NICE)}  # as make prod runs them
    roots = {
        "worker": stack.enter_context(
            process([*celery, "--pool", "solo", *queue, *quiet], env, tmp / f"{label}-worker.log")
        ).pid
    }
    # One beat, as the Procfile runs it; it also relays new outbox rows (tasks/relay.py).
    beat = [*celery[:-1], "beat", "--loglevel", "WARNING"]
    roots["beat"] = stack.enter_context(
        process(
            [*beat, "--schedule", str(tmp / f"{label}-beat-schedule")],
            env,
            tmp / f"{label}-beat.log",
        )
    ).pid
    if HAS_PLAN_POOL:
        planner = [*celery, "-Q", "plans", "-n", "planner@%h", "--concurrency", str(PLAN_WORKERS)]
        roots["planner"] = stack.enter_context(
            process(
                [*planner, "--prefetch-multiplier", "1", *quiet],
                {**env, "PLAN_WORKER_NICE": str(PLAN_NICE)},
                tmp / f"{label}-planner.log",
            )
        ).pid
    return roots


def run(label: str, database_url: str, tmp: Path, *, production: bool) -> dict:
    with ExitStack() as stack:
        redis_url = redis_server(stack, tmp) if production else None
        env = server_env(database_url, redis_url)
        env["PLAN_WORKERS"] = str(PLAN_WORKERS)
        for command in (["db", "upgrade"], ["seed", "--demo", "--force"]):
            done = subprocess.run(
                [str(BIN / "flask"), *command], cwd=ROOT, env=env, capture_output=True, text=True
            )
            if done.returncode:
                raise SystemExit(f"flask {' '.join(command)} failed:\n{done.stderr}")
        ample, bare_ample, small = create_slots(
            env, [AMPLE_CAPACITY, AMPLE_CAPACITY, SMALL_CAPACITY]
        )
        workers = WORKERS if production else 1
        ports = {"app": free_port(), "bare": free_port()}
        gunicorn = gunicorn_args(workers)
        roots: dict[str, int] = {}
        roots["web"] = stack.enter_context(
            process(
                [
                    *gunicorn,
                    "--bind",
                    f"127.0.0.1:{ports['app']}",
                    *(["--pythonpath", APP_PATH] if APP_PATH else []),
                    APP,
                ],
                env,
                tmp / f"{label}-app.log",
            )
        ).pid
        bare = [*gunicorn, "--bind", f"127.0.0.1:{ports['bare']}", "--pythonpath", "bench"]
        roots["bare web"] = stack.enter_context(
            process([*bare, "bare_booking_app:app"], env, tmp / f"{label}-bare.log")
        ).pid
        if production:
            roots.update(start_workers(stack, env, tmp, label))
            roots["redis"] = REDIS["pid"]
        if POSTMASTER and production:
            roots["postgresql"] = POSTMASTER["pid"]
        app_url = f"http://127.0.0.1:{ports['app']}"
        bare_url = f"http://127.0.0.1:{ports['bare']}"
        wait_for(f"{app_url}/healthz", "gunicorn (app)")
        wait_for(f"{bare_url}/healthz", "gunicorn (bare)")
        script = tmp / "post.lua"
        script.write_text(WRK_SCRIPT)
        bookings, bare_bookings = f"{app_url}/api/v1/bookings", f"{bare_url}/bare/bookings"
        plans_url = f"{app_url}/api/v1/plans"

        def book(url: str, kind: str, slot: int, **kw) -> subprocess.Popen:
            return wrk(url, script, kind=kind, clients=CLIENTS, seconds=SECONDS, slot=slot, **kw)

        def with_planners() -> tuple[dict, dict]:
            planners = Planners(plans_url, plan_body(), PLANNERS, SECONDS + 2)
            time.sleep(1)  # the planners busy before the bookings start
            mixed = result(book(bookings, "booking", ample))
            return mixed, planners.result()

        # Warm-up: every worker connected to the database, modules, templates and the solver's
        # kernels loaded (in the plan workers, or in the web process when embedded).
        for url, kind, slot in ((bookings, "booking", ample), (bare_bookings, "bare", bare_ample)):
            result(wrk(url, script, kind=kind, clients=CLIENTS, seconds=2, slot=slot))
        Planners(plans_url, plan_body(), 2, 3).result()
        drain_outbox(database_url)  # the warm-up's messages
        ours, drained = booked_and_sent(
            roots, book(bookings, "booking", ample), database_url if production else None
        )
        baseline = measured(roots, book(bare_bookings, "bare", bare_ample))
        pairs = []
        for n in range(MIXED_REPEAT):
            if n % 2:  # planners first: an order effect shows up as a spread
                mixed, plans = with_planners()
                alone = result(book(bookings, "booking", ample))
            else:
                alone = result(book(bookings, "booking", ample))
                mixed, plans = with_planners()
            pairs.append({"alone": alone, "mixed": mixed, "plans": plans, "planners_first": n % 2})
        contested = result(book(bookings, "booking", small, max_requests=SMALL_CAPACITY * 4))
    checks = [slot_check(database_url, s) for s in (ample, small)]
    overbooked = sum(c["taken"] > c["capacity"] or c["taken"] != c["held"] for c in checks)
    bookings_runs = [ours, contested, *(p[k] for p in pairs for k in ("alone", "mixed"))]
    plan_runs = [p["plans"] for p in pairs]
    return {
        "label": label,
        "workers": workers,
        "ours": ours,
        "drained": drained,
        "bare": baseline,
        "pairs": pairs,
        "contested": contested,
        "small": checks[1],
        "overbookings": overbooked,
        "load_after": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "other": sum(other_answers(r) for r in bookings_runs)
        + other_answers(baseline)
        + sum(other_answers(r, ("201", "503")) for r in plan_runs),
    }


def _ratio(pair: dict) -> float:
    alone = pair["alone"]["p95_ms"]
    return pair["mixed"]["p95_ms"] / alone if alone else 0.0


def setup_line(row: dict) -> str:
    kind = f"{WEB_THREADS} thread(s)" if WEB_THREADS else "as gunicorn.conf.py"
    web = f"gunicorn {row['workers']} worker(s) [{kind}] serving {APP}"
    if row["label"] == "sqlite":
        return f"{web}; plans in the web process (embedded)"
    if HAS_PLAN_POOL:
        return (
            f"{web}; plans in {PLAN_WORKERS} plan worker(s) at nice {PLAN_NICE}; notification"
            f" worker and beat at nice {NOTIFY_NICE}"
        )
    return f"{web}; plans in the web processes (a tree without the plans pool)"


def report(row: dict) -> None:
    ours, bare, contested = (row[k] for k in ("ours", "bare", "contested"))
    ratio = ours["rps"] / bare["rps"] if bare["rps"] else 0.0
    print(f"-- {row['label']}: {setup_line(row)}, {CLIENTS} clients, wrk")
    print(f"{'':26}{'requests/s':>12}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}  answers")
    lines = [("booking (ours)", ours), ("bare endpoint", bare)]
    for n, pair in enumerate(row["pairs"], 1):
        lines += [
            (f"booking alone #{n}", pair["alone"]),
            (f"booking + {PLANNERS} planners #{n}", pair["mixed"]),
            (f"  the plan requests #{n}", pair["plans"]),
        ]
    lines.append(("booking, contested", contested))
    for name, r in lines:
        print(
            f"{name:26}{r['rps']:>12.1f}{r['p50_ms']:>10.1f}{r['p95_ms']:>10.1f}"
            f"{r['p99_ms']:>10.1f}  {dict(sorted(r['statuses'].items()))}"
            + (f" socket errors {r['socket_errors']}" if r["socket_errors"] else "")
        )
    small = row["small"]
    print(
        f"ratio ours/bare requests/s: {ratio:.2f} (target >= 0.5); booking p95 "
        f"{ours['p95_ms']:.1f} ms (target <= 100)"
    )
    spent = [
        ("booking (ours)", ours.get("cpu_ms", {})),
        ("booking, messages sent too", ours.get("cpu_ms_sent", {})),
        ("bare endpoint", bare.get("cpu_ms", {})),
    ]
    for name, cpu in spent:
        if cpu:
            each = ", ".join(f"{role} {ms:.1f}" for role, ms in cpu.items() if ms >= 0.05)
            print(f"CPU ms per request, {name}: {sum(cpu.values()):.1f} in all ({each})")
    drained = row.get("drained")
    if drained:
        print(
            f"outbox after the booking run: {drained['waiting']} message(s) still to send, "
            f"{drained['left']} left after {drained['seconds']:.1f} s (the worker catching up; "
            "the bare endpoint runs after it)"
        )
    ratios = [_ratio(p) for p in row["pairs"]]
    each = ", ".join(
        f"{r:.2f}{' (planners first)' if p['planners_first'] else ''}"
        for r, p in zip(ratios, row["pairs"], strict=True)
    )
    if ratios:
        print(
            f"booking p95 with planners / alone: median {statistics.median(ratios):.2f}, "
            f"range {min(ratios):.2f}-{max(ratios):.2f} over {len(ratios)} pair(s): {each} "
            "(target <= 2)"
        )
    print(
        f"contested slot: {small['capacity']} places, taken {small['taken']}, held by items "
        f"{small['held']} (201 answers wrk saw {contested['statuses'].get('201', 0)}: it drops "
        "those still in flight when it stops); "
        f"overbookings: {row['overbookings']}; answers other than 201/409 (plans: 201/503): "
        f"{row['other']}"
    )
    print(f"load average after this run: {row['load_after']}")


def main() -> int:
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install -y wrk): booking load benchmark skipped")
        return 0
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(
        f"{datetime.now().date()}, {os.cpu_count()} CPUs ({cpu}), "
        f"Python {platform.python_version()}, load average before the run {load}"
    )
    rows = []
    # BENCH_LOG_DIR: the servers' logs are kept in a folder there (default: removed).
    keep = os.environ.get("BENCH_LOG_DIR")
    with ExitStack() as folders:
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            tmp = tempfile.mkdtemp(prefix="tourplanner-bench-", dir=keep)
            print(f"logs in {tmp}")
        else:
            tmp = folders.enter_context(tempfile.TemporaryDirectory(prefix="tourplanner-bench-"))
        if ONLY == "sqlite":
            pass
        elif (PG_BIN / "initdb").exists() and shutil.which("redis-server"):
            pg_tmp = Path(tmp) / "pg"
            pg_tmp.mkdir()
            with postgres_server() as url:
                rows.append(run("postgresql", url, pg_tmp, production=True))
            report(rows[-1])
        else:
            print("PostgreSQL 15 or redis-server not installed: production run skipped")
        if ONLY != "postgresql":
            lite_tmp = Path(tmp) / "sqlite"
            lite_tmp.mkdir()
            lite_url = f"sqlite:///{lite_tmp / 'bench.sqlite3'}"
            rows.append(run("sqlite", lite_url, lite_tmp, production=False))
            report(rows[-1])
    failed = any(r["overbookings"] or r["other"] for r in rows)
    if failed:
        print("FAIL: overbookings or answers other than 201/409")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
