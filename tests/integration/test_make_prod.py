"""`make prod` on this machine: every part starts, a booking reaches the village, Ctrl-C stops
everything (the throw-away PostgreSQL and Redis included)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
from pathlib import Path

import pytest
from booking_helpers import first_open_session, http_json, wait_until
from conftest import PUBLIC, ROOT, free_port

pytestmark = pytest.mark.integration


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _descendants(pid: int) -> dict[int, tuple[str, int]]:
    """``{pid: (command line, nice value)}`` of every process below ``pid``."""
    parents, found = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # gone meanwhile
            continue
        child = int(stat.parent.name)
        parents[child] = int(fields[1])
        found[child] = (cmdline, int(fields[16]))  # ppid is field 4 of stat, nice field 19
    below, todo = {}, [pid]
    while todo:
        parent = todo.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in below:
                below[child] = found[child]
                todo.append(child)
    return below


def _background_nice(pid: int) -> dict[str, set[int]]:
    """The nice values of make prod's notification worker, beat and plan workers (their
    Python processes, not the shells honcho starts them with)."""
    roles = {"worker": "worker -Q celery", "beat": "tasks.worker beat", "planner": "-Q plans"}
    python = [(c, n) for c, n in _descendants(pid).values() if "python" in c.split(" ")[0]]
    return {role: {n for c, n in python if mark in c} for role, mark in roles.items()}


def test_make_prod_serves_every_part_and_ctrl_c_stops_them_all(tmp_path, smtp):
    port = free_port()
    state = tmp_path / "prod"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "MAKEFLAGS", "MFLAGS")
    }
    env.update(
        WEB_BIND=f"127.0.0.1:{port}",
        PROD_STATE_DIR=str(state),
        MAIL_ENABLED="1",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(smtp.port),
        PUBLIC_BASE_URL=PUBLIC,
        OUTBOX_DISPATCH_SECONDS="1",
        WEB_CONCURRENCY="2",
        WORKER_CONCURRENCY="1",
    )
    log = (tmp_path / "prod.log").open("wb")
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "prod"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError((tmp_path / "prod.log").read_text(errors="replace")[-4000:])
        try:
            return http_json(f"{base}/readyz")[1].get("checks") == {"database": "ok", "redis": "ok"}
        except OSError:
            return False

    try:
        wait_until(ready, timeout=240, what="make prod to be ready")
        slot = first_open_session(base)
        status, booking = http_json(
            f"{base}/api/v1/bookings",
            {
                "items": [{"slot_id": slot["id"], "party": {"adults": 1}}],
                "lang": "en",
                "contact": {"name": "Prod Check", "email": "prod@example.org"},
            },
        )
        assert status == 201, booking
        wait_until(
            lambda: smtp.to("village@bat-trang.example", booking["reference"]),
            timeout=60,
            what="the village's e-mail",
        )
        # Bookings get the CPU first: what works in the background runs at nice 10 (the plan
        # worker's pool processes; its main process only hands the plans out).
        nice = _background_nice(proc.pid)
        assert nice["worker"] == nice["beat"] == {10} and 10 in nice["planner"], nice
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
        try:
            proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        log.close()
    output = (tmp_path / "prod.log").read_text(errors="replace")
    assert "prod: stopped" in output
    assert not _listening(port)
    leftovers = subprocess.run(["pgrep", "-f", str(state)], capture_output=True, text=True)
    assert leftovers.stdout.strip() == "", "processes still running: " + leftovers.stdout
    servers = re.findall(r"prod: (?:PostgreSQL \(throw-away\)|Redis) on 127\.0\.0\.1:(\d+)", output)
    assert len(servers) == 2
    assert not any(_listening(int(p)) for p in servers), "PostgreSQL or Redis still listens"
