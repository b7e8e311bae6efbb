"""Real servers for the integration tests, started once per session and stopped at the end.

* ``redis``: ``redis-server`` on a free port (no persistence); it can be stopped and started
  again on the same port to test the outbox while the broker is down.
* ``postgres_url``: a throw-away PostgreSQL 15 cluster (``initdb``/``pg_ctl`` from
  ``/usr/lib/postgresql/15/bin``, run as the ``postgres`` user when we are root) in a temporary
  directory, migrated with Alembic and seeded with the demo data.
* ``smtp``: an ``aiosmtpd`` server that keeps every message it receives.
* ``receiver``: a local HTTP server that keeps every webhook POST (and can answer errors).
* ``worker``: a ``celery -A tasks.worker worker -B`` subprocess pointed at all of the above,
  with second-scale beat intervals so expiry and the outbox dispatcher run quickly.

Every port is chosen free at start-up; all traffic stays on the loopback interface.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from booking_helpers import wait_until
from processes import Processes

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
# A fresh key each run: no key that signs anything is ever written in the repository.
SECRET = secrets.token_urlsafe(48)
PUBLIC = "http://tourplanner.test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Redis ---------------------------------------------------------------------------------


class RedisServer:
    def __init__(self, port: int, workdir: Path) -> None:
        self.port, self.workdir = port, workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.ping, timeout=10, what="redis-server")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None
        wait_until(lambda: not self.ping(), timeout=10, what="redis-server to stop")


@pytest.fixture(scope="session")
def redis(tmp_path_factory) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is missing: run scripts/install-system-deps.sh")
    server = RedisServer(free_port(), tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    if server.proc is not None:
        server.stop()


# --- PostgreSQL ----------------------------------------------------------------------------


def _as_postgres(args: list[str]) -> list[str]:
    """initdb refuses to run as root: run the server tools as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


class PostgresCluster:
    """A throw-away PostgreSQL 15 cluster in a temporary directory, on a free port."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="tourplanner-pg-"))
        self.data = self.base / "data"
        self.port = free_port()

    @property
    def url(self) -> str:
        """The server URL without a database name."""
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), *args]),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def create(self) -> None:
        self.base.chmod(0o755)
        self.data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres")
            shutil.chown(self.data, "postgres")
        subprocess.run(
            _as_postgres(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(self.data),
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
            check=True,
            stdout=subprocess.DEVNULL,
        )
        self.start()

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._ctl("-l", str(self.base / "server.log"), "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "-w", "stop")

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        with psycopg.connect(f"{self.url}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"{self.url}/{name}"

    def destroy(self) -> None:
        subprocess.run(
            _as_postgres(
                [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"]
            ),
            stdout=subprocess.DEVNULL,
        )
        shutil.rmtree(self.base, ignore_errors=True)


def new_postgres_cluster() -> PostgresCluster:
    if not (PG_BIN / "initdb").exists():
        pytest.fail("PostgreSQL 15 is missing: run scripts/install-system-deps.sh")
    cluster = PostgresCluster()
    cluster.create()
    return cluster


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[str]:
    """A running cluster; yields the server URL without a database name."""
    cluster = new_postgres_cluster()
    try:
        yield cluster.url
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def postgres_url(postgres_cluster) -> str:
    """A database migrated with Alembic and seeded with the facts and the demo set."""
    import psycopg
    from flask_migrate import upgrade

    from tourplanner.services.catalogue_io import seed

    with psycopg.connect(f"{postgres_cluster}/postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE tourplanner")
    url = f"{postgres_cluster}/tourplanner"
    app = make_app(url)
    with app.app_context():
        upgrade()
        seed(demo=True)
        from tourplanner.services.reachability import seed_demo_channels

        seed_demo_channels()  # as flask seed --demo: villages without a channel offer nothing
        from tourplanner.extensions import db

        db.session.remove()
        db.engine.dispose()
    return url


def make_app(database_url: str, redis_url: str | None = None, **config: Any):
    from tourplanner import create_app
    from tourplanner.config import _database_url, from_environment

    celery = dict(from_environment()["CELERY"])
    if redis_url:
        celery.update(broker_url=redis_url, task_always_eager=False)
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": SECRET,
            "WTF_CSRF_ENABLED": False,
            "SERVER_NAME": "localhost",
            "PUBLIC_BASE_URL": PUBLIC,
            "SQLALCHEMY_DATABASE_URI": _database_url(database_url),
            "SQLALCHEMY_ENGINE_OPTIONS": {
                "pool_pre_ping": True,
                "pool_size": 60,
                "max_overflow": 10,
            },
            "REDIS_URL": redis_url,
            "CELERY": celery,
            # The webhook receiver listens on 127.0.0.1 over plain http.
            "WEBHOOK_ALLOW_PRIVATE": True,
            **config,
        }
    )


# --- SMTP and HTTP receivers ---------------------------------------------------------------


class Mailbox:
    """Messages received by the aiosmtpd server."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.port = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)
        return "250 OK"

    def to(self, address: str, subject_contains: str = "") -> list:
        return [
            m for m in self.messages if m["To"] == address and subject_contains in str(m["Subject"])
        ]


@pytest.fixture(scope="session")
def smtp() -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    mailbox.port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    yield mailbox
    controller.stop()


class Receiver:
    """Webhook POSTs received; ``fail_next`` answers that many with HTTP 500 first."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_next = 0
        self.failed = 0
        self.url = ""

    def for_reference(self, reference: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["json"].get("reference") == reference]


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    box = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if box.fail_next:
                box.fail_next -= 1
                box.failed += 1
                self.send_response(500)
                self.end_headers()
                return
            box.requests.append(
                {
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": body,
                    "json": json.loads(body),
                }
            )
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/tourplanner"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield box
    server.shutdown()
    server.server_close()


@pytest.fixture
def processes(tmp_path) -> Iterator[Processes]:
    """Server processes a test starts (gunicorn, workers, beat), all stopped at its end."""
    group = Processes(tmp_path)
    yield group
    group.stop()


# --- the Celery worker ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def worker(redis, postgres_url, smtp, tmp_path_factory) -> Iterator[subprocess.Popen]:
    workdir = tmp_path_factory.mktemp("celery")
    log_path = workdir / "worker.log"
    env = {
        **os.environ,
        "REDIS_URL": redis.url,
        "DATABASE_URL": postgres_url,
        "SECRET_KEY": SECRET,
        "PUBLIC_BASE_URL": PUBLIC,
        "MAIL_ENABLED": "1",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp.port),
        "OUTBOX_DISPATCH_SECONDS": "1",
        "HOLD_EXPIRY_CHECK_SECONDS": "1",
        "NOTIFY_RETRY_BASE_SECONDS": "1",
        "WEBHOOK_ALLOW_PRIVATE": "1",  # the receiver is on 127.0.0.1, over http
        "PYTHONWARNINGS": "ignore",
    }
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tasks.worker",
                "worker",
                "-B",
                "--pool",
                "solo",
                "--loglevel",
                "INFO",
                "--schedule",
                str(workdir / "beat"),
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                "integration@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(
            lambda: b"ready." in log_path.read_bytes() or proc.poll() is not None,
            timeout=60,
            what="the Celery worker",
        )
        if proc.poll() is not None:
            raise AssertionError("worker died:\n" + log_path.read_text(errors="replace"))
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def pg_app(postgres_url, redis):
    """The web app in this process, on the test PostgreSQL and Redis (tasks go to the worker)."""
    app = make_app(postgres_url, redis.url)
    with app.app_context():
        yield app
        from tourplanner.extensions import db

        db.session.remove()
        db.engine.dispose()
