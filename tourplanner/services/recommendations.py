"""Recommendations: the city's tour routes and the agencies' packages ranked for a tourist's
request, and the villages that combine well with a village.

**Routes and packages for a request** (:func:`rank`; the plan page shows them beside the
planner's own itinerary). Each published route and published package is judged on three things:

* *interest match* (0-1): the mean interest weight of the crafts it serves (the office's or the
  agency's named crafts and its villages' crafts), with crafts the request does not name
  counting 0; with no interests named every craft counts 1. A candidate matching nothing the
  tourist named is not recommended;
* *feasible that date for the party*: every stop has, on its day (the date, the next date for
  a second day), an opening window (a visit) or a session with places for the whole party and
  a price for each of its age groups (a workshop; children count as under 16 for an adults-only
  one). A stop without a chosen experience is feasible when any of its village's experiences is.
  Past dates are not checked;
* *travel time from the start* to the first stop, in the request's mode (the route engine's
  travel-time provider).

Score = 2 if feasible + interest match - minutes from the start / 240 (a feasible candidate
always ranks above an infeasible one; an hour's extra drive costs a quarter of a perfect
match). Each recommendation carries its reason in Vietnamese and English.

**Villages that combine well** (:func:`combine_well`, on each village page): villages with a
position and an experience, at most :data:`COMBINE_MINUTES` by car away, open on at least one
same weekday, nearest first, each said to share the craft or to add another one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import force_locale, format_date, gettext, ngettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from tourplanner.adapters.orm import Experience, Village
from tourplanner.domain.availability import LOCAL_TZ
from tourplanner.domain.catalogue import WEEKDAYS, windows_on
from tourplanner.domain.errors import NotFound
from tourplanner.domain.planning import ADULT_ONLY_AGE
from tourplanner.domain.pricing import Party, party_price
from tourplanner.domain.tour_routes import LENGTH_DAYS
from tourplanner.extensions import db
from tourplanner.services import catalogue, planning, route_plans, tour_routes

LANGS = ("vi", "en")
#: How many recommendations the plan page shows.
LIMIT = 3
#: Minutes of extra drive that cost a whole interest point.
MINUTES_PER_POINT = 240
FEASIBLE_BONUS = 2.0
COMBINE_MINUTES = 40
COMBINE_LIMIT = 5
COMBINE_MODE = "car"


@dataclass(frozen=True)
class CandidateStop:
    day: int
    village: Village
    experience: Experience | None = None


@dataclass
class Candidate:
    """A published route or package, as the ranking sees it."""

    kind: str  # "route" | "package"
    slug: str
    name: dict[str, str]
    stops: list[CandidateStop]
    crafts: list[str]
    is_sample: bool = False
    length: str | None = None


@dataclass
class Recommendation:
    kind: str
    slug: str
    name: dict[str, str]
    is_sample: bool
    interest: float
    matched: list[str]
    feasible: bool | None
    blocked: list[dict[str, Any]]
    minutes: int | None
    score: float
    reason: dict[str, str] = field(default_factory=dict)
    length: str | None = None


@dataclass(frozen=True)
class Ask:
    """What a request says that the ranking needs (from a live or a stored plan request)."""

    day: date
    party: Party
    interests: Mapping[str, float]
    mode: str
    start: tuple[float, float]
    start_name: dict[str, str]


# --- candidates -----------------------------------------------------------------------------


def _route_candidates() -> list[Candidate]:
    return [
        Candidate(
            "route",
            r.slug,
            {"vi": r.name_vi, "en": r.name_en},
            [CandidateStop(s.day, s.village, s.experience) for s in r.stops],
            route_plans.categories(r),
            r.is_sample,
            r.length,
        )
        for r in tour_routes.published_routes()
    ]


def _package_candidates() -> list[Candidate]:
    """Published packages, through ``services.packages``' public views (their experiences are
    then read for the day check)."""
    views = tour_routes.published_packages()
    slugs = {s["experience"] for v in views for d in v.get("days") or [] for s in d["stops"]}
    stmt = (
        select(Experience)
        .where(Experience.slug.in_(slugs))
        .options(selectinload(Experience.village).selectinload(Village.experiences))
    )
    experiences = {e.slug: e for e in db.session.scalars(stmt)} if slugs else {}
    out = []
    for view in views:
        stops = [
            CandidateStop(
                int(d["number"]), experiences[s["experience"]].village, experiences[s["experience"]]
            )
            for d in view.get("days") or []
            for s in d["stops"]
            if s["experience"] in experiences
        ]
        crafts = list(view.get("interests") or [])
        crafts += [s.village.category for s in stops if s.village.category not in crafts]
        name = view.get("name") or {}
        length = "two_days" if len(view.get("days") or []) > 1 else "day"
        if stops:
            out.append(
                Candidate(
                    "package",
                    view["slug"],
                    {"vi": name.get("vi") or "", "en": name.get("en") or ""},
                    stops,
                    crafts,
                    bool(view.get("is_sample")),
                    length,
                )
            )
    return out


# --- judging --------------------------------------------------------------------------------


def interest_match(
    crafts: Sequence[str], interests: Mapping[str, float]
) -> tuple[float, list[str]]:
    """Mean weight of the crafts (unnamed ones 0; no interests: 1) and the crafts matched."""
    if not crafts:
        return 0.0, []
    if not interests:
        return 1.0, list(crafts)
    matched = [c for c in crafts if interests.get(c, 0) > 0]
    return sum(interests.get(c, 0.0) for c in crafts) / len(crafts), matched


def _experience_problem(
    e: Experience, day: date, party: Party, slots: Mapping[int, list]
) -> str | None:
    """Why the party cannot do ``e`` on ``day`` (None: it can)."""
    if party.children and e.min_age is not None and e.min_age >= ADULT_ONLY_AGE:
        return "adults_only"
    if e.kind != "workshop":
        return None if windows_on(e.weekly_hours, e.closed_dates, day) else "closed"
    if not e.bookable:
        return "not_bookable"
    prices = {"adult": e.price_adult_vnd, "child": e.price_child_vnd, "senior": e.price_senior_vnd}
    if party_price(prices, party) is None:
        return "no_price_for_party"
    sessions = slots.get(e.id) or []
    if not sessions:
        return "closed"
    return None if any(s.remaining >= party.size for s in sessions) else "full"


def _stop_problem(
    stop: CandidateStop, day: date, party: Party, slots: Mapping[int, list]
) -> str | None:
    if stop.experience is not None:
        return _experience_problem(stop.experience, day, party, slots)
    problems = [_experience_problem(e, day, party, slots) for e in stop.village.experiences]
    if not problems or all(problems):
        return next((p for p in problems if p), "closed")
    return None


def _slots(
    candidates: Sequence[Candidate], first: date, now: datetime
) -> dict[date, dict[int, list]]:
    """The sessions of every workshop the candidates may use, per day (one call per day)."""
    wanted: dict[date, set[int]] = {}
    for c in candidates:
        for s in c.stops:
            exps = [s.experience] if s.experience else list(s.village.experiences)
            ids = {e.id for e in exps if e.kind == "workshop" and e.bookable}
            wanted.setdefault(first + timedelta(days=s.day - 1), set()).update(ids)
    provider = planning.slots_provider()
    return {day: provider(sorted(ids), day, now=now) if ids else {} for day, ids in wanted.items()}


def _blocked(
    c: Candidate, ask: Ask, slots: Mapping[date, Mapping[int, list]]
) -> list[dict[str, Any]]:
    out = []
    for s in c.stops:
        day = ask.day + timedelta(days=s.day - 1)
        problem = _stop_problem(s, day, ask.party, slots.get(day, {}))
        if problem:
            out.append({"village": s.village, "day": s.day, "why": problem})
    return out


def _minutes_from_start(candidates: Sequence[Candidate], ask: Ask) -> list[int | None]:
    firsts = [
        next((s.village for s in c.stops if s.village.has_position), None) for c in candidates
    ]
    points = [(v.lat, v.lon) for v in firsts if v is not None]
    if not points:
        return [None] * len(candidates)
    minutes, _km = route_plans.travel([ask.start, *points], ask.mode)
    out, k = [], 0
    for v in firsts:
        if v is None:
            out.append(None)
        else:
            k += 1
            out.append(round(minutes[0][k]))
    return out


def score(feasible: bool | None, interest: float, minutes: int | None) -> float:
    """The ranking score (see the module text); an unchecked date counts as feasible."""
    bonus = FEASIBLE_BONUS if feasible is not False else 0.0
    return round(bonus + interest - (minutes or 0) / MINUTES_PER_POINT, 4)


# --- the words ------------------------------------------------------------------------------


def _craft(code: str) -> str:
    from tourplanner.labels import CATEGORY_LABELS

    return str(CATEGORY_LABELS.get(code, code)).lower()


def _problem_words(code: str) -> str:
    words = {
        "closed": gettext("closed that day"),
        "full": gettext("no session with places for your party"),
        "adults_only": gettext("adults only"),
        "not_bookable": gettext("not taking bookings"),
        "no_price_for_party": gettext("no price for every age in your party"),
    }
    return words.get(code, code)


def _sentence(parts: Sequence[str]) -> str:
    text = "; ".join(p for p in parts if p)
    return text[:1].upper() + text[1:] + "." if text else ""


def _reason(r: Recommendation, c: Candidate, ask: Ask, lang: str) -> str:
    crafts = ", ".join(_craft(x) for x in (r.matched if ask.interests else c.crafts))
    parts = [
        gettext("matches your interests: %(crafts)s", crafts=crafts)
        if ask.interests
        else gettext("crafts on the way: %(crafts)s", crafts=crafts)
    ]
    when = format_date(ask.day, "full")
    if r.feasible:
        parts.append(
            ngettext(
                "open on %(date)s with places for %(num)s person",
                "open on %(date)s with places for %(num)s people",
                ask.party.size,
                date=when,
            )
        )
    elif r.feasible is False:
        why = ", ".join(
            f"{b['village'].name(lang)} ({_problem_words(b['why'])})" for b in r.blocked
        )
        parts.append(gettext("not possible on %(date)s: %(why)s", date=when, why=why))
    first = next((s.village for s in c.stops if s.village.has_position), None)
    if r.minutes is not None and first is not None:
        from tourplanner.labels import MODE_LABELS

        parts.append(
            gettext(
                "%(minutes)s min by %(mode)s from %(start)s to %(village)s",
                minutes=r.minutes,
                mode=str(MODE_LABELS.get(ask.mode, ask.mode)).lower(),
                start=ask.start_name.get(lang) or ask.start_name.get("vi", ""),
                village=first.name(lang),
            )
        )
    return _sentence(parts)


# --- ranking --------------------------------------------------------------------------------


def rank(ask: Ask, *, now: datetime | None = None, limit: int = LIMIT) -> list[Recommendation]:
    """Published routes and packages for the request, best first (see the module text)."""
    now = (now or datetime.now(LOCAL_TZ)).astimezone(LOCAL_TZ)
    candidates = []
    for c in [*_route_candidates(), *_package_candidates()]:
        interest, matched = interest_match(c.crafts, ask.interests)
        if interest > 0:
            candidates.append((c, interest, matched))
    if not candidates:
        return []
    check = ask.day >= now.date()
    slots = _slots([c for c, _i, _m in candidates], ask.day, now) if check else {}
    minutes = _minutes_from_start([c for c, _i, _m in candidates], ask)
    out = []
    for (c, interest, matched), mins in zip(candidates, minutes, strict=True):
        blocked = _blocked(c, ask, slots) if check else []
        feasible = (not blocked) if check else None
        r = Recommendation(
            c.kind,
            c.slug,
            c.name,
            c.is_sample,
            round(interest, 3),
            matched,
            feasible,
            blocked,
            mins,
            score(feasible, interest, mins),
            length=c.length,
        )
        out.append((r, c))
    out.sort(key=lambda rc: (-rc[0].score, rc[0].name["vi"]))
    chosen = out[:limit]
    for r, c in chosen:
        for lang in LANGS:
            with force_locale(lang):
                r.reason[lang] = _reason(r, c, ask, lang)
    return [r for r, _c in chosen]


def ask_from_stored(request: Mapping[str, Any]) -> Ask:
    """The ranking's view of a saved plan's request (``Plan.request``)."""
    point = request.get("start_point") or {}
    return Ask(
        day=date.fromisoformat(request["date"]),
        party=Party.from_mapping(request.get("party") or {"adults": 1}),
        interests={k: float(v) for k, v in (request.get("interests") or {}).items()},
        mode=request.get("mode") or "car",
        start=(point.get("lat"), point.get("lon")),
        start_name={"vi": point.get("name_vi") or "", "en": point.get("name_en") or ""},
    )


def for_request(
    data: object, *, now: datetime | None = None, limit: int = LIMIT
) -> list[Recommendation]:
    """Recommendations for a plan request as the planner takes it (validated the same way)."""
    now = (now or datetime.now(LOCAL_TZ)).astimezone(LOCAL_TZ)
    request = planning.parse_request(data, now.date())
    start = planning.resolve_start(request)
    ask = Ask(
        request.day,
        request.party,
        request.interests,
        request.mode,
        (start.lat, start.lon),
        {"vi": start.name_vi, "en": start.name_en},
    )
    return rank(ask, now=now, limit=limit)


def _route_note(plan_row: Any, route_slug: str | None, day: int) -> dict[str, Any] | None:
    """What the plan page says about the route it was planned from (None: not from a route)."""
    if not route_slug:
        return None
    try:
        route = tour_routes.get_published(route_slug)
    except NotFound:  # a withdrawn or unknown route: the plan stands on its own
        return None
    itineraries = plan_row.result.get("itineraries") or []
    note = route_plans.order_note(route, itineraries[0] if itineraries else {}, day)
    by_slug = {s.village.slug: s.village for s in route.stops}
    next_day = None
    if day < LENGTH_DAYS.get(route.length, 1):
        next_day = (date.fromisoformat(plan_row.request["date"]) + timedelta(days=1)).isoformat()
    return {
        "route": route,
        "day": day,
        "reordered": note["reordered"],
        "missing": [by_slug[v] for v in note["missing"]],
        "next_day": next_day,
    }


def plan_context(
    plan_row: Any, *, route_slug: str | None = None, day: int = 1, now: datetime | None = None
) -> dict[str, Any]:
    """The plan page's recommendations and, when planned from a route, the note about it."""
    return {
        "recommendations": rank(ask_from_stored(plan_row.request), now=now),
        "route_note": _route_note(plan_row, route_slug, day),
    }


