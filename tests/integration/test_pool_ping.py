"""A pooled PostgreSQL connection is pinged before use only after it sat idle
(adapters/orm/pool.py): a dead idle one is replaced without an error; one returned a moment
ago is used as it is, and if the database dropped it, that one use fails and the next one
connects afresh."""

from __future__ import annotations

import time

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from tourplanner.adapters.orm.pool import ping_after_idle
from tourplanner.config import _database_url

pytestmark = pytest.mark.integration


@pytest.fixture
def engine_for(postgres_cluster):
    made = []

    def make(idle_seconds: float):
        engine = create_engine(_database_url(f"{postgres_cluster}/postgres"), pool_size=1)
        ping_after_idle(engine, idle_seconds)
        pings = []
        real_ping = engine.dialect.do_ping
        # Counted, then done for real: the pings themselves are what is under test.
        engine.dialect.do_ping = lambda conn: pings.append(1) or real_ping(conn)
        made.append(engine)
        return engine, pings

    yield make
    for engine in made:
        engine.dispose()


def _backend(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _terminate(postgres_cluster: str, pid: int) -> None:
    with psycopg.connect(f"{postgres_cluster}/postgres", autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    time.sleep(0.2)  # the backend is gone before the pool is used again


def test_connections_used_within_the_idle_time_are_not_pinged(engine_for):
    engine, pings = engine_for(60)
    first = _backend(engine)
    assert [_backend(engine) for _ in range(5)] == [first] * 5
    assert pings == []


def test_a_dead_connection_idle_longer_is_replaced_without_an_error(engine_for, postgres_cluster):
    engine, pings = engine_for(0.1)
    dead = _backend(engine)
    _terminate(postgres_cluster, dead)
    assert _backend(engine) != dead
    assert pings == [1]


def test_a_dead_connection_used_at_once_fails_once_then_the_pool_reconnects(
    engine_for, postgres_cluster
):
    engine, pings = engine_for(60)
    dead = _backend(engine)
    _terminate(postgres_cluster, dead)
    with pytest.raises(OperationalError) as failed:
        _backend(engine)
    assert failed.value.connection_invalidated
    assert _backend(engine) != dead
    assert pings == []
