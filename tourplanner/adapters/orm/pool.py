"""Checking a pooled database connection before use only when it may have gone stale."""

from __future__ import annotations

from time import monotonic
from typing import Any

from sqlalchemy import Engine, event, exc

#: ``ConnectionRecord.info`` key: when the connection was made or last returned to the pool.
_RETURNED = "tourplanner.returned_at"


def ping_after_idle(engine: Engine, seconds: float) -> None:
    """Ping a connection at checkout only when it has been in the pool ``seconds`` or longer.

    ``pool_pre_ping`` pings at every checkout, so at every request: a round trip, and with the
    checkout 8 % of the web's CPU per booking (docs/performance.md, seventh pass). A
    connection returned a moment ago is alive unless the database has just gone away; then the
    request's first statement fails and gets the 503 of an outage (``api/errors.py``), and the
    pool drops every connection made before the failure, so the next request connects afresh.
    One that sat longer (a quiet night, a restart while nobody booked) is pinged and, if dead,
    replaced without a failed request.
    """
    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED] = monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if monotonic() - record.info.get(_RETURNED, float("-inf")) < seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                # The pool reconnects this checkout and drops the connections made before.
                raise exc.InvalidatePoolError() from error
            raise
