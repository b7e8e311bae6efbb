"""Server-rendered pages (Vietnamese and English). Views are thin: one service call each.

Modules: handbook (the catalogue), planner (day trips), bookings (the tourist's booking page),
village (the village back-office), auth (sign-in, sessions, password reset),
admin (delivery and audit logs), agency (the agency space), agency_packages (the package
builder and public package pages), agency_bookings (bookings for clients, reports).
"""

from flask import Blueprint

bp = Blueprint("web", __name__)

# Importing the modules registers their routes on bp.
from tourplanner.web import (  # noqa: E402,F401
    admin,
    agency,
    agency_bookings,
    agency_packages,
    auth,
    bookings,
    catalogue_admin,
    handbook,
    planner,
    products_admin,
    targets,
    tour_routes,
    village,
    village_photos,
    village_shop,
)
