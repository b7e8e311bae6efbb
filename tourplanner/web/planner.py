"""The day-trip planner pages: the form, a saved plan at /plans/<id>, its exports.

Progressive: the form is a plain HTML form POST (the server plans and redirects to the plan's
stable URL), and a plan page's changes (remove a stop, add a must-visit, change the start
time) are small forms that re-plan on the server too. ``static/js/planner.js`` enhances both
with fetch calls to ``/api/v1/plans`` and draws the map; "Book this day" needs JavaScript
(it posts JSON to ``/api/v1/bookings``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import Response, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.datastructures import MultiDict

from tourplanner.domain.availability import LOCAL_TZ
from tourplanner.domain.catalogue import CATEGORIES, WEEKDAYS
from tourplanner.domain.errors import DomainError
from tourplanner.domain.planning import (
    DEFAULT_PACE,
    MAX_ALTERNATIVES,
    MAX_STOPS_LIMIT,
    MAX_TRAVEL_MINUTES,
    MIN_TRAVEL_MINUTES,
    MODES,
    PACES,
)
from tourplanner.domain.pricing import Party
from tourplanner.domain.shopping import SHOPPING_MINUTES
from tourplanner.i18n import current_lang
from tourplanner.labels import MODE_LABELS, WEEKDAY_LABELS
from tourplanner.security.limits import limit, limiter, rate_limits_off
from tourplanner.services import (
    booking_manage,
    catalogue,
    exports,
    photos,
    plan_pool,
    plan_text,
    planning,
)
from tourplanner.services.notifications import public_url
from tourplanner.web import bp

PARTY_KEYS = ("adults", "children", "seniors")


def _itinerary_arg() -> int:
    value = request.args.get("itinerary", "0")
    return int(value) if value.isdigit() else 0


def _mode_labels() -> dict[str, str]:
    return {mode: str(label) for mode, label in MODE_LABELS.items()}


def _pace_context() -> dict[str, Any]:
    labels = {
        "relaxed": _("Relaxed"),
        "balanced": _("Balanced"),
        "packed": _("Packed"),
    }
    return {
        "paces": PACES,
        "pace_labels": {name: str(labels.get(name, name)) for name in PACES},
        "travel_bounds": (MIN_TRAVEL_MINUTES, MAX_TRAVEL_MINUTES),
    }


def _defaults() -> dict[str, Any]:
    day = datetime.now(LOCAL_TZ).date() + timedelta(days=7)
    return {
        "start": {"landmark": "hoan-kiem-lake"},
        "date": day.isoformat(),
        "start_time": "08:00",
        "end_time": "18:00",
        "mode": "car",
        "party": {"adults": 2, "children": 0, "seniors": 0},
        "interests": {},
        "budget_vnd": None,
        "must_include": [],
        "exclude": [],
        "max_stops": 5,
        "alternatives": 3,
        "pace": DEFAULT_PACE,
        "max_travel_minutes": None,
        "lunch": None,
        "shopping": False,
    }


#: Where each request field's error stands on the form (the input it is shown under).
FORM_FIELDS = {
    "start.landmark": "landmark",
    "start.lat": "lat",
    "start.lon": "lon",
    "start.address": "address",
    "party": "adults",
    "party.adults": "adults",
    "party.children": "children",
    "party.seniors": "seniors",
}


def _form_field(exc: DomainError) -> str:
    name = str(exc.details.get("field") or "form")
    if name.startswith("interests"):
        return "interests"
    if name == "start" and exc.code == "start_outside_area":
        return "start"
    return FORM_FIELDS.get(name, name)


def _start_message(exc: DomainError) -> str | None:
    code = exc.code
    if code == "unknown_landmark":
        return _("Choose a landmark from the list.")
    if code == "start_outside_area":
        return _("This start point is outside Hanoi: pick a landmark or a point in Hanoi.")
    if code == "geocoder_unavailable":
        return _("We cannot look addresses up right now: pick a landmark or a point on the map.")
    if code == "address_not_found":
        return _(
            "We could not find this address in Hanoi: check it, or pick a landmark or a point "
            "on the map."
        )
    field = exc.details.get("field")
    if field in ("start.lat", "start.lon"):
        return _("Pick a point on the map, or type its latitude and longitude as numbers.")
    if field == "start.address":
        return _("Type an address of at least 3 characters.")
    if field == "start":
        return _("Choose a landmark, a point on the map or an address.")
    return None


def _when_message(exc: DomainError) -> str | None:
    field, code = exc.details.get("field"), exc.code
    if field == "date":
        if code == "missing_field":
            return _("Choose the day of your trip.")
        if code == "date_in_past":
            return _("This day has passed: choose today or a later day.")
        if "max_days" in exc.details:
            return _("Plans can be made up to one year ahead.")
        return _("Write the date like 25/12/2026.")
    if field in ("start_time", "end_time"):
        if code == "end_before_start":
            return _("The day must end after it starts: choose a later time to be back.")
        return _("Write a time like 08:00.")
    return None


def _plan_message(exc: DomainError) -> str:
    """One refused field of the planner form in plain words of the page's language."""
    found = _start_message(exc) or _when_message(exc)
    if found:
        return found
    field = str(exc.details.get("field") or "")
    messages = {
        "mode": lambda: _("Choose one of the ways to travel."),
        "pace": lambda: _("Choose one of the paces."),
        "max_travel_minutes": lambda: _(
            "Give a number of minutes from %(low)s to %(high)s, or leave it empty.",
            low=MIN_TRAVEL_MINUTES,
            high=MAX_TRAVEL_MINUTES,
        ),
        "budget_vnd": lambda: (
            _("The budget cannot be negative.")
            if exc.code == "negative_budget"
            else _("Write the budget in đồng as a whole number, like 2000000, or leave it empty.")
        ),
        "must_include": lambda: _("Choose the villages from the list."),
        "exclude": lambda: (
            _("A village cannot be both a must-visit and left out.")
            if "slug" in exc.details and exc.code != "unknown_slug"
            else _("Choose the villages from the list.")
        ),
        "max_stops": lambda: _("Give a number from 1 to %(n)s.", n=MAX_STOPS_LIMIT),
        "alternatives": lambda: _("Give a number from 1 to %(n)s.", n=MAX_ALTERNATIVES),
        "lunch": lambda: _("Turn the lunch break on or off."),
        "shopping": lambda: _("Turn the shopping stop on or off."),
    }
    if field.startswith("party"):
        return _("Give whole numbers of people, at least one person in all.")
    if field.startswith("interests"):
        return _("Choose love it, like it, not for us or no preference for each craft.")
    return messages.get(field, lambda: _("This value is not understood."))()


