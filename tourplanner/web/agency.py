"""The agency space: dashboard, clients, users and API keys (owner: agencies work)."""

from __future__ import annotations

from flask import abort

from tourplanner.web import bp
from tourplanner.web.auth import login_required


@bp.get("/agency/")
@login_required("agency")
def agency_dashboard():
    abort(404)  # placeholder until the agency space lands


@bp.get("/agency/clients")
@login_required("agency")
def agency_clients():
    abort(404)


@bp.get("/agency/keys")
@login_required("agency")
def agency_keys():
    abort(404)


@bp.get("/agency/users")
@login_required("agency")
def agency_users():
    abort(404)
