"""Plans computed in a bounded pool of their own, apart from the web processes (issue #14).

:func:`create_plan` is the one entry point of the web side (``POST /api/v1/plans`` and the
planner form). Embedded (Celery eager, no Redis) it is :func:`planning.create_plan` in the
process, as before. In production a plan is computed by the Celery workers of the ``plans``
queue (``Procfile``: ``planner``), never by a web worker, so that the solver's CPU time does not
hold the workers that answer bookings:

1. **Admission.** A Redis sorted set holds one token per plan in flight, scored with the time
   its lease ends. One Lua script drops ended leases, and adds the new token only while fewer
   than ``PLAN_POOL_CAPACITY`` are in it. Beyond capacity: 503 ``planner_busy`` with
   ``Retry-After`` at once; nothing waits in an unbounded queue. A web process that dies with
   a place taken cannot leak it: its lease (``PLAN_WAIT_SECONDS`` plus a grace) ends.
2. **The plan** goes to the ``plans`` queue with the token; the message expires with the
   wait, so a worker never starts a plan nobody waits for (nor one whose caller gave up).
3. **The answer** comes back on a list of its own (``BLPOP`` with the wait as timeout). Each
   waiting thread blocks on a pooled connection of its own, which is safe under gunicorn's
   threaded workers (Celery's Redis result backend shares one pub/sub connection between
   threads, with a history of races there, so this task uses no result backend at all).
   A domain error raised in the worker comes back as the same :class:`DomainError` class with
   its code, message and details, hence the same 4xx. No answer in time: 503 ``planner_busy``.

The place is given back as soon as the answer (or the timeout) is in.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from flask import current_app

from tourplanner.domain import errors as domain_errors
from tourplanner.domain.availability import LOCAL_TZ
from tourplanner.domain.errors import DomainError, Unavailable
from tourplanner.domain.planning import parse_request
from tourplanner.services import planning

log = logging.getLogger(__name__)

PLAN_TASK = "tasks.plans.create_plan"
PLAN_QUEUE = "plans"
INFLIGHT_KEY = "tourplanner:plans:inflight"
REPLY_PREFIX = "tourplanner:plans:reply:"
#: An answer nobody collected (the caller timed out) is gone after this long.
REPLY_TTL_SECONDS = 60
#: A lease outlives the caller's wait by this much: a web process that dies leaks its place
#: for the wait plus this grace, never longer.
LEASE_GRACE_SECONDS = 5.0
_CLIENT_KEY = "tourplanner.plan_pool_redis"
_client_lock = threading.Lock()

# KEYS[1]: the in-flight set. ARGV: token, capacity, lease seconds. Redis's own clock, so web
# hosts with skewed clocks agree on which leases ended. 1: admitted, 0: full.
_ADMIT = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], t + tonumber(ARGV[3]), ARGV[1])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[3])) + 60)
return 1
"""
# KEYS[1]: the in-flight set. ARGV: token. 1 while its lease runs (the caller still waits).
_WAITING = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then
  return 0