def _field_errors(errors: list[DomainError]) -> dict[str, str]:
    """``{form field: message}``; the first error of a field wins."""
    found: dict[str, str] = {}
    for exc in errors:
        found.setdefault(_form_field(exc), _plan_message(exc))
    return found


def _form_page(values: dict[str, Any], errors: list[DomainError] | None = None, status: int = 200):
    errors = list(errors or [])
    busy = next((e for e in errors if e.code == "planner_busy"), None)
    field_errors = {} if busy else _field_errors(errors)
    message = None
    if busy is not None:
        message = _("Many people are planning a trip right now. Try again in a few seconds.")
    elif field_errors:
        message = ngettext(
            "Not planned yet: correct the field marked below.",
            "Not planned yet: correct the %(num)s fields marked below.",
            len(field_errors),
        )
    return render_template(
        "planner/form.html",
        values=values,
        error=errors[0] if errors else None,
        error_message=message,
        field_errors=field_errors,
        landmarks=catalogue.all_landmarks(),
        villages=catalogue.plannable_villages(),
        categories=CATEGORIES,
        modes=MODES,
        mode_labels=_mode_labels(),
        max_stops_limit=MAX_STOPS_LIMIT,
        max_alternatives=MAX_ALTERNATIVES,
        shopping_minutes=SHOPPING_MINUTES,
        **_pace_context(),
        map_tiles=current_app.config["MAP_TILE_URL"],
        map_attribution=current_app.config["MAP_TILE_ATTRIBUTION"],
    ), status


