"""Admin pages: the notification delivery log (what was sent, to whom, how many attempts) and
the audit log of security events."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from tourplanner.security import audit
from tourplanner.services import notifications
from tourplanner.web import bp
from tourplanner.web.auth import login_required

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
    return render_template("admin/notifications.html", rows=rows, status=status, statuses=STATUSES)


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
