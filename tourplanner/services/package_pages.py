"""Read models of the package pages: what the builder and the public package page show beyond
:mod:`tourplanner.services.packages` (owner: package pages work).

* :func:`builder`: the agency's package with its check on a chosen date and party, the
  experiences the agency can pick (grouped by village) and the landmarks a day can start from;
  a date outside the booking horizon falls back to the default date and is named in
  ``date_error``;
* :func:`public_page`: a published package, its photos (the package's villages' product photos
  and video stills), the map's data, each stop's planned end, and the calendar of the dates it
  runs for a party (:func:`tourplanner.services.packages.run_dates`) laid out in weeks;
* :func:`calendar_weeks`: the weeks (Monday first) of a date range with the run dates marked.

Plain data out; no page logic (the pages word and lay it out).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from tourplanner.adapters.orm import Experience, Landmark, Product, Village
from tourplanner.domain import packages as rules
from tourplanner.domain.availability import local_today
from tourplanner.domain.errors import Unprocessable, ValidationError
from tourplanner.domain.pricing import Party
from tourplanner.extensions import db
from tourplanner.services import availability, packages
from tourplanner.services.availability import now_utc

#: Days of the public calendar at once (well inside packages.MAX_RUN_DATE_RANGE).
CALENDAR_DAYS = 28
#: Photos on a public package page.
MAX_PHOTOS = 6


# --- the builder -----------------------------------------------------------------------------


def experience_choices() -> list[dict[str, Any]]:
    """Every experience a day can take (villages with a sourced position), grouped by
    village in the village's Vietnamese name order; workshops first in each village."""
    rows = db.session.scalars(
        select(Experience)
        .join(Experience.village)
        .where(Village.lat.is_not(None), Village.lon.is_not(None))
        .options(joinedload(Experience.village))
        .order_by(Village.name_vi, Village.id, Experience.kind.desc(), Experience.slug)
    )
    groups: dict[int, dict[str, Any]] = {}
    for e in rows:
        group = groups.setdefault(
            e.village_id,
            {
                "village": {
                    "slug": e.village.slug,
                    "name": {"vi": e.village.name_vi, "en": e.village.name_en},
                },
                "experiences": [],
            },
        )
        group["experiences"].append(
            {
                "slug": e.slug,
                "title": {"vi": e.title_vi, "en": e.title_en},
                "kind": e.kind,
                "duration_minutes": e.duration_minutes,
                "bookable": e.bookable,
                "price_adult_vnd": e.price_adult_vnd,
            }
        )
    return list(groups.values())


def landmarks() -> list[dict[str, Any]]:
    """The landmarks a day can start from, by Vietnamese name."""
    rows = db.session.scalars(select(Landmark).order_by(Landmark.name_vi))
    return [{"slug": lm.slug, "name": {"vi": lm.name_vi, "en": lm.name_en}} for lm in rows]


def form_choices() -> dict[str, Any]:
    """What the new-package form offers: the landmarks and the travel modes."""
    return {"landmarks": landmarks(), "modes": list(packages.modes())}


