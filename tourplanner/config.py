"""Configuration: embedded defaults (SQLite, eager Celery) overridden by environment variables.

Every variable is documented in `.env.example`. With no environment set the app needs no server:
SQLite in ``instance/`` and Celery tasks run in-process (eager mode). ``DATABASE_URL`` switches to
PostgreSQL (psycopg 3) and ``REDIS_URL`` to a real broker with Celery workers.

The signing key is never a value written in the code: the embedded run creates a random one on
first start (``instance/secret_key``, mode 0600); anything else must be given ``SECRET_KEY``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"
# Shorter keys are placeholders ("change-me"), not secrets.
MIN_SECRET_KEY_LENGTH = 32


class ConfigError(RuntimeError):
    """The configuration cannot run safely; the message says what to set."""


def _database_url(value: str | None) -> str:
    """Normalise a DATABASE_URL so that PostgreSQL URLs use the psycopg 3 driver."""
    if not value:
        return f"sqlite:///{INSTANCE_DIR / 'tourplanner.sqlite3'}"
    for prefix in ("postgres://", "postgresql://"):
        if value.startswith(prefix):
            return "postgresql+psycopg://" + value[len(prefix) :]
    return value


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _choice(name: str, allowed: tuple[str, ...]) -> str:
    """One of ``allowed`` (the first when unset), or a ConfigError naming them."""
    value = os.environ.get(name, "").strip().lower() or allowed[0]
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _outbox_relay() -> str:
    """``OUTBOX_RELAY``; ``listen`` needs PostgreSQL (its LISTEN/NOTIFY wakes the relay)."""
    mode = _choice("OUTBOX_RELAY", ("auto", "listen", "direct"))
    database = _database_url(os.environ.get("DATABASE_URL"))
    if mode == "listen" and not is_postgresql(database):
        raise ConfigError("OUTBOX_RELAY=listen needs a PostgreSQL DATABASE_URL (LISTEN/NOTIFY)")
    return mode


def from_environment() -> dict:
    """Build the configuration mapping from the process environment."""
    redis_url = os.environ.get("REDIS_URL") or None
    return {
        "APP_ENV": os.environ.get("APP_ENV", "").strip().lower(),
        "SECRET_KEY": os.environ.get("SECRET_KEY") or None,
        "SECRET_KEY_FILE": INSTANCE_DIR / "secret_key",
        "SQLALCHEMY_DATABASE_URI": _database_url(os.environ.get("DATABASE_URL")),
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        # A pooled PostgreSQL connection idle this long is pinged before use (not at every
        # request: adapters/orm/pool.py); 0 pings at every checkout.
        "DB_PING_IDLE_SECONDS": float(os.environ.get("DB_PING_IDLE_SECONDS", "1")),
        "REDIS_URL": redis_url,
        "CELERY": {
            "broker_url": redis_url or "memory://",
            "result_backend": None,
            "task_always_eager": redis_url is None,
            "task_eager_propagates": True,
            "task_ignore_result": True,
            # Plans go to the plan workers only (tasks/plans.py; the default worker: -Q celery).
            "task_routes": {"tasks.plans.*": {"queue": "plans"}},
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
        # A notification handed to the broker this long ago and still pending is handed over
        # again (a broker restarted without persistence loses its queue).
        "NOTIFY_REQUEUE_SECONDS": float(os.environ.get("NOTIFY_REQUEUE_SECONDS", "60")),
        # A notification claimed this long ago by a worker that never finished goes back out.
        "NOTIFY_SENDING_STALE_SECONDS": float(
            os.environ.get("NOTIFY_SENDING_STALE_SECONDS", "600")
        ),
        "OUTBOX_DISPATCH_SECONDS": float(os.environ.get("OUTBOX_DISPATCH_SECONDS", "30")),
        # Who hands new outbox rows to the workers: "listen" (the relay in the beat process,
        # woken by PostgreSQL's NOTIFY), "direct" (the request, after its commit), or "auto"
        # (listen on PostgreSQL). The relay also looks every OUTBOX_RELAY_POLL_SECONDS.
        "OUTBOX_RELAY": _outbox_relay(),
        "OUTBOX_RELAY_POLL_SECONDS": float(os.environ.get("OUTBOX_RELAY_POLL_SECONDS", "10")),
        "HOLD_EXPIRY_CHECK_SECONDS": float(os.environ.get("HOLD_EXPIRY_CHECK_SECONDS", "60")),
        "TRAVEL_TIME_PROVIDER": os.environ.get("TRAVEL_TIME_PROVIDER", "geodesic"),
        "OSRM_URL": os.environ.get("OSRM_URL") or None,
        "GEOCODER": os.environ.get("GEOCODER", "nominatim"),
        # "json" (one object per line) or "text"; unset: json in production, text embedded.
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", "").strip().lower() or None,
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        # Products and photos (docs/catalogue.md); unset: instance/media, 32 MiB, 256 MiB.
        "MEDIA_ROOT": os.environ.get("MEDIA_ROOT") or None,
        # Where photos are stored (docs/photos.md): "local" (MEDIA_ROOT) or "s3".
        "MEDIA_STORAGE": os.environ.get("MEDIA_STORAGE", "local"),
        "MEDIA_S3_ENDPOINT": os.environ.get("MEDIA_S3_ENDPOINT") or None,
        "MEDIA_S3_BUCKET": os.environ.get("MEDIA_S3_BUCKET") or None,
        "MEDIA_S3_REGION": os.environ.get("MEDIA_S3_REGION") or "us-east-1",
        "MEDIA_S3_ACCESS_KEY_ID": os.environ.get("MEDIA_S3_ACCESS_KEY_ID") or None,
        "MEDIA_S3_SECRET_ACCESS_KEY": os.environ.get("MEDIA_S3_SECRET_ACCESS_KEY") or None,
        "MEDIA_S3_PREFIX": os.environ.get("MEDIA_S3_PREFIX") or "",
        "MEDIA_PUBLIC_URL": os.environ.get("MEDIA_PUBLIC_URL") or None,
        "PRODUCT_UPLOAD_MAX_BYTES": int(os.environ.get("PRODUCT_UPLOAD_MAX_BYTES", 32 * 2**20)),
        "IMPORT_UPLOAD_MAX_BYTES": int(os.environ.get("IMPORT_UPLOAD_MAX_BYTES", 256 * 2**20)),
        "OPEN_DATA_LICENCE": os.environ.get("OPEN_DATA_LICENCE") or None,
        "API_PAGE_SIZE": 50,
        "API_MAX_PAGE_SIZE": 200,
        **_security_settings(),
        **_octo_settings(),
    }


def _octo_settings() -> dict[str, Any]:
    """The OCTO reseller API (docs/octo.md); only the variables that are set (the API's own
    defaults otherwise)."""
    names = {
        "RATE_LIMIT_OCTO": str,
        "OCTO_HOLD_MINUTES": int,
        "OCTO_TEST_BOOKING_HOURS": int,
        "OCTO_SUPPLIER_ID": str,
        "OCTO_SUPPLIER_NAME": str,
        "OCTO_SUPPLIER_EMAIL": str,
        "OCTO_SUPPLIER_TELEPHONE": str,
    }
    return {name: kind(os.environ[name]) for name, kind in names.items() if os.environ.get(name)}


def _security_settings() -> dict[str, Any]:
    """Sessions, limits and bounds (docs/security.md); each variable is in ``.env.example``."""
    env = os.environ.get
    public = env("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    hosts = [h.strip() for h in env("TRUSTED_HOSTS", "").split(",") if h.strip()]
    return {
        # Cookies: never readable by scripts, not sent on cross-site sub-requests, and only
        # over HTTPS when the site is served over HTTPS.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _flag("SESSION_COOKIE_SECURE", public.startswith("https://")),
        "SESSION_IDLE_MINUTES": int(env("SESSION_IDLE_MINUTES", "120")),
        "TRUSTED_HOSTS": hosts or None,
        "TRUSTED_PROXIES": int(env("TRUSTED_PROXIES", "0")),
        # RATE_LIMITS=off: no request-rate or per-IP limit (load tests, trusted networks);
        # per-account and per-contact limits stay.
        "RATE_LIMITS": _flag("RATE_LIMITS", True),
        "RATE_LIMIT_BOOKINGS": env("RATE_LIMIT_BOOKINGS", "30 per minute;300 per hour"),
        "RATE_LIMIT_PLANS": env("RATE_LIMIT_PLANS", "30 per minute;600 per hour"),
        "RATE_LIMIT_SIGNIN": env("RATE_LIMIT_SIGNIN", "60 per minute"),
        "SIGNIN_FAILURES_PER_ACCOUNT": env("SIGNIN_FAILURES_PER_ACCOUNT", "10 per 15 minutes"),
        "SIGNIN_FAILURES_PER_IP": env("SIGNIN_FAILURES_PER_IP", "100 per 15 minutes"),
        "PASSWORD_RESET_MINUTES": int(env("PASSWORD_RESET_MINUTES", "60")),
        # Places a contact (e-mail or phone) or an address may hold at once, unanswered.
        "HOLD_PLACES_PER_CONTACT": int(env("HOLD_PLACES_PER_CONTACT", "40")),
        "HOLD_PLACES_PER_IP": int(env("HOLD_PLACES_PER_IP", "400")),
        # Plans computed at once per web process; beyond it 503 with Retry-After.
        "PLAN_CONCURRENCY": int(env("PLAN_CONCURRENCY", "2")),
        # Production: plans run in the plan workers (Procfile `planner`, PLAN_WORKERS
        # processes); at most PLAN_POOL_CAPACITY (default 2 x PLAN_WORKERS) in flight in the
        # whole deployment, each waited for PLAN_WAIT_SECONDS; beyond either: 503.
        "PLAN_WORKERS": int(env("PLAN_WORKERS", "1")),
        "PLAN_POOL_CAPACITY": int(env("PLAN_POOL_CAPACITY", "0")) or None,
        "PLAN_WAIT_SECONDS": float(env("PLAN_WAIT_SECONDS", "15")),
        # The plan workers' CPU priority (nice, 0-19; make prod: 10): bookings come first.
        "PLAN_WORKER_NICE": int(env("PLAN_WORKER_NICE", "0")),
        # The notification workers' and the beat's (make prod: 10): a burst of bookings is
        # answered first, its messages follow seconds later (docs/performance.md).
        "NOTIFY_WORKER_NICE": int(env("NOTIFY_WORKER_NICE", "0")),
        "MAX_CONTENT_LENGTH": int(env("MAX_CONTENT_LENGTH", str(256 * 1024))),
        "MAX_JSON_DEPTH": int(env("MAX_JSON_DEPTH", "20")),
        "BOOKING_HORIZON_DAYS": int(env("BOOKING_HORIZON_DAYS", "366")),
        "AVAILABILITY_MAX_DAYS": int(env("AVAILABILITY_MAX_DAYS", "62")),
        # Webhooks: https and public addresses only, unless private ones are allowed (tests).
        "WEBHOOK_ALLOW_PRIVATE": _flag("WEBHOOK_ALLOW_PRIVATE", False),
        "WEBHOOK_TIMEOUT_SECONDS": float(env("WEBHOOK_TIMEOUT_SECONDS", "5")),
        "IDEMPOTENCY_KEY_HOURS": int(env("IDEMPOTENCY_KEY_HOURS", "24")),
        "MANAGE_LINK_DAYS_AFTER_VISIT": int(env("MANAGE_LINK_DAYS_AFTER_VISIT", "30")),
    }


def is_postgresql(database_uri: object) -> bool:
    """Whether the (SQLAlchemy) database URI is PostgreSQL's, as :func:`_database_url` gives it."""
    return str(database_uri or "").startswith("postgresql")


