"""The plans task: one plan computed for a web request waiting on its token.

Routed to the ``plans`` queue, consumed only by the plan workers (``Procfile``: ``planner``,
``celery -A tasks.worker worker -Q plans``); the default worker (``-Q celery``) never takes
it. The answer goes back on the caller's own Redis list, not to a result backend (see
:mod:`tourplanner.services.plan_pool`).
"""

from __future__ import annotations

from celery import shared_task

from tourplanner.services import plan_pool


@shared_task(name=plan_pool.PLAN_TASK, ignore_result=True)
def create_plan(token: str, data: object, now: str | None = None) -> str:
    """Plan ``data`` and hand the outcome (plan id, or the domain error) to the caller."""
    return plan_pool.run_plan(token, data, now)
