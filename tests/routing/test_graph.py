"""The craft-village graph on the real Hanoi catalogue, and its conversion to a Problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tourplanner.routing import check, solve
from tourplanner.routing.graph import build_graph, parse_hours, places_from_catalogue, to_problem
from tourplanner.routing.travel_time import Mode

ROOT = Path(__file__).resolve().parents[2]
CANDIDATES = [
    ROOT / "tourplanner/data/hanoi_craft_villages.json",
    ROOT.parent / "shared/data/hanoi_craft_villages.json",
]
CATALOGUE = next((p for p in CANDIDATES if p.is_file()), None)
FASTEST_LAST = [Mode.WALK, Mode.BICYCLE, Mode.MOTORBIKE]


@pytest.fixture(scope="module")
def graph():  # type: ignore[no-untyped-def]
    if CATALOGUE is None:
        pytest.skip("Hanoi catalogue not found")
    places = places_from_catalogue(json.loads(CATALOGUE.read_text(encoding="utf-8")))
    return build_graph(places)


def test_every_mode_has_a_complete_positive_nearly_symmetric_matrix(graph) -> None:  # type: ignore[no-untyped-def]
    n = graph.number_of_nodes()
    assert n >= 40 and graph.number_of_edges() == n * (n - 1)
    for a, b, data in graph.edges(data=True):
        for mode in Mode:
            there, back = data["minutes"][mode], graph.edges[b, a]["minutes"][mode]
            assert there > 0 and data["km"][mode] > 0
            assert abs(there - back) <= 0.01 * there


def test_faster_modes_are_quicker_on_long_legs(graph) -> None:  # type: ignore[no-untyped-def]
    long_legs = [d for _, _, d in graph.edges(data=True) if d["km"][Mode.CAR] > 10]
    assert long_legs
    for data in long_legs:
        times = [data["minutes"][mode] for mode in FASTEST_LAST]
        assert times == sorted(times, reverse=True)
        assert data["minutes"][Mode.MOTORBIKE] < data["minutes"][Mode.CAR]


def test_day_plan_from_the_catalogue_is_feasible(graph) -> None:  # type: ignore[no-untyped-def]
    problem, ids = to_problem(
        graph,
        Mode.MOTORBIKE,
        start="hoan-kiem-lake",
        day_start=8 * 60,
        day_end=18 * 60,
        must_visit=["bat-trang"],
        max_stops=4,
    )
    solution = solve(problem, max_iterations=200, alternatives=2)
    assert "bat-trang" in [ids[k] for k in solution.tours[0]]
    assert check(problem, solution.tours) == []
    assert all(stop.end <= 18 * 60 for stop in solution.schedule[0])


def test_opening_hours_text_with_a_lunch_break() -> None:
    assert parse_hours("08:00–11:30, 13:30–17:00 daily") == ((480, 690), (810, 1020))
    assert parse_hours(None) == ((480, 1020),)
