"""Tour routes: the city's curation pages and the public route pages (owner: tour routes work).

Public: ``/routes`` (the published routes), ``/routes/<slug>`` (map, typical timeline, "plan
this route on my date") and ``POST /routes/<slug>/plan``, which plans the route's day with the
planner and sends the tourist to the plan's page (``?route=<slug>``), where "Book this day"
books it. Admins: ``/admin/routes`` (every route; new from scratch, from a saved plan, from a
package), ``/admin/routes/<slug>`` (edit, publish or withdraw, photos, history).

Forms post plain HTML; a refused field is named next to it in the page's language with what was
typed kept. Views make one service call each.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from tourplanner.domain import tour_routes as rules
from tourplanner.domain.availability import LOCAL_TZ
from tourplanner.domain.catalogue import CATEGORIES
from tourplanner.domain.errors import DomainError
from tourplanner.domain.planning import MODES
from tourplanner.i18n import current_lang
from tourplanner.labels import MODE_LABELS
from tourplanner.security.limits import limit, limiter, rate_limits_off
from tourplanner.services import catalogue, recommendations, route_plans, tour_routes
from tourplanner.web import bp
from tourplanner.web.auth import current_user, login_required
from tourplanner.web.products_admin import upload_view

#: Empty stop rows offered after the route's stops.
SPARE_STOPS = 3
LENGTH_LABELS = {"half_day": _l("Half a day"), "day": _l("A day"), "two_days": _l("Two days")}
#: How a refused route field is said (``domain.tour_routes`` problem codes).
MESSAGES = {
    "name_required": _l("Give the route a name in at least one language."),
    "not_text": _l("Expected text."),
    "invalid_text": _l("This text contains characters that cannot be stored."),
    "too_long": _l("At most %(max)s characters."),
    "unknown_choice": _l("Pick one of the choices."),
    "not_a_list": _l("Pick from the list."),
    "unknown_category": _l("Unknown craft."),
    "invalid_slug": _l("Lower-case letters, digits and hyphens only."),
    "slug_taken": _l("Another route already has this address."),
    "village_required": _l("Pick a village."),
    "unknown_village": _l("Unknown village."),
    "unknown_experience": _l("Unknown experience."),
    "experience_not_in_village": _l("This experience is not in the village chosen."),
    "day_out_of_length": _l("Day 1 to %(max)s for this length."),
    "days_out_of_order": _l("Stops of day 2 come after those of day 1."),
    "day_too_full": _l("At most %(max)s stops a day."),
    "village_twice": _l("This village is already a stop of the route."),
    "too_many_stops": _l("At most %(max)s stops."),
    "required_to_publish": _l("Needed before the route can be published."),
    "too_few_stops": _l("A published route has at least %(min)s stops."),
    "both_days_needed": _l("A two-day route has stops on both days."),
    "village_not_mapped": _l(
        "This village has no sourced position yet: it cannot be on a published route."
    ),
    "too_many_photos": _l("At most %(max)s photos."),
    "bad_photo": _l("%(file)s was refused: %(reason)s"),
}
#: How a refused "plan this route" field is said (the planner's field names).
PLAN_MESSAGES = {
    "date": _l("Pick a date from today up to a year ahead."),
    "party": _l("Give the number of people (whole numbers), at least one."),
    "start": _l("Pick a starting point from the list."),
    "start_time": _l("Times as HH:MM, the day ending after it starts."),
    "end_time": _l("Times as HH:MM, the day ending after it starts."),
    "mode": _l("Pick a way of travelling."),
    "day": _l("Pick a day of the route."),
}


def _problem_messages(exc: rules.RouteInvalid) -> dict[str, str]:
    out = {}
    for key, problem in exc.problems.items():
        text = MESSAGES.get(problem.code)
        out[key] = str(text) % problem.params if text is not None else problem.code
    return out


@bp.app_template_global()
def published_tour_routes() -> list:
    """The published routes, for the handbook's list (templates/routes/_handbook.html)."""
    return tour_routes.published_routes()


