"""One error shape for the API: ``{"error": {"code", "message", "details"}}`` with a 4xx status.

Domain errors carry their own status and code. HTTP errors (404 for an unknown URL, 405, 413,
a CSRF failure...) are mapped too, so that no API client ever receives an HTML error page.
Pages get a readable HTML error page instead.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, jsonify, make_response, render_template, request
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from tourplanner.domain.errors import DomainError
from tourplanner.extensions import db
from tourplanner.i18n import current_lang

log = logging.getLogger(__name__)
DB_RETRY_SECONDS = 5


def error_response(status: int, code: str, message: str, details: Any = None) -> Response:
    response = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    response.status_code = status
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        if _wants_json():
            response = error_response(exc.status, exc.code, exc.message, exc.details)
        else:
            response = _page(exc.status, exc.message)
        if "retry_after" in exc.details:
            response = make_response(response)
            response.headers["Retry-After"] = str(exc.details["retry_after"])
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        if _wants_json():
            code = (exc.name or "error").lower().replace(" ", "_")
            response = error_response(status, code, exc.description or exc.name, _details(exc))
            # Keep the exception's own headers: Allow on 405 (RFC 9110), Retry-After on 429
            # and 503. Only the HTML content type is replaced by the JSON one.
            for name, value in exc.get_headers():
                if name.lower() != "content-type":
                    response.headers[name] = value
            return response
        # Werkzeug's descriptions are English only; the page heading is translated.
        return _page(status, exc.description if current_lang() == "en" else None)

    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(InterfaceError, _database_unavailable)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):  # pragma: no cover - a 500 is a bug; keep the shape
        log.exception("unhandled error on %s", request.path)
        if _wants_json():
            return error_response(500, "internal_error", "Something went wrong on our side.")
        return _page(500, None)


def _database_unavailable(exc: Exception):
    """The database does not answer (restart, failover): 503, never a 500. The pool drops
    every connection made before the failure and checks one that sat idle before use
    (adapters/orm/pool.py), so requests recover by themselves. A commit
    whose connection broke may still have been made, so the answer tells a client to retry a
    write with the same Idempotency-Key (made at most once, replayed if it was)."""
    log.warning("database unavailable on %s: %s", request.path, exc.__class__.__name__)
    db.session.rollback()
    if _wants_json():
        response = error_response(
            503,
            "database_unavailable",
            "The database is not answering; try again shortly. Retry a booking with the same "
            "Idempotency-Key: it is made at most once, and replayed if it was made.",
            {"retry_after": DB_RETRY_SECONDS},
        )
    else:
        response = make_response(_page(503, None))
    response.headers["Retry-After"] = str(DB_RETRY_SECONDS)
    return response


def _details(exc: HTTPException) -> dict[str, Any]:
    if isinstance(exc, RequestEntityTooLarge):
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        return {"field": "body", "max_bytes": limit}
    return {}


def _page(status: int, message: str | None):
    return render_template("error.html", status=status, message=message), status
