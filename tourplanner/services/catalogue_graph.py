"""The craft-village graph: the planner's model of the catalogue, cached per process.

One graph per (catalogue version, travel mode), built on the first plan request that needs it
and kept in ``app.extensions`` (at most ``PLANNER_GRAPH_CACHE`` graphs, default 5; a new
catalogue version drops the older version's graphs). Nothing of it is rebuilt per request:

* **nodes** (networkx, ``graph.graph``): villages with a sourced position (never one without),
  their experiences, the landmarks (start points) and the villages' display spaces and sales
  points that state a position (``domain.catalogue.mapped_places``), each with its attributes
  (a :class:`~tourplanner.routing.graph.Place` and ``extra``); the sales points that also
  state hours ``domain.shopping.parse_hours`` reads are kept as :class:`SalesPlace` (the
  planner's shopping-stop candidates);
* **edges**: an experience is *at* its village (0 minutes, both ways); places with a position
  are joined when one is within a day's reach of the other (:data:`DAY_REACH_MINUTES`, the
  longest leg the planner's largest road-time limit allows there and back), the edge carrying
  the graph's mode's whole minutes (rounded up) and road km;
* **the matrix**: integer minutes and km between every pair of distinct positions (``points``)
  as numpy arrays, from the route engine's travel-time provider (the geodesic estimate in
  numpy; OSRM: one table request). The planner cuts its travel matrix from it by fancy
  indexing and computes only the start row per request (vectorised);
* **static facts** of the experiences (:class:`ExperiencePlace`: what ``make_offer`` and the
  itinerary need), so a request reads the catalogue tables only through
  ``catalogue_version()``; availability (sessions, free places) stays per request;
* **parts of the city**: villages grouped by travel time, every two of a group at most
  :data:`PART_MINUTES` apart by car there and back (complete linkage on the car matrix) and on
  the same bank of the Red River, from the village's district (:data:`LEFT_BANK_DISTRICTS`):
  the geodesic estimate does not see the river, and its few bridges make two villages facing
  each other across it farther apart than it says. The planner's "another part of the city"
  alternative (issue #17) stays in one part.

The version key is ``catalogue_version()`` (villages and experiences: count and last change)
plus the landmarks' count, last id and coordinate sums.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from tourplanner.adapters.orm import Landmark, Village
from tourplanner.domain.catalogue import fold, mapped_places
from tourplanner.domain.planning import MAX_TRAVEL_MINUTES, ExperienceFacts
from tourplanner.domain.shopping import parse_hours
from tourplanner.extensions import db
from tourplanner.routing.graph import (
    Place,
    ceil_minutes,
    complete_linkage,
    matrices,
    reach_graph,
    start_row,
)
from tourplanner.routing.travel_time import Mode, TravelTimeProvider, provider_from_config
from tourplanner.services.catalogue import catalogue_version

GRAPH_KEY = "tourplanner.catalogue_graph"
#: An injected travel-time provider (tests); otherwise the app's configured one.
PROVIDER_KEY = "tourplanner.travel_provider"
DEFAULT_CACHE_SIZE = 5
#: Places are joined by an edge when one is at most this many minutes from the other: half
#: the planner's largest road-time limit, so the leg can be driven there and back in a day.
DAY_REACH_MINUTES = MAX_TRAVEL_MINUTES // 2
#: Villages of one part of the city are at most this many minutes apart by car, there and
#: back (the "villages that combine well" distance of services/recommendations.py).
PART_MINUTES = 40
PART_MODE = Mode.CAR
#: Hanoi's districts (2024 units, as the dataset names them) on the left, north-eastern
#: bank of the Red River; every other Hanoi district of the dataset is on the right bank.
LEFT_BANK_DISTRICTS = frozenset(
    fold(d) for d in ("Long Biên", "Gia Lâm", "Đông Anh", "Sóc Sơn", "Mê Linh")
)
RIGHT_BANK_DISTRICTS = frozenset(
    fold(d)
    for d in (
        "Ba Đình",
        "Hoàn Kiếm",
        "Tây Hồ",
        "Cầu Giấy",
        "Đống Đa",
        "Hai Bà Trưng",
        "Hoàng Mai",
        "Thanh Xuân",
        "Nam Từ Liêm",
        "Bắc Từ Liêm",
        "Hà Đông",
        "Sơn Tây",
        "Ba Vì",
        "Phúc Thọ",
        "Đan Phượng",
        "Hoài Đức",
        "Quốc Oai",
        "Thạch Thất",
        "Chương Mỹ",
        "Thanh Oai",
        "Thường Tín",
        "Phú Xuyên",
        "Ứng Hòa",
        "Mỹ Đức",
        "Thanh Trì",
    )
)

_lock = threading.Lock()


def bank_of(district: str | None) -> str | None:
    """``"left"`` (north-east of the Red River), ``"right"`` (south-west) or None (unknown)."""
    name = fold(district)
    if name in LEFT_BANK_DISTRICTS:
        return "left"
    if name in RIGHT_BANK_DISTRICTS:
        return "right"
    return None


@dataclass(frozen=True)
class VillagePlace:
    """A village of the graph (attribute names as on the ORM ``Village`` the itinerary reads)."""

    id: int
    slug: str
    name_vi: str
    name_en: str
    district: str
    category: str
    lat: float
    lon: float
    point: int
    bank: str | None = None
    part: int = -1

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_vi


@dataclass(frozen=True)
class ExperiencePlace:
    """The static facts of one experience (availability is asked per request)."""

    id: int
    slug: str
    kind: str
    title_vi: str
    title_en: str
    duration_minutes: int
    weekly_hours: dict[str, list[list[str]]]
    closed_dates: tuple[str, ...]
    is_sample: bool
    hours_are_default: bool
    bookable: bool
    village: VillagePlace
    facts: ExperienceFacts

    @property
    def point(self) -> int:
        return self.village.point


@dataclass(frozen=True)
class SalesPlace:
    """A sales point the planner may make a shopping stop of: it states a position and hours
    that ``domain.shopping.parse_hours`` reads (no other sales point is ever planned)."""

    village: VillagePlace
    #: Position in the village's ``sales_points`` list.
    index: int
    name: str
    address: str | None
    hours: str
    windows: tuple[tuple[int, int], ...]
    lat: float
    lon: float
    point: int

    @property
    def key(self) -> str:
        return f"sales_point:{self.village.slug}:{self.index}"


@dataclass
class CatalogueGraph:
    """The graph of one catalogue version and mode, and the arrays the planner reads."""

    version: str
    mode: Mode
    graph: nx.DiGraph
    #: Distinct positions; index = row/column of ``minutes`` and ``km``.
    points: list[tuple[float, float]]
    minutes: np.ndarray  # int64, rounded up
    km: np.ndarray  # float64
    villages: dict[str, VillagePlace]
    #: Experiences of villages with a position, by id.
    experiences: list[ExperiencePlace]
    #: Village or experience slug -> experience ids (a village slug: all of its experiences).
    slugs: dict[str, frozenset[int]]
    provider: TravelTimeProvider
    #: Part of the city of each point (-1: no village there).
    parts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    #: Sales points with a position and readable hours (village id, then list order).
    sales_points: list[SalesPlace] = field(default_factory=list)
    build_seconds: float = 0.0
    _lat: np.ndarray = field(default_factory=lambda: np.zeros(0))
    _lon: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def start_row(
        self, origin: tuple[float, float], points: Sequence[int] | np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Whole minutes (rounded up) and km from ``origin`` to the given points: one
        vectorised row, the only travel computed per request."""
        idx = np.asarray(points, dtype=np.int64)
        minutes, km = start_row(
            self.provider, origin, list(zip(self._lat[idx], self._lon[idx], strict=True)), self.mode
        )
        return ceil_minutes(minutes), km

    def village_parts(self) -> dict[int, list[VillagePlace]]:
        """Part of the city -> its villages (slug order)."""
        out: dict[int, list[VillagePlace]] = {}
        for village in sorted(self.villages.values(), key=lambda v: v.slug):
            out.setdefault(village.part, []).append(village)
        return out


