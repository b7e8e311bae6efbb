"""The craft-village graph and its conversion to a solver :class:`Problem`.

Nodes are experiences and start points (plain :class:`Place` dataclasses with location, visit
duration, opening windows for the requested date, score and price); directed edges carry, per
transport mode, travel minutes and road kilometres from a :class:`TravelTimeProvider`. The
solver does not walk the networkx graph: :func:`to_problem` flattens it to integer arrays.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from .problem import Problem
from .travel_time import GeodesicProvider, Mode, TravelTimeProvider

MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class Place:
    """A node of the graph. Times are minutes since midnight of the planned date.

    ``windows`` are the opening windows on that date (several per day allowed, e.g. a lunch
    break); a start point (hotel) needs none. ``price`` is integer VND.
    """

    id: str
    lat: float
    lon: float
    name: str = ""
    duration: int = 0
    windows: tuple[tuple[int, int], ...] = ((0, MINUTES_PER_DAY),)
    score: float = 0.0
    price: int = 0
    kind: str = "experience"
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


def build_graph(
    places: Sequence[Place],
    *,
    modes: Iterable[Mode] = tuple(Mode),
    provider: TravelTimeProvider | None = None,
) -> nx.DiGraph:
    """Complete directed graph over ``places`` with per-mode travel data on every edge.

    Edge attributes: ``minutes`` and ``km``, each a ``{Mode: float}`` dict. One provider call
    per mode, O(n^2) edges.
    """
    provider = provider or GeodesicProvider()
    graph = nx.DiGraph()
    for place in places:
        graph.add_node(place.id, place=place)
    points = [(p.lat, p.lon) for p in places]
    for i, a in enumerate(places):
        for j, b in enumerate(places):
            if i != j:
                graph.add_edge(a.id, b.id, minutes={}, km={})
    for mode in modes:
        minutes, km = provider.matrix(points, mode)
        for i, a in enumerate(places):
            for j, b in enumerate(places):
                if i != j:
                    data = graph.edges[a.id, b.id]
                    data["minutes"][mode] = minutes[i][j]
                    data["km"][mode] = km[i][j]
    return graph


def travel_matrix(graph: nx.DiGraph, ids: Sequence[str], mode: Mode) -> list[list[int]]:
    """Integer minutes (rounded up, so plans are never optimistic) between ``ids``. O(n^2)."""
    return [
        [0 if a == b else math.ceil(graph.edges[a, b]["minutes"][mode] - 1e-9) for b in ids]
        for a in ids
    ]


def to_problem(
    graph: nx.DiGraph,
    mode: Mode,
    *,
    start: str,
    end: str | None = None,
    day_start: int,
    day_end: int,
    must_visit: Iterable[str] = (),
    excluded: Iterable[str] = (),
    max_stops: int | None = None,
    budget: int | None = None,
    finish_within_window: bool = True,
) -> tuple[Problem, list[str]]:
    """Flatten the graph for one day and mode into a :class:`Problem` (minutes as ticks).

    Returns the problem and the node ids by index, so ``ids[k]`` names solver node ``k``.
    Real-world default: a visit must also finish before its window closes.
    """
    end = end or start
    ids = list(graph.nodes)
    index = {node: k for k, node in enumerate(ids)}
    places: list[Place] = [graph.nodes[node]["place"] for node in ids]
    problem = Problem(
        travel=travel_matrix(graph, ids, mode),
        service=[p.duration for p in places],
        windows=[list(p.windows) for p in places],
        scores=[p.score for p in places],
        costs=[p.price for p in places],
        budget=budget,
        start=index[start],
        end=index[end],
        day_start=day_start,
        day_end=day_end,
        must_visit=frozenset(index[i] for i in must_visit),
        excluded=frozenset(index[i] for i in excluded),
        max_stops=max_stops,
        finish_within_window=finish_within_window,
        names=[p.name or p.id for p in places],
    )
    problem.validate()
    return problem, ids


_HOURS = re.compile(r"(\d{1,2})[:h](\d{2})\s*[–-]\s*(\d{1,2})[:h](\d{2})")


def parse_hours(
    text: str | None, default: tuple[tuple[int, int], ...] = ((480, 1020),)
) -> tuple[tuple[int, int], ...]:
    """Windows in minutes from free text like ``"08:00–11:30, 13:30–17:00 daily"``.

    Falls back to ``default`` (08:00-17:00) when the text states no hours.
    """
    found = [
        (int(a) * 60 + int(b), int(c) * 60 + int(d)) for a, b, c, d in _HOURS.findall(text or "")
    ]
    return tuple(found) or default


def places_from_catalogue(catalogue: dict[str, Any]) -> list[Place]:
    """Experiences of the shipped catalogue (``hanoi_craft_villages.json``) as places.

    Landmarks become start points. Score 1 per village (the planner sets real scores).
    """
    places = []
    for village in catalogue.get("villages", []):
        if village.get("lat") is None or village.get("lon") is None:
            continue  # position not yet known: never planned, never given a point
        experience = village.get("experience") or {}
        price = experience.get("price_vnd")
        places.append(
            Place(
                id=village["id"],
                lat=village["lat"],
                lon=village["lon"],
                name=village.get("name_en") or village["id"],
                duration=int(experience.get("duration_minutes") or 60),
                windows=parse_hours(experience.get("opening_hours")),
                score=1.0,
                price=int(price.get("min") or 0) if isinstance(price, dict) else 0,
            )
        )
    for landmark in catalogue.get("landmarks", []):
        places.append(
            Place(
                id=landmark["id"],
                lat=landmark["lat"],
                lon=landmark["lon"],
                name=landmark.get("name_en") or landmark["id"],
                kind="start",
            )
        )
    return places


# --- the catalogue graph's arrays (pure numpy, used by services/catalogue_graph.py) ---------

#: WGS84, the ellipsoid geopy's ``geodesic`` uses.
_WGS84_A = 6378137.0
_WGS84_F = 1 / 298.257223563
_WGS84_B = _WGS84_A * (1 - _WGS84_F)


def geodesic_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> np.ndarray:
    """WGS84 geodesic distances in km, vectorised (Vincenty's inverse formula; arguments
    broadcast like numpy arrays).

    Agrees with geopy's ``geodesic`` (Karney) to a few micrometres on Hanoi distances, so the
    minutes it gives round the same way; pairs that do not converge (near-antipodal points,
    never in one city) are handed to geopy.
    """
    lat1, lon1, lat2, lon2 = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (lat1, lon1, lat2, lon2))
    )
    f = _WGS84_F
    u1 = np.arctan((1 - f) * np.tan(np.radians(lat1)))
    u2 = np.arctan((1 - f) * np.tan(np.radians(lat2)))
    su1, cu1, su2, cu2 = np.sin(u1), np.cos(u1), np.sin(u2), np.cos(u2)
    big_l = np.radians(lon2 - lon1)
    lam = big_l.copy()
    done = np.zeros(lam.shape, dtype=bool)
    for _ in range(200):
        sl, cl = np.sin(lam), np.cos(lam)
        s_sig = np.sqrt((cu2 * sl) ** 2 + (cu1 * su2 - su1 * cu2 * cl) ** 2)
        c_sig = su1 * su2 + cu1 * cu2 * cl
        sig = np.arctan2(s_sig, c_sig)
        s_alpha = np.divide(cu1 * cu2 * sl, s_sig, out=np.zeros_like(s_sig), where=s_sig != 0)
        c2_alpha = 1 - s_alpha**2
        c2_sm = np.divide(2 * su1 * su2, c2_alpha, out=np.zeros_like(c2_alpha), where=c2_alpha != 0)
        c2_sm = np.where(c2_alpha != 0, c_sig - c2_sm, 0.0)
        c = f / 16 * c2_alpha * (4 + f * (4 - 3 * c2_alpha))
        new = big_l + (1 - c) * f * s_alpha * (
            sig + c * s_sig * (c2_sm + c * c_sig * (-1 + 2 * c2_sm**2))
        )
        done = np.abs(new - lam) < 1e-12
        lam = new
        if done.all():
            break
    u_sq = c2_alpha * (_WGS84_A**2 - _WGS84_B**2) / _WGS84_B**2
    big_a = 1 + u_sq / 16384 * (4096 + u_sq * (-768 + u_sq * (320 - 175 * u_sq)))
    big_b = u_sq / 1024 * (256 + u_sq * (-128 + u_sq * (74 - 47 * u_sq)))
    d_sig = (
        big_b
        * s_sig
        * (
            c2_sm
            + big_b
            / 4
            * (
                c_sig * (-1 + 2 * c2_sm**2)
                - big_b / 6 * c2_sm * (-3 + 4 * s_sig**2) * (-3 + 4 * c2_sm**2)
            )
        )
    )
    km = _WGS84_B * big_a * (sig - d_sig) / 1000.0
    if not done.all():  # pragma: no cover - near-antipodal pairs only
        from geopy.distance import geodesic

        for k in zip(*np.nonzero(~done), strict=True):
            km[k] = geodesic((lat1[k], lon1[k]), (lat2[k], lon2[k])).km
    return km


def _geodesic_profile(provider: TravelTimeProvider, mode: Mode) -> Any:
    """The mode profile of a plain :class:`GeodesicProvider` (None for any other provider)."""
    if type(provider) is GeodesicProvider:
        return provider.profiles[Mode(mode)]
    return None


def matrices(
    provider: TravelTimeProvider, points: Sequence[tuple[float, float]], mode: Mode
) -> tuple[np.ndarray, np.ndarray]:
    """``(minutes, km)`` between ``points`` as float arrays, the provider's model.

    The geodesic provider's estimate is computed here with numpy (the same formula:
    ``overhead + geodesic km x circuity / speed``, symmetric, 0 on the diagonal) instead of one
    geopy call per pair; any other provider (OSRM) is asked for its matrix.
    """
    n = len(points)
    if n == 0:
        return np.zeros((0, 0)), np.zeros((0, 0))
    profile = _geodesic_profile(provider, mode)
    if profile is None:
        minutes, km = provider.matrix(list(points), mode)
        return np.asarray(minutes, dtype=float), np.asarray(km, dtype=float)
    lat = np.array([p[0] for p in points])
    lon = np.array([p[1] for p in points])
    road = geodesic_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :]) * profile.circuity
    upper = np.triu(road, 1)  # the provider computes i < j and mirrors it
    road = upper + upper.T
    minutes = profile.overhead_min + road / profile.speed_kmh * 60.0
    np.fill_diagonal(minutes, 0.0)
    return minutes, road


def start_row(
    provider: TravelTimeProvider,
    origin: tuple[float, float],
    points: Sequence[tuple[float, float]],
    mode: Mode,
) -> tuple[np.ndarray, np.ndarray]:
    """``(minutes, km)`` from ``origin`` to each point: vectorised for the geodesic provider,
    the first row of one matrix otherwise (OSRM: one table request)."""
    if not len(points):
        return np.zeros(0), np.zeros(0)
    profile = _geodesic_profile(provider, mode)
    if profile is None:
        minutes, km = provider.matrix([origin, *points], mode)
        return np.asarray(minutes[0][1:], dtype=float), np.asarray(km[0][1:], dtype=float)
    lat = np.array([p[0] for p in points])
    lon = np.array([p[1] for p in points])
    road = geodesic_km(origin[0], origin[1], lat, lon) * profile.circuity
    return profile.overhead_min + road / profile.speed_kmh * 60.0, road


def ceil_minutes(minutes: Any) -> np.ndarray:
    """Whole minutes rounded up (plans are never optimistic), as int64; same rounding as
    :func:`travel_matrix` (``ceil(v - 1e-9)``)."""
    return np.ceil(np.asarray(minutes, dtype=float) - 1e-9).astype(np.int64)


def reach_graph(
    places: Sequence[Place],
    point_of: Sequence[int],
    minutes: np.ndarray,
    km: np.ndarray,
    mode: Mode,
    *,
    reach: int,
) -> nx.DiGraph:
    """A directed graph of one mode over ``places`` whose travel edges join the places
    within ``reach`` minutes of each other (``minutes[p][q]`` between the points
    ``point_of[i]`` of the places).

    Node attribute ``place``: the :class:`Place`. Edge attributes ``minutes`` (whole minutes,
    rounded up) and ``km`` of the graph's mode (``graph.graph["mode"]``): one graph per mode
    keeps an edge at two numbers. O(n^2) pairs, selected with numpy.
    """
    graph = nx.DiGraph(mode=Mode(mode))
    for place in places:
        graph.add_node(place.id, place=place)
    index = np.asarray(point_of, dtype=np.int64)
    if len(index) == 0:
        return graph
    sub = minutes[np.ix_(index, index)]
    sub_km = km[np.ix_(index, index)]
    near = (sub <= reach) & ~np.eye(len(index), dtype=bool)
    ids = [p.id for p in places]
    rows, cols = np.nonzero(near)
    graph.add_edges_from(
        (ids[i], ids[j], {"minutes": m, "km": k})
        for i, j, m, k in zip(
            rows.tolist(),
            cols.tolist(),
            sub[rows, cols].tolist(),
            sub_km[rows, cols].tolist(),
            strict=True,
        )
    )
    return graph


def complete_linkage(
    minutes: np.ndarray, within: int, apart: Sequence[Any] | None = None
) -> np.ndarray:
    """Groups of points all within ``within`` minutes of each other, there and back.

    Agglomerative clustering with complete linkage on ``max(minutes[p][q], minutes[q][p])``:
    the two groups whose farthest pair is nearest merge first, while that pair is at most
    ``within``. ``apart`` (one value per point, None for unknown) keeps points of different
    values out of one group (e.g. the banks of a river the travel estimate does not see).
    Returns a group number per point, numbered by each group's first point. O(n^3) worst case
    in numpy steps, a few milliseconds for a few hundred points.
    """
    n = len(minutes)
    labels = np.arange(n)
    if n == 0:
        return labels
    dist = np.maximum(minutes, minutes.T).astype(float)
    if apart is not None:
        side = list(apart)
        for p in range(n):
            for q in range(p + 1, n):
                if side[p] is not None and side[q] is not None and side[p] != side[q]:
                    dist[p, q] = dist[q, p] = np.inf
    np.fill_diagonal(dist, np.inf)
    while True:
        k = int(np.argmin(dist))
        a, b = divmod(k, n)
        if not dist[a, b] <= within:
            break
        a, b = min(a, b), max(a, b)
        # Complete linkage: the merged group's distance to another is the larger of the two.
        merged = np.maximum(dist[a], dist[b])
        dist[a], dist[:, a] = merged, merged
        dist[a, a] = np.inf
        dist[b], dist[:, b] = np.inf, np.inf
        labels[labels == b] = a
    out = np.empty(n, dtype=np.int64)
    numbers: dict[int, int] = {}
    for p in range(n):
        out[p] = numbers.setdefault(int(labels[p]), len(numbers))
    return out
