"""Celery worker entry point: ``celery -A tasks.worker worker`` (and ``beat``).

Creates the Flask app so that every task runs inside its app context with its configuration.
"""

from tasks import maintenance, notifications  # noqa: F401  (registers the tasks)
from tourplanner import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
celery_app.conf.beat_schedule = maintenance.beat_schedule(flask_app.config)
