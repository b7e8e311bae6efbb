"""Periodic booking maintenance (Celery beat): expire unanswered holds, day-before reminders,
and the outbox dispatcher. :func:`beat_schedule` is installed by ``tasks/worker.py``.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from tourplanner.services import booking


@shared_task(name="tasks.maintenance.expire_holds", ignore_result=True)
def expire_holds() -> int:
    """Expire holds no village answered in time; frees places and tells the tourists."""
    return len(booking.expire_holds())


@shared_task(name="tasks.maintenance.send_reminders", ignore_result=True)
def send_reminders() -> int:
    """Queue the day-before reminder for tomorrow's confirmed sessions (once per item)."""
    return len(booking.queue_reminders())


def beat_schedule(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The periodic tasks, with intervals from the app config (seconds)."""
    return {
        "dispatch-outbox": {
            "task": "tasks.notifications.dispatch_outbox",
            "schedule": float(config.get("OUTBOX_DISPATCH_SECONDS", 30)),
        },
        "expire-holds": {
            "task": "tasks.maintenance.expire_holds",
            "schedule": float(config.get("HOLD_EXPIRY_CHECK_SECONDS", 60)),
        },
        "send-reminders": {"task": "tasks.maintenance.send_reminders", "schedule": 3600.0},
    }
