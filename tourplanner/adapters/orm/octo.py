"""OCTO reseller tables: reservations and bookings made through ``/octo``, and the webhooks
agencies register for booking updates (migration 0007).

:class:`OctoBooking` is the reseller's side of a booking. While it is a reservation
(``status`` "on_hold") it holds ``places`` on its slot itself, taken with the same conditional
UPDATE as every booking (:func:`tourplanner.services.booking.take`); villages do not see it.
Once the reseller confirms, a live reservation becomes a :class:`~.booking.Booking` (source
"octo") that the village answers: the places move to its item and ``places`` drops to 0. A
test-mode reservation (made with a test key) never holds places and never becomes a booking.

A published package sold as a product (``package:<slug>``, migration 0008) holds several
sessions at once: ``package_id`` and ``package_date`` name it, :class:`OctoBookingSession`
rows hold the places of each session (``slot_id`` is the first of them, ``places`` the places
held on each), and ``package_terms`` keeps the prices it was reserved at.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tourplanner.adapters.orm.booking import AwareDateTime, Booking, Slot
from tourplanner.adapters.orm.catalogue import Experience, utcnow
from tourplanner.extensions import db

#: The reseller's side: a reservation on hold, confirmed (handed to the village), expired
#: (never confirmed) or cancelled by the reseller.
OCTO_STATES: tuple[str, ...] = ("on_hold", "confirmed", "expired", "cancelled")


class OctoBooking(db.Model):
    __tablename__ = "octo_bookings"
    __table_args__ = (
        CheckConstraint("places >= 0", name="ck_octo_bookings_places"),
        Index("ix_octo_bookings_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Lower-case UUID, the reseller's handle on the booking (given by it or made by us).
    uuid: Mapped[str] = mapped_column(String(36), unique=True, index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"), index=True)
    test_mode: Mapped[bool] = mapped_column(Boolean, default=False)
    experience_id: Mapped[int] = mapped_column(ForeignKey("experiences.id"))
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="on_hold")
    #: Places this reservation holds on ``slot_id`` (0 once confirmed, cancelled or expired).
    places: Mapped[int] = mapped_column(Integer, default=0)
    #: ``[{"uuid", "unitId", "resellerReference", "contact"}]`` as the reseller sent them.
    unit_items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    contact: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    notes: Mapped[str | None] = mapped_column(Text)
    reseller_reference: Mapped[str | None] = mapped_column(String(100), index=True)
    #: Our reference (``TP-7K3Q9M``); the village booking made on confirmation carries it too.
    supplier_reference: Mapped[str] = mapped_column(String(16), unique=True, index=True)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), unique=True)
    expires_at: Mapped[datetime] = mapped_column(AwareDateTime())
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    #: When the reseller's confirmation made it CONFIRMED (None while a test booking waits).
    confirmed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    cancellation_reason: Mapped[str | None] = mapped_column(Text)
    #: A package product's booking (0008): the package and its first date; None otherwise.
    package_id: Mapped[int | None] = mapped_column(ForeignKey("packages.id"), index=True)
    package_date: Mapped[date | None] = mapped_column(Date)
    #: The package's prices for the party when reserved: ``retail_total_vnd``,
    #: ``net_total_vnd``, ``commission_vnd`` and ``labels`` (slot id -> item label).
    package_terms: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    experience: Mapped[Experience] = relationship()
    slot: Mapped[Slot] = relationship()
    booking: Mapped[Booking | None] = relationship()
    sessions: Mapped[list[OctoBookingSession]] = relationship(
        order_by="OctoBookingSession.slot_id", cascade="all, delete-orphan"
    )


class OctoBookingSession(db.Model):
    """One session a package reservation holds: ``places`` taken on ``slot_id`` while it is
    on hold (0 once confirmed, when the booking's items hold them, or expired, cancelled)."""

    __tablename__ = "octo_booking_sessions"
    __table_args__ = (
        CheckConstraint("places >= 0", name="ck_octo_booking_sessions_places"),
        UniqueConstraint("octo_booking_id", "slot_id", name="uq_octo_booking_sessions_slot"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    octo_booking_id: Mapped[int] = mapped_column(
        ForeignKey("octo_bookings.id", ondelete="CASCADE"), index=True
    )
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id"), index=True)
    places: Mapped[int] = mapped_column(Integer, default=0)

    slot: Mapped[Slot] = relationship()


class OctoWebhook(db.Model):
    """A URL an agency registered (``POST /octo/webhooks``) for its booking updates, signed
    with ``secret`` like the village webhooks. A test key's webhook hears test bookings only."""

    __tablename__ = "octo_webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    test_mode: Mapped[bool] = mapped_column(Boolean, default=False)
    event: Mapped[str] = mapped_column(String(40), default="booking_update")
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(100))
    #: The capabilities the bodies are rendered with (those of the registering request).
    capabilities: Mapped[list[str]] = mapped_column(JSON, default=list)
    lang: Mapped[str] = mapped_column(String(5), default="vi")
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
