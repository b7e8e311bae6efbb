"""Admin pages: the notification delivery log (what was sent, to whom, how many attempts)."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from tourplanner.services import notifications
from tourplanner.web import bp
from tourplanner.web.village import login_required

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
