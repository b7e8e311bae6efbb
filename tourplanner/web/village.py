"""The village back-office: requests as cards, decisions, the week's sessions, schedules.

Staff see and change only their own village's bookings (anything else answers 404); admins
may look at any village (``?village=slug``). Every form carries a CSRF token (Flask-WTF).
The decision link in the village's e-mail is signed and opens a page with the buttons: a GET
never changes anything (mail scanners open links). The pages read through
:mod:`tourplanner.services.village_desk`; the views only translate HTTP and words.
"""

from __future__ import annotations

from datetime import date, datetime, time

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tourplanner.adapters.orm import Village
from tourplanner.domain.availability import LOCAL_TZ, local_today
from tourplanner.domain.catalogue import WEEKDAYS
from tourplanner.domain.errors import DomainError, ValidationError
from tourplanner.services import availability, booking, links, notifications, village_desk
from tourplanner.services.availability import FieldError, ScheduleForm, SessionsBooked
from tourplanner.web import bp
from tourplanner.web.auth import current_user, login_required
from tourplanner.web.downloads import attachment

#: Reasons staff pick when declining, written to the tourist in the tourist's language.
DECLINE_REASONS = {
    "full": _l("The workshop is already full that day."),
    "artisan": _l("The artisan is not available that day."),
    "weather": _l("The weather does not allow the session that day."),
}
SCHEDULE_CANCEL_REASON = _l(
    "The village changed its schedule: this session no longer takes place. We are sorry."
)
STATE_LABELS = {
    "pending": _l("waiting for the village"),
    "confirmed": _l("confirmed"),
    "declined": _l("declined"),
    "expired": _l("expired (no answer in time)"),
    "cancelled": _l("cancelled"),
    "completed": _l("completed"),
    "no_show": _l("no-show"),
}


def _scope() -> tuple[int | None, Village | None]:
    """``(village_id filter, village shown)``: staff get their own; admins may pick one."""
    user = current_user()
    if not user.is_admin:
        return user.village_id, user.village
    village = village_desk.village_by_slug(request.values.get("village"))
    return (village.id if village else None), village


def _acting_village_id() -> int | None:
    """The village a decision is checked against: staff their own, admins any (None)."""
    village_id, _village = _scope()
    return None if current_user().is_admin else village_id


@bp.app_template_global()
def back_office_pending_count() -> int:
    """New requests for the signed-in staff member's village (admins: the one shown, or all)."""
    user = current_user()
    if user is None or not (user.is_admin or user.village_id):
        return 0
    village_id, _village = _scope()
    return village_desk.pending_count(village_id)


# --- requests ------------------------------------------------------------------------------


@bp.get("/village/")
@login_required("village")
def village_dashboard():
    village_id, village = _scope()
    show = request.args.get("show")
    if show not in village_desk.FILTERS:
        show = "pending"
    now = availability.now_utc()
    return render_template(
        "village/dashboard.html",
        cards=village_desk.cards(village_id, show, now=now),
        counts=village_desk.counts(village_id, now=now),
        show=show,
        village=village,
        villages=village_desk.villages() if current_user().is_admin else [],
        decline_reasons=DECLINE_REASONS,
    )


def _decision() -> tuple[bool, str | None, str | None]:
    """``(accept, preset, free text)`` from the form; ValidationError in the page's words."""
    action = request.form.get("action")
    if action not in ("accept", "decline"):
        raise ValidationError(_("Choose accept or decline."), code="invalid_action")
    preset = request.form.get("reason_preset") or None
    text = (request.form.get("reason") or "").strip() or None
    if action == "decline":
        if preset not in (*DECLINE_REASONS, "other", None):
            raise ValidationError(_("Choose one of the reasons."), code="invalid_reason")
        if not text and preset in ("other", None):
            raise ValidationError(
                _("Choose a reason for declining, or write one for the tourist."),
                code="reason_required",
                field="reason",
            )
    return action == "accept", preset, text


def _reason_for(preset: str | None, text: str | None, lang: str) -> str | None:
    """The reason as the tourist reads it: the preset in the tourist's language, then the text."""
    if preset not in DECLINE_REASONS:
        return text
    with force_locale(lang):
        chosen = str(DECLINE_REASONS[preset])
    return f"{chosen} {text}" if text else chosen


def _in_each_language(message: object) -> dict[str, str]:
    """A lazy message rendered in each language (the tourist reads it in theirs)."""
    result = {}
    for lang in ("vi", "en"):
        with force_locale(lang):
            result[lang] = str(message)
    return result


