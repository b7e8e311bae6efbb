"""Celery worker entry point: ``celery -A tasks.worker worker`` (and ``beat``).

Creates the Flask app so that every task runs inside its app context with its configuration.
"""

import sys

from celery.signals import setup_logging

from tasks import maintenance, notifications  # noqa: F401  (registers the tasks)
from tourplanner import create_app
from tourplanner.config import ConfigError
from tourplanner.ops import configure_logging, log_format

try:
    flask_app = create_app()
except ConfigError as exc:  # a readable refusal, not a traceback, for the operator
    sys.exit(f"tourplanner: {exc}")
celery_app = flask_app.extensions["celery"]


@setup_logging.connect
def _logging(**_: object) -> None:
    """The workers log like the web processes (JSON lines with the request id in production)."""
    configure_logging(log_format(flask_app.config), flask_app.config.get("LOG_LEVEL", "INFO"))


celery_app.conf.beat_schedule = maintenance.beat_schedule(flask_app.config)
