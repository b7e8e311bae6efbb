"""Agency bookings for clients, item follow-up and reports (owner: package booking work)."""

from __future__ import annotations

from flask import abort

from tourplanner.web import bp
from tourplanner.web.auth import login_required


@bp.get("/agency/bookings")
@login_required()
def agency_bookings():
    abort(404)  # placeholder until agency bookings land


@bp.get("/agency/bookings/<reference>")
@login_required()
def agency_booking(reference: str):
    abort(404)


@bp.get("/agency/packages/<slug>/book")
@login_required()
def agency_book(slug: str):
    abort(404)


@bp.get("/agency/reports")
@login_required()
def agency_reports():
    abort(404)


@bp.get("/admin/reports")
@login_required("admin")
def admin_reports():
    abort(404)
