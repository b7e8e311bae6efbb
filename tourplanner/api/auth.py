"""API keys on ``/api/v1``: ``Authorization: Bearer <key>`` names the agency a request acts for.

:func:`api_key_required` guards a view: no key, an unknown or a revoked one is 401
``unauthorized`` with ``WWW-Authenticate: Bearer``; a key of a suspended agency is 403
``agency_suspended``. The view then reads :func:`current_api_key` (also ``flask.g.api_key``,
an :class:`~tourplanner.services.agencies.ApiKeyContext`). A view where a key is optional
calls :func:`current_api_key` itself when the header is sent. Operations put
``openapi.BEARER`` in their ``security``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, after_this_request, g, request

from tourplanner.services.agencies import ApiKeyContext, Unauthorized, authenticate_api_key

__all__ = ["ApiKeyContext", "Unauthorized", "api_key_required", "bearer_token", "current_api_key"]


def bearer_token() -> str | None:
    """The key of ``Authorization: Bearer <key>``, or None (no header, another scheme)."""
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def current_api_key() -> ApiKeyContext:
    """The request's key, checked once per request. Raises Unauthorized (401) or
    AgencySuspended (403), which the API's error handler answers in JSON."""
    # Cached on the request, not on g: an app context (and its g) can outlive one request.
    context = getattr(request, "api_key_context", None)
    if context is None:
        try:
            context = authenticate_api_key(bearer_token())
        except Unauthorized:
            # Per request, not a blueprint hook: this module may be imported after the API
            # blueprint is registered (a view that reads an optional key imports it lazily).
            after_this_request(_challenge)
            raise
        request.api_key_context = context
        g.api_key = context
    return context


def api_key_required(view: Callable) -> Callable:
    """Admit only requests with a valid key of an active agency (sets ``g.api_key``)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any):
        current_api_key()
        return view(*args, **kwargs)

    return wrapped


def _challenge(response: Response) -> Response:
    """RFC 6750: a 401 names the scheme, and says ``invalid_token`` when a key was sent."""
    if response.status_code == 401:
        error = ', error="invalid_token"' if bearer_token() else ""
        response.headers["WWW-Authenticate"] = f'Bearer realm="tourplanner"{error}'
    return response
