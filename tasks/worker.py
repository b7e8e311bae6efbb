"""Celery worker entry point: ``celery -A tasks.worker worker`` (and ``beat``).

Creates the Flask app so that every task runs inside its app context with its configuration.
Two kinds of workers run from here (``Procfile``): the default one (``-Q celery``:
notifications and maintenance) and the plan workers (``-Q plans``: :mod:`tasks.plans`, the
bounded planning pool of :mod:`tourplanner.services.plan_pool`).
"""

import sys

from celery.signals import setup_logging, worker_process_init

from tasks import maintenance, notifications, plans  # noqa: F401  (registers the tasks)
from tourplanner import create_app
from tourplanner.config import ConfigError
from tourplanner.ops import configure_logging, log_format
from tourplanner.services.plan_pool import PLAN_QUEUE

try:
    flask_app = create_app()
except ConfigError as exc:  # a readable refusal, not a traceback, for the operator
    sys.exit(f"tourplanner: {exc}")
celery_app = flask_app.extensions["celery"]


@setup_logging.connect
def _logging(**_: object) -> None:
    """The workers log like the web processes (JSON lines with the request id in production)."""
    configure_logging(log_format(flask_app.config), flask_app.config.get("LOG_LEVEL", "INFO"))


@worker_process_init.connect
def _warm_plan_worker(**_: object) -> None:
    """A plan worker's processes load the solver's compiled kernels before the first plan
    (from the disk cache: well under a second), so no caller waits for it."""
    if PLAN_QUEUE in celery_app.amqp.queues.consume_from:
        from tourplanner.routing.kernels import warm_up

        warm_up()


celery_app.conf.beat_schedule = maintenance.beat_schedule(flask_app.config)
