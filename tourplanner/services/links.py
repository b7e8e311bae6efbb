"""Links with tokens: the tourist's booking-management token and the village's decision link.

* Management tokens are random (``secrets.token_urlsafe``), or for a new booking's first one
  derived from its reference with a key of the app's (:func:`first_manage_token`), given to
  the tourist once and kept only as their SHA-256 in ``bookings.manage_token_hash``.
  Replacing the hash (a cancellation does) revokes the old link at once; nobody reading the
  database can rebuild a link. A token works until :data:`MANAGE_LINK_DAYS_AFTER_VISIT` days
  after the booking's last session.
* Decision links are signed with the app's ``SECRET_KEY`` (itsdangerous, a salt of their own)
  and expire after :data:`DECISION_MAX_AGE`; they also stop working as soon as their item is no
  longer pending, so a forwarded e-mail cannot be used to read the booking later.

Tokens travel in URLs, so :func:`redact_tokens` removes them from log lines: the gunicorn access
log (``gunicorn.conf.py``) and the development server's request log
(:class:`TokenRedactingFilter`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from tourplanner.domain.errors import Forbidden

DECISION_SALT = "village-decision"
DECISION_MAX_AGE = timedelta(days=14)
MANAGE_TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 200


# --- booking-management tokens -------------------------------------------------------------


def new_manage_token() -> tuple[str, str]:
    """``(token, hash)``: the token for the tourist's link, the hash for the database."""
    token = secrets.token_urlsafe(MANAGE_TOKEN_BYTES)
    return token, manage_token_hash(token)


#: Separates the key of first management tokens from every other use of ``SECRET_KEY``.
FIRST_TOKEN_CONTEXT = b"tourplanner/first-manage-token/v1"


def first_manage_token(reference: str) -> str:
    """A new booking's management token: HMAC-SHA256 of its reference under a key derived from
    ``SECRET_KEY`` (256 bits, URL-safe, like :func:`new_manage_token`).

    The web request and the worker writing the tourist's acknowledgement compute the same
    token, so it never travels through the database or the broker; nobody with the database
    alone can compute it (docs/security.md). Checked, as every token, against the stored hash:
    a token replaced since (a cancellation) or a key rotated since no longer matches.
    """
    secret = str(current_app.config["SECRET_KEY"]).encode()
    key = hmac.new(secret, FIRST_TOKEN_CONTEXT, hashlib.sha256).digest()
    digest = hmac.new(key, reference.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def manage_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def manage_link_expires_at(session_ends: Iterable[datetime], days: int) -> datetime | None:
    """When the link dies: ``days`` after the booking's last session (None: no session)."""
    ends = list(session_ends)
    return max(ends) + timedelta(days=days) if ends else None


def check_manage_token(
    token: str | None,
    stored_hash: str | None,
    *,
    expires_at: datetime | None,
    now: datetime,
) -> None:
    """Refuse (403) a missing, wrong, revoked or expired management token."""
    if not token:
        raise Forbidden("this link needs its token", code="missing_token")
    if len(token) > MAX_TOKEN_LENGTH or not stored_hash:
        raise Forbidden("this link is not valid", code="invalid_token")
    if not hmac.compare_digest(manage_token_hash(token), stored_hash):
        raise Forbidden("this link is not valid", code="invalid_token")
    if expires_at is not None and now > expires_at:
        raise Forbidden("this link has expired", code="link_expired")


# --- village decision links ----------------------------------------------------------------


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _load(token: str | None, salt: str, max_age: timedelta) -> Any:
    if not token:
        raise Forbidden("this link needs its token", code="missing_token")
    try:
        return _serializer(salt).loads(token, max_age=int(max_age.total_seconds()))
    except SignatureExpired:
        raise Forbidden("this link has expired", code="link_expired") from None
    except BadSignature:
        raise Forbidden("this link is not valid", code="invalid_token") from None


def decision_token(item_id: int, village_id: int) -> str:
    return _serializer(DECISION_SALT).dumps({"i": item_id, "v": village_id})


def check_decision_token(token: str | None) -> tuple[int, int]:
    """``(item_id, village_id)`` from a village decision link whose item is still pending.

    An unknown item, or one of another village, is left to the caller (404 there).
    """
    from tourplanner.adapters.orm import BookingItem
    from tourplanner.domain.booking import PENDING
    from tourplanner.extensions import db

    data = _load(token, DECISION_SALT, DECISION_MAX_AGE)
    try:
        item_id, village_id = int(data["i"]), int(data["v"])
    except (TypeError, KeyError, ValueError):
        raise Forbidden("this link is not valid", code="invalid_token") from None
    item = db.session.get(BookingItem, item_id)
    if item is not None and item.village_id == village_id and item.status != PENDING:
        raise Forbidden(
            "this booking has been answered; the link no longer works",
            code="link_used",
            current_state=item.status,
        )
    return item_id, village_id


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


# --- tokens out of logs --------------------------------------------------------------------

REDACTED = "[redacted]"
# A query parameter whose name ends in ``token`` (``token=``, ``reset_token=``...), also
# percent-encoded inside another parameter such as a ``next=`` link, up to the next separator.
_TOKEN_VALUE = re.compile(r"(?i)((?:^|[?&;]|%3F|%26)[\w.-]*token(?:=|%3D))[^&;\s\"'#]*")


def redact_tokens(text: str) -> str:
    """``text`` with the value of every ``...token=`` query parameter replaced."""
    if "token" not in text.lower():
        return text
    return _TOKEN_VALUE.sub(lambda m: m.group(1) + REDACTED, text)


class TokenRedactingFilter(logging.Filter):
    """For the development server's request log (``werkzeug``): the line without tokens."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_tokens(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def redact_dev_server_log() -> None:
    """Install :class:`TokenRedactingFilter` on the ``werkzeug`` logger (once)."""
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(f, TokenRedactingFilter) for f in logger.filters):
        logger.addFilter(TokenRedactingFilter())
