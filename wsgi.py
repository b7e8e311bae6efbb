"""WSGI entry point: ``gunicorn wsgi:app`` (production) or ``flask --app wsgi run``."""

import sys

from tourplanner import create_app
from tourplanner.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:  # a readable refusal, not a traceback, for the operator
    sys.exit(f"tourplanner: {exc}")
