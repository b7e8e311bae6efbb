"""The plans pool (issue #14 item 3) without servers: embedded plans run in the process; the
production path is driven through an in-memory pool whose "worker" runs the real worker code
(:func:`plan_pool.compute`), so a domain error crosses the same JSON boundary as in
production. Redis, a real plan worker and gunicorn: tests/integration/test_plan_pool.py."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from demo_days import open_day
from sqlalchemy.exc import OperationalError

from tourplanner.adapters.orm import Plan
from tourplanner.domain.availability import LOCAL_TZ
from tourplanner.domain.errors import DomainError, Unavailable, Unprocessable, ValidationError
from tourplanner.extensions import db
from tourplanner.services import plan_pool, planning
from tourplanner.services.plan_pool import PoolUnreachable, Settings

SETTINGS = Settings(capacity=2, wait_seconds=1.0, retry_after=5)


def _body(**changes: Any) -> dict:
    day = open_day(10)
    return {
        "start": {"landmark": "hoan-kiem-lake"},
        "date": day.isoformat(),
        "party": {"adults": 1},
        **changes,
    }


class FakePool:
    """Admission by a counter; ``submit`` runs the worker's code at once and keeps its reply
    as JSON text, as the Redis list would."""

    def __init__(self, capacity_left: int = 2, *, answer: bool = True) -> None:
        self.capacity_left = capacity_left
        self.answer = answer
        self.taken: set[str] = set()
        self.admitted: list[str] = []
        self.submitted: list[tuple[str, Any, str | None]] = []
        self.replies: dict[str, str] = {}
        self.unreachable_at: str | None = None

    def _maybe_fail(self, step: str) -> None:
        if self.unreachable_at == step:
            raise PoolUnreachable("connection refused")

    def admit(self, token: str, settings: Settings) -> bool:
        self._maybe_fail("admit")
        if len(self.taken) >= self.capacity_left:
            return False
        self.taken.add(token)
        self.admitted.append(token)
        return True

    def release(self, token: str) -> None:
        self.taken.discard(token)

    def submit(self, token: str, data: object, now: datetime | None, expires: float) -> None:
        self._maybe_fail("submit")
        wire = json.loads(json.dumps([data, now.isoformat() if now else None]))
        self.submitted.append((token, *wire))
        if self.answer:
            _, reply = plan_pool.compute(*wire)
            self.replies[token] = json.dumps(reply)

    def wait(self, token: str, timeout: float) -> dict[str, Any] | None:
        self._maybe_fail("wait")
        text = self.replies.pop(token, None)
        return None if text is None else json.loads(text)

    # the worker's side
    def waiting(self, token: str) -> bool:
        return token in self.taken

    def reply(self, token: str, reply: dict[str, Any]) -> None:
        self.replies[token] = json.dumps(reply)


@pytest.fixture
def pool(app, monkeypatch) -> FakePool:
    """The app as in production (no eager planning), on the in-memory pool."""
    fake = FakePool()
    monkeypatch.setattr(plan_pool, "embedded", lambda: False)
    monkeypatch.setattr(plan_pool, "redis_pool", lambda: fake)
    monkeypatch.setattr(plan_pool, "settings", lambda: SETTINGS)
    return fake


def test_embedded_plans_are_computed_in_the_process_and_saved(app):
    assert plan_pool.embedded()  # no REDIS_URL: Celery eager
    plan_id, result = plan_pool.create_plan(_body())
    assert db.session.get(Plan, plan_id).result == result
    assert result["itineraries"]


def test_embedded_plans_keep_the_per_process_limit(app, client):
    app.config["PLAN_CONCURRENCY"] = 1
    with planning.planning_place(), pytest.raises(Unavailable) as busy:
        plan_pool.create_plan(_body())
    assert busy.value.code == "planner_busy"


def test_a_plan_from_the_pool_is_the_one_the_worker_saved(pool):
    plan_id, result = plan_pool.create_plan(_body())
    assert db.session.get(Plan, plan_id).result == result
    assert [token for token, *_ in pool.submitted] == pool.admitted
    assert pool.taken == set()  # the place is given back


def test_the_time_given_to_the_caller_reaches_the_worker(pool):
    now = datetime(2027, 3, 1, 9, 30, tzinfo=LOCAL_TZ)
    body = _body(date="2027-03-02")
    plan_id, _ = plan_pool.create_plan(body, now=now)
    assert pool.submitted[0][2] == now.isoformat()
    assert db.session.get(Plan, plan_id) is not None


def test_beyond_capacity_a_plan_is_a_503_planner_busy_with_retry_after_at_once(pool):
    pool.capacity_left = 0
    with pytest.raises(Unavailable) as busy:
        plan_pool.create_plan(_body())
    assert (busy.value.status, busy.value.code) == (503, "planner_busy")
    assert busy.value.details["retry_after"] == SETTINGS.retry_after
    assert pool.submitted == []  # nothing queued beyond capacity


def test_no_answer_in_time_is_a_503_and_the_place_comes_back(pool):
    pool.answer = False  # no plan worker takes it
    with pytest.raises(Unavailable) as busy:
        plan_pool.create_plan(_body())
    assert busy.value.code == "planner_busy"
    assert len(pool.submitted) == 1 and pool.taken == set()


@pytest.mark.parametrize("step", ["admit", "submit", "wait"])
def test_redis_or_the_broker_down_is_a_503_with_retry_after_never_a_500(pool, step):
    pool.unreachable_at = step
    with pytest.raises(Unavailable) as down:
        plan_pool.create_plan(_body())
    assert down.value.code == "planner_busy"
    assert down.value.details == {"retry_after": SETTINGS.retry_after, "reason": "unreachable"}
    assert pool.taken == set()


def test_a_malformed_request_is_refused_before_taking_a_place(pool):
    with pytest.raises(ValidationError) as bad:
        plan_pool.create_plan(_body(start_time="18:00", end_time="08:00"))
    assert bad.value.code == "end_before_start"
    assert pool.admitted == []


@pytest.mark.parametrize(
    "start,error,code",
    [
        ({"landmark": "no-such-place"}, ValidationError, "unknown_landmark"),
        ({"lat": 10.77, "lon": 106.70}, Unprocessable, "start_outside_area"),  # Saigon
    ],
)
def test_errors_raised_in_the_worker_come_back_as_the_same_class_code_and_details(
    pool, start, error, code
):
    with pytest.raises(DomainError) as in_process:
        planning.create_plan(_body(start=start))
    with pytest.raises(DomainError) as through_pool:
        plan_pool.create_plan(_body(start=start))
    assert type(through_pool.value) is type(in_process.value) is error
    assert through_pool.value.code == in_process.value.code == code
    assert through_pool.value.message == in_process.value.message
    assert through_pool.value.details == in_process.value.details
    assert pool.taken == set()


def test_the_api_answers_pool_errors_with_the_same_status_and_body_as_embedded(app, client):
    # Rate limits off: Flask-Limiter would raise Retry-After to its window's reset.
    app.config["RATE_LIMITS"] = False
    bad = _body(start={"landmark": "no-such-place"})
    embedded = client.post("/api/v1/plans", json=bad)
    with pytest.MonkeyPatch.context() as patch:
        fake = FakePool()
        patch.setattr(plan_pool, "embedded", lambda: False)
        patch.setattr(plan_pool, "redis_pool", lambda: fake)
        patch.setattr(plan_pool, "settings", lambda: SETTINGS)
        pooled = client.post("/api/v1/plans", json=bad)
        made = client.post("/api/v1/plans", json=_body())
        fake.capacity_left = 0
        full = client.post("/api/v1/plans", json=_body())
    assert (pooled.status_code, pooled.get_json()) == (400, embedded.get_json())
    assert made.status_code == 201 and made.get_json()["itineraries"]
    assert full.status_code == 503
    assert full.get_json()["error"]["code"] == "planner_busy"
    assert full.headers["Retry-After"] == str(SETTINGS.retry_after)


def test_the_planner_form_shows_a_worker_error_by_its_field(app, client, pool):
    form = {"start_kind": "landmark", "landmark": "no-such-place", "date": _body()["date"]}
    form |= {"adults": "2", "start_time": "08:00", "end_time": "17:00", "lang": "en"}
    page = client.post("/plan?lang=en", data=form)
    assert page.status_code == 400
    assert "Choose a landmark from the list." in page.get_data(as_text=True)
    assert len(pool.submitted) == 1 and pool.taken == set()  # the worker found it


def test_a_database_outage_in_the_worker_is_the_usual_503_database_unavailable(
    app, client, pool, monkeypatch
):
    def down(*_: Any, **__: Any):
        raise OperationalError("SELECT 1", None, ConnectionError("server closed"))

    monkeypatch.setattr(planning, "create_plan", down)
    with pytest.raises(OperationalError):
        plan_pool.create_plan(_body())
    answer = client.post("/api/v1/plans", json=_body())
    assert answer.status_code == 503
    assert answer.get_json()["error"]["code"] == "database_unavailable"
    assert answer.headers["Retry-After"]


def test_a_bug_in_the_worker_is_a_500_for_the_caller(app, pool, monkeypatch):
    monkeypatch.setattr(planning, "create_plan", lambda *a, **k: 1 / 0)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        plan_pool.create_plan(_body())
    assert pool.taken == set()


def test_the_worker_computes_nothing_for_a_caller_that_stopped_waiting(app, monkeypatch):
    fake = FakePool()
    monkeypatch.setattr(plan_pool, "redis_pool", lambda: fake)
    before = db.session.query(Plan).count()
    assert plan_pool.run_plan("gone", _body()) == "abandoned"
    assert db.session.query(Plan).count() == before and fake.replies == {}
    fake.taken.add("here")
    assert plan_pool.run_plan("here", _body()) == "planned"
    assert "plan_id" in json.loads(fake.replies["here"])


def test_an_error_of_a_subclass_defined_elsewhere_comes_back_as_its_domain_base():
    class AddressTrouble(Unprocessable):
        pass

    wire = json.loads(json.dumps(plan_pool.error_to_dict(AddressTrouble("no", code="x", at=3))))
    back = plan_pool.error_from_dict(wire)
    assert type(back) is Unprocessable
    assert (back.status, back.code, back.message, back.details) == (422, "x", "no", {"at": 3})


def test_capacity_defaults_to_twice_the_plan_workers(app):
    app.config.update(PLAN_WORKERS=3, PLAN_POOL_CAPACITY=None, PLAN_WAIT_SECONDS=7)
    assert plan_pool.settings() == Settings(capacity=6, wait_seconds=7.0, retry_after=5)
    app.config["PLAN_POOL_CAPACITY"] = 4
    assert plan_pool.settings().capacity == 4


def test_plan_tasks_are_routed_to_the_plans_queue_only(app):
    celery = app.extensions["celery"]
    route = celery.amqp.router.route({}, plan_pool.PLAN_TASK)
    assert route["queue"].name == plan_pool.PLAN_QUEUE
    assert celery.amqp.router.route({}, "tasks.notifications.deliver")["queue"].name == "celery"
