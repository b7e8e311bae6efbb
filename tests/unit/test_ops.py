"""Operations endpoints: probes, metrics, request ids and JSON log lines."""

from __future__ import annotations

import json
import logging

from tests.conftest import make_app
from tourplanner import ops


def test_healthz_answers_while_the_process_runs(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_checks_the_database_and_says_redis_is_unused_when_embedded(client):
    body = client.get("/readyz").get_json()
    assert body == {"status": "ready", "checks": {"database": "ok", "redis": "unused"}}


def test_readyz_is_503_in_the_error_shape_when_a_dependency_is_down(tmp_path):
    app = make_app(
        tmp_path / "x.sqlite3",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/dir/db.sqlite3",
        REDIS_URL="redis://127.0.0.1:9/0",
        SECRET_KEY="k" * 40,
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    checks = response.get_json()["error"]["details"]["checks"]
    assert checks["database"].startswith("error") and checks["redis"].startswith("error")


def test_metrics_count_requests_per_route_and_bookings_by_outcome(client):
    client.get("/api/v1/villages")
    client.post("/api/v1/bookings", json={"items": [], "contact": {}})
    text = client.get("/metrics").get_data(as_text=True)
    assert (
        'tourplanner_request_seconds_count{method="GET",route="api.villages",status="2xx"}' in text
    )
    assert 'tourplanner_booking_requests_total{outcome="invalid"}' in text
    assert 'tourplanner_outbox_messages{status="pending"}' in text
    assert "tourplanner_outbox_oldest_age_seconds" in text


def test_a_valid_request_id_is_kept_and_a_hostile_one_replaced(client):
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"]
        == "abc-123"
    )
    made = client.get("/healthz", headers={"X-Request-ID": "<script>alert(1)</script>"}).headers[
        "X-Request-ID"
    ]
    assert len(made) == 32 and made.isalnum()


def test_json_log_lines_carry_the_request_id():
    record = logging.LogRecord(
        "tourplanner.x", logging.INFO, __file__, 1, "booked %s", ("TP-1",), None
    )
    token = ops.request_id_var.set("req-42")
    try:
        ops.RequestIdFilter().filter(record)
        line = json.loads(ops.JsonFormatter().format(record))
    finally:
        ops.request_id_var.reset(token)
    assert line["message"] == "booked TP-1" and line["request_id"] == "req-42"
    assert line["level"] == "info" and line["logger"] == "tourplanner.x"
