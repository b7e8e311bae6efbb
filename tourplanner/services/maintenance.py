"""Periodic booking maintenance: expire unanswered holds, queue reminders, hand over the outbox.

With a worker (``REDIS_URL`` set) Celery beat runs these tasks. The embedded set-up (no Redis,
Celery eager) has no beat, so :func:`start_embedded_loop` runs the same work in a daemon thread
of the web process every ``HOLD_EXPIRY_CHECK_SECONDS``; otherwise a hold nobody answered
would keep its places forever on a plain ``make run``.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

log = logging.getLogger(__name__)


def run_once() -> dict[str, int]:
    """One maintenance pass; every step is idempotent and safe to run concurrently."""
    from tourplanner.services import booking, notifications

    return {
        "expired_holds": len(booking.expire_holds()),
        "reminders": len(booking.queue_reminders()),
        "notifications_handed_over": notifications.dispatch_due(),
    }


def start_embedded_loop(app: Flask) -> None:
    """Run :func:`run_once` periodically in this process, once the first request arrives.

    Only in the embedded set-up (Celery eager) and outside tests; starting on the first request
    keeps CLI commands such as ``flask db upgrade`` free of background threads. Setting
    ``app.extensions["maintenance_stop"]`` ends the loop.
    """
    interval = float(app.config.get("HOLD_EXPIRY_CHECK_SECONDS", 60))
    eager = app.config["CELERY"].get("task_always_eager")
    if not eager or app.testing or interval <= 0:
        return
    started = threading.Event()
    stop = app.extensions["maintenance_stop"] = threading.Event()

    def loop() -> None:
        while not stop.wait(interval):
            with app.app_context():
                try:
                    counts = run_once()
                except Exception:  # keep the loop alive; the next pass retries
                    log.exception("embedded maintenance failed")
                else:
                    if any(counts.values()):
                        log.info("embedded maintenance: %s", counts)

    @app.before_request
    def _start() -> None:
        if not started.is_set():
            started.set()
            threading.Thread(target=loop, name="maintenance", daemon=True).start()