def is_embedded(config: Mapping[str, Any]) -> bool:
    """The no-server set-up: SQLite and eager Celery, unless ``APP_ENV=production`` says more.

    A SQLite ``DATABASE_URL`` alone is still embedded; PostgreSQL or Redis mean production.
    """
    return not (
        config.get("APP_ENV") == "production"
        or is_postgresql(config.get("SQLALCHEMY_DATABASE_URI"))
        or config.get("REDIS_URL")
    )


def ensure_secret_key(config: MutableMapping[str, Any]) -> None:
    """Give the app a secret signing key, or refuse to start.

    Embedded: the key kept in ``SECRET_KEY_FILE`` (made on first start, readable by the owner
    only). Production: ``SECRET_KEY`` must be set, and long enough to be a real secret.
    """
    key = config.get("SECRET_KEY")
    if is_embedded(config):
        if not key:
            config["SECRET_KEY"] = _instance_secret(Path(config["SECRET_KEY_FILE"]))
        return
    if not key:
        raise ConfigError(
            "SECRET_KEY is not set. Outside the embedded set-up (APP_ENV=production, a "
            "PostgreSQL DATABASE_URL or REDIS_URL) the app needs its own secret signing key: "
            "set SECRET_KEY to a random value, for example the output of "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(
            f"SECRET_KEY is too short to be a secret (at least "
            f"{MIN_SECRET_KEY_LENGTH} characters; use a random value)"
        )


def _instance_secret(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        # O_EXCL: when two processes start at once, one writes and both read the same key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key)
    return key