EVENT_LABELS = {
    "route_created": _l("created"),
    "route_changed": _l("changed"),
    "route_published": _l("published"),
    "route_unpublished": _l("withdrawn"),
    "route_photos_changed": _l("photos changed"),
}


@bp.app_template_global()
def plan_aside(plan) -> dict[str, Any]:
    """For a plan page (templates/routes/_plan_aside.html): the recommended routes and
    packages, and the note about the route it was planned from (``?route=<slug>&day=N``)."""
    return recommendations.plan_context(
        plan, route_slug=request.args.get("route"), day=request.args.get("day", 1, type=int)
    )


def _labels() -> dict[str, Any]:
    return {
        "length_labels": {k: str(v) for k, v in LENGTH_LABELS.items()},
        "mode_labels": {k: str(v) for k, v in MODE_LABELS.items()},
        "event_labels": {k: str(v) for k, v in EVENT_LABELS.items()},
    }


# --- public pages ---------------------------------------------------------------------------


@bp.get("/routes")
def routes():
    return render_template("routes/list.html", routes=tour_routes.published_routes(), **_labels())


def _plan_defaults(route) -> dict[str, Any]:
    begin, end = rules.LENGTH_HOURS[route.length]
    day = datetime.now(LOCAL_TZ).date() + timedelta(days=7)
    return {
        "date": day.isoformat(),
        "day": 1,
        "landmark": tour_routes.CENTRE,
        "start_time": begin,
        "end_time": end,
        "mode": route.travel_mode,
        "adults": 2,
        "children": 0,
        "seniors": 0,
    }


def _route_page(
    slug: str,
    values: dict[str, Any] | None = None,
    error: str | None = None,
    error_field: str | None = None,
    status: int = 200,
):
    route = tour_routes.get_published(slug)
    page = route_plans.view(route)
    values = {**_plan_defaults(route), **(values or {})}
    if request.args.get("date") and not error:
        values["date"] = request.args["date"][:10]
    if request.args.get("day", "").isdigit() and not error:
        values["day"] = int(request.args["day"])
    return render_template(
        "routes/page.html",
        **page,
        values=values,
        error=error,
        error_field=error_field,
        landmarks=catalogue.all_landmarks(),
        modes=MODES,
        days_of_route=rules.LENGTH_DAYS[route.length],
        map_tiles=current_app.config["MAP_TILE_URL"],
        map_attribution=current_app.config["MAP_TILE_ATTRIBUTION"],
        **_labels(),
    ), status


@bp.get("/routes/<slug>")
def route_page(slug: str):
    return _route_page(slug)


def _int(form: MultiDict, name: str) -> Any:
    text = (form.get(name) or "").strip()
    return int(text) if text.isdigit() and len(text) < 6 else (text or 0)


def plan_input(form: MultiDict) -> dict[str, Any]:
    """What the "plan this route" form asks the planner for."""
    return {
        "date": (form.get("date") or "").strip(),
        "day": _int(form, "day") or 1,
        "start": {"landmark": form.get("landmark") or tour_routes.CENTRE},
        "start_time": form.get("start_time") or None,
        "end_time": form.get("end_time") or None,
        "mode": form.get("mode") or None,
        "party": {k: _int(form, k) for k in ("adults", "children", "seniors")},
        "lang": current_lang(),
    }


def _plan_error_field(exc: DomainError) -> str:
    field = str(exc.details.get("field") or "")
    return field.split(".")[0] if field else ""


