"""The API against its own OpenAPI document: schemathesis with every check, 0 failures.

The app is served over HTTP on 127.0.0.1 (Werkzeug's threaded server in this process), once
on a copy of the SQLite test database and once on the integration PostgreSQL, and the
``schemathesis run`` command tests it as a client would: ``--checks all``, 30 examples per
operation, deterministic generation (the same requests on every run). Its settings, and why
some operations count their documented 400s as accepted, are in ``schemathesis.toml``.

The served app's configuration: request-rate limits off (RATE_LIMITS=False; thousands of
requests from one address would otherwise mostly test the 429), a fake geocoder (no request
leaves the machine), and short solver time limits. Per-contact hold limits stay on: a
booking refused by them is a documented 409.

The agency operations (tag ``agency``) get the API key of an agency made for the run
(``TOURPLANNER_API_KEY`` in schemathesis.toml), so that they are tested past the 401: the
packages it creates are its own, and everything of the other agencies is a 404 to it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
EXAMPLES = 30
SERVED_CONFIG = {
    "TESTING": False,  # errors answer as in production (500 in the JSON shape), not raise
    "SERVER_NAME": None,
    "RATE_LIMITS": False,
    "PLANNER_TIME_LIMIT": 0.1,
    "PACKAGE_FILL_TIME_LIMIT": 0.05,
}


def agency_key(app) -> str:
    """The demo data's sample agency and published package (as ``flask seed --demo`` adds
    them: the public package operations have one to read), and a new agency of its own for
    the run with its API key."""
    from tourplanner.services import agencies, packages

    suffix = secrets.token_hex(4)
    with app.app_context():
        packages.seed_demo_package(agencies.seed_demo_agency()["id"])
        agency = agencies.create_agency(
            f"Schemathesis {suffix}", f"schemathesis-{suffix}@example.org"
        )
        _key_id, key = agencies.create_api_key(agency["id"], "schemathesis")
    return key


@contextmanager
def served(app) -> Iterator[str]:
    """``app`` on a free port of 127.0.0.1 until the block ends; yields the base URL."""
    from fakes import FakeGeocoder

    from tourplanner.services.geocoding import EXTENSION_KEY

    app.extensions[EXTENSION_KEY] = FakeGeocoder({"Bát Tràng, Gia Lâm": (20.975, 105.91)})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def run_schemathesis(base_url: str, workdir: Path, api_key: str) -> None:
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "run",
        f"{base_url}/api/v1/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(EXAMPLES),
        "--generation-deterministic",
        "--workers",
        "1",
        "--request-timeout",
        "20",
        "--no-color",
    ]
    env = {**os.environ, "NO_COLOR": "1", "TOURPLANNER_API_KEY": api_key}
    result = subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True, timeout=600
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-20000:]
    assert "passed" in output and "failures" not in output.splitlines()[-1], output[-5000:]


def test_schemathesis_all_checks_pass_on_sqlite(template_db, tmp_path):
    from tourplanner import create_app
    from tourplanner.extensions import db

    path = tmp_path / "served.sqlite3"
    shutil.copy(template_db, path)
    app = create_app(
        {
            **SERVED_CONFIG,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
            "WTF_CSRF_ENABLED": False,
            "SECRET_KEY_FILE": tmp_path / "secret_key",
        }
    )
    try:
        key = agency_key(app)
        with served(app) as url:
            run_schemathesis(url, tmp_path, key)
    finally:
        with app.app_context():
            db.engine.dispose()


def test_schemathesis_all_checks_pass_on_postgresql(postgres_url, tmp_path):
    from tourplanner import create_app
    from tourplanner.config import _database_url
    from tourplanner.extensions import db

    app = create_app(
        {
            **SERVED_CONFIG,
            "SQLALCHEMY_DATABASE_URI": _database_url(postgres_url),
            "SECRET_KEY": secrets.token_urlsafe(48),
            "WTF_CSRF_ENABLED": False,
        }
    )
    try:
        key = agency_key(app)
        with served(app) as url:
            run_schemathesis(url, tmp_path, key)
    finally:
        with app.app_context():
            db.engine.dispose()
