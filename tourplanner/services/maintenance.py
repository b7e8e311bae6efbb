"""Periodic booking maintenance: expire unanswered holds, queue reminders, hand over the outbox.

With a worker (``REDIS_URL`` set) Celery beat runs these tasks. The embedded set-up (no Redis,
Celery eager) has no beat, so :func:`start_embedded_loop` runs the same work in a daemon thread
of the web process every ``HOLD_EXPIRY_CHECK_SECONDS``; otherwise a hold nobody answered
would keep its places forever on a plain ``make run``. The same thread is the embedded set-up's
webhook sender: :func:`wake` asks it for an outbox pass right after a request committed a
webhook, so the request itself never waits on a village's endpoint.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from flask import Flask

log = logging.getLogger(__name__)
WAKE_KEY = "maintenance_wake"
STOP_KEY = "maintenance_stop"


def run_once() -> dict[str, int]:
    """One maintenance pass; every step is idempotent and safe to run concurrently.

    Each step runs even when another one failed (a failing step counts -1 and is logged): a
    problem in one place must not stop holds from expiring or the outbox from moving.
    """
    from tourplanner.services import booking, notifications

    steps: dict[str, Callable[[], int]] = {
        "expired_holds": lambda: len(booking.expire_holds()),
        "reminders": lambda: len(booking.queue_reminders()),
        "notifications_handed_over": notifications.dispatch_due,
    }
    return {name: _contained(name, step) for name, step in steps.items()}


def _contained(name: str, step: Callable[[], int]) -> int:
    from tourplanner.extensions import db

    try:
        return step()
    except Exception:  # keep going with the other steps; the next pass retries this one
        log.exception("maintenance step %s failed", name)
        db.session.rollback()
        return -1


def wake(app: Flask) -> None:
    """Ask the embedded maintenance thread for an outbox pass now (no-op without the thread)."""
    event = app.extensions.get(WAKE_KEY)
    if event is not None:
        event.set()


def start_embedded_loop(app: Flask) -> None:
    """Run :func:`run_once` periodically in this process, once the first request arrives.

    Only in the embedded set-up (Celery eager) and outside tests; starting on the first request
    keeps CLI commands such as ``flask db upgrade`` free of background threads. Setting
    ``app.extensions["maintenance_stop"]`` ends the loop; :func:`wake` runs the outbox early.
    """
    interval = float(app.config.get("HOLD_EXPIRY_CHECK_SECONDS", 60))
    eager = app.config["CELERY"].get("task_always_eager")
    if not eager or app.testing or interval <= 0:
        return
    started = threading.Event()
    stop = app.extensions[STOP_KEY] = threading.Event()
    woken = app.extensions[WAKE_KEY] = threading.Event()

    def loop() -> None:
        from tourplanner.services import notifications

        next_pass = time.monotonic() + interval
        while not stop.is_set():
            woken.wait(max(0.0, next_pass - time.monotonic()))
            woken.clear()
            if stop.is_set():
                return
            with app.app_context():
                if time.monotonic() < next_pass:  # woken early: only the outbox
                    _contained("notifications_handed_over", notifications.dispatch_due)
                    continue
                # Scheduled from the end of the pass, so that frequent wake-ups never starve it.
                counts = run_once()
                next_pass = time.monotonic() + interval
                if any(counts.values()):
                    log.info("embedded maintenance: %s", counts)

    @app.before_request
    def _start() -> None:
        if not started.is_set():
            started.set()
            threading.Thread(target=loop, name="maintenance", daemon=True).start()
