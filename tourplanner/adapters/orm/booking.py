"""Booking tables: materialised time slots, bookings and their items, and the notification outbox.

Capacity lives on :class:`Slot` (``capacity`` and ``taken``); it is only ever changed with a
conditional ``UPDATE`` (see :mod:`tourplanner.services.booking`), never read-then-written in
Python. Times are stored in UTC and come back timezone-aware in Asia/Ho_Chi_Minh.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from tourplanner.adapters.orm.catalogue import Experience, Village, utcnow
from tourplanner.domain.availability import LOCAL_TZ
from tourplanner.extensions import db

SQLITE_BUSY_TIMEOUT_MS = 30_000


@event.listens_for(Engine, "connect")
def _sqlite_wait_for_writers(dbapi_connection: Any, _record: Any) -> None:
    """Concurrent SQLite writers wait for the lock instead of failing with "database is locked"."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()


class AwareDateTime(TypeDecorator):
    """Stores aware datetimes as UTC (also on SQLite) and returns them in Hanoi time."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: times must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(LOCAL_TZ)


class Slot(db.Model):
    """One session of a bookable experience. ``taken`` counts places held or confirmed."""

    __tablename__ = "slots"
    __table_args__ = (
        UniqueConstraint("experience_id", "start", name="uq_slots_experience_start"),
        CheckConstraint("taken >= 0 AND taken <= capacity", name="ck_slots_taken_within_capacity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    experience_id: Mapped[int] = mapped_column(ForeignKey("experiences.id"), index=True)
    start: Mapped[datetime] = mapped_column(AwareDateTime(), index=True)
    end: Mapped[datetime] = mapped_column(AwareDateTime())
    capacity: Mapped[int] = mapped_column(Integer)
    taken: Mapped[int] = mapped_column(Integer, default=0)
    is_extra: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)

    experience: Mapped[Experience] = relationship()

    @property
    def remaining(self) -> int:
        return max(0, self.capacity - self.taken)


class Booking(db.Model):
    """A tourist's request: one or more items (slots), answered by each village."""

    # Migration 0010 also indexes lower(contact_email) and the phone number without
    # separators, for the per-contact hold check; expression indexes are kept out of the
    # models because SQLite cannot reflect them for the schema comparison.
    __tablename__ = "bookings"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True, index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    lang: Mapped[str] = mapped_column(String(5), default="vi")
    total_vnd: Mapped[int] = mapped_column(Integer)
    plan_id: Mapped[str | None] = mapped_column(String(32))
    itinerary: Mapped[int | None] = mapped_column(Integer)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    # SHA-256 of the tourist's current management token: a new token replaces it (revocation).
    manage_token_hash: Mapped[str | None] = mapped_column(String(64))
    # Where the booking came from: "site" (a tourist), "agency" (an agency's pages or API),
    # "octo" (a reseller). A package booking names its package, date and agency; its
    # total_vnd is the retail price, net_total_vnd what the villages are paid.
    source: Mapped[str] = mapped_column(String(20), default="site", server_default="site")
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("agency_clients.id"))
    package_id: Mapped[int | None] = mapped_column(ForeignKey("packages.id"), index=True)
    package_date: Mapped[date | None] = mapped_column(Date)
    net_total_vnd: Mapped[int | None] = mapped_column(Integer)
    commission_vnd: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow, onupdate=utcnow)

    items: Mapped[list[BookingItem]] = relationship(
        back_populates="booking", order_by="BookingItem.start", cascade="all, delete-orphan"
    )

    @property
    def resold(self) -> bool:
        """Made through OCTO: the reseller (an agency) books and cancels, not the tourist."""
        return self.source == "octo"


class BookingItem(db.Model):
    """One slot of a booking, with its own state: each village answers for its own items."""

    __tablename__ = "booking_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id"), index=True)
    experience_id: Mapped[int] = mapped_column(ForeignKey("experiences.id"))
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"), index=True)
    start: Mapped[datetime] = mapped_column(AwareDateTime())
    end: Mapped[datetime] = mapped_column(AwareDateTime())
    adults: Mapped[int] = mapped_column(Integer, default=0)
    children: Mapped[int] = mapped_column(Integer, default=0)
    seniors: Mapped[int] = mapped_column(Integer, default=0)
    prices_vnd: Mapped[dict[str, int | None]] = mapped_column(JSON)
    total_vnd: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), index=True)
    hold_expires_at: Mapped[datetime] = mapped_column(AwareDateTime(), index=True)
    decided_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    decided_by: Mapped[int | None] = mapped_column(Integer)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    cancelled_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    cancellation_fee_vnd: Mapped[int | None] = mapped_column(Integer)
    reminder_queued_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

    booking: Mapped[Booking] = relationship(back_populates="items")
    slot: Mapped[Slot] = relationship()
    experience: Mapped[Experience] = relationship()
    village: Mapped[Village] = relationship()

    @property
    def party_size(self) -> int:
        return self.adults + self.children + self.seniors


class Notification(db.Model):
    """Outbox row: written in the same transaction as the change it reports; sent once.

    ``status``: pending (``queued_at`` set once handed to Celery) → sending (claimed by one
    worker) → sent; a failed send goes back to pending with ``next_attempt_at`` (exponential
    backoff) until ``failed`` after the last attempt.
    """

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("booking_items.id"))
    event: Mapped[str] = mapped_column(String(30))
    channel: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    queued_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)

    booking: Mapped[Booking | None] = relationship()
