"""Server-rendered pages (Vietnamese and English). Views are thin: one service call each."""

from flask import Blueprint

bp = Blueprint("web", __name__)

from tourplanner.web import handbook  # noqa: E402,F401  (route registration)
from tourplanner.web import planner  # noqa: E402,F401  (day-trip planner)
