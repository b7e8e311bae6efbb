"""Server-rendered pages (Vietnamese and English). Views are thin: one service call each."""

from flask import Blueprint

bp = Blueprint("web", __name__)

from tourplanner.web import admin as _admin  # noqa: E402,F401  (admin: delivery log)
from tourplanner.web import bookings as _bookings  # noqa: E402,F401  (tourist booking page)
from tourplanner.web import handbook  # noqa: E402,F401  (route registration)
from tourplanner.web import planner  # noqa: E402,F401  (day-trip planner)
from tourplanner.web import village as _village  # noqa: E402,F401  (village back-office)
