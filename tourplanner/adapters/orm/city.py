"""The city's side: curated tour routes and the change log of catalogue edits.

A tour route (tuyến du lịch làng nghề) is an ordered list of villages, each optionally with one
of its experiences, curated by the city's tourism office; a draft until published. Catalogue
edits made in pages are stored as changes with their author and source (the shipped dataset
stays the seed): a village staff edit waits for an admin's approval, an admin edit applies at
once, and both stay in the log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tourplanner.adapters.orm.booking import AwareDateTime
from tourplanner.adapters.orm.catalogue import Experience, Village, utcnow
from tourplanner.extensions import db

ROUTE_LENGTHS: tuple[str, ...] = ("half_day", "day", "two_days")
ROUTE_STATES: tuple[str, ...] = ("draft", "published")


class TourRoute(db.Model):
    __tablename__ = "tour_routes"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True, index=True)
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    theme_vi: Mapped[str | None] = mapped_column(String(200))
    theme_en: Mapped[str | None] = mapped_column(String(200))
    summary_vi: Mapped[str | None] = mapped_column(Text)
    summary_en: Mapped[str | None] = mapped_column(Text)
    season_vi: Mapped[str | None] = mapped_column(Text)
    season_en: Mapped[str | None] = mapped_column(Text)
    length: Mapped[str] = mapped_column(String(20), default="day")
    travel_mode: Mapped[str] = mapped_column(String(20), default="car")
    interests: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: ``[{"url", "alt_vi", "alt_en", "credit", "licence"}]``
    photos: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Where the route was made from, if not from scratch.
    source_plan_id: Mapped[str | None] = mapped_column(String(32))
    source_package_id: Mapped[int | None] = mapped_column(ForeignKey("packages.id"))
    is_sample: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), index=True)

    stops: Mapped[list[TourRouteStop]] = relationship(
        back_populates="route", order_by="TourRouteStop.position", cascade="all, delete-orphan"
    )

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_vi


class TourRouteStop(db.Model):
    __tablename__ = "tour_route_stops"

    id: Mapped[int] = mapped_column(primary_key=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("tour_routes.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    day: Mapped[int] = mapped_column(Integer, default=1)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"), index=True)
    experience_id: Mapped[int | None] = mapped_column(ForeignKey("experiences.id"))
    note_vi: Mapped[str | None] = mapped_column(Text)
    note_en: Mapped[str | None] = mapped_column(Text)

    route: Mapped[TourRoute] = relationship(back_populates="stops")
    village: Mapped[Village] = relationship()
    experience: Mapped[Experience | None] = relationship()


class CatalogueChange(db.Model):
    """One edit of a catalogue row: who, what (field -> [old, new]), from which source, when."""

    __tablename__ = "catalogue_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(20), index=True)  # village | experience | product
    entity_id: Mapped[int] = mapped_column(Integer, index=True)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="applied", index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow, index=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    decision_note: Mapped[str | None] = mapped_column(Text)