def builder(
    agency_id: int,
    slug: str,
    *,
    first_date: date | None = None,
    party: Party | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The builder page's data: the agency's package checked on ``first_date`` for ``party``
    (404 for another agency's package), the experiences to pick from and the landmarks. A
    date the check refuses (outside the booking horizon) gives the default date's check and
    the refusal in ``date_error``."""
    now = now or now_utc()
    date_error: ValidationError | None = None
    try:
        view = packages.get_for_agency(agency_id, slug, first_date=first_date, party=party, now=now)
    except ValidationError as exc:
        if exc.details.get("field") != "date":
            raise
        date_error = exc
        view = packages.get_for_agency(agency_id, slug, party=party, now=now)
    first, last = availability.horizon(now)
    return {
        "package": view,
        "experiences": experience_choices(),
        "landmarks": landmarks(),
        "modes": list(packages.modes()),
        "date_error": date_error,
        "horizon": {"first": first.isoformat(), "last": last.isoformat()},
        "map": map_data(view["check"]["days"], view["days"]),
    }


# --- the public page -------------------------------------------------------------------------


def _end(start: str | None, minutes: int) -> str | None:
    if start is None:
        return None
    return rules.hhmm(rules.minutes(start) + minutes)


def photos(village_slugs: Sequence[str]) -> list[dict[str, Any]]:
    """Stored photos of the package's villages, in the villages' order: the first photo of
    each published product, then each video's still; at most :data:`MAX_PHOTOS`."""
    if not village_slugs:
        return []
    villages = {
        v.slug: v
        for v in db.session.scalars(select(Village).where(Village.slug.in_(list(village_slugs))))
    }
    products = db.session.scalars(
        select(Product)
        .join(Village, Product.village_id == Village.id)
        .where(Village.slug.in_(list(village_slugs)), Product.review_status == "published")
        .options(joinedload(Product.village))
        .order_by(Product.slug)
    )
    by_village: dict[str, list[dict[str, Any]]] = {}
    for p in products:
        if p.images:
            by_village.setdefault(p.village.slug, []).append(
                {
                    "name": p.images[0],
                    "alt": {"vi": p.name_vi, "en": p.name_en or p.name_vi},
                    "village": p.village.slug,
                }
            )
    for slug in village_slugs:
        village = villages.get(slug)
        for video in (village.videos or []) if village else []:
            if isinstance(video, dict) and video.get("still"):
                title = video.get("title") or ""
                alt = title or village.name_vi
                by_village.setdefault(slug, []).append(
                    {
                        "name": video["still"],
                        "alt": {"vi": alt, "en": title or village.name_en},
                        "village": slug,
                    }
                )
    # One photo of each village first, then the others.
    out: list[dict[str, Any]] = []
    rounds = max((len(v) for v in by_village.values()), default=0)
    for n in range(rounds):
        for slug in village_slugs:
            found = by_village.get(slug, [])
            if n < len(found):
                out.append(found[n])
    return out[:MAX_PHOTOS]


def map_data(
    timed_days: Iterable[dict[str, Any]] | None, days: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """The map block of a package page: per day its start and its stops' positions, titles
    (both languages) and times (the check's when given, else the planned start)."""
    timed = {d["number"]: d for d in (timed_days or [])}
    out = []
    for day in days:
        stops = timed.get(day["number"], day)["stops"]
        out.append(
            {
                "number": day["number"],
                "start": {
                    "lat": day["start"]["lat"],
                    "lon": day["start"]["lon"],
                    "label": day["start"]["label"],
                },
                "stops": [
                    {
                        "lat": s["village"]["lat"],
                        "lon": s["village"]["lon"],
                        "title": s["title"],
                        "village": s["village"]["name"],
                        "time": s.get("start"),
                    }
                    for s in stops
                ],
            }
        )
    return {"days": out}


def calendar_weeks(start: date, end: date, runs: Iterable[dict[str, Any]]) -> list[list[dict]]:
    """Weeks (Monday to Sunday) covering ``[start, end]``; each day ``{"date", "in_range",
    "run"}`` with ``run`` the run date's entry (price, places left) or None."""
    by_date = {r["date"]: r for r in runs}
    day = start - timedelta(days=start.weekday())
    last = end + timedelta(days=6 - end.weekday())
    weeks: list[list[dict[str, Any]]] = []
    while day <= last:
        if day.weekday() == 0:
            weeks.append([])
        iso = day.isoformat()
        weeks[-1].append(
            {"date": iso, "day": day.day, "in_range": start <= day <= end, "run": by_date.get(iso)}
        )
        day += timedelta(days=1)
    return weeks


def public_page(
    slug: str,
    party: Party | None = None,
    start: date | None = None,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A published package's public page for ``party`` (default its typical party; 404 for
    a draft or a withdrawn package): the package with each stop's planned end, photos, the
    map's data and :data:`CALENDAR_DAYS` days of its calendar from ``start`` (today by
    default, kept inside the booking horizon). ``unpriced``: the party has a category the
    package has no price for (then no date runs)."""
    now = now or now_utc()
    view = packages.get_published(slug)
    party = party or Party.from_mapping(view["party"])
    for day in view["days"]:
        for stop in day["stops"]:
            stop["end"] = _end(stop["start"], stop["duration_minutes"])
    first, last = availability.horizon(now)
    start = min(max(start or local_today(now), first), last)
    end = min(start + timedelta(days=CALENDAR_DAYS - 1), last)
    unpriced = False
    try:
        runs = packages.run_dates(slug, party, start, end, now=now)
    except Unprocessable:
        runs, unpriced = [], True
    back = max(start - timedelta(days=CALENDAR_DAYS), first)
    return {
        "package": view,
        "photos": photos([v["slug"] for v in view["villages"]]),
        "map": map_data(None, view["days"]),
        "party": party.as_dict(),
        "runs": runs,
        "unpriced": unpriced,
        "calendar": {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "weeks": calendar_weeks(start, end, runs),
            "previous": back.isoformat() if start > first else None,
            "next": (end + timedelta(days=1)).isoformat() if end < last else None,
        },
    }


def published() -> list[dict[str, Any]]:
    """The public list of packages, each with a photo of its villages when one exists."""
    out = []
    for p in packages.list_published():
        found = photos([v["slug"] for v in p["villages"]])
        out.append({**p, "photo": found[0] if found else None})
    return out
