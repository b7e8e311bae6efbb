"""Helpers shared by the integration tests (fresh slots, the village's notification set-up)."""

from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import date, datetime, timedelta
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
    """A slot nobody else in the session uses: an extra session at a unique time, some 200
    days ahead (inside the booking horizon, beyond every cut-off)."""
    day = datetime.now(HANOI).date() + timedelta(days=200)
    start = datetime.combine(day, datetime.min.time(), HANOI) + timedelta(hours=6 + next(_counter))
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


def http_json(
    url: str, body: dict | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict]:
    """``(status, JSON body)`` of a GET (or a POST of ``body``) to a server started by a test."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def first_open_session(base: str, village: str = "bat-trang") -> dict:
    """A slot with a free place at ``village`` in the next weeks, found through the public API."""
    _, listing = http_json(f"{base}/api/v1/experiences?village={village}&per_page=200")
    today = date.today()
    for experience in listing["items"]:
        _, days = http_json(
            f"{base}/api/v1/experiences/{experience['id']}/availability"
            f"?from={today + timedelta(days=2)}&to={today + timedelta(days=20)}"
        )
        for slot in days["slots"]:
            if slot["remaining"] >= 1:
                return slot
    raise AssertionError(f"no open session at {village} in the demo data")
