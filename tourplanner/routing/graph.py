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