@bp.post("/routes/<slug>/plan")
@limiter.limit(lambda: limit("RATE_LIMIT_PLANS"), exempt_when=rate_limits_off)
def route_plan(slug: str):
    given = plan_input(request.form)
    try:
        plan_id, _result = route_plans.plan_on_date(slug, given)
    except DomainError as exc:
        if exc.status == 404:
            raise
        field = _plan_error_field(exc)
        message = PLAN_MESSAGES.get(field)
        if exc.code == "planner_busy":
            message = _("Many people are planning a trip right now. Try again in a few seconds.")
        values = {
            k: request.form.get(k, "")
            for k in (
                "date",
                "landmark",
                "start_time",
                "end_time",
                "mode",
                "adults",
                "children",
                "seniors",
            )
        }
        values["day"] = given["day"]
        text = (
            str(message)
            if message
            else _("This request cannot be planned: %(why)s", why=exc.message)
        )
        return _route_page(slug, values, text, field, exc.status)
    return redirect(
        url_for("web.plan_page", plan_id=plan_id, route=slug, day=given["day"]), code=303
    )


# --- curation (admins) ----------------------------------------------------------------------


def _stop_rows(values: dict[str, Any]) -> list[dict[str, Any]]:
    rows = list(values.get("stops") or [])
    spare = min(SPARE_STOPS, max(0, rules.MAX_STOPS - len(rows)))
    return rows + [{"village": "", "experience": "", "day": 1}] * spare


def _form_page(
    route=None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
):
    values = (
        values
        if values is not None
        else (tour_routes.form_values(route) if route else {"length": "day", "travel_mode": "car"})
    )
    return render_template(
        "routes/admin_form.html",
        route=route,
        values=values,
        rows=_stop_rows(values),
        errors=errors or {},
        villages=catalogue.plannable_villages(),
        categories=CATEGORIES,
        modes=MODES,
        lengths=rules.LENGTHS,
        max_days=2,
        history=tour_routes.history(route.slug) if route else [],
        **_labels(),
    ), status


def route_input(form: MultiDict) -> dict[str, Any]:
    """The route a submitted curation form stands for; stop rows in their "order" numbers."""
    data: dict[str, Any] = {name: form.get(name, "") for name in rules.TEXT_FIELDS}
    data.update(
        length=form.get("length") or "day",
        travel_mode=form.get("travel_mode") or "car",
        interests=form.getlist("interests"),
    )
    if form.get("slug"):
        data["slug"] = form["slug"].strip()
    rows = []
    for n in range(rules.MAX_STOPS + SPARE_STOPS):
        village = (form.get(f"stop-{n}-village") or "").strip()
        if not village:
            continue
        order = (form.get(f"stop-{n}-order") or "").strip()
        rows.append(
            (
                int(order) if order.isdigit() and len(order) < 4 else n + 1,
                n,
                {
                    "village": village,
                    "experience": (form.get(f"stop-{n}-experience") or "").strip(),
                    "day": (form.get(f"stop-{n}-day") or "1").strip(),
                    "note_vi": form.get(f"stop-{n}-note_vi", ""),
                    "note_en": form.get(f"stop-{n}-note_en", ""),
                },
            )
        )
    data["stops"] = [row for _order, _n, row in sorted(rows, key=lambda r: (r[0], r[1]))]
    return data


def _user_id() -> int | None:
    user = current_user()
    return user.id if user else None


def _to_route(slug: str, message: str):
    """Say ``message`` and show the route's curation page (303: the browser GETs it)."""
    flash(message, "success")
    return redirect(url_for("web.admin_route_edit", slug=slug), code=303)


def _refused(slug: str, exc: rules.RouteInvalid, values: dict[str, Any] | None = None):
    """The route's form again, each refused field named (the route as stored, read anew)."""
    return _form_page(tour_routes.get_route(slug), values, _problem_messages(exc), exc.status)


def _list_page(values: Any, errors: dict[str, str], status: int = 200):
    return render_template(
        "routes/admin_list.html",
        routes=tour_routes.list_routes(),
        packages_available=tour_routes.packages_available(),
        values=values,
        errors=errors,
        **_labels(),
    ), status


def _list_error(field: str, message: str, status: int):
    """The list again, with what was typed and ``field`` refused."""
    return _list_page(request.form, {field: message}, status)


@bp.get("/admin/routes")
@login_required("admin")
def admin_routes():
    return _list_page(request.args, {})


