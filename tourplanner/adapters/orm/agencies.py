"""Travel agencies: the agency, its clients and API keys, and the multi-day packages it sells.

A package is a list of days; each day has a start point, hours and an ordered list of stops
(experiences). ``PackageStop.start_minute`` is the planned start (minutes after midnight) that
the builder computed on the last check: a booking for a date takes, for every workshop stop,
the session of that experience starting at that minute on the stop's day.

Money is integer VND. Rates are basis points (1 % = 100 bp) so that 7.5 % stays exact.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tourplanner.adapters.orm.booking import AwareDateTime
from tourplanner.adapters.orm.catalogue import Experience, utcnow
from tourplanner.extensions import db

PACKAGE_STATES: tuple[str, ...] = ("draft", "published", "withdrawn")


class Agency(db.Model):
    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(200))
    licence_number: Mapped[str | None] = mapped_column(String(60))
    contact_email: Mapped[str] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    # The platform's commission on each sale, in basis points of the retail price.
    commission_bp: Mapped[int] = mapped_column(Integer, default=1000, server_default="1000")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    is_sample: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


class AgencyClient(db.Model):
    """A traveller or group an agency books for (visible to that agency only)."""

    __tablename__ = "agency_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


class ApiKey(db.Model):
    """An agency's API key: stored as a SHA-256 hash, shown once, revocable.

    ``prefix`` (the key's first characters) is kept in clear to tell keys apart in pages and
    logs; ``test_mode`` keys make bookings that never reach a village (OCTO ``testMode``).
    """

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    test_mode: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

    agency: Mapped[Agency] = relationship()


class Package(db.Model):
    __tablename__ = "packages"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True, index=True)
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    description_vi: Mapped[str | None] = mapped_column(Text)
    description_en: Mapped[str | None] = mapped_column(Text)
    included_vi: Mapped[str | None] = mapped_column(Text)
    included_en: Mapped[str | None] = mapped_column(Text)
    travel_mode: Mapped[str] = mapped_column(String(20), default="car")
    interests: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The typical party the agency builds for: {"adults": 2, "children": 0, "seniors": 0}.
    party: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    # "percent": retail = net x (1 + markup_bp / 10000); "fixed": retail_prices per category.
    markup_kind: Mapped[str] = mapped_column(String(10), default="percent")
    markup_bp: Mapped[int] = mapped_column(Integer, default=0)
    retail_prices: Mapped[dict[str, int | None]] = mapped_column(JSON, default=dict)
    is_sample: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

    agency: Mapped[Agency] = relationship()
    days: Mapped[list[PackageDay]] = relationship(
        back_populates="package", order_by="PackageDay.number", cascade="all, delete-orphan"
    )

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_vi


class PackageDay(db.Model):
    __tablename__ = "package_days"
    __table_args__ = (UniqueConstraint("package_id", "number", name="uq_package_days_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1 = the package's first date
    start_label: Mapped[str] = mapped_column(String(200))
    start_landmark: Mapped[str | None] = mapped_column(String(80))
    start_lat: Mapped[float] = mapped_column(Float)
    start_lon: Mapped[float] = mapped_column(Float)
    day_start: Mapped[str] = mapped_column(String(5), default="08:00")
    day_end: Mapped[str] = mapped_column(String(5), default="17:00")
    lunch: Mapped[bool] = mapped_column(Boolean, default=True)

    package: Mapped[Package] = relationship(back_populates="days")
    stops: Mapped[list[PackageStop]] = relationship(
        back_populates="day", order_by="PackageStop.position", cascade="all, delete-orphan"
    )


class PackageStop(db.Model):
    __tablename__ = "package_stops"

    id: Mapped[int] = mapped_column(primary_key=True)
    day_id: Mapped[int] = mapped_column(ForeignKey("package_days.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    experience_id: Mapped[int] = mapped_column(ForeignKey("experiences.id"), index=True)
    # A locked stop stays on its day when the route engine fills and orders the rest.
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    start_minute: Mapped[int | None] = mapped_column(Integer)

    day: Mapped[PackageDay] = relationship(back_populates="stops")
    experience: Mapped[Experience] = relationship()


def package_day_date(first: date, day: PackageDay) -> date:
    """The calendar date of ``day`` for a package starting on ``first``."""
    return first + timedelta(days=day.number - 1)
