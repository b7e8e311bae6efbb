"""Accounts: village staff (own village only), agency users (own agency only), admins."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tourplanner.adapters.orm.booking import AwareDateTime
from tourplanner.adapters.orm.catalogue import Village, utcnow
from tourplanner.extensions import db

ROLES: tuple[str, ...] = ("village", "agency_admin", "agency_staff", "admin")
AGENCY_ROLES: tuple[str, ...] = ("agency_admin", "agency_staff")


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Part of every session cookie: raising it (logout, "sign out everywhere", a password change)
    # ends every copy of every session of this user at once.
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    village: Mapped[Village | None] = relationship()

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_agency(self) -> bool:
        return self.role in AGENCY_ROLES


class AuditEvent(db.Model):
    """A security event (sign-in, lockout, reset, role change, decision, cancellation, key use)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow, index=True)
    event: Mapped[str] = mapped_column(String(40), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # The e-mail tried or acted as: kept even for unknown accounts (failed sign-ins).
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    ip: Mapped[str | None] = mapped_column(String(45))
    subject: Mapped[str | None] = mapped_column(String(100))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
