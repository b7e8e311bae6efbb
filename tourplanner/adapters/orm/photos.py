"""Photos of villages and of their experiences (migration 0009), uploaded by village staff or
admins; the bytes are in the media store (``services.product_media``, collection "photos").

A photo is public only with its credit and its licence recorded (``published``): the site
never shows a picture whose author and terms it cannot name.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, and_
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from tourplanner.adapters.orm.catalogue import Experience, Village, utcnow
from tourplanner.extensions import db


class Photo(db.Model):
    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(
        ForeignKey("villages.id", ondelete="CASCADE"), index=True
    )
    #: NULL: a photo of the village itself; else of this experience (of the same village).
    experience_id: Mapped[int | None] = mapped_column(
        ForeignKey("experiences.id", ondelete="CASCADE"), index=True
    )
    #: Content-addressed file name (``<sha256>.<ext>``) in the "photos" collection.
    stored_name: Mapped[str] = mapped_column(String(80))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    #: ``[[width, height], ...]`` of the narrower copies stored next to it, narrowest first.
    renditions: Mapped[list[list[int]]] = mapped_column(JSON, default=list)
    credit: Mapped[str | None] = mapped_column(String(200))
    licence: Mapped[str | None] = mapped_column(String(40))
    alt_vi: Mapped[str | None] = mapped_column(Text)
    alt_en: Mapped[str | None] = mapped_column(Text)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    village: Mapped[Village] = relationship(
        backref=backref("photos", order_by="Photo.id", cascade="all, delete-orphan")
    )
    experience: Mapped[Experience | None] = relationship(
        backref=backref("photos", order_by="Photo.id", cascade="all, delete-orphan")
    )

    @property
    def published(self) -> bool:
        return bool(self.credit and self.licence)

    @classmethod
    def published_clause(cls) -> Any:
        """The SQL form of :attr:`published`."""
        return and_(
            cls.credit.is_not(None), cls.credit != "", cls.licence.is_not(None), cls.licence != ""
        )

    def alt(self, lang: str) -> str:
        if lang == "en":
            return self.alt_en or self.alt_vi or ""
        return self.alt_vi or self.alt_en or ""

    def alt_lang(self, lang: str) -> str:
        """The language the alt text shown in ``lang`` is actually written in."""
        if lang == "en":
            return "en" if self.alt_en or not self.alt_vi else "vi"
        return "vi" if self.alt_vi or not self.alt_en else "en"
