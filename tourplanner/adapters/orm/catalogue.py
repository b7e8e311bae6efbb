"""Catalogue tables: villages, their products and experiences, and landmarks (start points).

Facts come from the shipped dataset (see ``tourplanner/data/README.md``); columns the dataset
leaves empty stay NULL. Rows loaded from the demo set carry ``is_sample = True``.

A village whose position is not known has ``lat``/``lon`` NULL (``coord_quality`` "unknown"):
it is listed, never mapped or planned. ``commune``/``district`` are the 2024 units; the current
address is ``commune_2025`` (Hanoi abolished districts on 1 July 2025).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, func
from sqlalchemy.orm import Mapped, defer, mapped_column, relationship

from tourplanner.extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC)


class Village(db.Model):
    __tablename__ = "villages"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True, index=True)
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    search_text: Mapped[str] = mapped_column(Text, default="")
    district: Mapped[str] = mapped_column(String(100), index=True)
    commune: Mapped[str | None] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(40), index=True)
    crafts: Mapped[list[str]] = mapped_column(JSON, default=list)
    commune_2025: Mapped[str | None] = mapped_column(String(100))
    commune_2025_note: Mapped[str | None] = mapped_column(Text)
    commune_2025_sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    coord_quality: Mapped[str] = mapped_column(String(30))
    coord_note: Mapped[str | None] = mapped_column(Text)
    recognised_traditional: Mapped[bool | None] = mapped_column(Boolean)
    recognition_detail: Mapped[str | None] = mapped_column(Text)
    notable_products: Mapped[list[str]] = mapped_column(JSON, default=list)
    founded: Mapped[str | None] = mapped_column(String(200))
    story_vi: Mapped[str | None] = mapped_column(Text)
    story_en: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    contact: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: ``[{"url", "title"}]``: YouTube, Facebook or TikTok links, embedded only on a click.
    videos: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: ``{"name", "address", "hours", "lat", "lon"}`` or NULL; the same shape per sales point.
    display_space: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    sales_points: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: ``[{"kind", "url", "label"}]``: own shop, marketplace, Zalo OA, Facebook page.
    shop_links: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    has_ocop_products: Mapped[bool | None] = mapped_column(Boolean)
    ip_protected: Mapped[bool | None] = mapped_column(Boolean)
    has_display_space: Mapped[bool | None] = mapped_column(Boolean)
    # Facts for the plan's targets, recorded by the city with a source (NULL = not known):
    # the year of the village's recognition decision, a craft at risk of disappearing, and
    # the year it was restored.
    recognised_year: Mapped[int | None] = mapped_column(Integer)
    craft_at_risk: Mapped[bool | None] = mapped_column(Boolean)
    craft_restored_year: Mapped[int | None] = mapped_column(Integer)
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Booking notifications (migration 0002); set by the village in its back-office.
    booking_email: Mapped[str | None] = mapped_column(String(254))
    notify_phone: Mapped[str | None] = mapped_column(String(40))
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    webhook_secret: Mapped[str | None] = mapped_column(String(100))
    hold_expiry_hours: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    products: Mapped[list[Product]] = relationship(
        back_populates="village", order_by="Product.slug", cascade="all, delete-orphan"
    )
    experiences: Mapped[list[Experience]] = relationship(
        back_populates="village", order_by="Experience.slug", cascade="all, delete-orphan"
    )

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_vi

    @property
    def has_position(self) -> bool:
        """Only a sourced position is ever mapped, planned or used for directions."""
        return self.lat is not None and self.lon is not None

    def story(self, lang: str) -> str | None:
        if lang == "en":
            return self.story_en or self.story_vi
        return self.story_vi or self.story_en


class Product(db.Model):
    """A village product: an OCOP row of the shipped dataset, an import, or a village's own entry.

    ``village_id`` is NULL when the source names no village of the catalogue (``village_name``
    then says what the source names). ``ocop_status`` is the source's own words; only
    ``"certified"`` means a page states the certification. Products entered by village staff
    wait for an admin (``review_status`` "pending") before the public sees them.
    """

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True, index=True)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"), index=True)
    village_name: Mapped[str | None] = mapped_column(String(200))
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    description_vi: Mapped[str | None] = mapped_column(Text)
    description_en: Mapped[str | None] = mapped_column(Text)
    producer: Mapped[str | None] = mapped_column(String(300))
    search_text: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str | None] = mapped_column(String(40), index=True)
    ocop_stars: Mapped[int | None] = mapped_column(Integer, index=True)
    ocop_year: Mapped[int | None] = mapped_column(Integer)
    ocop_level: Mapped[str | None] = mapped_column(String(60))
    ocop_status: Mapped[str | None] = mapped_column(Text)
    ocop_decision: Mapped[str | None] = mapped_column(Text)
    craft_village: Mapped[bool | None] = mapped_column(Boolean)
    ip_protected: Mapped[bool | None] = mapped_column(Boolean)
    price_min_vnd: Mapped[int | None] = mapped_column(Integer)
    price_max_vnd: Mapped[int | None] = mapped_column(Integer)
    images: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: ``[{"name", "address", "url"}]``: shops and pages that sell the product.
    where_to_buy: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_sample: Mapped[bool] = mapped_column(Boolean, default=False)
    review_status: Mapped[str] = mapped_column(String(20), default="published", index=True)
    review_note: Mapped[str | None] = mapped_column(Text)
    # When the product was digitised (entered in the catalogue): the targets' monthly trend.
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    village: Mapped[Village | None] = relationship(back_populates="products")

    def name(self, lang: str) -> str:
        return (self.name_en or self.name_vi) if lang == "en" else self.name_vi

    def description(self, lang: str) -> str | None:
        if lang == "en":
            return self.description_en or self.description_vi
        return self.description_vi or self.description_en

    @property
    def certified(self) -> bool:
        """A page states the OCOP certification (anything else is unconfirmed)."""
        return self.ocop_status == "certified"


class Experience(db.Model):
    """Something a tourist does at a village: a plain visit or a bookable hands-on session.

    ``kind`` is ``visit`` (no booking needed; hours may be documented defaults) or ``workshop``
    (bookable once a schedule, capacity and adult price are published).
    """

    __tablename__ = "experiences"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True, index=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="visit")
    title_vi: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    description_vi: Mapped[str | None] = mapped_column(Text)
    description_en: Mapped[str | None] = mapped_column(Text)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    duration_is_default: Mapped[bool] = mapped_column(Boolean, default=True)
    capacity: Mapped[int | None] = mapped_column(Integer)
    price_adult_vnd: Mapped[int | None] = mapped_column(Integer)
    price_child_vnd: Mapped[int | None] = mapped_column(Integer)
    price_senior_vnd: Mapped[int | None] = mapped_column(Integer)
    price_fact: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    min_age: Mapped[int | None] = mapped_column(Integer)
    accessibility_vi: Mapped[str | None] = mapped_column(Text)
    accessibility_en: Mapped[str | None] = mapped_column(Text)
    weekly_hours: Mapped[dict[str, list[list[str]]]] = mapped_column(JSON, default=dict)
    hours_are_default: Mapped[bool] = mapped_column(Boolean, default=True)
    hours_fact: Mapped[str | None] = mapped_column(Text)
    closed_dates: Mapped[list[str]] = mapped_column(JSON, default=list)
    booking_cutoff_hours: Mapped[int] = mapped_column(Integer, default=12)
    free_cancellation_hours: Mapped[int] = mapped_column(Integer, default=24)
    # Accept automatically within capacity (no village decision needed); else on request.
    instant_confirmation: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    is_sample: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    village: Mapped[Village] = relationship(back_populates="experiences")

    def title(self, lang: str) -> str:
        return self.title_en if lang == "en" else self.title_vi

    def description(self, lang: str) -> str | None:
        if lang == "en":
            return self.description_en or self.description_vi
        return self.description_vi or self.description_en

    @property
    def bookable(self) -> bool:
        """A workshop can be booked once its schedule, capacity and adult price are published."""
        return (
            self.kind == "workshop"
            and bool(self.weekly_hours)
            and bool(self.capacity)
            and self.price_adult_vnd is not None
        )


class Landmark(db.Model):
    __tablename__ = "landmarks"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True, index=True)
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    coord_quality: Mapped[str] = mapped_column(String(30))
    coord_note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_vi


#: Long texts and JSON lists that a booking and its messages never read (the catalogue's pages
#: do), as loader options: left out of those queries, whose experience and village rows would
#: otherwise cost a dozen JSON decodes each time. Read anyway, one is loaded on first use.
LONG_EXPERIENCE_FIELDS = tuple(
    defer(getattr(Experience, name))
    for name in (
        "description_vi",
        "description_en",
        "price_fact",
        "languages",
        "accessibility_vi",
        "accessibility_en",
        "hours_fact",
        "closed_dates",
    )
)
LONG_VILLAGE_FIELDS = tuple(
    defer(getattr(Village, name))
    for name in (
        "search_text",
        "crafts",
        "commune_2025_note",
        "commune_2025_sources",
        "coord_note",
        "recognition_detail",
        "notable_products",
        "story_vi",
        "story_en",
        "notes",
        "contact",
        "videos",
        "display_space",
        "sales_points",
        "shop_links",
        "sources",
    )
)
