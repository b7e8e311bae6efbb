"""Packages: the agency's multi-day package builder, the public package data, run dates and the
booking plan of a date.

A package is 1-5 days; each day has a start point (a landmark or a hotel's coordinates), hours,
a lunch switch and an ordered list of stops (experiences), some locked. Every read and change
of a package can be checked on a date (:func:`check`): each day is timed on that day's opening
hours, sessions and places left and the travel times of the package's mode
(:func:`tourplanner.domain.packages.check_day`), and what breaks is named per stop.

The route engine fills and orders a package (:func:`fill`): day by day, in order, the locked
stops of the day are must-visits, the stops the agency picked but did not lock are preferred
candidates, and every other experience open that day (with places for the typical party, not
already used on another day) is a candidate scored by the package's interests. Each day is one
tour of the solver with its own date, start, windows and hours, and a day never takes an
experience another day already has. (The shared multi-tour model gives every tour the same
start, hours and windows, which a package's days do not share.)

Each stop stores its planned start (``PackageStop.start_minute``) from the last change's check:
a booking on a date takes, for every workshop, the session starting at that minute on that
day, so the public calendar lists the dates on which every planned session runs with places
for the party (:func:`run_dates`), and :func:`booking_plan` names those sessions for
:mod:`tourplanner.services.package_booking`.

Prices: the villages' prices are the net cost; the agency's markup gives the retail price
(rules and rounding in :mod:`tourplanner.domain.pricing`). The agency's views show net,
retail, margin and the platform's commission; the public views only retail.

Visibility: the agency functions take ``agency_id`` and answer 404 for another agency's
package, like a missing one; the public functions see published packages only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from tourplanner.adapters.orm import (
    Agency,
    Experience,
    Landmark,
    Package,
    PackageDay,
    PackageStop,
    Village,
)
from tourplanner.domain import packages as rules
from tourplanner.domain.availability import LOCAL_TZ, local_today
from tourplanner.domain.catalogue import slugify, windows_on
from tourplanner.domain.errors import (
    Conflict,
    NotFound,
    Unavailable,
    Unprocessable,
    ValidationError,
)
from tourplanner.domain.planning import MODES, in_hanoi
from tourplanner.domain.pricing import PackagePrices, Party, package_prices, party_price
from tourplanner.extensions import db
from tourplanner.routing import MustVisitInfeasible, Problem, solve
from tourplanner.security import audit
from tourplanner.services import availability
from tourplanner.services.availability import now_utc
from tourplanner.services.booking_request import ItemRequest
from tourplanner.services.unit_of_work import unit_of_work

#: Tries at a free slug when packages of the same name are created at once.
SLUG_ATTEMPTS = 3
#: Most days asked of :func:`run_dates` at once.
MAX_RUN_DATE_RANGE = 62
#: The route engine fills a day up to this many stops (locked ones beyond it are kept).
FILL_MAX_STOPS = 4
#: Scores of the fill: a candidate of the package's interests, another one, the bonus of a
#: stop the agency picked, and of a hands-on workshop (what packages are bought for: one
#: workshop outranks two short visits); interest points given up per minute on the road.
SCORE_INTEREST, SCORE_OTHER, SCORE_PICKED, SCORE_WORKSHOP = 10.0, 4.0, 6.0, 12.0
TRAVEL_WEIGHT = 0.05
#: English texts of the problem codes (the pages translate the codes themselves).
PROBLEM_TEXT = {
    "closed_that_day": "closed that day",
    "arrives_after_closing": "arrives after closing",
    "full": "full",
    "no_session": "no session at that time",
    "over_day_hours": "over the day's hours",
    "not_bookable": "takes no bookings",
}


@dataclass(frozen=True)
class BookingPlan:
    """The sessions and prices of a package on a date for a party, as
    :mod:`tourplanner.services.package_booking` books them."""

    package_id: int
    agency_id: int
    slug: str
    first_date: date
    items: tuple[ItemRequest, ...]
    labels: dict[int, str]
    retail_total_vnd: int
    net_total_vnd: int
    commission_vnd: int


# --- loading ---------------------------------------------------------------------------------


#: A package with its agency, days, stops, experiences and villages, loaded in four queries.
_WHOLE_PACKAGE = (
    joinedload(Package.agency),
    selectinload(Package.days)
    .selectinload(PackageDay.stops)
    .joinedload(PackageStop.experience)
    .joinedload(Experience.village),
)


def _load(session: Session, slug: str, *, agency_id: int | None, public: bool) -> Package:
    """The package ``slug``: the agency's own (``agency_id``), or a published one (``public``).
    Anything else, another agency's included, is 404."""
    package = (
        session.scalars(
            select(Package).where(Package.slug == slug).options(*_WHOLE_PACKAGE)
        ).first()
        if isinstance(slug, str)
        else None
    )
    visible = package is not None and (
        (agency_id is not None and package.agency_id == agency_id)
        # A suspended agency sells nothing: its packages are off the public side.
        or (public and package.status == "published" and package.agency.active)
    )
    if not visible:
        raise NotFound("no such package", code="package_not_found", slug=slug)
    return package


def _agency_package(session: Session, agency_id: int, slug: str) -> Package:
    if agency_id is None:
        raise NotFound("no such package", code="package_not_found", slug=slug)
    return _load(session, slug, agency_id=agency_id, public=False)


def _experiences_by_slug(session: Session, slugs: Iterable[str]) -> dict[str, Experience]:
    wanted = set(slugs)
    if not wanted:
        return {}
    rows = session.scalars(
        select(Experience)
        .where(Experience.slug.in_(wanted))
        .options(joinedload(Experience.village))
    )
    return {e.slug: e for e in rows}


