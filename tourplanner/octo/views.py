"""The OCTO endpoints: each view reads the request (:mod:`.bodies`), makes one service call
(:mod:`tourplanner.services.octo`) and answers its JSON. Paths answer with and without the
trailing slash the specification writes (``/supplier/`` and ``/supplier``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from tourplanner.octo import bodies
from tourplanner.octo.http import current_caller
from tourplanner.services import octo

UUID = "<string:uuid>"  # any value: INVALID_BOOKING_UUID (400), never a 404


def route(bp: Blueprint, path: str, methods: list[str]) -> Callable:
    """``bp.route`` for ``path`` and ``path/``, no redirect between them."""

    def register(view: Callable) -> Callable:
        bp.add_url_rule(path, view_func=view, methods=methods)
        bp.add_url_rule(f"{path}/", endpoint=view.__name__, view_func=view, methods=methods)
        return view

    return register


def register(bp: Blueprint) -> None:
    """Add the endpoints to ``bp``."""
    for path, methods, view in ENDPOINTS:
        route(bp, path, methods)(view)
    bp.add_url_rule(
        "/<path:unknown>",
        endpoint="unknown",
        view_func=unknown,
        methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
    )


def supplier() -> Any:
    return jsonify(octo.supplier(current_caller()))


def capabilities() -> Any:
    current_caller()
    return jsonify(octo.capabilities())


def products() -> Any:
    return jsonify(octo.list_products(current_caller()))


def product(product_id: str) -> Any:
    return jsonify(octo.get_product(current_caller(), product_id))


def availability() -> Any:
    query = bodies.availability_query(bodies.body())
    return jsonify(octo.check_availability(current_caller(), query))


def availability_calendar() -> Any:
    query = bodies.availability_query(bodies.body())
    return jsonify(octo.calendar(current_caller(), query))


def bookings() -> Any:
    if request.method == "POST":
        return jsonify(octo.reserve(current_caller(), bodies.reservation(bodies.body())))
    return jsonify(
        octo.list_bookings(
            current_caller(),
            reseller_reference=bodies.text(request.args, "resellerReference", 100),
            supplier_reference=bodies.text(request.args, "supplierReference", 100),
        )
    )


def booking(uuid: str) -> Any:
    caller = current_caller()
    if request.method == "PATCH":
        return jsonify(octo.update_booking(caller, uuid, bodies.change(bodies.body())))
    return jsonify(octo.get_booking(caller, uuid))


def confirm(uuid: str) -> Any:
    caller = current_caller()
    return jsonify(octo.confirm(caller, uuid, bodies.confirmation(bodies.body())))


def extend(uuid: str) -> Any:
    caller = current_caller()
    return jsonify(octo.extend(caller, uuid, bodies.expiration(bodies.body())))


def cancel(uuid: str) -> Any:
    caller = current_caller()
    return jsonify(octo.cancel(caller, uuid, bodies.reason(bodies.body())))


def webhooks() -> Any:
    caller = current_caller()
    if request.method == "POST":
        url, event = bodies.webhook(bodies.body())
        return jsonify(octo.create_webhook(caller, url, event))
    return jsonify(octo.list_webhooks(caller))


def webhook(webhook_id: str) -> Any:
    return jsonify(octo.delete_webhook(current_caller(), webhook_id))


def unknown(unknown: str) -> Any:
    """No such endpoint (404), or not with this method (405 with ``Allow``)."""
    probe = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("GET", "POST", "PATCH", "DELETE"):
        try:
            endpoint, _values = probe.match(request.path, method=method)
        except HTTPException:
            continue
        if endpoint != "octo.unknown":
            allowed.append(method)
    if allowed:
        raise MethodNotAllowed(valid_methods=allowed)
    abort(404)


ENDPOINTS: list[tuple[str, list[str], Callable]] = [
    ("/supplier", ["GET"], supplier),
    ("/capabilities", ["GET"], capabilities),
    ("/products", ["GET"], products),
    ("/products/<string:product_id>", ["GET"], product),  # any id: 400, never 404
    ("/availability", ["POST"], availability),
    ("/availability/calendar", ["POST"], availability_calendar),
    ("/bookings", ["GET", "POST"], bookings),
    (f"/bookings/{UUID}", ["GET", "PATCH"], booking),
    (f"/bookings/{UUID}/confirm", ["POST"], confirm),
    (f"/bookings/{UUID}/extend", ["POST"], extend),
    (f"/bookings/{UUID}/cancel", ["POST"], cancel),
    ("/webhooks", ["GET", "POST"], webhooks),
    ("/webhooks/<string:webhook_id>", ["DELETE"], webhook),
]
