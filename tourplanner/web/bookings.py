"""The tourist's booking page, reached through the signed link (no account needed).

``/bookings/<reference>?token=...`` shows the booking in Vietnamese or English, with a cancel
button while cancelling is possible. A forged or expired link gets a readable 403 page.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tourplanner.domain.errors import Conflict
from tourplanner.services import booking
from tourplanner.web import bp


@bp.get("/bookings/<reference>")
def booking_manage(reference: str):
    token = request.args.get("token")
    view = booking.get_for_tourist(reference, token)
    cancellable = any(i["status"] == "confirmed" for i in view["items"]) and not any(
        i["status"] == "pending" for i in view["items"]
    )
    return render_template(
        "bookings/manage.html", booking=view, token=token, cancellable=cancellable
    )


@bp.post("/bookings/<reference>/cancel")
def booking_cancel_page(reference: str):
    token = request.form.get("token") or request.args.get("token")
    try:
        view = booking.cancel(reference, token)
    except Conflict as exc:
        flash(_("This booking cannot be cancelled: %(why)s", why=exc.message), "error")
        return redirect(url_for("web.booking_manage", reference=reference, token=token))
    flash(_("Your booking %(ref)s is cancelled.", ref=view["reference"]), "success")
    return redirect(url_for("web.booking_manage", reference=view["reference"], token=token))