def _plannable(e: Experience) -> bool:
    """A village with a sourced position (data 1.2: never planned without one)."""
    return e.village.lat is not None and e.village.lon is not None


# --- views -----------------------------------------------------------------------------------


def _texts(package: Package) -> dict[str, Any]:
    return {
        "name": {"vi": package.name_vi, "en": package.name_en},
        "description": {"vi": package.description_vi, "en": package.description_en},
        "included": {"vi": package.included_vi, "en": package.included_en},
    }


def _prices(package: Package) -> PackagePrices:
    stop_prices = [
        {
            "adult": s.experience.price_adult_vnd,
            "child": s.experience.price_child_vnd,
            "senior": s.experience.price_senior_vnd,
        }
        for day in package.days
        for s in day.stops
    ]
    return package_prices(
        stop_prices,
        markup_kind=package.markup_kind,
        markup_bp=package.markup_bp,
        retail_prices=package.retail_prices or {},
        commission_bp=package.agency.commission_bp,
    )


def typical_party(package: Package) -> Party:
    try:
        return Party.from_mapping(package.party or {})
    except ValueError:
        return Party(adults=2)


def _price_from(prices: PackagePrices) -> int | None:
    """Retail price per adult: what "from" means on the lists."""
    return prices.retail["adult"]


def _village(v: Village) -> dict[str, Any]:
    return {"slug": v.slug, "name": {"vi": v.name_vi, "en": v.name_en}, "lat": v.lat, "lon": v.lon}


def _stop(stop: PackageStop, *, with_lock: bool) -> dict[str, Any]:
    e = stop.experience
    data = {
        "position": stop.position,
        "experience": e.slug,
        "title": {"vi": e.title_vi, "en": e.title_en},
        "kind": e.kind,
        "duration_minutes": e.duration_minutes,
        "village": _village(e.village),
        "start": rules.hhmm(stop.start_minute),
    }
    if with_lock:
        data["locked"] = stop.locked
    return data


def _day(day: PackageDay, *, with_lock: bool) -> dict[str, Any]:
    return {
        "number": day.number,
        "start": {
            "label": day.start_label,
            "landmark": day.start_landmark,
            "lat": day.start_lat,
            "lon": day.start_lon,
        },
        "day_start": day.day_start,
        "day_end": day.day_end,
        "lunch": day.lunch,
        "stops": [_stop(s, with_lock=with_lock) for s in day.stops],
    }


def _villages(package: Package) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for day in package.days:
        for s in day.stops:
            seen.setdefault(s.experience.village.slug, _village(s.experience.village))
    return list(seen.values())


def _terms(package: Package) -> dict[str, int]:
    """Cancellation and booking terms: the strictest of the package's workshops."""
    workshops = [s.experience for d in package.days for s in d.stops if s.experience.bookable]
    return {
        "free_cancellation_hours": max((e.free_cancellation_hours for e in workshops), default=0),
        "booking_cutoff_hours": max((e.booking_cutoff_hours for e in workshops), default=0),
    }


def _summary(package: Package, *, for_agency: bool) -> dict[str, Any]:
    prices = _prices(package)
    data = {
        "slug": package.slug,
        **_texts(package),
        "days": len(package.days),
        "travel_mode": package.travel_mode,
        "interests": list(package.interests or []),
        "villages": _villages(package),
        "price_from_vnd": _price_from(prices),
        "agency": {"slug": package.agency.slug, "name": package.agency.name},
        "is_sample": package.is_sample,
    }
    if for_agency:
        data.update(status=package.status, updated_at=package.updated_at.isoformat())
    return data


def _public_view(package: Package) -> dict[str, Any]:
    prices = _prices(package)
    return {
        **_summary(package, for_agency=False),
        "party": typical_party(package).as_dict(),
        "prices": {"retail": prices.retail},
        "terms": _terms(package),
        "days": [_day(d, with_lock=False) for d in package.days],
        "day_count": len(package.days),
        "published_at": package.published_at.isoformat() if package.published_at else None,
    }


def _agency_view(package: Package) -> dict[str, Any]:
    prices = _prices(package)
    party = typical_party(package)
    return {
        **_summary(package, for_agency=True),
        "party": party.as_dict(),
        "markup_kind": package.markup_kind,
        "markup_bp": package.markup_bp,
        "retail_prices": dict(package.retail_prices or {}),
        "prices": {
            "net": prices.net,
            "retail": prices.retail,
            "margin": prices.margin,
            "commission": prices.commission,
            "commission_bp": prices.commission_bp,
            "party_totals": prices.party_totals(party),
        },
        "terms": _terms(package),
        "days": [_day(d, with_lock=True) for d in package.days],
        "day_count": len(package.days),
        "published_at": package.published_at.isoformat() if package.published_at else None,
    }


# --- the day check on a date -----------------------------------------------------------------


def travel_legs(
    start: tuple[float, float], points: Sequence[tuple[float, float]], mode: str
) -> list[int]:
    """Minutes of each leg: start -> point 1 -> ... -> point n -> start."""
    if not points:
        return [0]
    from tourplanner.services.planning import travel

    inner, _km, from_start, _start_km = travel(start, list(points), mode)
    legs = [from_start[0]]
    legs += [inner[i][i + 1] for i in range(len(points) - 1)]
    legs.append(from_start[-1])
    return legs


def _minute(moment: datetime, day: date) -> int:
    local = moment.astimezone(LOCAL_TZ)
    return (local.date() - day).days * 24 * 60 + local.hour * 60 + local.minute


def _sessions(
    experiences: Sequence[Experience], on: date, now: datetime
) -> dict[int, tuple[rules.Session, ...]]:
    ids = [e.id for e in experiences if e.kind == "workshop"]
    if not ids:
        return {}
    found = availability.slots_for_day(ids, on, now=now)
    return {
        eid: tuple(rules.Session(_minute(s.start, on), s.remaining, s.id) for s in slots)
        for eid, slots in found.items()
    }


