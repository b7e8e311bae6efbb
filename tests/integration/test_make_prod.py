"""`make prod` on this machine: every part starts, a booking reaches the village, Ctrl-C stops
everything (the throw-away PostgreSQL and Redis included)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess

import pytest
from booking_helpers import first_open_session, http_json, wait_until
from conftest import PUBLIC, ROOT, free_port

pytestmark = pytest.mark.integration


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


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
