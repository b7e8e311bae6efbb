"""Admin pages: the notification delivery log (what was sent, to whom, how many attempts) with
the villages that publish workshops but cannot be reached (no channel: none is offered), the
audit log of security events, and the travel agencies (create, suspend, reactivate)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tourplanner.domain.errors import ValidationError
from tourplanner.security import audit
from tourplanner.services import agencies, notifications, reachability
from tourplanner.web import bp
from tourplanner.web.agency import NO_STORE, field_error
from tourplanner.web.auth import current_user, login_required

STATUSES = ("pending", "sending", "sent", "failed")


@bp.get("/admin/")
@login_required("admin")
def admin_home():
    return redirect(url_for("web.admin_notifications"))


@bp.get("/admin/notifications")
@login_required("admin")
def admin_notifications():
    status = request.args.get("status")
    status = status if status in STATUSES else None
    rows = notifications.delivery_log(status)
    return render_template(
        "admin/notifications.html",
        rows=rows,
        status=status,
        statuses=STATUSES,
        unreachable=reachability.unreachable_villages(),
    )


@bp.get("/admin/audit")
@login_required("admin")
def admin_audit():
    filters = audit.AuditFilter(
        event=request.args.get("event", "").strip()[:40] or None,
        email=request.args.get("email", "").strip()[:254] or None,
    )
    return render_template(
        "admin/audit.html", rows=audit.events(filters), filters=filters, events=audit.EVENTS
    )


AGENCY_FIELDS = ("name", "email", "phone", "licence_number", "commission", "slug")


def _agencies_page(
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    created: dict[str, Any] | None = None,
) -> str:
    return render_template(
        "admin/agencies.html",
        agencies=agencies.list_agencies(),
        values=values or {},
        errors=errors or {},
        created=created,
    )


@bp.get("/admin/agencies")
@login_required("admin")
def admin_agencies():
    return _agencies_page()


@bp.post("/admin/agencies")
@login_required("admin")
def admin_agency_create():
    values = {name: request.form.get(name, "") for name in AGENCY_FIELDS}
    try:
        created = agencies.create_agency(
            values["name"],
            values["email"],
            licence_number=values["licence_number"] or None,
            phone=values["phone"] or None,
            commission_bp=agencies.percent_to_bp(values["commission"] or "10"),
            slug=values["slug"] or None,
            by=current_user().id,
        )
    except ValidationError as exc:
        return _agencies_page(values=values, errors=field_error(exc)), 400
    # The first administrator's password is shown in this answer only.
    return _agencies_page(created=created), 201, NO_STORE


@bp.post("/admin/agencies/<int:agency_id>/<any(suspend, reactivate):action>")
@login_required("admin")
def admin_agency_state(agency_id: int, action: str):
    if action == "suspend":
        agency = agencies.suspend_agency(agency_id, by=current_user().id)
        flash(
            _("%(name)s is suspended: its people and API keys are refused.", name=agency["name"]),
            "success",
        )
    else:
        agency = agencies.reactivate_agency(agency_id, by=current_user().id)
        flash(_("%(name)s is active again.", name=agency["name"]), "success")
    return redirect(url_for("web.admin_agencies"))
