"""The JSON API under ``/api/v1``: one module per resource, described by ``openapi.json``.

Each resource module registers its routes on :data:`bp` and adds its paths to the OpenAPI
document through :func:`tourplanner.api.openapi.document`.
"""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from tourplanner.api import bookings as _bookings  # noqa: E402,F401  (availability, bookings)
from tourplanner.api import catalogue, openapi  # noqa: E402,F401  (route registration)
from tourplanner.api import plans  # noqa: E402,F401  (day-trip plans)