# --- villages that combine well -------------------------------------------------------------


def open_days(village: Village) -> set[str]:
    """Weekdays on which any of the village's experiences has opening hours."""
    return {
        d for e in village.experiences for d, windows in (e.weekly_hours or {}).items() if windows
    }


def _days_words(days: set[str]) -> str:
    from tourplanner.labels import WEEKDAY_LABELS

    if len(days) == len(WEEKDAYS):
        return gettext("every day")
    return ", ".join(str(WEEKDAY_LABELS[d]) for d in WEEKDAYS if d in days)


def _village_craft(village: Village) -> str:
    """The craft's label; for the catch-all category, the village's own first craft."""
    if village.category == "other" and village.crafts:
        return village.crafts[0]
    return _craft(village.category)


def _combine_reason(minutes: int, same: bool, other: Village, days: set[str]) -> str:
    from tourplanner.labels import MODE_LABELS

    parts = [
        gettext(
            "%(minutes)s min by %(mode)s",
            minutes=minutes,
            mode=str(MODE_LABELS[COMBINE_MODE]).lower(),
        ),
        gettext("open the same days: %(days)s", days=_days_words(days)),
        gettext("the same craft: %(craft)s", craft=_village_craft(other))
        if same
        else gettext("another craft: %(craft)s", craft=_village_craft(other)),
    ]
    return _sentence(parts)