@bp.route("/admin/routes/new", methods=["GET", "POST"])
@login_required("admin")
def admin_route_new():
    if request.method == "GET":
        return _form_page()
    data = route_input(request.form)
    try:
        route = tour_routes.create_route(data, user_id=_user_id())
    except rules.RouteInvalid as exc:
        return _form_page(values=data, errors=_problem_messages(exc), status=400)
    return _to_route(route.slug, _("Draft saved. Publish it when it is ready."))


@bp.post("/admin/routes/from-plan")
@login_required("admin")
def admin_route_from_plan():
    try:
        itinerary = max(0, int(request.form.get("itinerary") or 1) - 1)
    except ValueError:
        itinerary = -1
    try:
        route = tour_routes.create_from_plan(
            request.form.get("plan", ""), itinerary=itinerary, user_id=_user_id()
        )
    except rules.RouteInvalid as exc:
        return _list_error("plan", "; ".join(_problem_messages(exc).values()), exc.status)
    except DomainError as exc:
        message = (
            _("No saved plan with this address or id.")
            if exc.code in ("plan_not_found", "invalid_plan")
            else _("The plan has no such itinerary.")
        )
        return _list_error("plan", message, exc.status)
    return _to_route(
        route.slug,
        _("Draft made from the plan: give it its texts in both languages, then publish it."),
    )


@bp.post("/admin/routes/from-package")
@login_required("admin")
def admin_route_from_package():
    try:
        route = tour_routes.create_from_package(
            (request.form.get("package") or "").strip(), user_id=_user_id()
        )
    except rules.RouteInvalid as exc:
        return _list_error("package", "; ".join(_problem_messages(exc).values()), exc.status)
    except DomainError as exc:
        return _list_error("package", _("No published package with this address."), exc.status)
    return _to_route(
        route.slug, _("Draft made from the package: check its texts, then publish it.")
    )


@bp.route("/admin/routes/<slug>", methods=["GET", "POST"])
@login_required("admin")
def admin_route_edit(slug: str):
    route = tour_routes.get_route(slug)
    if request.method == "GET":
        return _form_page(route)
    data = route_input(request.form)
    try:
        tour_routes.update_route(slug, data, user_id=_user_id())
    except rules.RouteInvalid as exc:
        return _refused(slug, exc, data)
    return _to_route(slug, _("Route saved."))


@bp.post("/admin/routes/<slug>/publish")
@login_required("admin")
def admin_route_publish(slug: str):
    try:
        tour_routes.publish(slug, user_id=_user_id())
    except rules.RouteInvalid as exc:
        return _refused(slug, exc)
    return _to_route(slug, _("Route published: it is on the handbook, the API and the targets."))


@bp.post("/admin/routes/<slug>/unpublish")
@login_required("admin")
def admin_route_unpublish(slug: str):
    tour_routes.unpublish(slug, user_id=_user_id())
    return _to_route(slug, _("Route withdrawn: it is a draft again."))


@bp.post("/admin/routes/<slug>/photos")
@login_required("admin")
@upload_view("PRODUCT_UPLOAD_MAX_BYTES", 32 * 1024 * 1024)
def admin_route_photos(slug: str):
    uploads = [
        tour_routes.PhotoUpload(
            f.filename or "photo",
            f.read(),
            alt_vi=request.form.get("alt_vi", ""),
            alt_en=request.form.get("alt_en", ""),
            credit=request.form.get("credit", ""),
            licence=request.form.get("licence", ""),
        )
        for f in request.files.getlist("photos")
        if f and f.filename
    ]
    try:
        tour_routes.add_photos(slug, uploads, user_id=_user_id())
    except rules.RouteInvalid as exc:
        return _refused(slug, exc)
    return _to_route(slug, _("Photos added.") if uploads else _("No photo chosen."))


@bp.post("/admin/routes/<slug>/photos/remove")
@login_required("admin")
def admin_route_photo_remove(slug: str):
    tour_routes.remove_photo(slug, request.form.get("name", ""), user_id=_user_id())
    return _to_route(slug, _("Photo removed."))
