"""Celery worker entry point: ``celery -A tasks.worker worker`` (and ``beat``).

Creates the Flask app so that every task runs inside its app context with its configuration.
Two kinds of workers run from here (``Procfile``): the default one (``-Q celery``:
notifications and maintenance) and the plan workers (``-Q plans``: :mod:`tasks.plans`, the
bounded planning pool of :mod:`tourplanner.services.plan_pool`).
"""

import os
import sys
from contextlib import suppress
from pathlib import Path

from celery.signals import beat_init, setup_logging, worker_init, worker_process_init

from tasks import maintenance, notifications, plans, relay  # noqa: F401  (registers the tasks)
from tourplanner import create_app
from tourplanner.config import ConfigError
from tourplanner.ops import configure_logging, log_format
from tourplanner.services.plan_pool import PLAN_QUEUE

try:
    flask_app = create_app()
except ConfigError as exc:  # a readable refusal, not a traceback, for the operator
    sys.exit(f"tourplanner: {exc}")
celery_app = flask_app.extensions["celery"]
#: The CPU priority of the notification workers and the beat (make prod: 10).
NOTIFY_WORKER_NICE = int(flask_app.config.get("NOTIFY_WORKER_NICE") or 0)


@setup_logging.connect
def _logging(**_: object) -> None:
    """The workers log like the web processes (JSON lines with the request id in production)."""
    configure_logging(log_format(flask_app.config), flask_app.config.get("LOG_LEVEL", "INFO"))


@worker_init.connect
def _prepare_notification_worker(**_: object) -> None:
    """A notification worker runs at ``NOTIFY_WORKER_NICE``, its pool's processes with it (set
    before they start): on a shared machine the web answers a burst of bookings first and the
    messages follow seconds later, from the outbox. The plan workers set their own below."""
    if PLAN_QUEUE not in celery_app.amqp.queues.consume_from:
        lower_priority(NOTIFY_WORKER_NICE)


@worker_process_init.connect
def _prepare_plan_worker(**_: object) -> None:
    """A plan worker's processes run at ``PLAN_WORKER_NICE`` and load the solver's compiled
    kernels before the first plan (from the disk cache: well under a second)."""
    if PLAN_QUEUE not in celery_app.amqp.queues.consume_from:
        return
    lower_priority(int(flask_app.config.get("PLAN_WORKER_NICE") or 0))
    from tourplanner.routing.kernels import warm_up

    warm_up()


def lower_priority(nice: int) -> None:
    """``nice`` this process, and its session's autogroup when the session is this worker's
    own (a process manager such as honcho or the benchmark starts each process in a session
    of its own). With autogroups (Linux's default scheduler set-up outside cgroups) a nice
    value only counts against processes of the same session, so ``nice`` alone would leave
    the plan workers level with the web processes. Under systemd, give the unit a lower
    ``CPUWeight=`` instead (docs/deploy.md)."""
    if nice <= 0:
        return
    os.nice(nice)
    if os.getsid(0) in (os.getpid(), os.getppid()):  # the session is this worker's own
        with suppress(OSError):  # no autogroups here: the nice value alone counts
            Path("/proc/self/autogroup").write_text(f"{nice}\n")


celery_app.conf.beat_schedule = maintenance.beat_schedule(flask_app.config)


@beat_init.connect
def _start_outbox_relay(**_: object) -> None:
    """The beat process (one per deployment) also runs the outbox relay (tasks/relay.py), at
    the notification workers' priority."""
    lower_priority(NOTIFY_WORKER_NICE)
    relay.start(flask_app)
