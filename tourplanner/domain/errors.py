"""Domain errors. Each carries a machine-readable code, a message and details.

The API turns them into ``{"error": {"code", "message", "details"}}`` with the matching status.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class: ``status`` is the HTTP status the API should use."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details


class ValidationError(DomainError):
    status = 400
    code = "invalid"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Unprocessable(DomainError):
    status = 422
    code = "unprocessable"


class Unavailable(DomainError):
    """Busy for now: the answer carries ``Retry-After`` (seconds, ``details["retry_after"]``)."""

    status = 503
    code = "unavailable"
