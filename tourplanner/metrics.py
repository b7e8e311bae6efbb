"""Prometheus metrics (prometheus_client, the maintained exporter library).

Plain objects, importable from any layer. Under gunicorn with several workers set
``PROMETHEUS_MULTIPROC_DIR`` to an empty folder shared by the workers: the client then keeps
per-process files and ``/metrics`` adds them up (``ops.py``). Outbox depth and age are read from
the database when ``/metrics`` is scraped, so they are right whichever process answers.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUEST_SECONDS = Histogram(
    "tourplanner_request_seconds",
    "Time to answer a request, by route (endpoint name), method and status class.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
BOOKINGS = Counter(
    "tourplanner_booking_requests_total",
    "Booking requests by outcome (created, replayed, conflict, invalid, limited, error).",
    ["outcome"],
)
PLAN_SOLVER_SECONDS = Histogram(
    "tourplanner_plan_solver_seconds",
    "Solver time of one plan request (all solver runs of the request).",
    buckets=(0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4),
)


def booking_outcome(status: int, replayed: bool) -> str:
    """The ``outcome`` label of a booking answer's status."""
    if status == 201:
        return "replayed" if replayed else "created"
    if status == 409:
        return "conflict"
    if status == 429:
        return "limited"
    return "invalid" if 400 <= status < 500 else "error"
