"""Notification tasks: deliver one outbox row; hand every due row to the workers (beat).

Thin wrappers: the outbox logic (claiming, backoff, delivered-once) is in
:mod:`tourplanner.services.notifications`.
"""

from __future__ import annotations

from celery import shared_task

from tourplanner.services import notifications


@shared_task(name="tasks.notifications.deliver", ignore_result=True)
def deliver(notification_id: int | list[int]) -> str:
    """Send one notification, or each of a booking's (a list: one task for the few rows one
    change wrote); a failed send is re-queued after its backoff, row by row."""
    if isinstance(notification_id, list):
        outcomes = notifications.deliver_all(notification_id)
    else:
        outcomes = {notification_id: notifications.deliver(notification_id)}
    for nid, outcome in outcomes.items():
        if outcome.status == "retry" and outcome.retry_in is not None:
            notifications.retry_later(nid, outcome.retry_in)
    return ",".join(outcome.status for outcome in outcomes.values())


@shared_task(name="tasks.notifications.dispatch_outbox", ignore_result=True)
def dispatch_outbox() -> int:
    """Hand pending rows to the workers (those written while Redis was down, retries due)."""
    return notifications.dispatch_due()
