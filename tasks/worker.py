"""Celery worker entry point: ``celery -A tasks.worker worker`` (and ``beat``).

Creates the Flask app so that every task runs inside its app context with its configuration.
"""

from tourplanner import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
