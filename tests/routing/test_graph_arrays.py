"""The craft-village graph's arrays (routing/graph.py, pure numpy): the vectorised geodesic
estimate agrees with the provider, reach edges, parts of the city by complete linkage, and a
numpy travel matrix solves exactly like nested lists."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from geopy.distance import geodesic

from tourplanner.routing import Problem, check, solve
from tourplanner.routing.graph import (
    Place,
    ceil_minutes,
    complete_linkage,
    geodesic_km,
    matrices,
    reach_graph,
    start_row,
)
from tourplanner.routing.travel_time import CachedProvider, GeodesicProvider, Mode

RNG = random.Random(11)
POINTS = [(RNG.uniform(20.6, 21.3), RNG.uniform(105.3, 106.1)) for _ in range(40)]
HOTEL = (21.0288, 105.8525)


def test_vectorised_geodesic_agrees_with_geopy_to_micrometres() -> None:
    lat = np.array([p[0] for p in POINTS])
    lon = np.array([p[1] for p in POINTS])
    km = geodesic_km(HOTEL[0], HOTEL[1], lat, lon)
    expected = [geodesic(HOTEL, p).km for p in POINTS]
    assert np.abs(km - expected).max() < 1e-8
    assert geodesic_km(HOTEL[0], HOTEL[1], HOTEL[0], HOTEL[1]) == 0.0


@pytest.mark.parametrize("mode", list(Mode))
def test_matrices_and_start_row_are_the_geodesic_providers_estimate(mode: Mode) -> None:
    provider = GeodesicProvider()
    minutes, km = matrices(provider, POINTS, mode)
    want_minutes, want_km = provider.matrix(POINTS, mode)
    assert np.abs(minutes - np.array(want_minutes)).max() < 1e-6
    assert np.abs(km - np.array(want_km)).max() < 1e-8
    assert (minutes == minutes.T).all() and (np.diag(minutes) == 0).all()
    assert (ceil_minutes(minutes) == [[math.ceil(v - 1e-9) for v in r] for r in want_minutes]).all()
    row, row_km = start_row(provider, HOTEL, POINTS, mode)
    full, full_km = provider.matrix([HOTEL, *POINTS], mode)
    assert np.abs(row - np.array(full[0][1:])).max() < 1e-6
    assert np.abs(row_km - np.array(full_km[0][1:])).max() < 1e-8


def test_other_providers_are_asked_for_their_matrix() -> None:
    calls = []

    class Table:
        def matrix(self, points, mode):
            calls.append(len(points))
            n = len(points)
            return [[abs(i - j) * 10.0 for j in range(n)] for i in range(n)], [
                [abs(i - j) * 1.0 for j in range(n)] for i in range(n)
            ]

    minutes, _km = matrices(Table(), POINTS[:5], Mode.CAR)
    assert minutes[0, 4] == 40.0
    row, _ = start_row(CachedProvider(Table()), HOTEL, POINTS[:3], Mode.CAR)
    assert list(row) == [10.0, 20.0, 30.0] and calls == [5, 4]


def test_reach_edges_join_only_places_within_reach() -> None:
    places = [Place(f"p{k}", lat, lon) for k, (lat, lon) in enumerate(POINTS)]
    minutes, km = matrices(GeodesicProvider(), POINTS, Mode.WALK)
    whole = ceil_minutes(minutes)
    graph = reach_graph(places, list(range(len(places))), whole, km, Mode.WALK, reach=300)
    for i, a in enumerate(places):
        for j, b in enumerate(places):
            if i != j:
                assert graph.has_edge(a.id, b.id) == (whole[i, j] <= 300)
                if graph.has_edge(a.id, b.id):
                    assert graph.edges[a.id, b.id]["minutes"] == whole[i, j]
    assert 0 < graph.number_of_edges() < len(places) * (len(places) - 1)


def test_complete_linkage_groups_are_all_within_the_limit_and_keep_sides_apart() -> None:
    minutes = ceil_minutes(matrices(GeodesicProvider(), POINTS, Mode.CAR)[0])
    sides = ["left" if lon > 105.85 else "right" for _lat, lon in POINTS]
    sides[0] = None  # unknown: may join either side
    labels = complete_linkage(minutes, 60, sides)
    assert labels[0] == 0 and labels.max() < len(POINTS)
    for group in set(labels.tolist()):
        members = np.flatnonzero(labels == group)
        assert minutes[np.ix_(members, members)].max() <= 60
        assert len({sides[m] for m in members} - {None}) <= 1
    # Merging stops at the limit: two points farther apart never share a group.
    assert len(set(complete_linkage(minutes, 0).tolist())) == len(POINTS)


def test_a_numpy_travel_matrix_solves_exactly_like_nested_lists() -> None:
    rng = random.Random(5)
    n = 30
    pts = [(rng.uniform(20.9, 21.1), rng.uniform(105.7, 105.95)) for _ in range(n)]
    travel = ceil_minutes(matrices(GeodesicProvider(), pts, Mode.MOTORBIKE)[0])
    common = {
        "service": [0] + [rng.choice([30, 60, 90]) for _ in range(n - 1)],
        "windows": [[(480, 480)]] + [[(480, 1020)]] * (n - 1),
        "scores": [0.0] + [rng.choice([0.5, 1.0, 2.0]) for _ in range(n - 1)],
        "day_start": 480,
        "day_end": 1080,
        "finish_within_window": True,
        "travel_weight": 1 / 60,
        "max_travel": 200,
        "min_stops": 1,
    }
    as_lists = Problem(travel=travel.tolist(), **common)
    as_numpy = Problem(travel=travel, **common)
    a = solve(as_lists, time_limit=None, max_iterations=80, alternatives=2)
    b = solve(as_numpy, time_limit=None, max_iterations=80, alternatives=2)
    assert a.tours == b.tours and a.objective == b.objective
    assert [x.tours for x in a.alternatives] == [x.tours for x in b.alternatives]
    assert check(as_numpy, b.tours) == []
    bad = travel.copy()
    bad[1, 2] = -1
    with pytest.raises(ValueError, match="non-negative"):
        Problem(travel=bad, **common).validate()
    with pytest.raises(ValueError, match="n x n"):
        Problem(travel=travel[:, :-1], **common).validate()
