"""The smallest Flask endpoint doing a booking's essential database work: the baseline.

``bench/booking_load.py`` serves this with the same gunicorn settings and on the same
database as the real app, so that the ratio of the two throughputs says how much of what the
web stack and the database allow the full booking path uses. One request is one transaction:
the same conditional ``UPDATE`` on ``slots`` that keeps bookings within capacity, and one
``INSERT`` (into ``bare_bookings``, a table the benchmark creates; the app's tables stay
untouched apart from the slot's counter). Answers 201, or 409 when the slot is full.

Configured by ``DATABASE_URL`` only. Run: ``gunicorn --pythonpath bench bare_booking_app:app``.
Run as a script (``make bench`` runs every file in bench/) it only says so.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, jsonify, request
from sqlalchemy import Engine, create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script too

from tourplanner.config import _database_url

app = Flask(__name__)
_engines: list[Engine] = []


def engine() -> Engine:
    """One pool per worker process, made on first use (after gunicorn forks)."""
    if not _engines:
        url = _database_url(os.environ["DATABASE_URL"])
        _engines.append(create_engine(url, pool_pre_ping=True))
    return _engines[0]


TAKE = text("UPDATE slots SET taken = taken + 1 WHERE id = :id AND taken + 1 <= capacity")
RECORD = text(
    "INSERT INTO bare_bookings (slot_id, email, created_at) VALUES (:slot_id, :email, :at)"
)


@app.post("/bare/bookings")
def book():
    body = request.get_json()
    slot_id, email = int(body["slot_id"]), str(body["email"])
    with engine().begin() as conn:
        if conn.execute(TAKE, {"id": slot_id}).rowcount != 1:
            return jsonify(error={"code": "slot_full"}), 409
        conn.execute(RECORD, {"slot_id": slot_id, "email": email, "at": datetime.now(UTC)})
    return jsonify(slot_id=slot_id), 201


@app.get("/healthz")
def healthz():
    return jsonify(status="ok")


if __name__ == "__main__":
    print("the bare endpoint is served and measured by bench/booking_load.py")
