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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import numpy as np
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from tourplanner import metrics
from tourplanner.adapters.orm import Experience, Landmark, Plan, Product, Village
from tourplanner.domain import shopping as shop_rules
from tourplanner.domain.availability import LOCAL_TZ
from tourplanner.domain.catalogue import windows_on
from tourplanner.domain.errors import NotFound, Unavailable, Unprocessable, ValidationError
from tourplanner.domain.planning import (
    LUNCH_SCORE,
    Offer,
    PlanRequest,
    bad,
    in_hanoi,
    make_offer,
    parse_request,
)
from tourplanner.extensions import db
from tourplanner.routing import MustVisitInfeasible, Problem, Solution, solve
from tourplanner.services import catalogue_graph, plan_alternatives, plan_output, plan_text
from tourplanner.services.catalogue import catalogue_version
from tourplanner.services.geocoding import locate
from tourplanner.services.unit_of_work import unit_of_work

SHOPPING_MINUTES = shop_rules.SHOPPING_MINUTES

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
    """One experience offered to the party on the date, with its windows and map data.

    ``exp`` is the graph's cached :class:`~tourplanner.services.catalogue_graph.ExperiencePlace`
    (or, on the per-request path, the ORM row: the same attribute names)."""

    offer: Offer
    exp: Any
    windows: list[tuple[int, int]]
    slots: dict[int, int] = field(default_factory=dict)  # start minute -> slot id
    point: int = 0  # index into the village points of the request


@dataclass
class DayTravel:
    """The travel of one request, cut from the cached graph: its matrix and the start row.

    ``start_minutes`` / ``start_km`` are indexed by graph point (entries for the points the
    request uses); ``graph`` holds the whole matrix.
    """

    graph: catalogue_graph.CatalogueGraph
    start_minutes: np.ndarray
    start_km: np.ndarray


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
    now = (now or datetime.now(LOCAL_TZ)).astimezone(LOCAL_TZ)
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

    return check(data, (now or datetime.now(LOCAL_TZ)).astimezone(LOCAL_TZ).date())


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
    """The itineraries for a validated request (not saved).

    With ``PLANNER_GRAPH`` (the default) everything static comes from the cached craft-village
    graph (``services/catalogue_graph.py``): the experiences' facts, the candidates reachable
    and back within the day from the start and the travel matrix; off, the catalogue and the
    matrix are read per request as before the graph (kept for side-by-side benchmarks).
    """
    stats = stats if stats is not None else Stats()
    if not current_app.config.get("PLANNER_GRAPH", True):
        return _plan_per_request(request, start, now=now, stats=stats)
    graph = catalogue_graph.get(request.mode)
    must_ids, exclude_ids = _resolve_slugs(request, graph.slugs)
    nodes, dropped, far, travel = _graph_offers(request, graph, start, exclude_ids, must_ids, now)
    stats.nodes = len(nodes)
    if not nodes:
        return _nothing_reachable(request, far, travel, must_ids, dropped, now)
    builder = _Builder(request, start, nodes, travel)
    musts, reason = _must_nodes(request, nodes, must_ids, dropped)
    solution, musts, late = _solve(builder, musts, stats)
    shopping = None
    if request.shopping:
        builder, solution, musts, shopping = _shopping(builder, solution, musts, stats)
    found: list[Any] = _kept(builder, [solution, *solution.alternatives])
    if request.alternatives == 1 and found:
        found = [plan_alternatives.Labelled(found[0], "best")]
    elif found:
        chosen = frozenset(choices[0] for choices in musts.values())
        found = plan_alternatives.by_kind(
            builder,
            found,
            chosen,
            time_limit() * plan_alternatives.KIND_SHARE,
            lambda problem, seconds, iterations: _solve_quietly(
                problem, seconds, iterations, stats
            ),
        )
    return _result(builder, found, reason or late, shopping)


