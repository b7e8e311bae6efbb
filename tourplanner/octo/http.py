"""How ``/octo`` speaks HTTP: API keys, OCTO's error shape, capabilities, language, audit, limits.

* **Keys**: ``Authorization: Bearer <key>`` with an agency's API key
  (:func:`tourplanner.services.agencies.authenticate_api_key`). No key: ``UNAUTHORIZED``; an
  unknown, revoked or suspended agency's key: ``FORBIDDEN``. The OpenAPI document is public.
* **Errors**: every error is OCTO's ``{"error", "errorMessage", ...the offending id}``, HTTP
  400 as the specification says; only an unknown path (404), a wrong method (405), the rate
  limit (429, with ``Retry-After``), an unavailable database (503) and a bug (500) keep their
  own status, still in that shape. No error ever answers in HTML.
* **Capabilities**: ``Octo-Capabilities`` (comma-separated, may be empty) is read once;
  the answer's ``Octo-Capabilities`` lists those applied (the ones we support).
* **Language**: ``Accept-Language`` picks vi or en (default vi); the answer says which in
  ``Content-Language`` (and ``Available-Languages``).
* **Audit**: every call with a key is one ``octo_request`` event in the audit log (key,
  agency, method, path, status), refused calls too.
* **Rate limit**: ``RATE_LIMIT_OCTO`` per API key (per address without one), in the shared
  limiter storage; ``RATE_LIMITS=off`` turns it off like the other request-rate limits.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from tourplanner.api.auth import bearer_token
from tourplanner.domain.errors import DomainError, Forbidden, ValidationError
from tourplanner.domain.inputs import unsafe_text
from tourplanner.domain.octo import CAPABILITIES, CONTENT, LANGS, Caller, OctoError, bad_request
from tourplanner.extensions import db
from tourplanner.security import audit
from tourplanner.security.limits import client_ip, limiter, rate_limits_off
from tourplanner.services.agencies import AgencySuspended, Unauthorized, authenticate_api_key

log = logging.getLogger(__name__)
DEFAULT_RATE_LIMIT = "600 per minute"
PUBLIC_ENDPOINTS = frozenset({"octo.openapi_json"})
RETRY_SECONDS = 5
MESSAGES = {
    "UNAUTHORIZED": "You didn't send the API Key in the Authorization header to an endpoint "
    "that requires authentication",
    "FORBIDDEN": "You sent an API Key that was invalid or has been revoked by the backend "
    "system. Or you're trying to access an endpoint/resource that you do not have access to",
}


def octo_error(code: str, message: str, status: int = 400, **fields: Any) -> Response:
    response = jsonify({"error": code, "errorMessage": message, **fields})
    response.status_code = status
    return response


def current_caller() -> Caller:
    """The caller of this request (set once the key was checked)."""
    return request.octo_caller  # type: ignore[attr-defined]


def requested_capabilities() -> frozenset[str]:
    header = request.headers.get("Octo-Capabilities", "")
    asked = {part.strip().lower() for part in header.split(",") if part.strip()}
    return frozenset(c for c in CAPABILITIES if c in asked)


def language() -> str:
    return request.accept_languages.best_match(LANGS, default="vi") or "vi"


def _rate_key() -> str:
    """The limiter's bucket: one per API key (hashed), else one per address."""
    token = bearer_token()
    if token:
        return "octo-key:" + hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
    return f"octo-ip:{client_ip()}"


def _rate_limit() -> str:
    return str(current_app.config.get("RATE_LIMIT_OCTO", DEFAULT_RATE_LIMIT))


def _check_text() -> None:
    problem = unsafe_text(request.path)
    for name, value in request.args.items(multi=True):
        problem = problem or unsafe_text(name) or unsafe_text(value)
    if problem:
        raise bad_request(f"the address or query: {problem}")