def _stop_input(
    e: Experience,
    on: date,
    sessions: dict[int, tuple[rules.Session, ...]],
    planned: int | None,
) -> rules.StopInput:
    windows = tuple(
        (a.hour * 60 + a.minute, b.hour * 60 + b.minute)
        for a, b in windows_on(e.weekly_hours or {}, e.closed_dates or [], on)
    )
    return rules.StopInput(
        experience=e.slug,
        kind=e.kind,
        duration=e.duration_minutes,
        bookable=e.kind != "workshop" or e.bookable,
        windows=windows if e.kind != "workshop" else (),
        sessions=sessions.get(e.id, ()),
        planned=planned,
    )


@dataclass
class _Memo:
    """What :func:`run_dates` reads once for many first dates: each calendar date's sessions
    of every workshop of the package, and each day's travel legs (they do not depend on the
    date)."""

    experiences: list[Experience]
    now: datetime
    sessions: dict[date, dict[int, tuple[rules.Session, ...]]] = field(default_factory=dict)
    legs: dict[int, list[int]] = field(default_factory=dict)

    def sessions_on(self, on: date) -> dict[int, tuple[rules.Session, ...]]:
        if on not in self.sessions:
            self.sessions[on] = _sessions(self.experiences, on, self.now)
        return self.sessions[on]


def _legs(day: PackageDay, mode: str) -> list[int]:
    points = [(s.experience.village.lat, s.experience.village.lon) for s in day.stops]
    return travel_legs((day.start_lat, day.start_lon), points, mode)


def _check_day(
    day: PackageDay,
    on: date,
    party: Party,
    mode: str,
    *,
    planned: bool,
    now: datetime,
    memo: _Memo | None = None,
) -> rules.DayCheck:
    experiences = [s.experience for s in day.stops]
    if memo is None:
        sessions, legs = _sessions(experiences, on, now), _legs(day, mode)
    else:
        sessions = memo.sessions_on(on)
        if day.number not in memo.legs:
            memo.legs[day.number] = _legs(day, mode)
        legs = memo.legs[day.number]
    stops = tuple(
        _stop_input(s.experience, on, sessions, s.start_minute if planned else None)
        for s in day.stops
    )
    return rules.check_day(
        rules.DayInput(
            stops=stops,
            travel=tuple(legs),
            day_start=rules.minutes(day.day_start),
            day_end=rules.minutes(day.day_end),
            lunch=day.lunch,
            party_size=party.size,
        )
    )


def _day_check_view(day: PackageDay, on: date, result: rules.DayCheck) -> dict[str, Any]:
    by_stop: dict[str, list[dict[str, Any]]] = {}
    for problem in result.problems:
        by_stop.setdefault(problem.experience, []).append(_problem(problem))
    stops = []
    for stop, timed in zip(day.stops, result.stops, strict=True):
        stops.append(
            {
                **_stop(stop, with_lock=True),
                "travel_before": timed.travel_before,
                "arrival": rules.hhmm(timed.arrival),
                "start": rules.hhmm(timed.start),
                "end": rules.hhmm(timed.end),
                "slot_id": timed.slot_id,
                "places_left": timed.places_left,
                "problems": by_stop.get(stop.experience.slug, []),
            }
        )
    return {
        "number": day.number,
        "date": on.isoformat(),
        "ok": result.ok,
        "stops": stops,
        "lunch": (
            {"start": rules.hhmm(result.lunch[0]), "end": rules.hhmm(result.lunch[1])}
            if result.lunch
            else None
        ),
        "back_at": rules.hhmm(result.back_at),
        "travel_minutes": result.travel_minutes,
        "problems": [_problem(p) for p in result.problems],
    }


def _problem(problem: rules.StopProblem) -> dict[str, Any]:
    return {**problem.as_dict(), "message": PROBLEM_TEXT[problem.code]}


def _check_package(
    package: Package,
    first: date,
    party: Party,
    *,
    planned: bool,
    now: datetime,
    memo: _Memo | None = None,
) -> tuple[list[rules.DayCheck], dict[str, Any]]:
    checks, days = [], []
    for day in package.days:
        on = first + timedelta(days=day.number - 1)
        result = _check_day(
            day, on, party, package.travel_mode, planned=planned, now=now, memo=memo
        )
        checks.append(result)
        days.append(_day_check_view(day, on, result))
    empty = [d["number"] for d in days if not d["stops"]]
    view = {
        "date": first.isoformat(),
        "party": party.as_dict(),
        "ok": all(c.ok for c in checks) and not empty,
        "days": days,
        "problems": [p | {"day": d["number"]} for d in days for p in d["problems"]],
        "empty_days": empty,
    }
    return checks, view


def _store_starts(package: Package, checks: Sequence[rules.DayCheck]) -> None:
    """The check's times become the planned starts (what a booking takes on any date)."""
    for day, result in zip(package.days, checks, strict=True):
        for stop, timed in zip(day.stops, result.stops, strict=True):
            stop.start_minute = timed.start


def _first_date(value: date | None, now: datetime) -> date:
    """The date a change is checked on: the one given (inside the booking horizon), else
    tomorrow in Hanoi."""
    first, last = availability.horizon(now)
    if value is None:
        return first + timedelta(days=1)
    if not isinstance(value, date) or not first <= value <= last:
        raise ValidationError(
            f"date: between {first.isoformat()} and {last.isoformat()}",
            code="date_out_of_range",
            field="date",
            first=first.isoformat(),
            last=last.isoformat(),
        )
    return value


