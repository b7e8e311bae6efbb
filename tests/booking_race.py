"""Concurrent booking requests, shared by the SQLite and PostgreSQL no-overbooking tests."""

from __future__ import annotations

import threading

DEFAULT_CONTACT = {"name": "Load Test", "email": "load@example.org"}


def race(
    app,
    slot_id: int,
    requests: int,
    party: dict,
    key: str | None = None,
    contact: dict | None = None,
) -> list:
    """Fire ``requests`` bookings at once, each in its own app context and database session.

    Returns the responses' ``(status, json)`` in thread order.
    """
    barrier = threading.Barrier(requests)
    results: list = [None] * requests

    def one(n: int) -> None:
        client = app.test_client()
        headers = {"Idempotency-Key": key} if key else {}
        barrier.wait()
        response = client.post(
            "/api/v1/bookings",
            headers=headers,
            json={
                "items": [{"slot_id": slot_id, "party": party}],
                "contact": contact or DEFAULT_CONTACT,
            },
        )
        results[n] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=one, args=(n,)) for n in range(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
