"""Plan a day trip: catalogue + availability + travel times -> solver -> saved itineraries.

:func:`create_plan` validates the request (``domain/planning.py``), resolves the start point
(landmark, coordinates or a geocoded address), offers every experience open on the date to the
party at its price, builds a :class:`~tourplanner.routing.Problem` (node 0 is the start, which is
also the end; ticks are minutes since midnight in Hanoi), solves it with the route engine and
saves the result in ``plans`` under a short random id.

Workshops are planned only into a slot with enough free places for the whole party: their
windows are the slot start times (``(start, start + duration)`` with ``finish_within_window``,
so service starts exactly at the slot start). Visits use the catalogue's opening hours and
have no slot. A request with nothing open, or a must-include that cannot fit, returns an empty
or partial result with a ``reason`` instead of an error.
"""

from __future__ import annotations

import secrets
import threading
import time as clock
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from tourplanner import metrics
from tourplanner.adapters.orm import Experience, Landmark, Plan, Village
from tourplanner.domain.catalogue import windows_on
from tourplanner.domain.errors import NotFound, Unavailable, Unprocessable, ValidationError
from tourplanner.domain.planning import (
    ExperienceFacts,
    Offer,
    PlanRequest,
    bad,
    in_hanoi,
    make_offer,
    parse_request,
)
from tourplanner.extensions import db
from tourplanner.routing import MustVisitInfeasible, Problem, Solution, solve
from tourplanner.services import plan_text
from tourplanner.services.catalogue import catalogue_version
from tourplanner.services.geocoding import locate
from tourplanner.services.unit_of_work import unit_of_work

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
SLOTS_KEY = "tourplanner.slots_for_day"
TRAVEL_KEY = "tourplanner.travel_cache"
#: Seconds a client is told to wait when every planning place is taken.
BUSY_RETRY_SECONDS = 5
_SEMAPHORES_KEY = "tourplanner.plan_semaphore"
_semaphores_lock = threading.Lock()
SlotsForDay = Callable[..., dict[int, list[Any]]]


@dataclass(frozen=True)
class StartPoint:
    lat: float
    lon: float
    name_vi: str
    name_en: str
    landmark: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "lat": self.lat,
            "lon": self.lon,
            "name_vi": self.name_vi,
            "name_en": self.name_en,
            "landmark": self.landmark,
        }


@dataclass
class Node:
    """One experience offered to the party on the date, with its windows and map data."""

    offer: Offer
    exp: Experience
    windows: list[tuple[int, int]]
    slots: dict[int, int] = field(default_factory=dict)  # start minute -> slot id
    point: int = 0  # index into the village points


@dataclass
class Stats:
    """Where the time of one request went (read by the latency benchmark)."""

    solver_seconds: float = 0.0
    total_seconds: float = 0.0
    solves: int = 0
    nodes: int = 0


# --- entry points ----------------------------------------------------------------------


def create_plan(
    data: object, *, now: datetime | None = None, stats: Stats | None = None
) -> tuple[str, dict[str, Any]]:
    """Validate, plan and save. Returns ``(plan id, result)``; raises 4xx domain errors, and
    503 (:class:`Unavailable`) when this process already computes ``PLAN_CONCURRENCY`` plans."""
    with planning_place() as placed:
        if not placed:
            raise Unavailable(
                "Too many plans are being computed right now; try again in a few seconds.",
                code="planner_busy",
                retry_after=BUSY_RETRY_SECONDS,
            )
        return _create_plan(data, now=now, stats=stats)


def _semaphore(app: Any) -> threading.BoundedSemaphore:
    """One semaphore per app (per process), sized by PLAN_CONCURRENCY."""
    semaphore = app.extensions.get(_SEMAPHORES_KEY)
    if semaphore is None:
        with _semaphores_lock:
            semaphore = app.extensions.get(_SEMAPHORES_KEY)
            if semaphore is None:
                size = max(1, int(app.config.get("PLAN_CONCURRENCY", 2)))
                semaphore = app.extensions[_SEMAPHORES_KEY] = threading.BoundedSemaphore(size)
    return semaphore


@contextmanager
def planning_place() -> Iterator[bool]:
    """Take one of the PLAN_CONCURRENCY places of this process without waiting.

    Yields False when every place is taken. Planning is CPU-bound (the solver runs for up
    to its time limit): waiting in line would only hold web workers, so a busy process says
    503 at once and the client retries, while catalogue and booking requests keep their
    workers.
    """
    semaphore = _semaphore(current_app._get_current_object())  # type: ignore[attr-defined]
    acquired = semaphore.acquire(blocking=False)
    try:
        yield acquired
    finally:
        if acquired:
            semaphore.release()


