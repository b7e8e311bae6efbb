"""The agency's package builder and the public package pages (owner: package pages work)."""

from __future__ import annotations

from flask import abort

from tourplanner.web import bp
from tourplanner.web.auth import login_required


@bp.get("/agency/packages")
@login_required()
def agency_packages():
    abort(404)  # placeholder until the builder lands


@bp.get("/agency/packages/new")
@login_required()
def agency_package_new():
    abort(404)


@bp.get("/agency/packages/<slug>")
@login_required()
def agency_package(slug: str):
    abort(404)


@bp.get("/packages")
def packages():
    abort(404)


@bp.get("/packages/<slug>")
def package(slug: str):
    abort(404)