def _decide(item_id: int, village_id: int | None, user_id: int | None) -> bool:
    """Apply the posted decision and flash its outcome; True when it was applied."""
    try:
        accept, preset, text = _decision()
        card = village_desk.card(item_id, village_id, now=availability.now_utc())
        if card is None:
            abort(404)
        view = booking.decide(
            item_id,
            accept=accept,
            reason=None if accept else _reason_for(preset, text, card.lang),
            village_id=village_id,
            user_id=user_id,
        )
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash(_decision_error(exc), "error")
        return False
    if accept:
        flash(
            _("Booking %(ref)s accepted; the tourist has been told.", ref=view["reference"]),
            "success",
        )
    else:
        flash(
            _("Booking %(ref)s declined; the tourist has been told.", ref=view["reference"]),
            "success",
        )
    return True


def _decision_error(exc: DomainError) -> str:
    if exc.code == "invalid_transition":
        state = STATE_LABELS.get(exc.details.get("current_state"), exc.details.get("current_state"))
        return _("This request has already been answered: it is %(state)s.", state=state)
    if isinstance(exc, ValidationError) and exc.code in ("invalid_action", "invalid_reason"):
        return exc.message
    if exc.code == "reason_required":
        return _("Choose a reason for declining, or write one for the tourist.")
    return _("Not saved: %(why)s", why=exc.message)


def _back(default: str = "web.village_dashboard", **values: object):
    village = request.values.get("village") or None
    if request.form.get("back") == "today":
        return redirect(url_for("web.village_today", village=village))
    show = request.form.get("show")
    show = show if show in village_desk.FILTERS else None
    return redirect(url_for(default, village=village, show=show, **values))


@bp.post("/village/items/<int:item_id>/decision")
@login_required("village")
def village_decide_item(item_id: int):
    _decide(item_id, _acting_village_id(), current_user().id)
    return _back()


@bp.post("/village/items/<int:item_id>/attendance")
@login_required("village")
def village_attendance(item_id: int):
    outcome = request.form.get("outcome")
    try:
        view = booking.record_attendance(
            item_id, attended=outcome == "completed", village_id=_acting_village_id()
        )
    except DomainError as exc:
        if exc.status == 404:
            raise
        if exc.code == "not_started":
            flash(_("Check-in opens when the session starts."), "error")
        else:
            flash(_decision_error(exc), "error")
    else:
        flash(
            _("%(ref)s: marked as come.", ref=view["reference"])
            if outcome == "completed"
            else _("%(ref)s: marked as not come.", ref=view["reference"]),
            "success",
        )
    return _back()


@bp.get("/village/today")
@login_required("village")
def village_today():
    village = _own_village()
    return render_template(
        "village/today.html",
        village=village,
        days=village_desk.week(village.id, now=availability.now_utc()),
    )


@bp.get("/village/bookings.csv")
@login_required("village")
def village_bookings_csv():
    village_id, village = _scope()
    name = f"bookings-{village.slug if village else 'all'}-{date.today().isoformat()}.csv"
    # a BOM: Excel then reads the Vietnamese names as UTF-8
    return attachment("\ufeff" + village_desk.bookings_csv(village_id), name)


@bp.route("/village/decide", methods=["GET", "POST"])
def village_decide():
    """The signed link from the village's e-mail: a page with accept/decline buttons."""
    token = request.values.get("token")
    item_id, village_id = links.check_decision_token(token)
    booking.village_item(item_id, village_id)  # 404 for an item that is not the village's
    if request.method == "POST":
        # Shown here, not by a redirect: the link dies once the item is answered.
        _decide(item_id, village_id, None)
    return render_template(
        "village/decide.html",
        card=village_desk.card(item_id, village_id, now=availability.now_utc()),
        token=token,
        decline_reasons=DECLINE_REASONS,
    )


# --- schedules and settings ----------------------------------------------------------------


def _own_village() -> Village:
    _village_id, village = _scope()
    if village is None:
        abort(404)
    return village


