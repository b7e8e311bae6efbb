"""The craft-village graph as the planner's model (#13 item 3): its nodes and edges, built once
per catalogue version and mode and cached, and the planner's candidates and travel matrix cut
from it (a second request builds nothing; a catalogue change rebuilds; plans as before)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from plan_requests import family
from plan_requests import post_plan as post
from sqlalchemy import select

from tourplanner.adapters.orm import Experience, Landmark, Village
from tourplanner.extensions import db
from tourplanner.routing.travel_time import GeodesicProvider, Mode
from tourplanner.services import catalogue_graph, planning


@pytest.fixture(autouse=True)
def quick(app):
    app.config["PLANNER_TIME_LIMIT"] = 0.1
    return app


def positioned_villages() -> list[Village]:
    return list(db.session.scalars(select(Village).where(Village.lat.is_not(None))))


def test_nodes_are_the_positioned_villages_their_experiences_and_the_landmarks(app):
    graph = catalogue_graph.get("car")
    nodes = graph.graph.nodes
    kinds = {n: d["place"].kind for n, d in nodes(data=True)}
    villages = positioned_villages()
    assert {n for n, k in kinds.items() if k == "village"} == {
        f"village:{v.slug}" for v in villages
    }
    experiences = [e for v in villages for e in v.experiences]
    assert {n for n in nodes if n.startswith("experience:")} == {
        f"experience:{e.slug}" for e in experiences
    }
    assert {n for n, k in kinds.items() if k == "landmark"} == {
        f"landmark:{lm.slug}" for lm in db.session.scalars(select(Landmark))
    }
    for e in experiences:  # an experience is at its village, with its attributes
        node = f"experience:{e.slug}"
        edge = graph.graph.edges[node, f"village:{e.village.slug}"]
        assert edge["at"] and edge["minutes"] == 0
        place = nodes[node]["place"]
        assert place.duration == e.duration_minutes and place.kind == e.kind
        facts = place.extra["experience"]
        assert facts.village.slug == e.village.slug and facts.bookable == e.bookable
    bat_trang = nodes["village:bat-trang"]["place"].extra["village"]
    assert bat_trang.bank == "left" and bat_trang.category == "ceramics"
    assert nodes["village:van-phuc"]["place"].extra["village"].bank == "right"


def test_villages_without_a_position_are_never_in_it(app, client):
    unplaced = list(db.session.scalars(select(Village).where(Village.lat.is_(None))))
    assert unplaced  # the dataset lists villages whose position no source states
    graph = catalogue_graph.get("car")
    for village in unplaced:
        assert f"village:{village.slug}" not in graph.graph
        assert village.slug not in graph.villages
    # A village that loses its position leaves the graph, with its experiences.
    van_phuc = db.session.scalar(select(Village).where(Village.slug == "van-phuc"))
    slugs = [e.slug for e in van_phuc.experiences]
    van_phuc.lat = van_phuc.lon = None
    db.session.commit()
    graph = catalogue_graph.get("car")
    assert "village:van-phuc" not in graph.graph
    assert not any(f"experience:{s}" in graph.graph for s in slugs)
    response = client.post("/api/v1/plans", json=family(must_include=["van-phuc"]))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "unknown_slug"


def test_sales_points_and_display_spaces_with_a_stated_position_are_nodes(app):
    village = db.session.scalar(select(Village).where(Village.slug == "bat-trang"))
    village.display_space = {"name": "Showroom", "lat": 20.9801, "lon": 105.9141}
    village.sales_points = [
        {"name": "Market stall", "lat": 20.981, "lon": 105.915},
        {"name": "No position stated"},
    ]
    db.session.commit()
    graph = catalogue_graph.get("car").graph
    spots = {n: d["place"] for n, d in graph.nodes(data=True)}
    assert spots["display_space:bat-trang"].kind == "display_space"
    assert spots["display_space:bat-trang"].extra["village"] == "bat-trang"
    sales = [n for n in spots if n.startswith("sales_point:bat-trang")]
    assert len(sales) == 1 and spots[sales[0]].name == "Market stall"
    assert graph.has_edge("display_space:bat-trang", "village:bat-trang")


@pytest.mark.parametrize("mode", ["car", "walk"])
def test_travel_edges_join_places_within_a_days_reach_with_the_matrix_minutes(app, mode):
    graph = catalogue_graph.get(mode)
    reach = catalogue_graph.DAY_REACH_MINUTES
    villages = list(graph.villages.values())
    points = [(v.lat, v.lon) for v in villages]
    raw, _km = GeodesicProvider().matrix(points, Mode(mode))
    missing = 0
    for i, a in enumerate(villages):
        for j, b in enumerate(villages):
            if a.point == b.point:
                continue
            minutes = int(graph.minutes[a.point, b.point])
            assert minutes == math.ceil(raw[i][j] - 1e-9)  # the provider's, rounded up
            has = graph.graph.has_edge(f"village:{a.slug}", f"village:{b.slug}")
            assert has == (minutes <= reach)
            if has:
                assert (
                    graph.graph.edges[f"village:{a.slug}", f"village:{b.slug}"]["minutes"]
                    == minutes
                )
            missing += not has
    assert (missing > 0) == (mode == "walk")  # Ba Vì to Phú Xuyên is no walk in a day
    assert graph.graph.graph["mode"] == Mode(mode)


def test_parts_of_the_city_are_villages_close_by_car_on_one_bank(app):
    graph = catalogue_graph.get("car")
    for villages in graph.village_parts().values():
        assert len({v.bank for v in villages if v.bank}) <= 1
        for a in villages:
            for b in villages:
                there, back = graph.minutes[a.point, b.point], graph.minutes[b.point, a.point]
                assert max(there, back) <= catalogue_graph.PART_MINUTES
    part = {v.slug: v.part for v in graph.villages.values()}
    assert part["bat-trang"] == part["giang-cao"] == part["kim-lan"]
    assert part["van-phuc"] != part["bat-trang"]


def test_a_second_plan_request_builds_neither_the_graph_nor_the_matrix(app, client, monkeypatch):
    calls = {"matrices": 0, "graph": 0}
    matrices, reach_graph = catalogue_graph.matrices, catalogue_graph.reach_graph

    def counted_matrices(*args, **kwargs):
        calls["matrices"] += 1
        return matrices(*args, **kwargs)

    def counted_graph(*args, **kwargs):
        calls["graph"] += 1
        return reach_graph(*args, **kwargs)

    monkeypatch.setattr(catalogue_graph, "matrices", counted_matrices)
    monkeypatch.setattr(catalogue_graph, "reach_graph", counted_graph)

    def no_per_request_matrix(*args, **kwargs):
        raise AssertionError("the planner computed a travel matrix for a request")

    monkeypatch.setattr(planning, "travel", no_per_request_matrix)
    first = post(client)
    assert catalogue_graph.builds() == {"graph": 1, "matrix": 1}
    assert calls == {"matrices": 1, "graph": 1}  # car: its own matrix gives the parts
    second = post(client, pace="relaxed")
    third = post(client)
    assert catalogue_graph.builds() == {"graph": 1, "matrix": 1}
    assert calls == {"matrices": 1, "graph": 1}
    assert first["itineraries"] and second["itineraries"] and third["itineraries"]
    post(client, mode="motorbike")  # another mode: its own graph (and the car parts)
    assert catalogue_graph.builds() == {"graph": 2, "matrix": 2}


def test_the_problem_is_cut_from_the_cached_matrix_and_holds_only_candidates(
    app, client, monkeypatch
):
    seen = []
    solve = planning.solve

    def spy(problem, **kwargs):
        seen.append(problem)
        return solve(problem, **kwargs)

    monkeypatch.setattr(planning, "solve", spy)
    relaxed = post(client, pace="relaxed")
    assert relaxed["itineraries"]
    problem = seen[0]
    graph = catalogue_graph.get("car")
    assert isinstance(problem.travel, np.ndarray)
    limit = 150  # relaxed: a quarter of 08:00-18:00 on the road
    names = problem.names
    start = db.session.scalar(select(Landmark).where(Landmark.slug == "hoan-kiem-lake"))
    experiences = [n for n in names[1:] if not n.startswith("lunch:")]
    assert experiences
    row, _km = graph.start_row((start.lat, start.lon), np.arange(len(graph.points)))
    for k, village in enumerate(experiences, start=1):
        point = graph.villages[village].point
        assert problem.travel[0][k] == problem.travel[k][0] == row[point]
        assert 2 * row[point] <= limit  # a candidate: there and back within the limit
        for j, other in enumerate(experiences, start=1):
            assert problem.travel[k][j] == graph.minutes[point, graph.villages[other].point]
    # Experiences of the interests too far for the limit are not in the problem at all.
    far = [
        e
        for e in graph.experiences
        if e.village.category in ("ceramics", "silk_textiles") and 2 * row[e.point] > limit
    ]
    assert far and not {e.village.slug for e in far} & set(experiences)


def test_a_catalogue_change_rebuilds_and_drops_the_old_version(app, client):
    post(client)
    assert catalogue_graph.builds()["graph"] == 1
    experience = db.session.scalar(select(Experience).where(Experience.kind == "visit"))
    experience.duration_minutes += 15
    db.session.commit()
    post(client)
    assert catalogue_graph.builds() == {"graph": 2, "matrix": 2}
    cached = app.extensions[catalogue_graph.GRAPH_KEY].entries
    assert len(cached) == 1  # the older version's graph is gone
    (graph,) = cached.values()
    assert (
        next(e for e in graph.experiences if e.id == experience.id).duration_minutes
        == experience.duration_minutes
    )
    landmark = db.session.scalar(select(Landmark).where(Landmark.slug == "hoan-kiem-lake"))
    landmark.lat += 0.001
    db.session.commit()
    post(client)
    assert catalogue_graph.builds()["graph"] == 3


def test_the_cache_is_bounded(app, client):
    app.config["PLANNER_GRAPH_CACHE"] = 2
    app.extensions.pop(catalogue_graph.GRAPH_KEY, None)
    for mode in ("car", "motorbike", "bicycle"):
        post(client, mode=mode, pace="packed")
    cached = app.extensions[catalogue_graph.GRAPH_KEY].entries
    assert [key[1] for key in cached] == ["motorbike", "bicycle"]


def _without_labels(itineraries: list[dict]) -> list[dict]:
    return [{k: v for k, v in it.items() if k not in ("kind", "why")} for it in itineraries]


def _objective(it: dict, pace: str) -> float:
    """What the solver maximised: interest points less the pace's price of the road time."""
    from tourplanner.domain.planning import PACES

    return it["totals"]["score"] - PACES[pace].travel_weight * it["totals"]["travel_minutes"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"pace": "balanced", "interests": {"ceramics": 1.0}},
        {"mode": "motorbike", "interests": {"food": 1.0}, "pace": "relaxed", "lunch": False},
        {"pace": "packed", "interests": {"lacquer": 1.0}, "start_time": "09:00"},
        {"max_travel_minutes": 10},
    ],
)
def test_plans_equal_the_per_request_path(app, client, overrides):
    app.config["PLANNER_TIME_LIMIT"] = 0.3
    app.config["PLANNER_GRAPH"] = False
    before = post(client, alternatives=1, **overrides)
    app.config["PLANNER_GRAPH"] = True
    after = post(client, alternatives=1, **overrides)
    assert _without_labels(after["itineraries"]) == before["itineraries"]
    assert after.get("reason") == before.get("reason")
    assert all(it["kind"] == "best" for it in after["itineraries"])


