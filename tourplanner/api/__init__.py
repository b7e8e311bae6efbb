"""The JSON API under ``/api/v1``: one module per resource, described by ``openapi.json``.

Each resource module registers its routes on :data:`bp` and adds its paths to the OpenAPI
document through :func:`tourplanner.api.openapi.document`.
"""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Importing the modules registers their routes on bp.
from tourplanner.api import (  # noqa: E402,F401
    body,
    bookings,
    catalogue,
    openapi,
    packages,
    plans,
    routes,
    stats,
)
