"""The OCTO standard API under ``/octo`` (supplier, products, availability, bookings) for
resellers, authenticated with the agencies' API keys. See docs/octo.md.

JSON only and exempt from the session CSRF check (a call carries its API key, never a
cookie's authority). :mod:`.http` holds the key check, errors, headers, audit and rate limit;
:mod:`.views` the endpoints; :mod:`.openapi` the API's own OpenAPI document.
"""

from flask import Blueprint

from tourplanner.extensions import csrf

bp = Blueprint("octo", __name__, url_prefix="/octo")

from tourplanner.octo import http, openapi, views  # noqa: E402

http.init(bp)
views.register(bp)
openapi.register(bp)
csrf.exempt(bp)
