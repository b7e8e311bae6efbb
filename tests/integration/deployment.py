"""A production-shaped deployment for integration tests: gunicorn, Celery workers and beat as
separate processes on a PostgreSQL database and a Redis database of their own.

The processes run from the test's own interpreter (the dev venv); the runtime-only install is
checked by ``test_production_install.py``. Each deployment gets its own Redis database number,
so the session worker of the other tests never takes its tasks.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import sys
from collections import Counter
from pathlib import Path

from booking_helpers import http_json, wait_until
from conftest import PUBLIC, ROOT, SECRET, free_port
from processes import Processes

VENV = Path(sys.executable).parent.parent


def environment(database_url: str, redis_url: str, smtp_port: int, **extra: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": SECRET,
        "PUBLIC_BASE_URL": PUBLIC,
        "MAIL_ENABLED": "1",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "OUTBOX_DISPATCH_SECONDS": "1",
        "HOLD_EXPIRY_CHECK_SECONDS": "1",
        "NOTIFY_RETRY_BASE_SECONDS": "1",
        "RATE_LIMITS": "off",
        "HOLD_PLACES_PER_CONTACT": "1000",
        "FLASK_APP": "wsgi.py",
        "PYTHONWARNINGS": "ignore",
        "LOG_FORMAT": "text",
        **extra,
    }


def migrate_and_seed(env: dict) -> None:
    import subprocess

    for args in (["db", "upgrade"], ["seed", "--demo", "--force"]):
        result = subprocess.run(
            [str(VENV / "bin" / "flask"), *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def start_web(
    processes: Processes, env: dict, name: str = "web", workers: int = 2, venv: Path = VENV
) -> str:
    port = free_port()
    processes.start(
        name,
        venv,
        ["gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        env,
    )
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        processes.check_alive()
        try:
            return http_json(f"{base}/healthz")[0] == 200
        except OSError:
            return False

    wait_until(ready, timeout=90, what=f"{name} to serve")
    return base


def start_worker(processes: Processes, env: dict, name: str = "worker", venv: Path = VENV) -> Path:
    log = processes.start(
        name,
        venv,
        [
            "celery",
            "-A",
            "tasks.worker",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"{name}@%h",
        ],
        env,
    )
    wait_until(
        lambda: processes.check_alive() or b"ready." in log.read_bytes(), timeout=90, what=name
    )
    return log


def start_beat(processes: Processes, env: dict, venv: Path = VENV) -> Path:
    log = processes.start(
        "beat",
        venv,
        [
            "celery",
            "-A",
            "tasks.worker",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(processes.workdir / "beat-schedule"),
        ],
        env,
    )
    wait_until(
        lambda: processes.check_alive() or b"beat: Starting" in log.read_bytes(),
        timeout=60,
        what="Celery beat",
    )
    return log


class CountingMailbox:
    """An SMTP capture that counts every message by Message-ID (the outbox row's delivery id).

    ``delay`` seconds pass in RCPT, before the message exists: a sender killed then has sent
    nothing, so a repeated message can only come from the outbox sending twice.
    ``in_rcpt`` counts the senders inside that delay right now (a drill kills a worker then:
    a kill just after DATA, before the outbox records the message as sent, is the one moment
    at-least-once delivery must repeat a message, and no outbox can avoid it).
    """

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.messages: list[email.message.EmailMessage] = []
        self.port = free_port()
        self.in_rcpt = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        self.in_rcpt += 1
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_rcpt -= 1
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"

    def ids(self, reference: str | None = None) -> Counter:
        return Counter(
            m["Message-ID"]
            for m in self.messages
            if reference is None or reference in str(m["Subject"])
        )

    def to(self, address: str, subject_contains: str = "") -> list:
        return [
            m for m in self.messages if m["To"] == address and subject_contains in str(m["Subject"])
        ]
