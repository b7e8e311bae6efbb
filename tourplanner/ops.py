"""Operations endpoints and plumbing: ``/healthz`` (the process answers), ``/readyz`` (the
database and Redis answer), ``/metrics`` (Prometheus), a request id on every request and in every
log line, and JSON logs.

The request id comes from a valid ``X-Request-ID`` header (set by the proxy) or is made here;
it is sent back in the answer, written in each log record and carried into the Celery tasks the
request queues (a task header), so one booking can be followed from nginx to the worker's send.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import time
import uuid
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select, text

from tourplanner import metrics
from tourplanner.extensions import csrf, db

bp = Blueprint("ops", __name__)
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Probes and the scrape itself are not traffic worth a latency series.
_UNTIMED = {"ops.healthz", "ops.readyz", "ops.metrics_endpoint", "static"}


@bp.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    checks = {"database": _check_database(), "redis": _check_redis()}
    failing = {name: result for name, result in checks.items() if result not in ("ok", "unused")}
    if failing:
        body = {
            "error": {
                "code": "not_ready",
                "message": "a dependency does not answer",
                "details": {"checks": checks},
            }
        }
        response = jsonify(body)
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return response
    return jsonify({"status": "ready", "checks": checks})


def _check_database() -> str:
    try:
        db.session.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # any driver error means "not ready", never a 500
        db.session.rollback()
        return f"error: {type(exc).__name__}"


def _check_redis() -> str:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return "unused"
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        client.close()
        return "ok"
    except redis.RedisError as exc:
        return f"error: {type(exc).__name__}"


class _OutboxCollector:
    """Outbox depth by status and the age of the oldest unsent row, read at scrape time."""

    def collect(self):
        from tourplanner.adapters.orm import Notification
        from tourplanner.services.availability import now_utc

        depth = GaugeMetricFamily(
            "tourplanner_outbox_messages",
            "Notifications not yet sent, by status.",
            labels=["status"],
        )
        rows = db.session.execute(
            select(Notification.status, func.count())
            .where(Notification.status.in_(("pending", "sending", "failed")))
            .group_by(Notification.status)
        ).all()
        counts = dict(rows)
        for status in ("pending", "sending", "failed"):
            depth.add_metric([status], counts.get(status, 0))
        yield depth
        oldest = db.session.scalar(
            select(func.min(Notification.created_at)).where(
                Notification.status.in_(("pending", "sending"))
            )
        )
        age = GaugeMetricFamily(
            "tourplanner_outbox_oldest_age_seconds",
            "Age of the oldest notification not yet sent (0: none).",
        )
        if oldest is not None and oldest.tzinfo is None:
            from datetime import UTC

            oldest = oldest.replace(tzinfo=UTC)
        age.add_metric([], (now_utc() - oldest).total_seconds() if oldest else 0.0)
        yield age


@bp.get("/metrics")
@csrf.exempt
def metrics_endpoint():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    outbox = CollectorRegistry()
    outbox.register(_OutboxCollector())
    return Response(
        generate_latest(registry) + generate_latest(outbox), mimetype=CONTENT_TYPE_LATEST
    )


# --- request id, timing and logs -----------------------------------------------------------


def _begin() -> None:
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if _VALID_ID.match(given) else uuid.uuid4().hex
    g.request_started = time.perf_counter()
    request_id_var.set(g.request_id)


def _finish(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.get("request_id", "")
    endpoint = request.endpoint or "unmatched"
    started = g.get("request_started")
    if started is not None and endpoint not in _UNTIMED:
        metrics.REQUEST_SECONDS.labels(
            endpoint, request.method, f"{response.status_code // 100}xx"
        ).observe(time.perf_counter() - started)
    if endpoint == "api.booking_create":
        replayed = response.headers.get("Idempotent-Replayed") == "true"
        metrics.BOOKINGS.labels(metrics.booking_outcome(response.status_code, replayed)).inc()
    return response


class RequestIdFilter(logging.Filter):
    """Puts the current request (or task) id on every record as ``request_id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get() or "-",
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(log_format: str, level: str = "INFO") -> None:
    """Root logging for web and worker processes: JSON lines or plain text, with request ids."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)


def log_format(config: Any) -> str:
    """``LOG_FORMAT``, else JSON lines in production and plain text when embedded."""
    from tourplanner.config import is_embedded

    return config.get("LOG_FORMAT") or ("text" if is_embedded(config) else "json")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.before_request(_begin)
    app.after_request(_finish)
    if not app.testing:
        configure_logging(log_format(app.config), app.config.get("LOG_LEVEL", "INFO"))
    _carry_request_id_into_tasks()


def _carry_request_id_into_tasks() -> None:
    from celery.signals import before_task_publish, task_postrun, task_prerun

    def publish(headers: dict | None = None, **_: Any) -> None:
        if headers is not None and request_id_var.get():
            headers["request_id"] = request_id_var.get()

    def prerun(task: Any = None, **_: Any) -> None:
        context = getattr(task, "request", None)
        given = getattr(context, "request_id", None) or (
            (getattr(context, "headers", None) or {}).get("request_id")
        )
        request_id_var.set(given or None)

    def postrun(**_: Any) -> None:
        request_id_var.set(None)

    # weak=False: the receivers are closures that must outlive this call; dispatch_uid keeps
    # one receiver however many apps are created (tests create many).
    before_task_publish.connect(publish, weak=False, dispatch_uid="tourplanner.request_id.pub")
    task_prerun.connect(prerun, weak=False, dispatch_uid="tourplanner.request_id.pre")
    task_postrun.connect(postrun, weak=False, dispatch_uid="tourplanner.request_id.post")