@bp.app_template_filter("weekday_date")
def weekday_date(value: Any) -> str:
    """``"2027-01-02"`` (or a date) as "Thứ Bảy 02/01/2027" / "Saturday 02/01/2027"."""
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return f"{WEEKDAY_LABELS[WEEKDAYS[day.weekday()]]} {day:%d/%m/%Y}"


@bp.get("/plan")
def planner_form():
    values = _defaults()
    source = request.args.get("from")
    if source:
        values = {**values, **planning.get_plan(source).request}
    for slug in request.args.getlist("must"):
        values["must_include"] = [*values["must_include"], slug]
    return _form_page(values)


def _number(form: MultiDict, name: str, kind: type = int) -> Any:
    text = (form.get(name) or "").strip()
    if kind is int:
        text = text.replace(".", "").replace(",", "").replace(" ", "")  # 2.000.000 VND
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        return text  # left for the domain validation to name the field


def request_from_form(form: MultiDict) -> dict[str, Any]:
    """The JSON plan request a submitted planner form stands for."""
    kind = form.get("start_kind", "landmark")
    if kind == "point":
        start: dict[str, Any] = {
            "lat": _number(form, "lat", float),
            "lon": _number(form, "lon", float),
        }
    elif kind == "address":
        start = {"address": form.get("address", "")}
    else:
        start = {"landmark": form.get("landmark", "")}
    interests = {
        c: float(form[f"interest-{c}"])
        for c in CATEGORIES
        if form.get(f"interest-{c}") in ("0", "0.5", "1")
    }
    data = {
        "start": start,
        "date": form.get("date", ""),
        "start_time": form.get("start_time"),
        "end_time": form.get("end_time"),
        "mode": form.get("mode"),
        "party": {k: _number(form, k) or 0 for k in ("adults", "children", "seniors")},
        "interests": interests,
        "budget_vnd": _number(form, "budget_vnd"),
        "must_include": [s for s in form.getlist("must_include") if s],
        "exclude": [s for s in form.getlist("exclude") if s],
        "max_stops": _number(form, "max_stops"),
        "alternatives": _number(form, "alternatives"),
        "pace": form.get("pace") or None,
        "max_travel_minutes": _number(form, "max_travel_minutes"),
        "lunch": _switch(form, "lunch"),
        "shopping": form.get("shopping") == "on",
        "lang": current_lang(),
    }
    return {k: v for k, v in data.items() if v is not None}


def _switch(form: MultiDict, name: str) -> bool | None:
    """The lunch checkbox, sent after a hidden "off": ticked is the default rule (None: on
    for days over 6 hours), unticked is off (False)."""
    values = form.getlist(name)
    return False if values and values[-1] == "off" else None


@bp.post("/plan")
@limiter.limit(lambda: limit("RATE_LIMIT_PLANS"), exempt_when=rate_limits_off)
def planner_submit():
    data = request_from_form(request.form)
    return _plan_or_form(data)


def _plan_or_form(data: dict[str, Any]):
    """Plan and go to the plan's page; else the form with every error by its field."""
    values = {**_defaults(), **data}
    errors = planning.request_errors(data)
    if errors:
        return _form_page(values, errors, 400)
    try:
        plan_id, _result = plan_pool.create_plan(data)
    except DomainError as exc:
        return _form_page(values, [exc], exc.status)
    return redirect(url_for("web.plan_page", plan_id=plan_id), code=303)


def changed_request(stored: dict[str, Any], form: MultiDict) -> dict[str, Any]:
    """A stored request with one change from a plan page: remove, add, a new start time,
    or a new pace and road-time limit (an empty limit removes it), lunch or shopping on/off."""
    data = {k: v for k, v in stored.items() if k != "start_point"}
    data["lang"] = current_lang()
    remove, add, start_time = form.get("remove"), form.get("add"), form.get("start_time")
    if remove:
        data["must_include"] = [s for s in data.get("must_include", []) if s != remove]
        data["exclude"] = list(dict.fromkeys([*data.get("exclude", []), remove]))
    if add:
        data["exclude"] = [s for s in data.get("exclude", []) if s != add]
        data["must_include"] = list(dict.fromkeys([*data.get("must_include", []), add]))
    if start_time:
        data["start_time"] = start_time
    if form.get("pace"):
        data["pace"] = form["pace"]
        data["max_travel_minutes"] = _number(form, "max_travel_minutes")
    if form.get("lunch") in ("on", "off"):
        data["lunch"] = form["lunch"] == "on"
    if form.get("shopping") in ("on", "off"):
        data["shopping"] = form["shopping"] == "on"
    return data


