"""The outbox relay: new notification rows to the workers, woken by PostgreSQL.

A booking's request writes its outbox rows and commits; it sends nothing to the broker (that
hand-over was a seventh of the web's CPU per booking, docs/performance.md). A trigger
(migration 0011) sends a NOTIFY on :data:`CHANNEL` when such rows commit; this relay, a thread
of the beat process (one per deployment), listens and hands every new row over at once
(:func:`~tourplanner.services.notifications.hand_over_new`). Rows that commit while it is
busy are taken by its next pass, a few bookings' rows per task.

Nothing is lost when the relay is not there: the rows stay ``pending`` in the outbox. It looks
every ``OUTBOX_RELAY_POLL_SECONDS`` even without a NOTIFY, reconnects by itself after the
database went away, and the beat's periodic dispatcher sweeps up whatever is left
(``OUTBOX_DISPATCH_SECONDS``). Two relays at once (two beats by mistake) do no harm: a pass
marks the rows it takes with ``SKIP LOCKED``, and each row is claimed once by a worker anyway.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from tourplanner.services import notifications

log = logging.getLogger(__name__)
#: The channel of the trigger in migration 0011.
CHANNEL = "tourplanner_outbox"
#: After a failure (the database or the broker away), wait this long before trying again.
RETRY_SECONDS = 1.0
#: After a NOTIFY, wait this long for more commits before a pass: under load one pass then
#: takes many bookings' rows (a pass per booking cost more CPU than the request's hand-over
#: it replaces), and a message leaves at most this much later.
GATHER_SECONDS = 0.05


def libpq_url(sqlalchemy_url: str) -> str:
    """The database URL as libpq reads it (no ``+psycopg`` driver name)."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(False)


def start(app: Any) -> OutboxRelay | None:
    """Start the relay when this deployment uses it (``OUTBOX_RELAY``, see
    :func:`~tourplanner.services.notifications.relayed`)."""
    with app.app_context():
        if not notifications.relayed():
            return None
    relay = OutboxRelay(app)
    relay.start()
    return relay


class OutboxRelay:
    """The listening thread; :meth:`start` it once, :meth:`stop` it to end it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.poll_seconds = float(app.config.get("OUTBOX_RELAY_POLL_SECONDS") or 10)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        url = libpq_url(self.app.config["SQLALCHEMY_DATABASE_URI"])
        while not self._stop.is_set():
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    log.info("outbox relay listening")
                    while not self._stop.is_set():
                        if not self.hand_over():
                            self._stop.wait(RETRY_SECONDS)  # the broker is away
                        self._wait(conn)
            except Exception:  # the database went away: listen again once it is back
                log.warning("outbox relay: connection lost, retrying", exc_info=True)
                self._stop.wait(RETRY_SECONDS)

    def _wait(self, conn: psycopg.Connection) -> None:
        """Until a commit wrote rows (or the poll interval passed) and :data:`GATHER_SECONDS`
        more, then drop every NOTIFY received meanwhile: one pass serves them all."""
        woken = conn.notifies(timeout=self.poll_seconds, stop_after=1)
        if next(woken, None) is None:
            return  # the poll interval passed
        # Closed at once: one packet can carry hundreds of NOTIFYs, and waiting once per
        # NOTIFY held a burst's messages back for seconds.
        woken.close()
        self._stop.wait(GATHER_SECONDS)
        for _ in conn.notifies(timeout=0):
            pass

    def hand_over(self) -> bool:
        """Passes until no new row is left; False when some could not be handed over."""
        with self.app.app_context():
            while True:
                found, handed = notifications.hand_over_new()
                if handed < found:
                    return False
                if found < notifications.RELAY_PASS_ROWS:
                    return True