def parse_date(value: object, field: str = "date") -> date:
    """``YYYY-MM-DD`` -> a date; ValidationError naming ``field`` otherwise."""
    if isinstance(value, date):
        return value
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            f"{field}: expected a date YYYY-MM-DD", code="invalid_date", field=field
        ) from None


# --- the agency's packages -------------------------------------------------------------------


def modes() -> tuple[str, ...]:
    return MODES


def list_for_agency(agency_id: int) -> list[dict[str, Any]]:
    """The agency's packages, newest change first."""
    rows = db.session.scalars(
        select(Package)
        .where(Package.agency_id == agency_id)
        .options(*_WHOLE_PACKAGE)
        .order_by(Package.updated_at.desc(), Package.id.desc())
    )
    return [_summary(p, for_agency=True) for p in rows]


def summary_for_agency(agency_id: int, slug: str) -> dict[str, Any]:
    """The agency's own package (drafts too) without its check: for a booking form. Another
    agency's package is 404."""
    package = _agency_package(db.session, agency_id, slug)
    return {**_summary(package, for_agency=True), "party": dict(package.party or {})}


def get_for_agency(
    agency_id: int,
    slug: str,
    *,
    first_date: date | None = None,
    party: Party | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The package with net, retail, margin and commission, and its check on ``first_date``
    (default tomorrow) for ``party`` (default the typical party)."""
    now = now or now_utc()
    package = _agency_package(db.session, agency_id, slug)
    view = _agency_view(package)
    on = _first_date(first_date, now)
    _checks, view["check"] = _check_package(
        package, on, party or typical_party(package), planned=False, now=now
    )
    return view


def create(
    agency_id: int, data: object, *, by: int | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """A new draft from the builder's fields (names and the start point required)."""
    values = rules.parse_package(data, create=True, modes=MODES)
    now = now or now_utc()
    for attempt in range(SLUG_ATTEMPTS):
        try:
            slug = _insert_package(agency_id, values, by)
            break
        except IntegrityError:
            # Another package took the same slug between the check and the insert.
            if attempt == SLUG_ATTEMPTS - 1:
                raise Conflict(
                    "another package was just given this name; try again",
                    code="slug_taken",
                ) from None
    return get_for_agency(agency_id, slug, now=now)


def _insert_package(agency_id: int, values: dict[str, Any], by: int | None) -> str:
    with unit_of_work() as session:
        agency = session.get(Agency, agency_id)
        if agency is None:
            raise NotFound("no such agency", code="agency_not_found")
        start = _resolve_start(session, values["start"], "start")
        package = Package(
            agency_id=agency_id,
            slug=_unused_slug(session, values["name_en"] or values["name_vi"]),
            status="draft",
            name_vi=values["name_vi"],
            name_en=values["name_en"],
            travel_mode=values.get("travel_mode", "car"),
            interests=values.get("interests", []),
            party=values.get("party", Party(adults=2)).as_dict(),
            markup_kind=values.get("markup_kind", "percent"),
            markup_bp=values.get("markup_bp", 0),
            retail_prices=values.get("retail_prices", {}),
        )
        for name in ("description_vi", "description_en", "included_vi", "included_en"):
            setattr(package, name, values.get(name))
        for number in range(1, values["days"] + 1):
            package.days.append(
                _new_day(number, start, values["day_start"], values["day_end"], values["lunch"])
            )
        session.add(package)
        session.flush()
        audit.record(
            "package_created",
            user_id=by,
            subject=package.slug,
            session=session,
            agency_id=agency_id,
        )
        slug = package.slug
    return slug


def _new_day(
    number: int, start: dict[str, Any], day_start: int, day_end: int, lunch: bool
) -> PackageDay:
    return PackageDay(
        number=number,
        start_label=start["label"],
        start_landmark=start["landmark"],
        start_lat=start["lat"],
        start_lon=start["lon"],
        day_start=rules.hhmm(day_start),
        day_end=rules.hhmm(day_end),
        lunch=lunch,
    )


def _resolve_start(session: Session, start: rules.StartInput, field: str) -> dict[str, Any]:
    if start.landmark is not None:
        landmark = session.scalars(select(Landmark).where(Landmark.slug == start.landmark)).first()
        if landmark is None:
            raise rules.bad(
                f"{field}.landmark", "no such landmark", "unknown_landmark", slug=start.landmark
            )
        return {
            "label": start.label or landmark.name_vi,
            "landmark": landmark.slug,
            "lat": landmark.lat,
            "lon": landmark.lon,
        }
    assert start.lat is not None and start.lon is not None
    if not in_hanoi(start.lat, start.lon):
        raise rules.bad(field, "the start point must be in the Hanoi area", "outside_hanoi")
    return {"label": start.label or "", "landmark": None, "lat": start.lat, "lon": start.lon}


def _unused_slug(session: Session, name: str) -> str:
    base = (slugify(name) or "package")[:100].strip("-") or "package"
    taken = set(session.scalars(select(Package.slug).where(Package.slug.like(f"{base}%"))).all())
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def update(
    agency_id: int, slug: str, data: object, *, by: int | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Change the package's fields; ``days`` a count (days added like the last one, days
    beyond it removed with their stops) or per-day settings ``[{"number", "start"?,
    "day_start"?, "day_end"?, "lunch"?}]``; ``start``/``day_start``/``day_end``/``lunch`` at
    the top level apply to every day."""
    values = rules.parse_package(data, create=False, modes=MODES)
    now = now or now_utc()
    with unit_of_work() as session:
        package = _agency_package(session, agency_id, slug)
        for name in (
            "name_vi",
            "name_en",
            "description_vi",
            "description_en",
            "included_vi",
            "included_en",
            "travel_mode",
            "interests",
            "markup_kind",
            "markup_bp",
            "retail_prices",
        ):
            if name in values:
                setattr(package, name, values[name])
        if "party" in values:
            package.party = values["party"].as_dict()
        _apply_days(session, package, values)
        _changed(session, package, "package_changed", by=by, now=now)
    return get_for_agency(agency_id, slug, now=now)


def _changed(
    session: Session, package: Package, event: str, *, by: int | None, now: datetime, **details: Any
) -> None:
    """Stamp the agency's package as changed and record ``event`` in the audit log, in the
    change's own transaction."""
    package.updated_at = now
    audit.record(
        event,
        user_id=by,
        subject=package.slug,
        session=session,
        agency_id=package.agency_id,
        **details,
    )


def _apply_days(session: Session, package: Package, values: dict[str, Any]) -> None:
    days = values.get("days")
    if isinstance(days, int):
        while len(package.days) > days:
            package.days.remove(package.days[-1])
        last = package.days[-1]
        for number in range(len(package.days) + 1, days + 1):
            copy = _new_day(
                number,
                {
                    "label": last.start_label,
                    "landmark": last.start_landmark,
                    "lat": last.start_lat,
                    "lon": last.start_lon,
                },
                rules.minutes(last.day_start),
                rules.minutes(last.day_end),
                last.lunch,
            )
            package.days.append(copy)
    shared = {k: values[k] for k in ("start", "day_start", "day_end", "lunch") if k in values}
    if shared and isinstance(days, list):
        raise rules.bad(
            "days", "give per-day settings or settings for every day, not both", "ambiguous_days"
        )
    settings = (
        [{"number": d.number, **shared} for d in package.days]
        if shared
        else (days if isinstance(days, list) else [])
    )
    by_number = {d.number: d for d in package.days}
    for item in settings:
        day = by_number.get(item["number"])
        if day is None:
            raise rules.bad("days", f"the package has no day {item['number']}", "unknown_day")
        if "start" in item:
            start = _resolve_start(session, item["start"], "start")
            day.start_label, day.start_landmark = start["label"], start["landmark"]
            day.start_lat, day.start_lon = start["lat"], start["lon"]
        opens = item.get("day_start", rules.minutes(day.day_start))
        closes = item.get("day_end", rules.minutes(day.day_end))
        if closes <= opens:
            raise rules.bad("day_end", "the day must end after it starts", "invalid_hours")
        day.day_start, day.day_end = rules.hhmm(opens), rules.hhmm(closes)
        if "lunch" in item:
            day.lunch = item["lunch"]


def set_stops(
    agency_id: int,
    slug: str,
    day_number: int,
    stops: object,
    *,
    first_date: date | None = None,
    by: int | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Replace day ``day_number``'s stops (in order, with their locks); the change is checked
    on ``first_date`` and its times become the planned starts. An experience may be on one
    day only; one without a known position is refused."""
    choices = rules.parse_stops(stops)
    now = now or now_utc()
    on = _first_date(first_date, now)
    with unit_of_work() as session:
        package = _agency_package(session, agency_id, slug)
        day = next((d for d in package.days if d.number == day_number), None)
        if day is None:
            raise NotFound("no such day", code="day_not_found", day=day_number)
        found = _experiences_by_slug(session, [c.experience for c in choices])
        elsewhere = {
            s.experience.slug: d.number for d in package.days if d is not day for s in d.stops
        }
        for n, choice in enumerate(choices):
            e = found.get(choice.experience)
            field = f"stops[{n}].experience"
            if e is None:
                raise rules.bad(field, "no such experience", "unknown_experience")
            if not _plannable(e):
                raise rules.bad(field, "this village's position is not known", "no_position")
            if choice.experience in elsewhere:
                raise rules.bad(
                    field,
                    f"already on day {elsewhere[choice.experience]}",
                    "duplicate_stop",
                    day=elsewhere[choice.experience],
                )
        day.stops.clear()
        session.flush()
        for position, choice in enumerate(choices):
            day.stops.append(
                PackageStop(
                    position=position,
                    experience=found[choice.experience],
                    locked=choice.locked,
                )
            )
        session.flush()
        checks, _view = _check_package(package, on, typical_party(package), planned=False, now=now)
        _store_starts(package, checks)
        _changed(session, package, "package_changed", by=by, now=now)
    return get_for_agency(agency_id, slug, first_date=on, now=now)


def check(
    slug: str,
    first_date: date,
    party: Party | None = None,
    *,
    agency_id: int | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The package on ``first_date`` for ``party``: each day's timeline (arrival, start, end,
    lunch, back at) and what breaks, per stop, with the reason. The agency's check times each
    stop at its earliest (as the builder would plan it); the public one at the planned times
    (what a booking takes)."""
    now = now or now_utc()
    on = _first_date(first_date, now)
    package = _load(db.session, slug, agency_id=agency_id, public=agency_id is None)
    _checks, view = _check_package(
        package, on, party or typical_party(package), planned=agency_id is None, now=now
    )
    return view


# --- the route engine ------------------------------------------------------------------------


def fill(
    agency_id: int,
    slug: str,
    *,
    first_date: date | None = None,
    party: Party | None = None,
    by: int | None = None,
    now: datetime | None = None,
    time_limit: float | None = None,
    max_iterations: int | None = None,
) -> dict[str, Any]:
    """Fill and order every day with the route engine (see the module docstring); the result
    is checked on ``first_date`` and its times become the planned starts. Returns the agency
    view with ``fill``: per day, the stops the engine added and the locked stops it could not
    fit (kept, shown broken by the check)."""
    from tourplanner.services.planning import BUSY_RETRY_SECONDS, planning_place

    # The engine runs up to a time limit per day: it takes a planning place like a plan, so
    # fills cannot crowd out the web workers (503 when every place is taken).
    with planning_place() as placed:
        if not placed:
            raise Unavailable(
                "Too many routes are being computed right now; try again in a few seconds.",
                code="planner_busy",
                retry_after=BUSY_RETRY_SECONDS,
            )
        return _fill(
            agency_id,
            slug,
            first_date=first_date,
            party=party,
            by=by,
            now=now,
            time_limit=time_limit,
            max_iterations=max_iterations,
        )


def _fill(
    agency_id: int,
    slug: str,
    *,
    first_date: date | None,
    party: Party | None,
    by: int | None,
    now: datetime | None,
    time_limit: float | None,
    max_iterations: int | None,
) -> dict[str, Any]:
    now = now or now_utc()
    on = _first_date(first_date, now)
    limit = time_limit if time_limit is not None else _fill_time_limit()
    report: list[dict[str, Any]] = []
    with unit_of_work() as session:
        package = _agency_package(session, agency_id, slug)
        party = party or typical_party(package)
        candidates = _candidates(session, package, party)
        used = {s.experience_id for d in package.days for s in d.stops if s.locked}
        picked = {s.experience_id for d in package.days for s in d.stops if not s.locked}
        for day in package.days:
            day_on = on + timedelta(days=day.number - 1)
            before = {s.experience_id for s in day.stops}
            locked = [s.experience for s in day.stops if s.locked]
            # The day's locked stops, and what no other day has (locked or chosen before).
            others = locked + [e for e in candidates if e.id not in used]
            order, unfit = _solve_day(
                day,
                day_on,
                party,
                package,
                locked,
                others,
                picked,
                now=now,
                time_limit=limit,
                max_iterations=max_iterations,
            )
            chosen = [*order, *unfit]
            used |= {e.id for e in chosen}
            locked_ids = {e.id for e in locked}
            day.stops.clear()
            session.flush()
            for position, e in enumerate(chosen):
                day.stops.append(
                    PackageStop(position=position, experience=e, locked=e.id in locked_ids)
                )
            session.flush()
            dropped = _repair(package, day, day_on, party, now)
            used -= {e.id for e in dropped}
            report.append(
                {
                    "number": day.number,
                    "added": [
                        s.experience.slug for s in day.stops if s.experience_id not in before
                    ],
                    "unfit_locked": [e.slug for e in unfit],
                }
            )
        session.flush()
        checks, _view = _check_package(package, on, party, planned=False, now=now)
        _store_starts(package, checks)
        _changed(session, package, "package_changed", by=by, now=now, action="fill")
    view = get_for_agency(agency_id, slug, first_date=on, party=party, now=now)
    view["fill"] = report
    return view


def _repair(
    package: Package, day: PackageDay, on: date, party: Party, now: datetime
) -> list[Experience]:
    """Drop the engine's unlocked stops that the day check breaks (the solver does not place
    lunch, which can push a workshop to a later session), last first, until none is broken.
    O(stops^2) day checks at most."""
    dropped: list[Experience] = []
    while True:
        result = _check_day(day, on, party, package.travel_mode, planned=False, now=now)
        broken = {p.experience for p in result.problems}
        victim = next(
            (s for s in reversed(day.stops) if not s.locked and s.experience.slug in broken),
            None,
        )
        if victim is None:
            return dropped
        dropped.append(victim.experience)
        day.stops.remove(victim)
        for position, stop in enumerate(day.stops):
            stop.position = position


def _fill_time_limit() -> float:
    return float(current_app.config.get("PACKAGE_FILL_TIME_LIMIT", 0.4))


def _candidates(session: Session, package: Package, party: Party) -> list[Experience]:
    """Every experience the engine may add: a village with a position, and for a workshop a
    price for everyone in the party (the party's people all take part)."""
    rows = session.scalars(
        select(Experience)
        .join(Experience.village)
        .where(Village.lat.is_not(None), Village.lon.is_not(None))
        .options(joinedload(Experience.village))
        .order_by(Experience.id)
    )
    out = []
    for e in rows:
        if e.kind == "workshop":
            prices = {
                "adult": e.price_adult_vnd,
                "child": e.price_child_vnd,
                "senior": e.price_senior_vnd,
            }
            if not e.bookable or party_price(prices, party) is None:
                continue
        out.append(e)
    return out


def _solve_day(
    day: PackageDay,
    on: date,
    party: Party,
    package: Package,
    locked: Sequence[Experience],
    candidates: Sequence[Experience],
    picked: set[int],
    *,
    now: datetime,
    time_limit: float,
    max_iterations: int | None,
) -> tuple[list[Experience], list[Experience]]:
    """One day as an OPTW: the ordered experiences, and the locked ones that could not fit."""
    sessions = _sessions(candidates, on, now)
    nodes: list[tuple[Experience, list[tuple[int, int]]]] = []
    unfit: list[Experience] = []
    for e in candidates:
        windows = _windows(e, on, sessions, party)
        if windows:
            nodes.append((e, windows))
        elif e in locked:
            unfit.append(e)
    if not nodes:
        return [], list(locked)
    points = [(day.start_lat, day.start_lon)] + [(e.village.lat, e.village.lon) for e, _ in nodes]
    from tourplanner.services.planning import travel

    inner, _km, from_start, _skm = travel(points[0], points[1:], package.travel_mode)
    travel_rows = [[0, *from_start]] + [[from_start[i], *inner[i]] for i in range(len(nodes))]
    day_start, day_end = rules.minutes(day.day_start), rules.minutes(day.day_end)
    if day.lunch and day_start < rules.LUNCH_LATEST and day_end > rules.LUNCH_FROM:
        day_end -= rules.LUNCH_MIN  # room for lunch, which the day check then places
    interests = set(package.interests or [])
    must = frozenset(k for k, (e, _w) in enumerate(nodes, start=1) if e in locked)
    problem = Problem(
        travel=travel_rows,
        service=[0] + [e.duration_minutes for e, _ in nodes],
        windows=[[(day_start, day_start)]] + [w for _e, w in nodes],
        scores=[0.0] + [_score(e, interests, picked) for e, _ in nodes],
        start=0,
        end=0,
        day_start=day_start,
        day_end=max(day_start, day_end),
        must_visit=must,
        max_stops=max(FILL_MAX_STOPS, len(must)),
        finish_within_window=True,
        names=["start"] + [e.slug for e, _ in nodes],
        travel_weight=TRAVEL_WEIGHT,
        min_stops=1,
    )
    while True:
        try:
            solution = solve(problem, time_limit=time_limit, seed=0, max_iterations=max_iterations)
            break
        except MustVisitInfeasible as exc:
            # The locked stops that do not fit stay on the day; the check shows why.
            dropped = set(exc.nodes) or set(problem.must_visit)
            unfit += [nodes[k - 1][0] for k in sorted(dropped)]
            problem = _without_must(problem, dropped)
    order = [nodes[k - 1][0] for k in (solution.tours[0] if solution.tours else [])]
    unfit_sorted = [e for e in locked if e in unfit]
    return order, unfit_sorted


def _without_must(problem: Problem, dropped: set[int]) -> Problem:
    from dataclasses import replace

    return replace(
        problem,
        must_visit=problem.must_visit - dropped,
        excluded=problem.excluded | dropped,
    )


def _windows(
    e: Experience, on: date, sessions: dict[int, tuple[rules.Session, ...]], party: Party
) -> list[tuple[int, int]]:
    """Solver windows of ``e`` on ``on``: each session with places for the party (service
    starts at its start), or the opening windows of a visit."""
    if e.kind == "workshop":
        return [
            (s.start, s.start + e.duration_minutes)
            for s in sessions.get(e.id, ())
            if s.remaining >= party.size
        ]
    return [
        (a.hour * 60 + a.minute, b.hour * 60 + b.minute)
        for a, b in windows_on(e.weekly_hours or {}, e.closed_dates or [], on)
    ]


def _score(e: Experience, interests: set[str], picked: set[int]) -> float:
    score = SCORE_INTEREST if not interests or e.village.category in interests else SCORE_OTHER
    if e.id in picked:
        score += SCORE_PICKED
    if e.kind == "workshop":
        score += SCORE_WORKSHOP
    return score


# --- publishing ------------------------------------------------------------------------------


def publish(
    agency_id: int, slug: str, *, by: int | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Publish a draft (or a withdrawn package): every day needs a stop, and the package a
    retail price per adult. Its public page and calendar go live."""
    now = now or now_utc()
    with unit_of_work() as session:
        package = _agency_package(session, agency_id, slug)
        empty = [d.number for d in package.days if not d.stops]
        if empty:
            raise Unprocessable(
                "every day needs at least one stop", code="package_incomplete", empty_days=empty
            )
        if _prices(package).retail["adult"] is None:
            raise Unprocessable(
                "the package has no retail price per adult", code="package_not_priced"
            )
        package.status = "published"
        package.published_at = package.published_at or now
        _changed(session, package, "package_published", by=by, now=now)
    return get_for_agency(agency_id, slug, now=now)


def withdraw(
    agency_id: int, slug: str, *, by: int | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Take a published package off sale: its public page is gone; bookings made stay."""
    now = now or now_utc()
    with unit_of_work() as session:
        package = _agency_package(session, agency_id, slug)
        if package.status != "published":
            raise Conflict("only a published package can be withdrawn", code="not_published")
        package.status = "withdrawn"
        _changed(session, package, "package_withdrawn", by=by, now=now)
    return get_for_agency(agency_id, slug, now=now)


# --- the public side -------------------------------------------------------------------------


def list_published() -> list[dict[str, Any]]:
    """Published packages, samples last, then by name."""
    rows = db.session.scalars(
        select(Package)
        .where(Package.status == "published")
        .options(*_WHOLE_PACKAGE)
        .join(Package.agency)
        .where(Agency.active.is_(True))
        .order_by(Package.is_sample, Package.name_vi, Package.id)
    )
    return [_summary(p, for_agency=False) for p in rows]


def get_published(slug: str) -> dict[str, Any]:
    """A published package as the public sees it: retail prices only."""
    return _public_view(_load(db.session, slug, agency_id=None, public=True))


def run_dates(
    slug: str,
    party: Party,
    start: date,
    end: date,
    *,
    agency_id: int | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """The first dates in ``[start, end]`` (at most :data:`MAX_RUN_DATE_RANGE` days, inside
    the booking horizon) on which the package runs for ``party``: every planned session of
    every day open with places for the party, no visit closed. Each with the party's retail
    price and the fewest places left over its sessions."""
    now = now or now_utc()
    first, last = availability.horizon(now)
    if end < start:
        raise ValidationError("to: on or after from", code="invalid_range", field="to")
    if (end - start).days + 1 > MAX_RUN_DATE_RANGE:
        raise ValidationError(
            f"at most {MAX_RUN_DATE_RANGE} days at once",
            code="range_too_long",
            field="to",
            max_days=MAX_RUN_DATE_RANGE,
        )
    package, prices = priced_package(slug, party, agency_id=agency_id, public=agency_id is None)
    out: list[dict[str, Any]] = []
    # The last first date whose last day is still inside the horizon (no date arithmetic
    # past it: a range near date.max must not overflow).
    latest = min(end, last - timedelta(days=len(package.days) - 1))
    day = max(start, first)
    memo = _Memo([s.experience for d in package.days for s in d.stops], now)
    while day <= latest:
        checks, _view = _check_package(package, day, party, planned=True, now=now, memo=memo)
        if all(c.ok for c in checks) and all(d.stops for d in package.days):
            left = [t.places_left for c in checks for t in c.stops if t.places_left is not None]
            out.append(
                {
                    "date": day.isoformat(),
                    "retail_total_vnd": prices["retail_vnd"],
                    "places_left": min(left) if left else None,
                }
            )
        day += timedelta(days=1)
    return out


def priced_package(
    slug: str, party: Party, *, agency_id: int | None = None, public: bool = True
) -> tuple[Package, dict[str, int]]:
    """The package ``slug`` (the agency's own, or a published one when ``public``; else 404)
    and the party's retail, net and commission totals. A category of the party without a
    price: 422 ``package_not_priced``."""
    package = _load(db.session, slug, agency_id=agency_id, public=public)
    totals = _prices(package).party_totals(party)
    if totals is None:
        raise Unprocessable(
            "the package has no price for every person in the party",
            code="package_not_priced",
            party=party.as_dict(),
        )
    return package, totals


def booking_plan(
    slug: str,
    first_date: date,
    party: Party,
    *,
    agency_id: int | None = None,
    now: datetime | None = None,
) -> BookingPlan:
    """The sessions a booking of ``slug`` from ``first_date`` for ``party`` takes, with its
    prices. The agency plans its own package (drafts too); anyone else a published one.
    Not runnable that date: 409 ``package_not_runnable`` with the problems; a category of
    the party without a price: 422 ``package_not_priced``."""
    now = now or now_utc()
    first_date = _first_date(first_date, now)
    # The agency's own package (a draft too), or a published one.
    package, totals = priced_package(slug, party, agency_id=agency_id)
    checks, view = _check_package(package, first_date, party, planned=True, now=now)
    if not view["ok"]:
        raise Conflict(
            "this package cannot run on that date",
            code="package_not_runnable",
            date=first_date.isoformat(),
            problems=view["problems"],
        )
    items: list[ItemRequest] = []
    labels: dict[int, str] = {}
    for day, result in zip(package.days, checks, strict=True):
        for stop, timed in zip(day.stops, result.stops, strict=True):
            if timed.slot_id is None:
                continue  # a visit: nothing to reserve
            items.append(ItemRequest(timed.slot_id, party))
            labels[timed.slot_id] = (
                f"Day {day.number} · {stop.experience.title_en} · {rules.hhmm(timed.start)}"
            )
    return BookingPlan(
        package_id=package.id,
        agency_id=package.agency_id,
        slug=package.slug,
        first_date=first_date,
        items=tuple(items),
        labels=labels,
        retail_total_vnd=totals["retail_vnd"],
        net_total_vnd=totals["net_vnd"],
        commission_vnd=totals["commission_vnd"],
    )


# --- demo data -------------------------------------------------------------------------------

#: The sample package: two days over six villages, east and south of the city on day 1, west
#: on day 2, each day from Hoàn Kiếm Lake (the stops are fixed: the seed does not depend on
#: the solver's search).
SAMPLE_PACKAGE: dict[str, Any] = {
    "name_vi": "Hai ngày làng nghề quanh Hà Nội (mẫu)",
    "name_en": "Two craft-village days around Hanoi (sample)",
    "description_vi": (
        "Gói mẫu: thêu Quất Động, tò he Xuân La và nón Chuông ngày đầu; tranh Kim Hoàng, "
        "lụa Vạn Phúc và mây tre Phú Vinh ngày sau."
    ),
    "description_en": (
        "Sample package: Quất Động embroidery, Xuân La tò he and Chuông conical hats on day "
        "1; Kim Hoàng folk painting, Vạn Phúc silk and Phú Vinh bamboo weaving on day 2."
    ),
    "included_vi": "Các buổi trải nghiệm tại làng, xe đưa đón từ Hồ Hoàn Kiếm.",
    "included_en": "The village workshops, transport from Hoàn Kiếm Lake.",
    "days": 2,
    "travel_mode": "car",
    "interests": [],
    "party": {"adults": 2, "children": 1, "seniors": 0},
    "markup_kind": "percent",
    "markup_bp": 2500,
    "start": {"landmark": "hoan-kiem-lake"},
    "day_start": "07:30",
    "day_end": "18:30",
    "lunch": True,
}
SAMPLE_STOPS: dict[int, tuple[str, ...]] = {
    1: (
        "quat-dong-workshop-embroidery",
        "xuan-la-workshop-to-he",
        "lang-chuong-workshop-conical-hat",
    ),
    2: (
        "kim-hoang-workshop-folk-painting",
        "van-phuc-workshop-silk-weaving",
        "phu-vinh-workshop-bamboo-weaving",
    ),
}


def seed_demo_package(agency_id: int, *, now: datetime | None = None) -> str:
    """The sample agency's published 2-day package (``is_sample``); a second seed keeps it."""
    existing = db.session.scalars(
        select(Package).where(Package.agency_id == agency_id, Package.is_sample.is_(True))
    ).first()
    if existing is not None:
        return existing.slug
    now = now or now_utc()
    slug = create(agency_id, SAMPLE_PACKAGE, now=now)["slug"]
    for number, stops in SAMPLE_STOPS.items():
        set_stops(
            agency_id,
            slug,
            number,
            [{"experience": s, "locked": True} for s in stops],
            first_date=_sample_date(now),
            now=now,
        )
    with unit_of_work() as session:
        package = _agency_package(session, agency_id, slug)
        package.is_sample = True
    publish(agency_id, slug, now=now)
    return slug


def _sample_date(now: datetime) -> date:
    """A Saturday soon (every sample workshop has sessions on Saturdays and Sundays)."""
    day = local_today(now) + timedelta(days=2)
    return day + timedelta(days=(5 - day.weekday()) % 7)
