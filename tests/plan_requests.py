"""The day-trip request the planner tests share (issue #17's family): 2 adults and a child,
ceramics and silk, 08:00-18:00 by car from Hoàn Kiếm Lake, ten days ahead (an open day)."""

from __future__ import annotations

from demo_days import open_day

INTERESTS = {"ceramics": 1.0, "silk_textiles": 1.0}


def family(**overrides) -> dict:
    """The family's ``POST /api/v1/plans`` body, with ``overrides`` (top-level keys)."""
    data = {
        "start": {"landmark": "hoan-kiem-lake"},
        "date": open_day(10).isoformat(),
        "start_time": "08:00",
        "end_time": "18:00",
        "mode": "car",
        "party": {"adults": 2, "children": 1},
        "interests": dict(INTERESTS),
        "alternatives": 3,
        "lang": "en",
    }
    data.update(overrides)
    return data


def post_plan(client, **overrides) -> dict:
    """The family's plan, asked for through the API (201 expected)."""
    response = client.post("/api/v1/plans", json=family(**overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()