def _plan_per_request(
    request: PlanRequest, start: StartPoint, *, now: datetime, stats: Stats
) -> dict[str, Any]:
    """The planner before the graph: catalogue rows and travel matrix read per request."""
    experiences = _load_experiences()
    must_ids, exclude_ids = _resolve_slugs(request, _slug_index(experiences))
    nodes, dropped = _offers(request, experiences, exclude_ids, must_ids, now)
    stats.nodes = len(nodes)
    if not nodes:
        return {"itineraries": [], "reason": plan_text.reason("nothing_open", request)}
    builder = _Builder(request, start, nodes)
    musts, reason = _must_nodes(request, nodes, must_ids, dropped)
    solution, musts, late = _solve(builder, musts, stats)
    # The shopping stop needs the graph's sales points: this benchmark path says none planned.
    shopping = _shopping_reason(request, "not_planned") if request.shopping else None
    return _result(
        builder, _kept(builder, [solution, *solution.alternatives]), reason or late, shopping
    )


def _kept(builder: _Builder, solutions: list[Solution]) -> list[Solution]:
    """Distinct solutions with a stop, within the road-time limit. The solver keeps every
    tour within it; this only guards the promise made to the tourist ("every itinerary stays
    within max_travel_minutes")."""
    limit = builder.request.travel_limit
    return [
        s
        for s in builder.distinct(solutions)
        if any(not builder.is_shop(n) for n in s.tours[0]) and sum(s.travel) <= limit
    ]