def _create_plan(
    data: object, *, now: datetime | None, stats: Stats | None
) -> tuple[str, dict[str, Any]]:
    began = clock.perf_counter()
    stats = stats if stats is not None else Stats()
    now = (now or datetime.now(HANOI)).astimezone(HANOI)
    request = parse_request(data, now.date())
    start = resolve_start(request)
    result = plan(request, start, now=now, stats=stats)
    plan_id = secrets.token_urlsafe(9)
    stored = {**request.as_dict(), "start_point": start.as_dict()}
    with unit_of_work() as session:
        session.add(Plan(id=plan_id, request=stored, result=result))
    stats.total_seconds = clock.perf_counter() - began
    metrics.PLAN_SOLVER_SECONDS.observe(stats.solver_seconds)
    return plan_id, result


def request_errors(data: object, *, now: datetime | None = None) -> list[ValidationError]:
    """Every refused field of a plan request (see ``domain.planning.request_errors``)."""
    from tourplanner.domain.planning import request_errors as check

    return check(data, (now or datetime.now(HANOI)).astimezone(HANOI).date())


def get_plan(plan_id: str) -> Plan:
    plan_row = db.session.get(Plan, plan_id) if len(plan_id) <= 32 else None
    if plan_row is None:
        raise NotFound(f"no plan {plan_id!r}", code="plan_not_found", id=plan_id)
    return plan_row


def resolve_start(request: PlanRequest) -> StartPoint:
    """Coordinates of the start: a landmark, a map point or a geocoded address (Hanoi only)."""
    given = request.start
    if given.landmark:
        landmark = db.session.scalar(select(Landmark).where(Landmark.slug == given.landmark))
        if landmark is None:
            raise bad(
                "start.landmark",
                f"unknown landmark {given.landmark!r}",
                code="unknown_landmark",
                slug=given.landmark,
            )
        return StartPoint(
            landmark.lat, landmark.lon, landmark.name_vi, landmark.name_en, landmark.slug
        )
    if given.address:
        lat, lon = locate(given.address)
        label = given.address
        field_name = "start.address"
    else:
        lat, lon, label, field_name = given.lat, given.lon, "", "start"  # type: ignore[assignment]
        label = f"{lat:.5f}, {lon:.5f}"
    if not in_hanoi(lat, lon):
        raise Unprocessable(
            "the start point is outside the Hanoi area: pick a landmark or a "
            "point on the map in Hanoi",
            code="start_outside_area",
            field=field_name,
            lat=lat,
            lon=lon,
        )
    return StartPoint(lat, lon, label, label)


def plan(
    request: PlanRequest, start: StartPoint, *, now: datetime, stats: Stats | None = None
) -> dict[str, Any]:
    """The itineraries for a validated request (not saved)."""
    stats = stats if stats is not None else Stats()
    experiences = _load_experiences()
    must_ids, exclude_ids = _resolve_slugs(request, experiences)
    nodes, dropped = _offers(request, experiences, exclude_ids, must_ids, now)
    stats.nodes = len(nodes)
    if not nodes:
        return {"itineraries": [], "reason": plan_text.reason("nothing_open", request)}
    builder = _Builder(request, start, nodes)
    musts, reason = _must_nodes(request, nodes, must_ids, experiences, dropped)
    solution, musts, late = _solve(builder, musts, stats)
    reason = reason or late
    limit = request.travel_limit
    # The solver keeps every tour within the limit; this only guards the promise made to
    # the tourist ("every itinerary stays within max_travel_minutes").
    itineraries = [
        builder.itinerary(s)
        for s in builder.distinct([solution, *solution.alternatives])
        if s.tours[0] and sum(s.travel) <= limit
    ]
    result: dict[str, Any] = {"itineraries": itineraries}
    if reason:
        result["reason"] = reason
    elif not itineraries:
        nearest = builder.nearest_round_trip()
        if nearest > limit:
            result["reason"] = plan_text.reason(
                "travel_limit", request, limit=limit, nearest_round_trip=nearest
            )
        else:
            result["reason"] = plan_text.reason("nothing_fits", request)
    return result


# --- catalogue, slugs and offers --------------------------------------------------------


