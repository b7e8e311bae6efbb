"""Shared fixtures: an app on a throw-away SQLite copy of a migrated, seeded database.

The template database is migrated (Alembic, the same path as production) and seeded once per
session; each test gets its own copy, so tests never see each other's writes.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent

# CI runs the property tests on a fixed sequence of examples so that a red build can be
# reproduced; developers' runs explore new random examples (and remember failures).
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def pytest_configure(config: pytest.Config) -> None:
    """Compile the route-engine kernels before any test, so that no server process the tests
    start (and no timed browser step) pays the one-off compilation; they load the disk cache."""
    from tourplanner.routing.kernels import warm_up

    warm_up()


def _compile_translations() -> None:
    """Compile .po files whose .mo is missing or stale (``make test`` does it too)."""
    for po in (ROOT / "translations").glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as fh:
                catalog = read_po(fh)
            with mo.open("wb") as fh:
                write_mo(fh, catalog)


def make_app(db_path: Path, **config):
    from tourplanner import create_app

    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}",
            "WTF_CSRF_ENABLED": False,
            "SERVER_NAME": "localhost",
            "SECRET_KEY_FILE": db_path.parent / "secret_key",
            **config,
        }
    )


@pytest.fixture(scope="session")
def template_db(tmp_path_factory) -> Path:
    """A migrated database with the facts and the demo set loaded."""
    from flask_migrate import upgrade

    from tourplanner.services.catalogue_io import seed
    from tourplanner.services.reachability import seed_demo_channels

    _compile_translations()
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    app = make_app(path)
    with app.app_context():
        upgrade()
        seed(demo=True)
        # As ``flask seed --demo``: each demo village can receive requests (a sample booking
        # e-mail), or none of its sessions would be offered (services/reachability.py).
        seed_demo_channels()
    return path


@pytest.fixture
def app(template_db, tmp_path):
    path = tmp_path / "test.sqlite3"
    shutil.copy(template_db, path)
    app = make_app(path)
    with app.app_context():
        yield app
        from tourplanner.extensions import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Mailbox:
    """E-mails the app sends, kept in memory: ``(to, subject, body)`` in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, to, subject, body, *, message_id):
        self.sent.append((to, subject, body))


@pytest.fixture
def mailbox(app) -> Mailbox:
    """The app's mail channel replaced by a :class:`Mailbox` (webhooks and SMS as usual);
    integration tests have an SMTP server's of their own (tests/integration/conftest.py)."""
    from tourplanner.adapters import notifiers as channels
    from tourplanner.services import notifications

    box = Mailbox()
    app.extensions[notifications.NOTIFIERS_KEY] = channels.Notifiers(
        box, channels.WebhookSender(), channels.LoggingSms()
    )
    return box