end
local now = redis.call('TIME')
return tonumber(score) > tonumber(now[1]) + tonumber(now[2]) / 1000000 and 1 or 0
"""


@dataclass(frozen=True)
class Settings:
    capacity: int
    wait_seconds: float
    retry_after: int

    @property
    def lease_seconds(self) -> float:
        return self.wait_seconds + LEASE_GRACE_SECONDS


class Pool(Protocol):
    """What :func:`create_plan` needs of the pool (Redis and the broker in production)."""

    def admit(self, token: str, settings: Settings) -> bool: ...

    def release(self, token: str) -> None: ...

    def submit(self, token: str, data: object, now: datetime | None, expires: float) -> None: ...

    def wait(self, token: str, timeout: float) -> dict[str, Any] | None: ...


class PoolUnreachable(Exception):
    """Redis or the broker did not answer."""


# --- the web side --------------------------------------------------------------------------


def create_plan(data: object, *, now: datetime | None = None) -> tuple[str, dict[str, Any]]:
    """Validate, plan (in the plans pool) and save: ``(plan id, result)``.

    Raises the 4xx domain errors of :func:`planning.create_plan` (the same classes, codes and
    details, also when the worker raised them), and 503 :class:`Unavailable` ``planner_busy``
    with ``retry_after`` when the pool is full, does not answer in time or cannot be reached
    (``details["reason"] == "unreachable"``). A database outage in the worker is the same
    ``OperationalError`` as one here (503 ``database_unavailable``).
    """
    if embedded():
        return planning.create_plan(data, now=now)
    return create_plan_in(redis_pool(), data, now=now, settings=settings())


def embedded() -> bool:
    """No broker (Celery eager): plans are computed in the web process."""
    return bool(current_app.extensions["celery"].conf.task_always_eager)


def settings() -> Settings:
    config = current_app.config
    workers = max(1, int(config.get("PLAN_WORKERS", 1)))
    return Settings(
        capacity=max(1, int(config.get("PLAN_POOL_CAPACITY") or 2 * workers)),
        wait_seconds=max(0.1, float(config.get("PLAN_WAIT_SECONDS", 15))),
        retry_after=planning.BUSY_RETRY_SECONDS,
    )


def create_plan_in(
    pool: Pool, data: object, *, now: datetime | None, settings: Settings
) -> tuple[str, dict[str, Any]]:
    """:func:`create_plan` on a given pool (the production path)."""
    # A malformed request is refused here, without taking a place: the worker would raise
    # the very same error (it runs the same parser first).
    parse_request(data, (now or datetime.now(LOCAL_TZ)).astimezone(LOCAL_TZ).date())
    token = secrets.token_urlsafe(12)
    try:
        admitted = pool.admit(token, settings)
    except PoolUnreachable as exc:
        raise _unreachable(settings, exc) from exc
    if not admitted:
        raise busy(settings)
    try:
        pool.submit(token, data, now, settings.wait_seconds)
        reply = pool.wait(token, settings.wait_seconds)
    except PoolUnreachable as exc:
        raise _unreachable(settings, exc) from exc
    finally:
        with suppress(PoolUnreachable):
            pool.release(token)
    if reply is None:
        log.warning("plan %s: no answer from the plan workers in %ss", token, settings.wait_seconds)
        raise busy(settings)
    return outcome(reply)


def busy(settings: Settings) -> Unavailable:
    return Unavailable(
        "Too many plans are being computed right now; try again in a few seconds.",
        code="planner_busy",
        retry_after=settings.retry_after,
    )


def _unreachable(settings: Settings, exc: Exception) -> Unavailable:
    """Redis or the broker down: busy too for the client (the planner page says so), with
    the reason in the details."""
    log.warning("plans pool unreachable: %s", exc)
    return Unavailable(
        "The trip planner is not reachable right now; try again in a few seconds.",
        code="planner_busy",
        retry_after=settings.retry_after,
        reason="unreachable",
    )


def outcome(reply: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The caller's side of a worker's reply: the plan, or the error raised again."""
    if "plan_id" in reply:
        return reply["plan_id"], reply["result"]
    if "error" in reply:
        raise error_from_dict(reply["error"])
    if "database_unavailable" in reply:
        from sqlalchemy.exc import OperationalError

        # The same 503 database_unavailable answer as a database outage in this process.
        cause = ConnectionError(f"in the plan worker: {reply['database_unavailable']}")
        raise OperationalError("plan worker", None, cause)
    raise RuntimeError(f"the plans worker failed: {reply.get('failed', 'unknown error')}")


def error_to_dict(exc: DomainError) -> dict[str, Any]:
    """A domain error as JSON: its class (and bases, nearest first), code, message, details."""
    kinds = [k.__name__ for k in type(exc).__mro__ if issubclass(k, DomainError)]
    details = json.loads(json.dumps(exc.details, default=str))
    return {"kinds": kinds, "code": exc.code, "message": exc.message, "details": details}


def error_from_dict(found: dict[str, Any]) -> DomainError:
    """The error of :func:`error_to_dict` again: the nearest class known in ``domain.errors``
    (a subclass defined elsewhere comes back as its base, with the same status)."""
    cls: type[DomainError] = DomainError
    for name in found.get("kinds", []):
        known = getattr(domain_errors, name, None)
        if isinstance(known, type) and issubclass(known, DomainError):
            cls = known
            break
    return cls(found["message"], code=found["code"], **found.get("details", {}))


# --- the worker side -----------------------------------------------------------------------