def _load_experiences() -> list[Experience]:
    """Experiences of villages with a sourced position: a village whose position is not known
    (data 1.2: lat/lon NULL) is never planned, never given a made-up point."""
    return list(
        db.session.scalars(
            select(Experience)
            .join(Experience.village)
            .where(Village.lat.is_not(None), Village.lon.is_not(None))
            .options(joinedload(Experience.village))
            .order_by(Experience.id)
        )
    )


def _resolve_slugs(
    request: PlanRequest, experiences: Sequence[Experience]
) -> tuple[dict[str, set[int]], set[int]]:
    """Map must-include / exclude slugs (village or experience) to experience ids."""
    by_slug: dict[str, set[int]] = {}
    for e in experiences:
        by_slug.setdefault(e.slug, set()).add(e.id)
        by_slug.setdefault(e.village.slug, set()).add(e.id)
    must: dict[str, set[int]] = {}
    for name, slugs in (("must_include", request.must_include), ("exclude", request.exclude)):
        for slug in slugs:
            if slug not in by_slug:
                raise bad(
                    name, f"no village or experience {slug!r}", code="unknown_slug", slug=slug
                )
            if name == "must_include":
                must[slug] = by_slug[slug]
    excluded = {i for slug in request.exclude for i in by_slug[slug]}
    return must, excluded


def _facts(e: Experience) -> ExperienceFacts:
    return ExperienceFacts(
        id=e.id,
        slug=e.slug,
        village=e.village.slug,
        category=e.village.category,
        kind=e.kind,
        duration=e.duration_minutes,
        prices={
            "adult": e.price_adult_vnd,
            "child": e.price_child_vnd,
            "senior": e.price_senior_vnd,
        },
        price_fact=e.price_fact,
        min_age=e.min_age,
        bookable=e.bookable,
    )


def _offers(
    request: PlanRequest,
    experiences: Sequence[Experience],
    excluded: set[int],
    must_ids: dict[str, set[int]],
    now: datetime,
) -> tuple[list[Node], dict[int, str]]:
    """Nodes for every experience open that day for the party; and why others were dropped."""
    wanted = {i for ids in must_ids.values() for i in ids}
    slots = _slots(request, [e for e in experiences if e.bookable and e.id not in excluded], now)
    nodes: list[Node] = []
    dropped: dict[int, str] = {}
    for e in experiences:
        if e.id in excluded:
            continue
        offer, why = make_offer(_facts(e), request, must=e.id in wanted)
        if offer is None:
            dropped[e.id] = why or "not_offered"
            continue
        node = _node(offer, e, request, slots.get(e.id, []))
        if node.windows:
            nodes.append(node)
        else:
            dropped[e.id] = "closed" if e.kind == "visit" else "no_free_slot"
    return nodes, dropped


def slots_provider() -> SlotsForDay:
    """The availability contract ``slots_for_day`` (injected in tests via app.extensions)."""
    injected = current_app.extensions.get(SLOTS_KEY)
    if injected is not None:
        return injected
    from tourplanner.services.availability import slots_for_day

    return slots_for_day


def _slots(
    request: PlanRequest, workshops: Sequence[Experience], now: datetime
) -> dict[int, list[Any]]:
    if not workshops:
        return {}
    return slots_provider()([e.id for e in workshops], request.day, now=now)