# --- the per-process cache ------------------------------------------------------------------


@dataclass
class _Cache:
    size: int
    entries: OrderedDict[tuple[str, str], CatalogueGraph] = field(default_factory=OrderedDict)
    builds: Counter[str] = field(default_factory=Counter)


def _cache() -> _Cache:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    cache = app.extensions.get(GRAPH_KEY)
    if cache is None:
        with _lock:
            cache = app.extensions.get(GRAPH_KEY)
            if cache is None:
                size = max(1, int(app.config.get("PLANNER_GRAPH_CACHE", DEFAULT_CACHE_SIZE)))
                cache = app.extensions[GRAPH_KEY] = _Cache(size)
    return cache


def builds() -> dict[str, int]:
    """How many graphs and matrices this process has built (tests count them)."""
    counts = _cache().builds
    return {"graph": counts["graph"], "matrix": counts["matrix"]}


def clear() -> None:
    """Forget every cached graph (the next request builds again)."""
    with _lock:
        _cache().entries.clear()


def graph_version() -> str:
    """The cache key's version: the catalogue's (villages, experiences) and the landmarks'."""
    count, last, lat, lon = db.session.execute(
        select(
            func.count(Landmark.id),
            func.max(Landmark.id),
            func.sum(Landmark.lat),
            func.sum(Landmark.lon),
        )
    ).one()
    return f"{catalogue_version()}|{count}:{last}:{lat}:{lon}"