def _schedule_message(error: FieldError) -> str:
    """One refused field, in plain words of the page's language."""
    messages = {
        "bad_time": lambda: _(
            "“%(value)s” is not a time. Write it like 08:00 or 8h30.", value=error.value
        ),
        "bad_range": lambda: _(
            "“%(value)s” is not a time range. Write it like 8h-11h30 or 08:00-11:30.",
            value=error.value,
        ),
        "missing_end": lambda: _("Give the end of this range too."),
        "missing_start": lambda: _("Give the start of this range too."),
        "end_before_start": lambda: _(
            "The range %(value)s ends before it starts.", value=error.value
        ),
        "overlap": lambda: _(
            "The range %(value)s overlaps %(other)s.", value=error.value, other=error.other
        ),
        "bad_date": lambda: _(
            "“%(value)s” is not a date. Write it like 25/12/2026.", value=error.value
        ),
        "not_a_number": lambda: _("“%(value)s” is not a whole number.", value=error.value),
        "required": lambda: _("Fill in this field."),
        "out_of_range": lambda: _(
            "Give a whole number from %(low)s to %(high)s.", low=error.low, high=error.high
        ),
    }
    return messages.get(error.code, lambda: _("This value is not understood."))()


def _render_schedule(
    village: Village,
    *,
    forms: dict[int, ScheduleForm] | None = None,
    booked: dict[int, SessionsBooked] | None = None,
    problem: dict[int, str] | None = None,
    status: int = 200,
):
    forms = dict(forms or {})
    experiences = village_desk.workshops(village.id)
    today = local_today(availability.now_utc())
    previews = {}
    for e in experiences:
        form = forms.setdefault(e.id, ScheduleForm.of(e))
        source = form if form.valid else ScheduleForm.of(e)
        previews[e.id] = availability.preview(
            source.weekly_hours, source.closed_dates, e.duration_minutes, today
        )
    return render_template(
        "village/schedule.html",
        village=village,
        experiences=experiences,
        weekdays=WEEKDAYS,
        forms=forms,
        messages={
            eid: {name: _schedule_message(err) for name, err in f.errors.items()}
            for eid, f in forms.items()
        },
        previews=previews,
        booked=booked or {},
        problem=problem or {},
        spare_rows=availability.SPARE_ROWS,
    ), status


@bp.get("/village/schedule")
@login_required("village")
def village_schedule():
    return _render_schedule(_own_village())


@bp.post("/village/experiences/<int:experience_id>/schedule")
@login_required("village")
def village_save_schedule(experience_id: int):
    village = _own_village()
    if village_desk.workshop(experience_id, village.id) is None:
        abort(404)
    form = availability.parse_schedule_form(request.form)
    if not form.valid:
        return _render_schedule(
            village,
            forms={experience_id: form},
            problem={experience_id: _("Not saved: correct the fields marked below.")},
            status=422,
        )
    if request.form.get("preview"):
        return _render_schedule(village, forms={experience_id: form})
    try:
        availability.update_schedule(
            experience_id,
            village.id,
            weekly_hours=form.weekly_hours,
            capacity=form.values["capacity"],
            closed_dates=form.closed_dates,
            booking_cutoff_hours=form.values["booking_cutoff_hours"],
            free_cancellation_hours=form.values["free_cancellation_hours"],
            instant_confirmation=form.instant_confirmation,
            cancel_booked=(
                _in_each_language(SCHEDULE_CANCEL_REASON)
                if request.form.get("cancel_booked")
                else None
            ),
            user_id=current_user().id,
        )
    except SessionsBooked as exc:
        return _render_schedule(
            village, forms={experience_id: form}, booked={experience_id: exc}, status=409
        )
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _render_schedule(
            village,
            forms={experience_id: form},
            problem={experience_id: _decision_error(exc)},
            status=409,
        )
    flash(_("Schedule saved."), "success")
    return redirect(
        url_for("web.village_schedule", village=village.slug, _anchor=f"experience-{experience_id}")
    )


@bp.post("/village/experiences/<int:experience_id>/slots")
@login_required("village")
def village_add_slot(experience_id: int):
    village = _own_village()
    if village_desk.workshop(experience_id, village.id) is None:
        abort(404)
    try:
        start = datetime.combine(
            availability.parse_date_text(request.form.get("date", "")),
            time.fromisoformat(availability.parse_time_text(request.form.get("time", ""))),
            tzinfo=LOCAL_TZ,
        )
        capacity = int(request.form["capacity"]) if request.form.get("capacity") else None
        availability.add_extra_slot(experience_id, start, capacity)
    except ValueError:
        flash(_("Not saved: give the date like 25/12/2026 and the time like 14:00."), "error")
    except ValidationError as exc:
        flash(_("Not saved: %(why)s", why=exc.message), "error")
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