def _minutes(moment: datetime, day: date) -> int:
    midnight = datetime.combine(day, datetime.min.time(), HANOI)
    return int((moment.astimezone(HANOI) - midnight).total_seconds() // 60)


def _node(offer: Offer, e: Experience, request: PlanRequest, slots: Iterable[Any]) -> Node:
    if e.kind == "workshop":
        node = Node(offer, e, [])
        for slot in sorted(slots, key=lambda s: (s.start, s.id)):
            start = _minutes(slot.start, request.day)
            if slot.remaining >= request.party.size and start not in node.slots:
                node.slots[start] = slot.id
                node.windows.append((start, start + offer.duration))
        return node
    windows = [
        (t1.hour * 60 + t1.minute, t2.hour * 60 + t2.minute)
        for t1, t2 in windows_on(e.weekly_hours, e.closed_dates, request.day)
    ]
    return Node(offer, e, windows)


def _must_nodes(
    request: PlanRequest,
    nodes: Sequence[Node],
    must_ids: dict[str, set[int]],
    experiences: Sequence[Experience],
    dropped: dict[int, str],
) -> tuple[dict[str, list[int]], dict | None]:
    """Per must-include slug, the candidate node indexes (1-based), workshops first."""
    index = {n.offer.experience_id: k for k, n in enumerate(nodes, start=1)}
    musts: dict[str, list[int]] = {}
    missing: list[str] = []
    for slug, ids in must_ids.items():
        choices = sorted(
            (index[i] for i in ids if i in index),
            key=lambda k: (nodes[k - 1].offer.kind != "workshop", k),
        )
        if choices:
            musts[slug] = choices
        else:
            missing.append(slug)
    if not missing:
        return musts, None
    causes = {
        slug: sorted({dropped.get(i, "not_offered") for i in must_ids[slug]}) for slug in missing
    }
    return musts, plan_text.reason(
        "must_include_unavailable", request, slugs=missing, causes=causes
    )


# --- solving ----------------------------------------------------------------------------


def time_limit() -> float:
    return float(current_app.config.get("PLANNER_TIME_LIMIT", 0.4))


def _solve(
    builder: _Builder, musts: dict[str, list[int]], stats: Stats
) -> tuple[Solution, dict[str, list[int]], dict | None]:
    """Solve; a must-include that does not fit falls back to its next choice, then is dropped.

    At most ``1 + number of must-includes`` solver runs, usually one.
    """
    gave_up: list[str] = []
    while True:
        chosen = {slug: choices[0] for slug, choices in musts.items()}
        problem = builder.problem(frozenset(chosen.values()))
        started = clock.perf_counter()
        try:
            solution = solve(
                problem,
                time_limit=time_limit(),
                seed=0,
                alternatives=builder.request.alternatives - 1,
            )
        except MustVisitInfeasible as exc:
            failed = [slug for slug, node in chosen.items() if node in exc.nodes] or list(chosen)
            for slug in failed:
                musts[slug] = musts[slug][1:]
                if not musts[slug]:
                    del musts[slug]
                    gave_up.append(slug)
            continue
        finally:
            stats.solver_seconds += clock.perf_counter() - started
            stats.solves += 1
        reason = (
            plan_text.reason("must_include_infeasible", builder.request, slugs=gave_up)
            if gave_up
            else None
        )
        return solution, musts, reason


#: The score of the lunch break: above any day's interest points (at most 10 stops of 2 and
#: the road time's price), so a day with a lunch that fits always ranks above one without.
LUNCH_SCORE = 100.0


class _Builder:
    """Builds the solver problem and turns solutions back into itineraries.

    Nodes: 0 is the start (and end), ``1..len(nodes)`` the experiences, and, when the request
    has a lunch break, one *lunch node* per village point after them: the lunch taken at that
    village, with the point's travel times (0 from a stop there), the lunch window and its
    minutes. At most one lunch is planned: each lunch node costs more than half of the money
    budget the problem is given (the real budget, or every price, plus one lunch), so two
    cannot fit; its score puts a day with lunch above any day without.
    """

    def __init__(self, request: PlanRequest, start: StartPoint, nodes: list[Node]) -> None:
        self.request = request
        self.start = start
        self.nodes = nodes
        points: dict[tuple[float, float], int] = {}
        self.point_village: dict[int, Village] = {}
        for node in nodes:
            key = (node.exp.village.lat, node.exp.village.lon)
            node.point = points.setdefault(key, len(points))
            self.point_village.setdefault(node.point, node.exp.village)
        self.points = list(points)
        self.lunch = request.lunch_break
        self.lunch_points = list(range(len(self.points))) if self.lunch else []
        self.minutes, self.km, self.start_minutes, self.start_km = travel(
            (start.lat, start.lon), self.points, request.mode
        )

    @property
    def first_lunch(self) -> int:
        """The node index of the first lunch node."""
        return len(self.nodes) + 1

    def is_lunch(self, node: int) -> bool:
        return node >= self.first_lunch

    def point_of(self, node: int) -> int:
        if self.is_lunch(node):
            return self.lunch_points[node - self.first_lunch]
        return self.nodes[node - 1].point

    def _money(self) -> tuple[list[int], int | None]:
        """Costs and budget, with the lunch nodes' share (see the class docstring)."""
        prices = [n.offer.price_vnd for n in self.nodes]
        if not self.lunch_points:
            return [0, *prices], self.request.budget_vnd
        base = self.request.budget_vnd
        base = sum(prices) if base is None else base
        lunch = base + 1
        return [0, *prices, *[lunch] * len(self.lunch_points)], base + lunch

    def problem(self, must: frozenset[int]) -> Problem:
        """Node 0 = start and end; node k = ``nodes[k - 1]``, then the lunch nodes. O(n^2)."""
        req = self.request
        pts = [0] + [n.point for n in self.nodes] + self.lunch_points
        row = [0] + [self.start_minutes[p] for p in pts[1:]]
        inner = self.minutes
        travel_rows = [row] + [
            [self.start_minutes[p], *(inner[p][q] for q in pts[1:])] for p in pts[1:]
        ]
        day_start = req.start_time.hour * 60 + req.start_time.minute
        lunches = len(self.lunch_points)
        opens, closes, minutes = self.lunch or (0, 0, 0)
        costs, budget = self._money()
        return Problem(
            travel=travel_rows,
            service=[0] + [n.offer.duration for n in self.nodes] + [minutes] * lunches,
            windows=[[(day_start, day_start)]]
            + [n.windows for n in self.nodes]
            + [[(opens, closes)]] * lunches,
            scores=[0.0] + [n.offer.score for n in self.nodes] + [LUNCH_SCORE] * lunches,
            costs=costs,
            budget=budget,
            start=0,
            end=0,
            day_start=day_start,
            day_end=req.end_time.hour * 60 + req.end_time.minute,
            must_visit=must,
            max_stops=req.stop_limit + (1 if lunches else 0),
            finish_within_window=True,
            names=["start"]
            + [n.offer.village for n in self.nodes]
            + [f"lunch:{self.point_village[p].slug}" for p in self.lunch_points],
            # Interest points per minute on the road, and the pace's / the tourist's limit.
            travel_weight=req.pace_rules.travel_weight,
            max_travel=req.travel_limit,
            # A day trip keeps its best stop even if the drive out costs more than it scores
            # (and a lunch alone is not a day trip).
            min_stops=2 if lunches else 1,
        )

    def distinct(self, solutions: Iterable[Solution]) -> list[Solution]:
        """The solutions that differ in their stops (not only in where lunch is taken)."""
        seen: set[frozenset[int]] = set()
        kept = []
        for solution in solutions:
            key = frozenset(n for n in solution.visited if not self.is_lunch(n))
            if key not in seen:
                seen.add(key)
                kept.append(solution)
        return kept

    def nearest_round_trip(self, indexes: Iterable[int] | None = None) -> int:
        """Fewest minutes on the road of a day with one stop (of ``indexes``, 1-based)."""
        chosen = range(1, len(self.nodes) + 1) if indexes is None else indexes
        return min((2 * self.start_minutes[self.point_of(k)] for k in chosen), default=0)

    def itinerary(self, solution: Solution) -> dict[str, Any]:
        from tourplanner.services.plan_output import itinerary

        return itinerary(self, solution)


def _travel_cache() -> Any:
    from tourplanner.routing.travel_time import CachedProvider, provider_from_config

    cache = current_app.extensions.get(TRAVEL_KEY)
    if cache is None:
        cache = CachedProvider(provider_from_config(current_app.config))
        current_app.extensions[TRAVEL_KEY] = cache
    return cache


def travel(
    start: tuple[float, float], points: list[tuple[float, float]], mode: str
) -> tuple[list[list[int]], list[list[float]], list[int], list[float]]:
    """Integer minutes and km between village points (cached per catalogue version and mode)
    and from the start to each point (one row, computed per request). Minutes round up.

    Adapter over the route engine's TravelTimeProvider, which only offers full matrices: the
    start row is asked point by point from a geodesic provider (O(n) distances) and as one
    full matrix otherwise (e.g. OSRM: one request).
    """
    import math

    from tourplanner.routing.travel_time import GeodesicProvider

    cache = _travel_cache()
    minutes, km = cache.matrix(points, mode, version=catalogue_version())
    ints = [[math.ceil(v - 1e-9) for v in row] for row in minutes]
    if isinstance(cache.inner, GeodesicProvider):
        pairs = [cache.inner.matrix([start, p], mode) for p in points]
        row_min = [m[0][1] for m, _ in pairs]
        row_km = [k[0][1] for _, k in pairs]
    else:
        full_min, full_km = cache.inner.matrix([start, *points], mode)
        row_min, row_km = full_min[0][1:], full_km[0][1:]
    return ints, km, [math.ceil(v - 1e-9) for v in row_min], row_km


def validation_error_field(exc: ValidationError) -> str | None:
    """The request field a validation error names (for forms)."""
    return exc.details.get("field")
