"""Browser-test fixtures: the app served on a free loopback port, and a Playwright page.

* ``live_server`` (module scope): the app on a copy of the migrated, seeded template database
  (facts + demo data), served by werkzeug in a thread; yields an object with ``url`` and ``app``.
  ``serve_app(**config)`` (module-scoped factory) starts more with other settings.
* ``browser`` (session scope): Debian's Chromium (``/usr/bin/chromium``) driven by Playwright;
  never downloads a browser. Skips when Chromium or Playwright is missing.
* ``page``: a fresh context and page per test, phone-sized by default (390 x 844); use
  ``new_page(width=..., height=...)`` for another viewport.

Map tiles point at a closed loopback port: no traffic leaves the machine.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.conftest import make_app

CHROMIUM = Path("/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 15_000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class LiveServer:
    url: str
    app: Any


def _closing_body(app: Any) -> Callable[..., list[bytes]]:
    """The app with its body read and closed before Werkzeug's server writes it. That server
    closes a body only after draining the socket, and a reset from the browser there (Chromium
    drops its favicon request) leaves a static file open: a ResourceWarning in a later test."""

    def wsgi(environ: dict, start_response: Callable) -> list[bytes]:
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()

    return wsgi


@pytest.fixture(scope="module")
def serve_app(template_db, tmp_path_factory) -> Iterator[Callable[..., LiveServer]]:
    """Factory: ``serve_app(**config)`` starts the app on its own copy of the seeded db."""
    running: list[tuple[Any, threading.Thread, Any]] = []

    def start(**config: Any) -> LiveServer:
        path = tmp_path_factory.mktemp("e2e") / "live.sqlite3"
        shutil.copy(template_db, path)
        settings = {
            "SERVER_NAME": None,
            "TESTING": False,
            "PLANNER_TIME_LIMIT": 0.2,
            "MAP_TILE_URL": "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png",
            "GEOCODER": "none",
            **config,
        }
        app = make_app(path, **settings)
        server = make_server("127.0.0.1", 0, _closing_body(app), threaded=True)
        # Links are built from PUBLIC_BASE_URL, never from the request: it is this server.
        if "PUBLIC_BASE_URL" not in config:
            app.config["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        running.append((server, thread, app))
        return LiveServer(f"http://127.0.0.1:{server.server_port}", app)

    yield start
    for server, thread, app in running:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            from tourplanner.extensions import db

            db.engine.dispose()


@pytest.fixture(scope="module")
def live_server(serve_app) -> LiveServer:
    return serve_app()


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make system-deps)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser) -> Iterator[Callable[..., Any]]:
    """Factory of pages with their own context: ``new_page(width=1280, height=800)``."""
    contexts = []

    def make(width: int = PHONE["width"], height: int = PHONE["height"], **options: Any):
        context = browser.new_context(viewport={"width": width, "height": height}, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    """A phone-sized page (390 x 844)."""
    return new_page()
