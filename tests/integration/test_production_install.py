"""The production install, as an operator makes it: a venv from ``requirements.txt`` alone.

Every production entry point starts from that venv (``flask db upgrade``, ``flask seed``,
``gunicorn wsgi:app``, ``celery -A tasks.worker worker`` and ``beat``) against a throw-away
PostgreSQL, ``redis-server`` and an SMTP capture; a session booked over HTTP reaches the
village's mailbox exactly once. No dev requirement is on the path of any process started here,
so a runtime dependency missing from the lock fails this test (the dev venv would hide it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from booking_helpers import first_open_session, http_json, wait_until
from conftest import PUBLIC, ROOT, SECRET
from deployment import start_beat, start_web, start_worker

pytestmark = pytest.mark.integration

VILLAGE_MAIL = "village@bat-trang.example"  # the demo staff account: the village's channel
TOURIST_MAIL = "smoke@example.org"


def _run(
    venv: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(venv / "bin" / args[0]), *args[1:]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"{' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="session")
def runtime_venv(tmp_path_factory) -> Path:
    """A venv from the base interpreter (not the dev venv) with the runtime lock installed."""
    venv = tmp_path_factory.mktemp("runtime") / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", str(venv)], check=True, timeout=120)
    _run(venv, "pip", "install", "--quiet", "-r", str(ROOT / "requirements.txt"), timeout=900)
    return venv


def _environment(venv: Path, **values: str) -> dict[str, str]:
    """Only what an operator would set: no PYTHONPATH, no dev venv, the runtime venv first."""
    keep = {
        k: os.environ[k] for k in ("HOME", "LANG", "TMPDIR", "NUMBA_CACHE_DIR") if k in os.environ
    }
    return {
        **keep,
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "PYTHONWARNINGS": "ignore",
        "FLASK_APP": "wsgi.py",
        **values,
    }


def test_the_runtime_lock_is_complete_on_its_own(runtime_venv):
    _run(runtime_venv, "pip", "check")
    _run(runtime_venv, "python", "-c", "import kombu.transport.redis, flask_limiter")
    dev_only = subprocess.run(
        [str(runtime_venv / "bin" / "python"), "-c", "import pytest"], capture_output=True
    )
    assert dev_only.returncode != 0, "a dev requirement leaked into the runtime venv"


def test_production_entry_points_start_from_the_runtime_venv_and_a_booking_mails_the_village_once(
    runtime_venv, processes, postgres_cluster, redis, smtp
):
    import psycopg

    with psycopg.connect(f"{postgres_cluster}/postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE smoke")
    env = _environment(
        runtime_venv,
        DATABASE_URL=f"{postgres_cluster}/smoke",
        # Its own Redis database: the session worker of the other tests listens on /0.
        REDIS_URL=redis.url.rsplit("/", 1)[0] + "/3",
        SECRET_KEY=SECRET,
        PUBLIC_BASE_URL=PUBLIC,
        MAIL_ENABLED="1",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(smtp.port),
        OUTBOX_DISPATCH_SECONDS="1",
        HOLD_EXPIRY_CHECK_SECONDS="1",
    )

    _run(runtime_venv, "flask", "db", "upgrade", env=env)
    _run(runtime_venv, "flask", "seed", env=env)
    _run(runtime_venv, "flask", "seed", "--demo", "--force", env=env)

    base = start_web(processes, env, "gunicorn", venv=runtime_venv)
    start_worker(processes, env, "smoke", venv=runtime_venv)
    start_beat(processes, env, venv=runtime_venv)

    slot = first_open_session(base)
    status, booking = http_json(
        f"{base}/api/v1/bookings",
        {
            "items": [{"slot_id": slot["id"], "party": {"adults": 1}}],
            "lang": "en",
            "contact": {"name": "Smoke Test", "email": TOURIST_MAIL, "phone": "+84 90 000 0001"},
        },
    )
    assert status == 201, booking
    reference = booking["reference"]

    wait_until(
        lambda: processes.check_alive() or smtp.to(VILLAGE_MAIL, reference),
        timeout=60,
        what="the village's e-mail",
    )
    wait_until(lambda: smtp.to(TOURIST_MAIL, reference), timeout=30, what="the tourist's e-mail")
    # Several dispatcher passes later (beat every second), still one message each.
    time.sleep(5)
    processes.check_alive()
    assert len(smtp.to(VILLAGE_MAIL, reference)) == 1
    assert len(smtp.to(TOURIST_MAIL, reference)) == 1
