"""Signed links: the tourist's booking-management link and the village's decision link.

Links use itsdangerous with the app's ``SECRET_KEY`` and a distinct salt per purpose, so a
tourist's management link can never be used as a village decision link and the other way round.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from tourplanner.domain.errors import Forbidden

MANAGE_SALT = "booking-manage"
DECISION_SALT = "village-decision"
MANAGE_MAX_AGE = timedelta(days=400)
DECISION_MAX_AGE = timedelta(days=14)


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


def manage_token(reference: str) -> str:
    return _serializer(MANAGE_SALT).dumps({"r": reference})


def check_manage_token(token: str | None, reference: str) -> None:
    data = _load(token, MANAGE_SALT, MANAGE_MAX_AGE)
    if not isinstance(data, dict) or data.get("r") != reference:
        raise Forbidden("this link is not valid for this booking", code="invalid_token")


def decision_token(item_id: int, village_id: int) -> str:
    return _serializer(DECISION_SALT).dumps({"i": item_id, "v": village_id})


def check_decision_token(token: str | None) -> tuple[int, int]:
    """``(item_id, village_id)`` from a village decision link."""
    data = _load(token, DECISION_SALT, DECISION_MAX_AGE)
    try:
        return int(data["i"]), int(data["v"])
    except (TypeError, KeyError, ValueError):
        raise Forbidden("this link is not valid", code="invalid_token") from None


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)
