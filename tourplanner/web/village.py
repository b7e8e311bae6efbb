"""The village back-office: sign-in, the dashboard of requests, decisions, schedules.

Staff see and change only their own village's bookings (anything else answers 404); admins
may look at any village (``?village=slug``). Every form carries a CSRF token (Flask-WTF).
The decision link in the village's e-mail is signed and opens a page with the buttons: a GET
never changes anything (mail scanners open links).
"""

from __future__ import annotations

from datetime import date, datetime, time

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from tourplanner.adapters.orm import Experience, Village
from tourplanner.domain.availability import LOCAL_TZ, format_windows, parse_windows
from tourplanner.domain.catalogue import WEEKDAYS
from tourplanner.domain.errors import DomainError, ValidationError
from tourplanner.extensions import db
from tourplanner.services import availability, booking, links, notifications
from tourplanner.web import bp
from tourplanner.web.auth import current_user, login_required


def _scope() -> tuple[int | None, Village | None]:
    """``(village_id filter, village shown)``: staff get their own; admins may pick one."""
    user = current_user()
    if not user.is_admin:
        return user.village_id, user.village
    slug = request.values.get("village")
    village = db.session.scalars(select(Village).where(Village.slug == slug)).first()
    return (village.id if village else None), village


@bp.get("/village/")
@login_required("village")
def village_dashboard():
    village_id, village = _scope()
    status = request.args.get("status") or None
    items = booking.village_items(village_id, status=status)
    villages = (
        db.session.scalars(select(Village).order_by(Village.slug)).all()
        if current_user().is_admin
        else []
    )
    return render_template(
        "village/dashboard.html",
        items=items,
        village=village,
        status=status,
        villages=villages,
        now=availability.now_utc().astimezone(LOCAL_TZ),
    )


def _reason_and_action() -> tuple[bool, str | None]:
    action = request.form.get("action")
    if action not in ("accept", "decline"):
        raise ValidationError(_("Choose accept or decline."), code="invalid_action")
    return action == "accept", request.form.get("reason")


def _flash_decision(view: dict, accepted: bool) -> None:
    message = (
        _("Booking %(ref)s accepted; the tourist has been told.", ref=view["reference"])
        if accepted
        else _("Booking %(ref)s declined; the tourist has been told.", ref=view["reference"])
    )
    flash(message, "success")


@bp.post("/village/items/<int:item_id>/decision")
@login_required("village")
def village_decide_item(item_id: int):
    village_id, _village = _scope()
    accept, reason = _reason_and_action()
    try:
        view = booking.decide(
            item_id,
            accept=accept,
            reason=reason,
            village_id=None if current_user().is_admin else village_id,
            user_id=current_user().id,
        )
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
        return redirect(url_for("web.village_dashboard"))
    _flash_decision(view, accept)
    return redirect(url_for("web.village_dashboard"))


@bp.post("/village/items/<int:item_id>/attendance")
@login_required("village")
def village_attendance(item_id: int):
    village_id, _village = _scope()
    try:
        booking.record_attendance(
            item_id,
            attended=request.form.get("outcome") == "completed",
            village_id=None if current_user().is_admin else village_id,
        )
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
    return redirect(url_for("web.village_dashboard"))


@bp.route("/village/decide", methods=["GET", "POST"])
def village_decide():
    """The signed link from the village's e-mail: a page with accept/decline buttons."""
    token = request.values.get("token")
    item_id, village_id = links.check_decision_token(token)
    item = booking.village_item(item_id, village_id)
    if request.method == "POST":
        accept, reason = _reason_and_action()
        try:
            view = booking.decide(item_id, accept=accept, reason=reason, village_id=village_id)
        except DomainError as exc:
            if exc.status == 404:
                raise
            flash(exc.message, "error")
        else:
            _flash_decision(view, accept)
        # Shown here, not by a redirect: the link dies once the item is answered.
        item = booking.village_item(item_id, village_id)
    return render_template("village/decide.html", item=item, token=token)


# --- schedules and settings ----------------------------------------------------------------


def _own_village() -> Village:
    _village_id, village = _scope()
    if village is None:
        abort(404)
    return village


@bp.get("/village/schedule")
@login_required("village")
def village_schedule():
    village = _own_village()
    experiences = db.session.scalars(
        select(Experience)
        .where(Experience.village_id == village.id, Experience.kind == "workshop")
        .order_by(Experience.slug)
    ).all()
    return render_template(
        "village/schedule.html",
        village=village,
        experiences=experiences,
        weekdays=WEEKDAYS,
        format_windows=format_windows,
    )


def _int_field(name: str) -> int:
    try:
        return int(request.form.get(name, ""))
    except ValueError:
        raise ValidationError(
            _("%(field)s must be a whole number", field=name), code="invalid_schedule", field=name
        ) from None


@bp.post("/village/experiences/<int:experience_id>/schedule")
@login_required("village")
def village_save_schedule(experience_id: int):
    village = _own_village()
    try:
        hours = {d: w for d in WEEKDAYS if (w := parse_windows(request.form.get(d, "")))}
        closed = request.form.get("closed_dates", "").replace(",", "\n").split()
        availability.update_schedule(
            experience_id,
            village.id,
            weekly_hours=hours,
            capacity=_int_field("capacity"),
            closed_dates=closed,
            booking_cutoff_hours=_int_field("booking_cutoff_hours"),
            free_cancellation_hours=_int_field("free_cancellation_hours"),
        )
    except (ValueError, ValidationError) as exc:
        flash(_("Not saved: %(why)s", why=getattr(exc, "message", str(exc))), "error")
    else:
        flash(_("Schedule saved."), "success")
    return redirect(url_for("web.village_schedule", village=village.slug))


@bp.post("/village/experiences/<int:experience_id>/slots")
@login_required("village")
def village_add_slot(experience_id: int):
    village = _own_village()
    experience = db.session.get(Experience, experience_id)
    if experience is None or experience.village_id != village.id:
        abort(404)
    try:
        start = datetime.combine(
            date.fromisoformat(request.form.get("date", "")),
            time.fromisoformat(request.form.get("time", "")),
            tzinfo=LOCAL_TZ,
        )
        capacity = int(request.form["capacity"]) if request.form.get("capacity") else None
        availability.add_extra_slot(experience_id, start, capacity)
    except (ValueError, ValidationError) as exc:
        flash(_("Not saved: %(why)s", why=getattr(exc, "message", str(exc))), "error")
    else:
        flash(_("Extra session added."), "success")
    return redirect(url_for("web.village_schedule", village=village.slug))


@bp.post("/village/settings")
@login_required("village")
def village_settings():
    village = _own_village()
    hold = request.form.get("hold_expiry_hours", "").strip()
    try:
        notifications.update_village_settings(
            village.id,
            booking_email=request.form.get("booking_email", "").strip(),
            notify_phone=request.form.get("notify_phone", "").strip(),
            webhook_url=request.form.get("webhook_url", "").strip(),
            hold_expiry_hours=int(hold) if hold else None,
        )
    except (ValueError, ValidationError) as exc:
        flash(_("Not saved: %(why)s", why=getattr(exc, "message", str(exc))), "error")
    else:
        flash(_("Settings saved."), "success")
    return redirect(url_for("web.village_schedule", village=village.slug))