@pytest.mark.parametrize(
    "overrides", [{"pace": "relaxed"}, {"must_include": ["van-phuc"], "pace": "relaxed"}]
)
def test_leaving_out_what_is_out_of_reach_never_plans_a_worse_day(app, client, overrides):
    """With the nodes out of reach left out these days have at most 10 candidates, so the
    exact search answers where the local search did before: as good a day, or a better one
    (the relaxed family day: 88 instead of 111 minutes on the road, same interest)."""
    app.config["PLANNER_TIME_LIMIT"] = 0.3
    app.config["PLANNER_GRAPH"] = False
    (before,) = post(client, alternatives=1, **overrides)["itineraries"]
    app.config["PLANNER_GRAPH"] = True
    (after,) = post(client, alternatives=1, **overrides)["itineraries"]
    assert _objective(after, "relaxed") >= _objective(before, "relaxed") - 1e-9
    assert after["totals"]["score"] >= before["totals"]["score"]
    must = set(overrides.get("must_include", []))
    assert must <= {s["village"] for s in after["stops"]}


def test_neighbours_are_the_villages_within_the_minutes_nearest_first(app):
    graph = catalogue_graph.get("car")
    near = catalogue_graph.neighbours(graph, "bat-trang", 30)
    slugs = [slug for slug, _m in near]
    assert {"giang-cao", "kim-lan"} <= set(slugs) and "bat-trang" not in slugs
    minutes = [m for _s, m in near]
    assert minutes == sorted(minutes) and all(m <= 30 for m in minutes)
    for slug, m in near:
        assert m == graph.minutes[graph.villages["bat-trang"].point, graph.villages[slug].point]
    assert catalogue_graph.neighbours(graph, "no-such-village", 30) == []