def _result(
    builder: _Builder,
    solutions: list[Any],
    reason: dict | None,
    shopping: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The result: itineraries (with their kind and one-line reason when ``solutions`` are
    :class:`plan_alternatives.Labelled`), why it is empty or partial, and, when a shopping stop
    was asked for, whether it is planned (``shopping``; its reason when not)."""
    request = builder.request
    chosen = solutions[: request.alternatives]
    labelled = [s for s in chosen if isinstance(s, plan_alternatives.Labelled)]
    itineraries = [builder.itinerary(getattr(s, "solution", s)) for s in chosen]
    if labelled and len(labelled) == len(chosen):
        whys = plan_alternatives.reasons(builder, labelled, itineraries)
        for it, item, why in zip(itineraries, labelled, whys, strict=True):
            it["kind"], it["why"] = item.kind, why
    result: dict[str, Any] = {"itineraries": itineraries}
    if reason:
        result["reason"] = reason
    elif not itineraries:
        result["reason"] = _empty_reason(request, builder.nearest_round_trip())
    if request.shopping:
        planned = bool(itineraries) and shopping is None
        result["shopping"] = {"planned": planned}
        if not planned:
            missed = shopping or _shopping_reason(request, "none_fits")
            result["shopping"]["reason"] = missed
            result.setdefault("reason", missed)
    return result


def _empty_reason(request: PlanRequest, nearest: int) -> dict[str, Any]:
    """Why no itinerary: the road-time limit (with the nearest round trip) or nothing fits."""
    limit = request.travel_limit
    if nearest > limit:
        return plan_text.reason("travel_limit", request, limit=limit, nearest_round_trip=nearest)
    return plan_text.reason("nothing_fits", request)


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


def _slug_index(experiences: Sequence[Experience]) -> dict[str, set[int]]:
    """Village or experience slug -> experience ids (a village slug: all its experiences)."""
    by_slug: dict[str, set[int]] = {}
    for e in experiences:
        by_slug.setdefault(e.slug, set()).add(e.id)
        by_slug.setdefault(e.village.slug, set()).add(e.id)
    return by_slug


def _resolve_slugs(
    request: PlanRequest, by_slug: Mapping[str, Iterable[int]]
) -> tuple[dict[str, set[int]], set[int]]:
    """Map must-include / exclude slugs (village or experience) to experience ids."""
    must: dict[str, set[int]] = {}
    for name, slugs in (("must_include", request.must_include), ("exclude", request.exclude)):
        for slug in slugs:
            if slug not in by_slug:
                raise bad(
                    name, f"no village or experience {slug!r}", code="unknown_slug", slug=slug
                )
            if name == "must_include":
                must[slug] = set(by_slug[slug])
    excluded = {i for slug in request.exclude for i in by_slug[slug]}
    return must, excluded


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
        offer, why = make_offer(
            catalogue_graph.experience_facts(e, e.village), request, must=e.id in wanted
        )
        if offer is None:
            dropped[e.id] = why or "not_offered"
            continue
        node = _node(offer, e, request, slots.get(e.id, []))
        if node.windows:
            nodes.append(node)
        else:
            dropped[e.id] = _no_window_cause(e, slots)
    return nodes, dropped


def _graph_offers(
    request: PlanRequest,
    graph: catalogue_graph.CatalogueGraph,
    start: StartPoint,
    excluded: set[int],
    must_ids: dict[str, set[int]],
    now: datetime,
) -> tuple[list[Node], dict[int, str], list[tuple[Offer, Any]], DayTravel]:
    """Nodes for the experiences offered to the party that are *candidates*: reachable and
    back within the day (with the visit) and within the road-time limit from the start (one
    vectorised start row), worth something and within the budget; must-includes always are.
    Sessions are asked for the candidate workshops only. Returns the nodes, why others were
    dropped, the offers left out (their availability not asked) and the request's travel."""
    wanted = {i for ids in must_ids.values() for i in ids}
    offers: list[tuple[Offer, Any]] = []
    dropped: dict[int, str] = {}
    for e in graph.experiences:
        if e.id in excluded:
            continue
        offer, why = make_offer(e.facts, request, must=e.id in wanted)
        if offer is None:
            dropped[e.id] = why or "not_offered"
        else:
            offers.append((offer, e))
    size = len(graph.points)
    start_minutes, start_km = np.zeros(size, dtype=np.int64), np.zeros(size)
    point = np.fromiter((e.point for _o, e in offers), dtype=np.int64, count=len(offers))
    used = np.unique(point)
    if len(used):
        start_minutes[used], start_km[used] = graph.start_row((start.lat, start.lon), used)
    trip = 2 * start_minutes[point]
    minutes = np.fromiter((o.duration for o, _e in offers), dtype=np.int64, count=len(offers))
    must = np.fromiter((e.id in wanted for _o, e in offers), dtype=bool, count=len(offers))
    budget = request.budget_vnd
    # A stop worth nothing is never proposed (the solver skips it), nor one over the budget.
    worth = np.fromiter(
        (o.score > 0 and (budget is None or o.price_vnd <= budget) for o, _e in offers),
        dtype=bool,
        count=len(offers),
    )
    near = ((trip <= request.travel_limit) & (trip + minutes <= request.day_minutes)) | must
    near &= worth | must
    chosen = [offers[k] for k in np.flatnonzero(near)]
    far = [offers[k] for k in np.flatnonzero(~near)]
    slots = _slots(request, [e for _o, e in chosen if e.bookable], now)
    nodes: list[Node] = []
    for offer, e in chosen:
        node = _node(offer, e, request, slots.get(e.id, []))
        if node.windows:
            nodes.append(node)
        else:
            dropped[e.id] = _no_window_cause(e, slots)
    return nodes, dropped, far, DayTravel(graph, start_minutes, start_km)


def _no_window_cause(e: Any, slots: Mapping[int, list[Any]]) -> str:
    """Why an offered experience has no window that day: a visit is closed; a workshop the
    availability left out although it is bookable has a village nobody can tell about a
    request (``services/reachability.py``: ``slots_for_day`` leaves out the bookable
    workshops of unreachable villages, and the planner asks only about bookable ones);
    otherwise no session has places for the party (or none is scheduled or still open)."""
    if e.kind == "visit":
        return "closed"
    return "no_free_slot" if e.id in slots else "village_unreachable"


def _nothing_reachable(
    request: PlanRequest,
    far: list[tuple[Offer, Any]],
    travel: DayTravel,
    must_ids: dict[str, set[int]],
    dropped: dict[int, str],
    now: datetime,
) -> dict[str, Any]:
    """No candidate at all: say why as the full search would (nothing open at all; a
    must-include not available; the road-time limit with the nearest open round trip)."""
    slots = _slots(request, [e for _o, e in far if e.bookable], now)
    open_points = [e.point for o, e in far if _node(o, e, request, slots.get(e.id, [])).windows]
    if not open_points:
        return {"itineraries": [], "reason": plan_text.reason("nothing_open", request)}
    _musts, reason = _must_nodes(request, [], must_ids, dropped)
    if reason is None:
        nearest = min(2 * int(travel.start_minutes[p]) for p in open_points)
        reason = _empty_reason(request, nearest)
    return {"itineraries": [], "reason": reason}


def slots_provider() -> SlotsForDay:
    """The availability contract ``slots_for_day`` (injected in tests via app.extensions)."""
    injected = current_app.extensions.get(SLOTS_KEY)
    if injected is not None:
        return injected
    from tourplanner.services.availability import slots_for_day

    return slots_for_day


def _slots(request: PlanRequest, workshops: Sequence[Any], now: datetime) -> dict[int, list[Any]]:
    if not workshops:
        return {}
    return slots_provider()([e.id for e in workshops], request.day, now=now)


def _minutes(moment: datetime, day: date) -> int:
    midnight = datetime.combine(day, datetime.min.time(), LOCAL_TZ)
    return int((moment.astimezone(LOCAL_TZ) - midnight).total_seconds() // 60)


def _node(offer: Offer, e: Any, request: PlanRequest, slots: Iterable[Any]) -> Node:
    if e.kind == "workshop":
        node = Node(offer, e, [])
        midnight = datetime.combine(request.day, datetime.min.time(), LOCAL_TZ)
        for slot in sorted(slots, key=lambda s: (s.start, s.id)):
            start = int((slot.start - midnight).total_seconds() // 60)  # as _minutes
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


def _solve_quietly(
    problem: Problem, seconds: float, iterations: int, stats: Stats
) -> Solution | None:
    """One extra solver run (an alternative of another kind): None when its must-visits do
    not fit. Stops at ``seconds`` or ``iterations``, whichever comes first."""
    started = clock.perf_counter()
    try:
        return solve(problem, time_limit=max(seconds, 1e-3), seed=0, max_iterations=iterations)
    except MustVisitInfeasible:
        return None
    finally:
        stats.solver_seconds += clock.perf_counter() - started
        stats.solves += 1


# --- the shopping stop ------------------------------------------------------------------

#: Key of the shopping stop among the must-visits (not a slug, so never a must-include's).
SHOP_KEY = "@shopping"
#: Sales points tried as the day's shopping stop, best first (one solver run each).
SHOP_TRIES = 3


def _shopping_reason(request: PlanRequest, cause: str) -> dict[str, Any]:
    """Why no shopping stop is planned: ``shopping_unavailable`` with its ``cause`` and the
    message in the request's language and in both (``text``)."""
    return plan_text.shopping_reason(request.lang, cause)


def _shop_candidates(
    builder: _Builder, solution: Solution
) -> tuple[list[tuple[catalogue_graph.SalesPlace, list[tuple[int, int]]]], str | None]:
    """The sales points that may be the day's shopping stop, in the order they are tried
    (``domain.shopping.ranked`` against the stops of ``solution``); or why there is none."""
    request, day = builder.request, builder.day
    assert day is not None
    graph = day.graph
    day_start = request.start_time.hour * 60 + request.start_time.minute
    day_end = request.end_time.hour * 60 + request.end_time.minute
    left_out = set(request.exclude)
    opened = []
    for sales in graph.sales_points:
        if sales.village.slug in left_out:
            continue
        windows = shop_rules.windows_in_day(sales.windows, day_start, day_end, SHOPPING_MINUTES)
        if windows:
            opened.append((sales, windows))
    if not opened:
        return [], "none_open"
    points = np.unique(np.fromiter((s.point for s, _w in opened), dtype=np.int64))
    day.start_minutes[points], day.start_km[points] = graph.start_row(
        (builder.start.lat, builder.start.lon), points
    )
    # Within reach alone: there and back with the visit in the day and the road-time limit.
    reach = [
        (sales, windows)
        for sales, windows in opened
        if 2 * int(day.start_minutes[sales.point]) <= request.travel_limit
        and 2 * int(day.start_minutes[sales.point]) + SHOPPING_MINUTES <= request.day_minutes
    ]
    if not reach:
        return [], "none_fits"
    stops = [n for n in solution.tours[0] if not builder.is_extra(n)] if solution.tours else []
    stop_points = [builder.graph_point(n) for n in stops]
    day_villages = {builder.nodes[n - 1].offer.village for n in stops}
    ocop = _ocop_counts({sales.village.id for sales, _w in reach})
    candidates = []
    for k, (sales, _windows) in enumerate(reach):
        if stop_points:
            minutes = int(graph.minutes[np.asarray(stop_points), sales.point].min())
        else:
            minutes = int(day.start_minutes[sales.point])
        candidates.append(
            shop_rules.Candidate(
                key=k,
                village=sales.village.slug,
                index=sales.index,
                category=sales.village.category,
                minutes=minutes,
                at_day_village=sales.village.slug in day_villages,
                ocop_products=ocop.get(sales.village.id, (0, None))[0],
            )
        )
    order = shop_rules.ranked(candidates, request.interests)
    return [reach[c.key] for c in order[:SHOP_TRIES]], None


def _ocop_counts(village_ids: set[int]) -> dict[int, tuple[int, int | None]]:
    """Village id -> (published OCOP-rated products, most stars): one query per plan that
    asks for a shopping stop (products are not part of the graph's version)."""
    if not village_ids:
        return {}
    rows = db.session.execute(
        select(Product.village_id, func.count(Product.id), func.max(Product.ocop_stars))
        .where(
            Product.village_id.in_(sorted(village_ids)),
            Product.ocop_stars.is_not(None),
            Product.review_status == "published",
        )
        .group_by(Product.village_id)
    )
    return {int(v): (int(n), stars) for v, n, stars in rows}


def _shopping(
    builder: _Builder, solution: Solution, musts: dict[str, list[int]], stats: Stats
) -> tuple[_Builder, Solution, dict[str, list[int]], dict[str, Any] | None]:
    """The day again with a shopping stop as a must-visit: the best-ranked sales point (see
    ``domain/shopping.py``) that fits, trying at most :data:`SHOP_TRIES`, each one solver run
    with the must-includes the day already keeps. Returns the builder with the shop nodes, the
    solution, the must-visits (with :data:`SHOP_KEY`) and None; or the day as it was and why
    no shopping stop is planned."""
    request = builder.request
    if builder.day is None or not any(not builder.is_extra(n) for n in solution.tours[0]):
        return builder, solution, musts, _shopping_reason(request, "none_fits")
    tried, cause = _shop_candidates(builder, solution)
    if not tried:
        return builder, solution, musts, _shopping_reason(request, cause or "none_fits")
    with_shops = _Builder(request, builder.start, builder.nodes, builder.day, shops=tried)
    with_shops.shop_ocop = _ocop_counts({sales.village.id for sales, _w in tried})
    chosen = frozenset(choices[0] for choices in musts.values())
    for node in with_shops.shop_nodes():
        problem = with_shops.problem(chosen | {node})
        started = clock.perf_counter()
        try:
            found = solve(
                problem,
                time_limit=time_limit(),
                seed=0,
                alternatives=request.alternatives - 1,
            )
        except MustVisitInfeasible:
            continue
        finally:
            stats.solver_seconds += clock.perf_counter() - started
            stats.solves += 1
        if any(not with_shops.is_extra(n) for n in found.tours[0]):
            return with_shops, found, {**musts, SHOP_KEY: [node]}, None
    return builder, solution, musts, _shopping_reason(request, "none_fits")


class _Builder:
    """Builds the solver problem and turns solutions back into itineraries.

    Nodes: 0 is the start (and end), ``1..len(nodes)`` the experiences, and, when the request
    has a lunch break, one *lunch node* per village point after them: the lunch taken at that
    village, with the point's travel times (0 from a stop there), the lunch window and its
    minutes. At most one lunch is planned: each lunch node costs more than half of the money
    budget the problem is given (the real budget, or every price, plus one lunch), so two
    cannot fit; its score puts a day with lunch above any day without.

    With a shopping stop asked for (the graph path), *shop nodes* come last: one per sales
    point given in ``shops`` (its own position, its opening windows cut to the day,
    :data:`~tourplanner.domain.shopping.SHOPPING_MINUTES`, no score, no cost). A problem has
    at most one of them as a must-visit and excludes the others (see :func:`_shopping`).
    """

    def __init__(
        self,
        request: PlanRequest,
        start: StartPoint,
        nodes: list[Node],
        day: DayTravel | None = None,
        shops: Sequence[tuple[catalogue_graph.SalesPlace, list[tuple[int, int]]]] = (),
    ) -> None:
        self.request = request
        self.start = start
        self.nodes = nodes
        self.day = day
        # The request's village points, in order of first use; a key is the graph's point
        # (distinct positions) or, on the per-request path, the position itself.
        points: dict[Any, int] = {}
        self.point_village: dict[int, Any] = {}
        for node in nodes:
            village = node.exp.village
            key = node.exp.point if day is not None else (village.lat, village.lon)
            node.point = points.setdefault(key, len(points))
            self.point_village.setdefault(node.point, village)
        self.lunch = request.lunch_break
        self.lunch_points = list(range(len(points))) if self.lunch else []
        #: Node index of the first lunch node and of the first shop node: the experiences
        #: are nodes 1..n, then the lunch nodes, then the shop nodes. Fixed once built (the
        #: alternatives ask for them tens of thousands of times per request).
        self.first_lunch = len(nodes) + 1
        self.first_shop = self.first_lunch + len(self.lunch_points)
        # Shop nodes (graph path only): their own points, after the villages' (a sales point
        # at a village's position shares its point). Lunch is only ever taken at a village.
        self.shops = list(shops)
        #: Village id -> (OCOP-rated products, most stars), for the shopping stop's words.
        self.shop_ocop: dict[int, tuple[int, int | None]] = {}
        self.shop_points: list[int] = []
        for sales, _windows in self.shops:
            self.shop_points.append(points.setdefault(sales.point, len(points)))
            self.point_village.setdefault(self.shop_points[-1], sales.village)
        self.points = list(points)
        self.matrix: np.ndarray | None = None
        self._full: dict[str, Any] | None = None  # the problem's arrays, built once
        if day is None:
            self.minutes, self.km, self.start_minutes, self.start_km = travel(
                (start.lat, start.lon), self.points, request.mode
            )
        else:
            # Fancy indexing of the cached matrix: nothing is computed but the start row.
            g = np.asarray(self.points, dtype=np.int64)
            self.graph_points = g
            self.matrix = day.graph.minutes[np.ix_(g, g)]
            self.minutes, self.km = self.matrix, day.graph.km[np.ix_(g, g)]
            self.start_minutes, self.start_km = day.start_minutes[g], day.start_km[g]

    def leg(self, a: int | None, b: int | None) -> tuple[int, float]:
        """Minutes and km from village point ``a`` to ``b`` of the request (None: the start)."""
        if a is None or b is None:
            p = b if a is None else a
            return int(self.start_minutes[p]), float(self.start_km[p])  # type: ignore[index]
        return int(self.minutes[a][b]), float(self.km[a][b])

    def graph_point(self, node: int) -> int:
        """The graph's point of solver node ``node`` (the graph path only)."""
        return int(self.graph_points[self.point_of(node)])

    def is_lunch(self, node: int) -> bool:
        return self.first_lunch <= node < self.first_shop

    def is_shop(self, node: int) -> bool:
        return node >= self.first_shop

    def is_extra(self, node: int) -> bool:
        """A lunch or shop node: part of the day, not one of its village experiences."""
        return node >= self.first_lunch

    def shop_nodes(self) -> range:
        return range(self.first_shop, self.first_shop + len(self.shops))

    def point_of(self, node: int) -> int:
        if node < self.first_lunch:
            return self.nodes[node - 1].point
        if node >= self.first_shop:
            return self.shop_points[node - self.first_shop]
        return self.lunch_points[node - self.first_lunch]

    def _money(self) -> tuple[list[int], int | None]:
        """Costs and budget, with the lunch nodes' share (see the class docstring)."""
        prices = [n.offer.price_vnd for n in self.nodes]
        shops = [0] * len(self.shops)  # a shopping stop has no price (purchases are the tourist's)
        if not self.lunch_points:
            return [0, *prices, *shops], self.request.budget_vnd
        base = self.request.budget_vnd
        base = sum(prices) if base is None else base
        lunch = base + 1
        return [0, *prices, *[lunch] * len(self.lunch_points), *shops], base + lunch

    def node_count(self) -> int:
        """Solver nodes: the start, the experiences, the lunch and the shop nodes."""
        return 1 + len(self.nodes) + len(self.lunch_points) + len(self.shops)

    def _travel(self) -> Any:
        """The problem's travel matrix: cut from the cached graph matrix by fancy indexing
        (numpy), or built row by row on the per-request path. O(n^2)."""
        pts = [n.point for n in self.nodes] + self.lunch_points + self.shop_points
        if self.matrix is not None:
            idx = np.asarray(pts, dtype=np.int64)
            travel = np.zeros((len(idx) + 1, len(idx) + 1), dtype=np.int64)
            row = np.asarray(self.start_minutes, dtype=np.int64)[idx]
            travel[0, 1:], travel[1:, 0] = row, row
            travel[1:, 1:] = self.matrix[np.ix_(idx, idx)]
            return travel
        row = [0] + [self.start_minutes[p] for p in pts]
        inner = self.minutes
        return [row] + [[self.start_minutes[p], *(inner[p][q] for q in pts)] for p in pts]

    def _arrays(self) -> dict[str, Any]:
        """The whole day's node arrays (travel, service, windows, scores, costs, names),
        built once per request."""
        if self._full is None:
            req = self.request
            day_start = req.start_time.hour * 60 + req.start_time.minute
            lunches = len(self.lunch_points)
            opens, closes, minutes = self.lunch or (0, 0, 0)
            costs, budget = self._money()
            shops = len(self.shops)
            self._full = {
                "travel": self._travel(),
                "service": [0]
                + [n.offer.duration for n in self.nodes]
                + [minutes] * lunches
                + [SHOPPING_MINUTES] * shops,
                "windows": [[(day_start, day_start)]]
                + [n.windows for n in self.nodes]
                + [[(opens, closes)]] * lunches
                + [list(windows) for _sales, windows in self.shops],
                # A shop node is only ever a must-visit: it needs no score.
                "scores": [0.0]
                + [n.offer.score for n in self.nodes]
                + [LUNCH_SCORE] * lunches
                + [0.0] * shops,
                "costs": costs,
                "budget": budget,
                "names": ["start"]
                + [n.offer.village for n in self.nodes]
                + [f"lunch:{self.point_village[p].slug}" for p in self.lunch_points]
                + [sales.key for sales, _windows in self.shops],
            }
        return self._full

    def problem(self, must: frozenset[int]) -> Problem:
        """Node 0 = start and end; node k = ``nodes[k - 1]``, then the lunch nodes. O(n^2)."""
        return self._problem(None, must, self.request.stop_limit, self.request.travel_limit)

    def subproblem(
        self, must: frozenset[int], keep: Iterable[int], *, stop_limit: int, max_travel: int
    ) -> tuple[Problem, list[int]]:
        """The day with only the nodes ``keep`` (and the start, node 0), a stop limit and a
        road-time limit of its own: the alternatives of other kinds. Returns the problem and
        the day's node of each of its nodes (see :meth:`lift`). O(k^2) for k nodes kept."""
        index = [0, *sorted(set(keep) | set(must))]
        local = {node: k for k, node in enumerate(index)}
        chosen = frozenset(local[m] for m in must)
        return self._problem(index, chosen, stop_limit, max_travel), index

    def _problem(
        self, index: list[int] | None, must: frozenset[int], stop_limit: int, max_travel: int
    ) -> Problem:
        req = self.request
        full = self._arrays()
        pick = (
            (lambda values: list(values))
            if index is None
            else (lambda values: [values[k] for k in index])
        )
        travel = full["travel"]
        if index is not None:
            travel = (
                travel[np.ix_(index, index)]
                if isinstance(travel, np.ndarray)
                else [[travel[a][b] for b in index] for a in index]
            )
        nodes = range(self.node_count()) if index is None else index
        local = {k: n for n, k in enumerate(nodes)}
        lunches = sum(1 for k in nodes if self.is_lunch(k))
        # At most one shop node is planned: the one made a must-visit; the others are out.
        shops = [local[k] for k in self.shop_nodes() if k in local]
        extra = (1 if lunches else 0) + (1 if must & set(shops) else 0)
        return Problem(
            travel=travel,
            service=pick(full["service"]),
            windows=pick(full["windows"]),
            scores=pick(full["scores"]),
            costs=pick(full["costs"]),
            budget=full["budget"],
            start=0,
            end=0,
            day_start=req.start_time.hour * 60 + req.start_time.minute,
            day_end=req.end_time.hour * 60 + req.end_time.minute,
            must_visit=must,
            excluded=frozenset(shops) - must,
            max_stops=stop_limit + extra,
            finish_within_window=True,
            names=pick(full["names"]),
            # Interest points per minute on the road, and the pace's / the tourist's limit.
            travel_weight=req.pace_rules.travel_weight,
            max_travel=max_travel,
            # A day trip keeps its best stop even if the drive out costs more than it scores
            # (and a lunch or a shop alone is not a day trip).
            min_stops=1 + extra,
        )

    @staticmethod
    def lift(solution: Solution, index: Sequence[int]) -> Solution:
        """A solution of :meth:`subproblem` in the day's node numbers."""
        return Solution(
            tours=[[index[k] for k in tour] for tour in solution.tours],
            score=solution.score,
            schedule=[[replace(s, node=index[s.node]) for s in tour] for tour in solution.schedule],
            returns=list(solution.returns),
            cost=solution.cost,
            iterations=solution.iterations,
            travel=list(solution.travel),
            objective=solution.objective,
        )

    def distinct(self, solutions: Iterable[Solution]) -> list[Solution]:
        """The solutions that differ in their stops (not only in where lunch is taken)."""
        seen: set[frozenset[int]] = set()
        kept = []
        for solution in solutions:
            key = frozenset(n for n in solution.visited if not self.is_extra(n))
            if key not in seen:
                seen.add(key)
                kept.append(solution)
        return kept

    def nearest_round_trip(self, indexes: Iterable[int] | None = None) -> int:
        """Fewest minutes on the road of a day with one stop (of ``indexes``, 1-based)."""
        chosen = range(1, len(self.nodes) + 1) if indexes is None else indexes
        return min((2 * int(self.start_minutes[self.point_of(k)]) for k in chosen), default=0)

    def itinerary(self, solution: Solution) -> dict[str, Any]:
        return plan_output.itinerary(self, solution)


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
