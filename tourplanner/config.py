"""Configuration: embedded defaults (SQLite, eager Celery) overridden by environment variables.

Every variable is documented in `.env.example`. With no environment set the app needs no server:
SQLite in ``instance/`` and Celery tasks run in-process (eager mode). ``DATABASE_URL`` switches to
PostgreSQL (psycopg 3) and ``REDIS_URL`` to a real broker with Celery workers.
"""

from __future__ import annotations

import os
from pathlib import Path

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"


def _database_url(value: str | None) -> str:
    """Normalise a DATABASE_URL so that PostgreSQL URLs use the psycopg 3 driver."""
    if not value:
        return f"sqlite:///{INSTANCE_DIR / 'tourplanner.sqlite3'}"
    for prefix in ("postgres://", "postgresql://"):
        if value.startswith(prefix):
            return "postgresql+psycopg://" + value[len(prefix):]
    return value


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def from_environment() -> dict:
    """Build the configuration mapping from the process environment."""
    redis_url = os.environ.get("REDIS_URL") or None
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY", "dev-only-insecure-secret-key"),
        "SQLALCHEMY_DATABASE_URI": _database_url(os.environ.get("DATABASE_URL")),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": redis_url,
        "CELERY": {
            "broker_url": redis_url or "memory://",
            "result_backend": None,
            "task_always_eager": redis_url is None,
            "task_eager_propagates": True,
            "task_ignore_result": True,
            "broker_connection_retry_on_startup": True,
            "timezone": "Asia/Ho_Chi_Minh",
        },
        "BABEL_DEFAULT_LOCALE": "vi",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "LANGUAGES": ("vi", "en"),
        "MAP_TILE_URL": os.environ.get(
            "MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
        ),
        "MAP_TILE_ATTRIBUTION": os.environ.get(
            "MAP_TILE_ATTRIBUTION", "&copy; OpenStreetMap contributors"
        ),
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", "localhost"),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "25")),
        "MAIL_SENDER": os.environ.get("MAIL_SENDER", "tourplanner@localhost"),
        "MAIL_ENABLED": _flag("MAIL_ENABLED", False),
        # Bookings and notifications (docs/bookings.md).
        "BOOKING_HOLD_HOURS": int(os.environ.get("BOOKING_HOLD_HOURS", "24")),
        "NOTIFY_RETRY_BASE_SECONDS": float(os.environ.get("NOTIFY_RETRY_BASE_SECONDS", "30")),
        "NOTIFY_MAX_ATTEMPTS": int(os.environ.get("NOTIFY_MAX_ATTEMPTS", "6")),
        "OUTBOX_DISPATCH_SECONDS": float(os.environ.get("OUTBOX_DISPATCH_SECONDS", "30")),
        "HOLD_EXPIRY_CHECK_SECONDS": float(os.environ.get("HOLD_EXPIRY_CHECK_SECONDS", "60")),
        "TRAVEL_TIME_PROVIDER": os.environ.get("TRAVEL_TIME_PROVIDER", "geodesic"),
        "OSRM_URL": os.environ.get("OSRM_URL") or None,
        "GEOCODER": os.environ.get("GEOCODER", "nominatim"),
        "API_PAGE_SIZE": 50,
        "API_MAX_PAGE_SIZE": 200,
    }