def get(mode: str) -> CatalogueGraph:
    """The graph for the current catalogue version and ``mode``, built on a miss."""
    cache = _cache()
    version = graph_version()
    key = (version, str(Mode(mode)))
    with _lock:
        found = cache.entries.get(key)
        if found is not None:
            cache.entries.move_to_end(key)
            return found
        built = build(Mode(mode), version, cache.builds)
        for old in [k for k in cache.entries if k[0] != version]:
            del cache.entries[old]  # an older catalogue: never asked for again
        cache.entries[key] = built
        while len(cache.entries) > cache.size:
            cache.entries.popitem(last=False)
        return built


def provider() -> TravelTimeProvider:
    injected = current_app.extensions.get(PROVIDER_KEY)
    return injected if injected is not None else provider_from_config(current_app.config)


# --- building ---------------------------------------------------------------------------------


def _villages() -> list[Village]:
    return list(
        db.session.scalars(
            select(Village)
            .where(Village.lat.is_not(None), Village.lon.is_not(None))
            .options(selectinload(Village.experiences))
            .order_by(Village.id)
        )
    )


def experience_facts(e: Any, village: Village) -> ExperienceFacts:
    """What the planner's rules read of an experience of ``village`` (plain values)."""
    return ExperienceFacts(
        id=e.id,
        slug=e.slug,
        village=village.slug,
        category=village.category,
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


class _Points:
    """Distinct positions in order of first use."""

    def __init__(self) -> None:
        self.index: dict[tuple[float, float], int] = {}

    def __call__(self, lat: float, lon: float) -> int:
        return self.index.setdefault((float(lat), float(lon)), len(self.index))

    @property
    def points(self) -> list[tuple[float, float]]:
        return list(self.index)


def _landmark_places(landmarks: Sequence[Landmark], point: _Points) -> list[tuple[Place, int]]:
    return [
        (
            Place(
                f"landmark:{lm.slug}",
                lm.lat,
                lm.lon,
                name=lm.name_en,
                kind="landmark",
                extra={"slug": lm.slug, "name_vi": lm.name_vi, "name_en": lm.name_en},
            ),
            point(lm.lat, lm.lon),
        )
        for lm in landmarks
    ]


def _outlet_places(villages: Sequence[Village], point: _Points) -> list[tuple[Place, int]]:
    """Display spaces and sales points with a stated position (``mapped_places``)."""
    out = []
    for v in villages:
        for k, spot in enumerate(mapped_places(v.display_space, v.sales_points)):
            pid = f"{spot['kind']}:{v.slug}" + ("" if spot["kind"] == "display_space" else f":{k}")
            place = Place(
                pid,
                spot["lat"],
                spot["lon"],
                name=spot.get("name") or "",
                kind=spot["kind"],
                extra={"village": v.slug, "name": spot.get("name")},
            )
            out.append((place, point(spot["lat"], spot["lon"])))
    return out


def _sales_places(v: Village, here: VillagePlace, point: _Points) -> list[SalesPlace]:
    """The village's sales points with a position and hours we can read (``parse_hours``)."""
    out = []
    for k, spot in enumerate(v.sales_points or []):
        if not isinstance(spot, Mapping) or spot.get("lat") is None or spot.get("lon") is None:
            continue
        windows = parse_hours(spot.get("hours"))
        if not windows:
            continue
        lat, lon = float(spot["lat"]), float(spot["lon"])
        out.append(
            SalesPlace(
                here,
                k,
                str(spot.get("name") or ""),
                spot.get("address"),
                str(spot["hours"]),
                tuple(windows),
                lat,
                lon,
                point(lat, lon),  # registered by _outlet_places: no new point
            )
        )
    return out


def _parts(
    travel: TravelTimeProvider,
    points: Sequence[tuple[float, float]],
    mode: Mode,
    minutes: np.ndarray,
    banks: Mapping[int, str | None],
) -> np.ndarray:
    """Part of the city per point (-1 where no village is), from the car matrix; a part
    never spans both banks of the Red River (the travel estimate does not see the river)."""
    parts = np.full(len(points), -1, dtype=np.int64)
    if not banks:
        return parts
    car = minutes if mode == PART_MODE else ceil_minutes(matrices(travel, points, PART_MODE)[0])
    vp = sorted(banks)
    idx = np.asarray(vp, dtype=np.int64)
    parts[idx] = complete_linkage(car[np.ix_(idx, idx)], PART_MINUTES, [banks[p] for p in vp])
    return parts


def _experience_place(e: Any, village: Village, place: VillagePlace) -> ExperiencePlace:
    return ExperiencePlace(
        e.id,
        e.slug,
        e.kind,
        e.title_vi,
        e.title_en,
        e.duration_minutes,
        dict(e.weekly_hours or {}),
        tuple(e.closed_dates or ()),
        bool(e.is_sample),
        bool(e.hours_are_default),
        bool(e.bookable),
        place,
        experience_facts(e, village),
    )


def _village_place(v: Village, p: int, parts: np.ndarray) -> VillagePlace:
    return VillagePlace(
        v.id,
        v.slug,
        v.name_vi,
        v.name_en,
        v.district,
        v.category,
        float(v.lat),  # type: ignore[arg-type]
        float(v.lon),  # type: ignore[arg-type]
        p,
        bank_of(v.district),
        int(parts[p]),
    )


def _add_experiences(graph: nx.DiGraph, experiences: Sequence[ExperiencePlace]) -> None:
    """Experience nodes, each *at* its village (an edge both ways, 0 minutes)."""
    for e in experiences:
        node = f"experience:{e.slug}"
        graph.add_node(
            node,
            place=Place(
                node,
                e.village.lat,
                e.village.lon,
                name=e.title_en,
                duration=e.duration_minutes,
                price=e.facts.prices.get("adult") or 0,
                kind=e.kind,
                extra={"experience": e},
            ),
        )
        village = f"village:{e.village.slug}"
        graph.add_edge(node, village, at=True, minutes=0, km=0.0)
        graph.add_edge(village, node, at=True, minutes=0, km=0.0)


def build(mode: Mode, version: str = "", counts: Counter[str] | None = None) -> CatalogueGraph:
    """Build the graph of the catalogue as it is now for one mode (no caching). O(n^2) for n
    places with a position: one provider matrix, one numpy pass for the edges. ``counts``
    (the cache's) counts the matrices and graphs built."""
    began = time.perf_counter()
    counts = counts if counts is not None else Counter()
    villages = _villages()
    point = _Points()
    village_points = [point(v.lat, v.lon) for v in villages]  # type: ignore[arg-type]
    located = _landmark_places(
        list(db.session.scalars(select(Landmark).order_by(Landmark.id))), point
    )
    located += _outlet_places(villages, point)
    points = point.points
    mode = Mode(mode)
    travel = provider()
    raw_minutes, km = matrices(travel, points, mode)
    minutes = ceil_minutes(raw_minutes)
    counts["matrix"] += 1
    banks = {p: bank_of(v.district) for v, p in zip(villages, village_points, strict=True)}
    parts = _parts(travel, points, mode, minutes, banks)
    village_places: dict[str, VillagePlace] = {}
    experiences: list[ExperiencePlace] = []
    sales: list[SalesPlace] = []
    for v, p in zip(villages, village_points, strict=True):
        here = village_places[v.slug] = _village_place(v, p, parts)
        sales += _sales_places(v, here, point)
        extra = {"village": here, "crafts": list(v.crafts or [])}
        place = Place(
            f"village:{v.slug}", here.lat, here.lon, v.name_en, kind="village", extra=extra
        )
        located.append((place, p))
        experiences += [_experience_place(e, v, here) for e in v.experiences]
    experiences.sort(key=lambda e: e.id)
    graph = reach_graph(
        [pl for pl, _p in located],
        [p for _pl, p in located],
        minutes,
        km,
        mode,
        reach=DAY_REACH_MINUTES,
    )
    graph.graph["version"] = version
    _add_experiences(graph, experiences)
    counts["graph"] += 1
    slugs: dict[str, set[int]] = {}
    for e in experiences:
        slugs.setdefault(e.slug, set()).add(e.id)
        slugs.setdefault(e.village.slug, set()).add(e.id)
    return CatalogueGraph(
        version=version,
        mode=mode,
        graph=graph,
        points=points,
        minutes=minutes,
        km=km,
        villages=village_places,
        experiences=experiences,
        slugs={k: frozenset(v) for k, v in slugs.items()},
        provider=travel,
        parts=parts,
        sales_points=sales,
        build_seconds=time.perf_counter() - began,
        _lat=np.array([p[0] for p in points]),
        _lon=np.array([p[1] for p in points]),
    )


def neighbours(graph: CatalogueGraph, slug: str, within: int) -> Iterable[tuple[str, int]]:
    """Villages at most ``within`` minutes from village ``slug`` in the graph's mode, with
    their minutes, nearest first (the graph's travel edges)."""
    node = f"village:{slug}"
    if node not in graph.graph:
        return []
    out = [
        (other.removeprefix("village:"), data["minutes"])
        for other, data in graph.graph[node].items()
        if other.startswith("village:") and not data.get("at") and data["minutes"] <= within
    ]
    return sorted(out, key=lambda item: (item[1], item[0]))
