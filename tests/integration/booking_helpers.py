"""Helpers shared by the integration tests (fresh slots, the village's notification set-up)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tourplanner.adapters.orm import Experience, Village
from tourplanner.extensions import db
from tourplanner.services import availability

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
_counter = itertools.count()
CONTACT = {"name": "Lan Nguyễn", "email": "lan@example.org", "phone": "+84 90 000 0000"}


def experience(slug: str = "bat-trang-workshop-pottery-wheel") -> Experience:
    return db.session.scalars(select(Experience).where(Experience.slug == slug)).one()


def fresh_slot(capacity: int = 20, slug: str = "bat-trang-workshop-pottery-wheel"):
    """A slot nobody else in the session uses: an extra session at a unique time."""
    start = datetime(2030, 6, 3, 6, 0, tzinfo=HANOI) + timedelta(hours=next(_counter))
    return availability.add_extra_slot(experience(slug).id, start, capacity)


def set_up_village(slug: str, *, email: str, webhook_url: str | None) -> Village:
    village = db.session.scalars(select(Village).where(Village.slug == slug)).one()
    village.booking_email = email
    village.webhook_url = webhook_url
    village.webhook_secret = village.webhook_secret or "test-webhook-secret"
    db.session.commit()
    return village


def wait_until(predicate: Callable[[], Any], *, timeout: float = 30.0, what: str = "") -> Any:
    """Poll ``predicate`` until it returns something truthy (and return it)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)