def _authenticate() -> None:
    _check_text()
    request.octo_key_id = None  # type: ignore[attr-defined]
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    token = bearer_token()
    if token is None:
        raise OctoError("UNAUTHORIZED", MESSAGES["UNAUTHORIZED"])
    try:
        key = authenticate_api_key(token)
    except (Unauthorized, AgencySuspended):
        raise OctoError("FORBIDDEN", MESSAGES["FORBIDDEN"]) from None
    request.octo_key_id = key.key_id  # type: ignore[attr-defined]
    request.octo_caller = Caller(  # type: ignore[attr-defined]
        agency_id=key.agency_id,
        key_id=key.key_id,
        test_mode=key.test_mode,
        capabilities=requested_capabilities(),
        lang=language(),
        base_url=str(current_app.config.get("PUBLIC_BASE_URL", "")),
    )


def _headers(response: Response) -> Response:
    applied = requested_capabilities()
    response.headers["Octo-Capabilities"] = ", ".join(sorted(applied))
    response.headers["Content-Language"] = language()
    if CONTENT in applied:
        response.headers["Available-Languages"] = ", ".join(LANGS)
    response.vary.update(("Accept-Language", "Octo-Capabilities"))
    return response


def _audit(response: Response) -> Response:
    """One audit event per call, after the answer is made (its own commit)."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return response
    caller = getattr(request, "octo_caller", None)
    try:
        db.session.rollback()  # whatever the view left; its own work is committed
        audit.record(
            "octo_request",
            subject=str(getattr(request, "octo_key_id", None) or "no key"),
            agency_id=caller.agency_id if caller else None,
            key_id=caller.key_id if caller else None,
            test_mode=caller.test_mode if caller else None,
            method=request.method,
            path=request.path[:200],
            status=response.status_code,
        )
    except Exception:  # an audit failure never turns the answer into an error
        log.exception("octo_request not audited")
        db.session.rollback()
    return response


def _domain_error(exc: DomainError) -> Response:
    if isinstance(exc, OctoError):
        return octo_error(exc.code, exc.message, **exc.details)
    if isinstance(exc, Unauthorized):
        return octo_error("UNAUTHORIZED", MESSAGES["UNAUTHORIZED"])
    if isinstance(exc, Forbidden):
        return octo_error("FORBIDDEN", MESSAGES["FORBIDDEN"])
    if isinstance(exc, ValidationError):
        return octo_error("BAD_REQUEST", exc.message)
    if exc.status >= 500:
        return _unavailable(exc)
    return octo_error("UNPROCESSABLE_ENTITY", exc.message)


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    if status == 404:
        response = octo_error("NOT_FOUND", "There is no such endpoint in the OCTO API", 404)
    elif status in (405, 429, 503):
        response = octo_error("BAD_REQUEST", exc.description or exc.name, status)
    else:  # 413 and the other 4xx: OCTO's bad request
        response = octo_error("BAD_REQUEST", exc.description or exc.name)
    for name, value in exc.get_headers():  # Allow on 405, Retry-After on 429
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _unavailable(exc: Exception) -> Response:
    log.warning("octo: service unavailable on %s: %s", request.path, exc.__class__.__name__)
    db.session.rollback()
    response = octo_error(
        "INTERNAL_SERVER_ERROR", "The service is not answering; try again shortly.", 503
    )
    response.headers["Retry-After"] = str(RETRY_SECONDS)
    return response


def _bug(exc: Exception) -> Response:  # pragma: no cover - a 500 is a bug; keep the shape
    log.exception("unhandled error on %s", request.path)
    db.session.rollback()
    return octo_error(
        "INTERNAL_SERVER_ERROR", "There was an un-recoverable error, please try again", 500
    )


def init(bp: Blueprint) -> None:
    """Register the key check, headers, audit, errors and the rate limit on ``bp``."""
    bp.before_request(_authenticate)
    bp.after_request(_audit)
    bp.after_request(_headers)
    bp.register_error_handler(DomainError, _domain_error)
    bp.register_error_handler(HTTPException, _http_error)
    bp.register_error_handler(OperationalError, _unavailable)
    bp.register_error_handler(InterfaceError, _unavailable)
    bp.register_error_handler(Exception, _bug)
    limiter.limit(_rate_limit, key_func=_rate_key, exempt_when=rate_limits_off)(bp)
