"""The audit log of security events, readable and filterable by admins.

Events are listed in ``EVENTS``. A service records its event in its own unit of work
(``session=``), so the event and the change it describes commit together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tourplanner.adapters.orm import AuditEvent
from tourplanner.extensions import db

# The events written anywhere in the code (the admin page offers them as a filter).
EVENTS = (
    "signin",
    "signin_failed",
    "signin_locked",
    "signout",
    "password_reset_requested",
    "password_changed",
    "user_created",
    "role_changed",
    "booking_decided",
    "booking_cancelled",
    "api_key_used",
    "api_key_created",
    "api_key_revoked",
    "agency_created",
    "agency_suspended",
    "agency_reactivated",
    "agency_client_created",
    "user_suspended",
    "user_reactivated",
    "signin_refused",
    "village_shop_changed",
    "village_videos_changed",
    "photo_added",
    "photo_changed",
    "photo_removed",
    "octo_request",
    "package_created",
    "package_changed",
    "package_published",
    "package_withdrawn",
    "route_created",
    "route_changed",
    "route_published",
    "route_unpublished",
    "route_photos_changed",
    "catalogue_change_applied",
    "catalogue_change_proposed",
    "catalogue_change_approved",
    "catalogue_change_rejected",
)


def _request_ip() -> str | None:
    from flask import has_request_context

    if not has_request_context():
        return None
    from tourplanner.security.limits import client_ip

    return client_ip()[:45]


def record(
    event: str,
    *,
    user_id: int | None = None,
    email: str | None = None,
    subject: str | None = None,
    session: Session | None = None,
    **details: Any,
) -> None:
    """Add one event; commits at once unless given the ``session`` of a unit of work."""
    row = AuditEvent(
        event=event,
        user_id=user_id,
        email=(email or None) and email[:254],
        ip=_request_ip(),
        subject=(subject or None) and subject[:100],
        details=details,
    )
    if session is not None:
        session.add(row)
        return
    db.session.add(row)
    db.session.commit()


@dataclass(frozen=True)
class AuditFilter:
    event: str | None = None
    email: str | None = None
    limit: int = 200


def events(filters: AuditFilter) -> list[AuditEvent]:
    """The newest events first, filtered by event name and e-mail (substring)."""
    stmt = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if filters.event:
        stmt = stmt.where(AuditEvent.event == filters.event)
    if filters.email:
        stmt = stmt.where(AuditEvent.email.contains(filters.email.strip().lower()))
    return list(db.session.scalars(stmt.limit(filters.limit)))
