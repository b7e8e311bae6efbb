"""The OCTO standard API under ``/octo`` (supplier, products, availability, bookings) for
resellers, authenticated with the agencies' API keys. See docs/octo.md."""

from flask import Blueprint

bp = Blueprint("octo", __name__, url_prefix="/octo")