@bp.post("/plans/<plan_id>/replan")
@limiter.limit(lambda: limit("RATE_LIMIT_PLANS"), exempt_when=rate_limits_off)
def plan_replan(plan_id: str):
    row = planning.get_plan(plan_id)
    return _plan_or_form(changed_request(row.request, request.form))


def _plan_context(plan_id: str) -> dict[str, Any]:
    row = planning.get_plan(plan_id)
    lang = current_lang()
    itineraries = [
        plan_text.localise(it, row.request, lang) for it in row.result.get("itineraries", [])
    ]
    stops = [stop for it in itineraries for stop in it.get("stops", [])]
    stop_photos, stop_village_photos = photos.published_for_visits(
        (stop.get("experience_id") for stop in stops), (stop.get("village") for stop in stops)
    )
    return {
        "plan": row,
        "req": row.request,
        "itineraries": itineraries,
        "stop_photos": stop_photos,
        "stop_village_photos": stop_village_photos,
        "reason": plan_text.localise_reason(row.result.get("reason"), row.request, lang),
        "shopping": _shopping_status(row.result.get("shopping"), row.request, lang),
        "directions": [exports.directions(row, i) for i in range(len(itineraries))],
        "villages": catalogue.plannable_villages(),
        "mode_labels": _mode_labels(),
        **_pace_context(),
        "map_tiles": current_app.config["MAP_TILE_URL"],
        "map_attribution": current_app.config["MAP_TILE_ATTRIBUTION"],
    }


def _shopping_status(
    status: dict[str, Any] | None, req: dict[str, Any], lang: str
) -> dict[str, Any] | None:
    """A plan's shopping answer with its reason in the page's language (None: not asked)."""
    if not status:
        return None
    return {**status, "reason": plan_text.localise_reason(status.get("reason"), req, lang)}


def _booking_terms(req: dict[str, Any], itineraries: list[dict[str, Any]]) -> list[list[dict]]:
    """Per itinerary, each workshop's price breakdown and cancellation terms, before booking."""
    party = Party(**{k: int((req.get("party") or {}).get(k) or 0) for k in PARTY_KEYS})
    return [
        booking_manage.terms([s["slot_id"] for s in it.get("stops", []) if s.get("slot_id")], party)
        for it in itineraries
    ]


def render_plan(plan_id: str, *, booking_form: dict[str, Any] | None = None, status: int = 200):
    """The plan page; ``booking_form``: a refused "Book this day" (its itinerary, what was
    typed, the errors by field, or the service's refusal in words)."""
    context = _plan_context(plan_id)
    context["booking_terms"] = _booking_terms(context["req"], context["itineraries"])
    context["booking_form"] = booking_form or {}
    return render_template("planner/plan.html", **context), status


@bp.get("/plans/<plan_id>")
def plan_page(plan_id: str):
    return render_plan(plan_id)


@bp.get("/plans/<plan_id>/print")
def plan_print(plan_id: str):
    context = _plan_context(plan_id)
    index = _itinerary_arg()
    context["chosen"] = exports.pick(context["plan"], index)
    context["index"] = index
    return render_template("planner/print.html", **context)


@bp.get("/plans/<plan_id>.ics")
def plan_ics(plan_id: str):
    row = planning.get_plan(plan_id)
    index = _itinerary_arg()
    body = exports.to_ics(row, index, url=public_url("web.plan_page", plan_id=plan_id))
    return Response(
        body,
        mimetype="text/calendar",
        headers={
            "Content-Disposition": f'attachment; filename="tourplanner-{plan_id}-{index}.ics"'
        },
    )
