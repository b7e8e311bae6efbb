"""Celery worker entry point: ``celery -A tasks.worker worker`` (and ``beat``).

Creates the Flask app so that every task runs inside its app context with its configuration.
"""

import sys

from tasks import maintenance, notifications  # noqa: F401  (registers the tasks)
from tourplanner import create_app
from tourplanner.config import ConfigError

try:
    flask_app = create_app()
except ConfigError as exc:  # a readable refusal, not a traceback, for the operator
    sys.exit(f"tourplanner: {exc}")
celery_app = flask_app.extensions["celery"]
celery_app.conf.beat_schedule = maintenance.beat_schedule(flask_app.config)
