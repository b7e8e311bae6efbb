"""The plans pool on the real servers (issue #14 item 3): gunicorn, a Celery worker, a plan
worker (``-Q plans``), PostgreSQL and Redis.

* Plans are computed by the plan worker; the default worker never takes one.
* Beyond the pool's capacity a plan request is a 503 ``planner_busy`` with ``Retry-After`` at
  once: nothing waits in line.
* Errors raised in the plan worker come back as the same 4xx, code and details.
* A client that hangs up gives its place back; a web process killed with SIGKILL holds its
  places only until their leases end, and the plans it left queued are never computed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from booking_helpers import wait_until
from conftest import make_app
from demo_days import open_day
from deployment import VENV, environment, migrate_and_seed, start_web, start_worker
from processes import Processes

from tourplanner.services.plan_pool import INFLIGHT_KEY

pytestmark = pytest.mark.integration

CAPACITY = 2
WAIT_SECONDS = 5  # a request waits this long for its plan; its lease ends 5 s later


@dataclass
class Deployment:
    base: str
    env: dict
    processes: Processes
    redis: object  # redis.Redis on the deployment's database
    database: str

    def in_flight(self) -> int:
        seconds, micros = self.redis.time()
        return int(self.redis.zcount(INFLIGHT_KEY, seconds + micros / 1e6, "+inf"))

    def log(self, name: str) -> str:
        return (self.processes.workdir / f"{name}.log").read_text(errors="replace")


def _start_planner(processes: Processes, env: dict) -> Path:
    args = ["celery", "-A", "tasks.worker", "worker", "-Q", "plans", "-n", "planner@%h"]
    args += ["--concurrency", "1", "--prefetch-multiplier", "1", "--loglevel", "INFO"]
    log = processes.start("planner", VENV, [*args, "--without-gossip", "--without-mingle"], env)
    wait_until(
        lambda: processes.check_alive() or b"ready." in log.read_bytes(),
        timeout=90,
        what="the plan worker",
    )
    return log


def _stop(processes: Processes, name: str) -> None:
    """SIGTERM one process (a warm shutdown) and forget it."""
    for i, (each, proc) in enumerate(processes.procs):
        if each == name:
            proc.terminate()
            proc.wait(timeout=30)
            del processes.procs[i]
            return
    raise KeyError(name)


def _kill_with_children(processes: Processes, name: str) -> None:
    """SIGKILL a gunicorn master and its workers at once: nothing of theirs runs again."""
    for i, (each, proc) in enumerate(processes.procs):
        if each == name:
            found = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True)
            for pid in [proc.pid, *map(int, found.stdout.split())]:
                os.kill(pid, signal.SIGKILL)
            proc.wait()
            del processes.procs[i]
            return
    raise KeyError(name)


@pytest.fixture(scope="module")
def pool(postgres_cluster, redis, smtp, tmp_path_factory) -> Iterator[Deployment]:
    import psycopg
    import redis as redis_client

    with psycopg.connect(f"{postgres_cluster}/postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE plan_pool")
    database = f"{postgres_cluster}/plan_pool"
    env = environment(
        database,
        redis.url.rsplit("/", 1)[0] + "/7",  # a Redis database of its own
        smtp.port,
        PLAN_WORKERS="1",
        PLAN_POOL_CAPACITY=str(CAPACITY),
        PLAN_WAIT_SECONDS=str(WAIT_SECONDS),
    )
    migrate_and_seed(env)
    group = Processes(tmp_path_factory.mktemp("plan-pool"))
    client = redis_client.Redis.from_url(env["REDIS_URL"])
    try:
        # More sync workers than places: a waiting plan holds its worker.
        base = start_web(group, env, workers=CAPACITY + 2)
        start_worker(group, env)  # deployment.py's worker: no -Q, the default queue only
        _start_planner(group, env)
        yield Deployment(base, env, group, client, database)
    finally:
        group.stop()
        client.close()


def _plan_body(**changes: object) -> dict:
    day = open_day(10)
    body = {"start": {"landmark": "hoan-kiem-lake"}, "date": day.isoformat()}
    return {**body, "party": {"adults": 2}, "lang": "en", **changes}


def _post_plan(base: str, body: dict, timeout: float = 30) -> tuple[int, dict, dict, float]:
    """``(status, headers, JSON body, seconds)`` of ``POST /api/v1/plans``."""
    request = urllib.request.Request(
        f"{base}/api/v1/plans",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    began = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            found = response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        found = exc.code, dict(exc.headers), json.loads(exc.read() or b"{}")
    return (*found, time.monotonic() - began)


def _plans_saved(database: str) -> int:
    from sqlalchemy import func, select

    from tourplanner.adapters.orm import Plan
    from tourplanner.extensions import db

    with make_app(database).app_context():
        try:
            return db.session.scalar(select(func.count()).select_from(Plan))
        finally:
            db.session.remove()
            db.engine.dispose()


def test_plans_are_computed_by_the_plan_worker_and_never_by_the_default_worker(pool):
    status, _, plan, _ = _post_plan(pool.base, _plan_body())
    assert status == 201, plan
    assert plan["itineraries"] and plan["links"]["api"]
    wait_until(lambda: "'planned'" in pool.log("planner"), timeout=10, what="the worker's log")
    assert "Task tasks.plans.create_plan[" not in pool.log("worker")  # never received one
    assert pool.in_flight() == 0


def test_beyond_capacity_a_plan_request_is_a_503_with_retry_after_at_once(pool):
    with ThreadPoolExecutor(6) as run:
        answers = list(run.map(lambda _: _post_plan(pool.base, _plan_body()), range(6)))
    statuses = Counter(status for status, *_ in answers)
    assert set(statuses) <= {201, 503}, statuses
    assert statuses[201] >= CAPACITY and statuses[503] >= 1, statuses
    for status, headers, body, seconds in answers:
        if status == 503:
            assert body["error"]["code"] == "planner_busy"
            assert int(headers["Retry-After"]) > 0
            # Refused at once, not after a wait in line (which lasts WAIT_SECONDS); half of it
            # leaves room for a loaded machine's slow answers.
            assert seconds < WAIT_SECONDS / 2
    assert pool.in_flight() == 0  # every place given back


@pytest.mark.parametrize(
    "start,status,code,details",
    [
        (
            {"landmark": "no-such-place"},
            400,
            "unknown_landmark",
            {"field": "start.landmark", "slug": "no-such-place"},
        ),
        (
            {"lat": 10.7769, "lon": 106.7009},  # Saigon
            422,
            "start_outside_area",
            {"field": "start", "lat": 10.7769, "lon": 106.7009},
        ),
    ],
)
def test_errors_raised_in_the_plan_worker_come_back_as_the_same_4xx(
    pool, start, status, code, details
):
    refused_before = pool.log("planner").count("'refused'")
    got, _, body, _ = _post_plan(pool.base, _plan_body(start=start))
    assert got == status, body
    assert body["error"]["code"] == code
    assert body["error"]["details"] == details
    wait_until(  # the worker said it (its log line comes just after the answer)
        lambda: pool.log("planner").count("'refused'") == refused_before + 1,
        timeout=10,
        what="the plan worker's log line",
    )
    assert pool.in_flight() == 0


def test_a_malformed_request_is_a_400_without_reaching_the_pool(pool):
    received = pool.log("planner").count("Task tasks.plans.create_plan")
    got, _, body, _ = _post_plan(pool.base, _plan_body(start_time="18:00", end_time="08:00"))
    assert (got, body["error"]["code"]) == (400, "end_before_start")
    assert pool.log("planner").count("Task tasks.plans.create_plan") == received


def test_a_client_that_hangs_up_gives_its_place_back(pool):
    host, port = pool.base.removeprefix("http://").split(":")
    payload = json.dumps(_plan_body()).encode()
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"POST /api/v1/plans HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: "
            + str(len(payload)).encode()
            + b"\r\n\r\n"
            + payload
        )
        wait_until(lambda: pool.in_flight() == 1, timeout=10, what="the plan to take its place")
    # Gone without reading the answer: the place comes back when the plan is done.
    wait_until(lambda: pool.in_flight() == 0, timeout=WAIT_SECONDS + 5, what="the place back")
    with ThreadPoolExecutor(CAPACITY) as run:
        answers = list(run.map(lambda _: _post_plan(pool.base, _plan_body()), range(CAPACITY)))
    assert [status for status, *_ in answers] == [201] * CAPACITY


def test_without_a_plan_worker_a_plan_waits_its_time_then_503_and_leaves_no_place(pool):
    _stop(pool.processes, "planner")  # the default worker still runs: it must not take it
    try:
        status, headers, body, seconds = _post_plan(pool.base, _plan_body())
        assert (status, body["error"]["code"]) == (503, "planner_busy")
        assert int(headers["Retry-After"]) > 0
        assert WAIT_SECONDS - 0.5 <= seconds < WAIT_SECONDS + 3
        assert pool.in_flight() == 0
    finally:
        _start_planner(pool.processes, pool.env)


def test_a_killed_web_process_holds_its_places_only_until_their_leases_end(pool):
    other = start_web(pool.processes, pool.env, name="web-killed", workers=CAPACITY)
    _stop(pool.processes, "planner")  # the plans wait, so the places stay taken
    saved = _plans_saved(pool.database)
    run = ThreadPoolExecutor(CAPACITY)
    try:
        waiting = [run.submit(_post_plan, other, _plan_body(), 30) for _ in range(CAPACITY)]
        wait_until(lambda: pool.in_flight() == CAPACITY, timeout=10, what="the pool to fill")
        killed_at = time.monotonic()
        _kill_with_children(pool.processes, "web-killed")
        for future in waiting:
            with pytest.raises(OSError):  # the connection dies with the process
                future.result()
    finally:
        run.shutdown()
    # Its places are still taken: the live instance says busy at once...
    status, _, body, seconds = _post_plan(pool.base, _plan_body())
    assert (status, body["error"]["code"]) == (503, "planner_busy")
    assert seconds < WAIT_SECONDS / 2
    # The plan worker back once the queued plans expired (their messages live as long as the
    # wait): it discards them.
    time.sleep(max(0.0, killed_at + WAIT_SECONDS + 0.5 - time.monotonic()))
    _start_planner(pool.processes, pool.env)
    # ...until the leases end (the wait plus a 5 s grace), then plans are made again.
    wait_until(lambda: pool.in_flight() == 0, timeout=WAIT_SECONDS + 10, what="the leases")
    assert time.monotonic() - killed_at < WAIT_SECONDS + 7
    status, _, body, _ = _post_plan(pool.base, _plan_body())
    assert status == 201, body
    # The two plans the dead process queued were never computed.
    assert _plans_saved(pool.database) == saved + 1