def combine_well(village: Village, *, limit: int = COMBINE_LIMIT) -> list[dict[str, Any]]:
    """Villages close by car, open on a same weekday, nearest first (see the module text)."""
    if not village.has_position:
        return []
    mine = open_days(village)
    others = [v for v in catalogue.plannable_villages() if v.id != village.id]
    if not others or not mine:
        return []
    minutes, km = route_plans.travel(
        [(village.lat, village.lon), *[(v.lat, v.lon) for v in others]], COMBINE_MODE
    )
    out = []
    for k, other in enumerate(others, start=1):
        common = mine & open_days(other)
        m = round(minutes[0][k])
        if common and m <= COMBINE_MINUTES:
            out.append(
                {
                    "village": other,
                    "minutes": m,
                    "km": round(km[0][k], 1),
                    "same_craft": other.category == village.category,
                    "days": common,
                }
            )
    out.sort(key=lambda x: (x["minutes"], x["village"].slug))
    for item in out[:limit]:
        item["reason"] = {}
        for lang in LANGS:
            with force_locale(lang):
                item["reason"][lang] = _combine_reason(
                    item["minutes"], item["same_craft"], item["village"], item["days"]
                )
    return out[:limit]


def village_page(village: Village) -> dict[str, Any]:
    """A village page's routes through the village and villages that combine well with it."""
    return {
        "routes_through": tour_routes.routes_through(village.id),
        "combine_well": combine_well(village),
    }