def run_plan(token: str, data: object, now: str | None = None) -> str:
    """Compute one plan for the caller waiting on ``token`` and hand it the answer (the
    ``plans`` task). A caller that stopped waiting gets nothing computed."""
    pool = redis_pool()
    if not pool.waiting(token):
        log.info("plan %s: the caller stopped waiting; not computed", token)
        return "abandoned"
    status, reply = compute(data, now)
    pool.reply(token, reply)
    return status


def compute(data: object, now: str | None) -> tuple[str, dict[str, Any]]:
    """``planning.create_plan`` with every outcome made JSON for the reply."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    from tourplanner.extensions import db

    try:
        plan_id, result = planning.create_plan(
            data, now=datetime.fromisoformat(now) if now else None
        )
    except DomainError as exc:
        return "refused", {"error": error_to_dict(exc)}
    except (OperationalError, InterfaceError) as exc:
        db.session.rollback()
        log.warning("plan: database unavailable: %s", type(exc).__name__)
        return "refused", {"database_unavailable": type(exc).__name__}
    except Exception as exc:  # a bug: logged here, a 500 for the caller
        log.exception("plan: failed in the worker")
        return "failed", {"failed": type(exc).__name__}
    return "planned", {"plan_id": plan_id, "result": result}


# --- Redis and the broker ------------------------------------------------------------------


class RedisPool:
    """The production pool: admission and answers in Redis, plans through the broker."""

    def __init__(self, client: Any, celery: Any) -> None:
        self.client = client
        self.celery = celery
        self._admit = client.register_script(_ADMIT)
        self._waiting = client.register_script(_WAITING)

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        import redis

        try:
            return fn(*args, **kwargs)
        except (redis.RedisError, OSError) as exc:
            raise PoolUnreachable(str(exc) or type(exc).__name__) from exc

    def admit(self, token: str, settings: Settings) -> bool:
        args = [token, settings.capacity, settings.lease_seconds]
        return bool(self._call(self._admit, keys=[INFLIGHT_KEY], args=args))

    def release(self, token: str) -> None:
        self._call(self.client.zrem, INFLIGHT_KEY, token)

    def in_flight(self) -> int:
        """Places taken right now (leases not ended), by Redis's clock."""
        seconds, micros = self._call(self.client.time)
        return int(self._call(self.client.zcount, INFLIGHT_KEY, seconds + micros / 1e6, "+inf"))

    def submit(self, token: str, data: object, now: datetime | None, expires: float) -> None:
        args = [token, data, now.isoformat() if now else None]
        conn = self.celery.pool.acquire(block=True)
        try:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
            self.celery.send_task(
                PLAN_TASK,
                args=args,
                queue=PLAN_QUEUE,
                expires=expires,
                connection=conn,
                retry=False,
            )
        except Exception as exc:  # broker unreachable (kombu, redis, OSError...)
            with suppress(Exception):
                conn.close()  # back in the pool broken: its next use reconnects
            raise PoolUnreachable(str(exc) or type(exc).__name__) from exc
        finally:
            conn.release()

    def wait(self, token: str, timeout: float) -> dict[str, Any] | None:
        found = self._call(self.client.blpop, [REPLY_PREFIX + token], timeout=timeout)
        return None if found is None else json.loads(found[1])

    def waiting(self, token: str) -> bool:
        return bool(self._call(self._waiting, keys=[INFLIGHT_KEY], args=[token]))

    def reply(self, token: str, reply: dict[str, Any]) -> None:
        key = REPLY_PREFIX + token
        pipe = self.client.pipeline()
        pipe.rpush(key, json.dumps(reply, ensure_ascii=False))
        pipe.expire(key, REPLY_TTL_SECONDS)
        self._call(pipe.execute)


def redis_pool() -> RedisPool:
    """This process's pool on ``REDIS_URL`` (one connection pool per app, shared by threads)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get(_CLIENT_KEY)
    if found is None:
        with _client_lock:
            found = app.extensions.get(_CLIENT_KEY)
            if found is None:
                import redis

                wait = float(app.config.get("PLAN_WAIT_SECONDS", 15))
                client = redis.Redis.from_url(
                    app.config["REDIS_URL"],
                    socket_connect_timeout=2,
                    # Longer than the longest BLPOP, so a wait never ends as a socket error.
                    socket_timeout=wait + LEASE_GRACE_SECONDS,
                    health_check_interval=30,
                )
                found = app.extensions[_CLIENT_KEY] = RedisPool(client, app.extensions["celery"])
    return found
