"""The agency's package builder and the public package pages (owner: package pages work).

Agency (signed in, its own packages only; another agency's package is 404 on every page):

* ``/agency/packages``: the agency's packages; ``/agency/packages/new``: a new draft;
* ``/agency/packages/<slug>``: the builder: the package checked on a date and party chosen in
  the page (``?date=&adults=&children=&seniors=``, default tomorrow and the typical party),
  each day's timeline with what breaks next to its stop, the prices; its forms post to
  ``.../details``, ``.../days/<n>`` (start, hours, lunch), ``.../days/<n>/stops`` (add, remove,
  move, lock), ``.../fill`` (the route engine), ``.../publish`` and ``.../withdraw``, and come
  back to the same check.

Public: ``/packages`` (published packages) and ``/packages/<slug>`` (photos, map, timeline,
price from, what is included, terms, the calendar of the dates it runs for a party, and a
booking form posting to ``/packages/<slug>/book``, which works without JavaScript).

Every view is one service call (:mod:`tourplanner.services.packages`,
:mod:`tourplanner.services.package_pages`, :mod:`tourplanner.services.package_booking`); the
forms are read by :mod:`tourplanner.web.package_forms`. A refused field is shown next to it in
the page's language, with what was typed kept.
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tourplanner.domain.catalogue import CATEGORIES as CRAFTS
from tourplanner.domain.errors import DomainError, NotFound, ValidationError
from tourplanner.domain.pricing import CATEGORIES, Party
from tourplanner.i18n import current_lang
from tourplanner.security.limits import client_ip, limit, limiter, rate_limits_off
from tourplanner.services import package_booking, package_pages
from tourplanner.services import packages as package_service
from tourplanner.services.packages import parse_date
from tourplanner.web import bp
from tourplanner.web import package_forms as forms
from tourplanner.web.auth import current_user, login_required


def _agency_id() -> int:
    agency_id = current_user().agency_id
    if agency_id is None:  # an agency role without an agency: nothing to show
        abort(403)
    return agency_id


def _map_settings() -> dict[str, Any]:
    return {
        "map_tiles": current_app.config["MAP_TILE_URL"],
        "map_attribution": current_app.config["MAP_TILE_ATTRIBUTION"],
    }


def _form_context() -> dict[str, Any]:
    return {"crafts": CRAFTS, "party_categories": CATEGORIES, "price_keys": forms.PRICE_KEYS}


# --- the agency's list and a new package -----------------------------------------------------


@bp.get("/agency/packages")
@login_required("agency")
def agency_packages():
    return render_template(
        "agency/packages.html", packages=package_service.list_for_agency(_agency_id())
    )


def _new_values() -> dict[str, Any]:
    return {
        "days": "2",
        "travel_mode": "car",
        "adults": 2,
        "children": 0,
        "seniors": 0,
        "markup_kind": "percent",
        "markup_percent": "20",
        "start_kind": "landmark",
        "landmark": "hoan-kiem-lake",
        "day_start": "08:00",
        "day_end": "17:30",
        "lunch": "on",
    }


def _typed(form: Any) -> dict[str, Any]:
    values: dict[str, Any] = form.to_dict()
    values["interests"] = form.getlist("interests")
    return values


def _new_page(values: dict[str, Any], errs: dict[str, str], status: int = 200):
    return render_template(
        "agency/package_new.html",
        values=values,
        errs=errs,
        **package_pages.form_choices(),
        **_form_context(),
    ), status


@bp.get("/agency/packages/new")
@login_required("agency")
def agency_package_new():
    return _new_page(_new_values(), {})


@bp.post("/agency/packages/new")
@login_required("agency")
def agency_package_create():
    agency_id = _agency_id()
    try:
        view = package_service.create(
            agency_id, forms.details(request.form, create=True), by=current_user().id
        )
    except ValidationError as exc:
        return _new_page(_typed(request.form), {forms.field_of(exc): forms.message(exc)}, 400)
    flash(_("Draft saved. Now pick each day's stops."), "success")
    return redirect(url_for("web.agency_package", slug=view["slug"]), code=303)


# --- the builder -----------------------------------------------------------------------------


def _details_values(view: dict[str, Any]) -> dict[str, Any]:
    """The details form's fields from the package (what the agency sees before changing)."""
    values: dict[str, Any] = {
        "name_vi": view["name"]["vi"],
        "name_en": view["name"]["en"],
        "days": view["day_count"],
        "travel_mode": view["travel_mode"],
        "interests": view["interests"],
        **view["party"],
        "markup_kind": view["markup_kind"],
        "markup_percent": f"{view['markup_bp'] / 100:g}",
    }
    for name in ("description", "included"):
        for lang in ("vi", "en"):
            values[f"{name}_{lang}"] = view[name][lang] or ""
    for key in forms.PRICE_KEYS:
        price = (view["retail_prices"] or {}).get(key)
        values[f"retail_{key}"] = "" if price is None else str(price)
    return values


def _builder(
    slug: str,
    on: date | None,
    who: Party | None,
    *,
    errs: dict[str, dict[str, str]] | None = None,
    typed: dict[str, dict[str, Any]] | None = None,
    status: int = 200,
):
    """The builder page; ``errs`` and ``typed``: a refused form's messages and values, by the
    form's id (``details``, ``day-2``, ``stops-2``, ``check``, ``publish``)."""
    errs = dict(errs or {})
    try:
        data = package_pages.builder(_agency_id(), slug, first_date=on, party=who)
    except NotFound:
        abort(404)
    if data["date_error"] is not None:
        errs.setdefault("check", {})["check_date"] = forms.message(data["date_error"])
    typed = dict(typed or {})
    typed.setdefault("details", _details_values(data["package"]))
    return render_template(
        "agency/package.html",
        **data,
        errs=errs,
        typed=typed,
        problem_text=forms.problem_text,
        check_args=forms.check_query(on if data["date_error"] is None else None, who),
        **_form_context(),
        **_map_settings(),
    ), status


@bp.get("/agency/packages/<slug>")
@login_required("agency")
def agency_package(slug: str):
    on, who, errors = forms.check_args(request.args)
    return _builder(slug, on, who, errs={"check": errors} if errors else None)


def _posted_check() -> tuple[date | None, Party | None]:
    on, who, _errors = forms.check_args(request.form, prefix="check_")
    return on, who


def _back(slug: str, on: date | None, who: Party | None, anchor: str | None = None):
    return redirect(
        url_for("web.agency_package", slug=slug, _anchor=anchor, **forms.check_query(on, who)),
        code=303,
    )


def _refused(slug: str, form_id: str, exc: DomainError, on, who, typed: dict[str, Any]):
    """The builder again with ``exc`` next to its field of form ``form_id`` (a date the check
    refuses next to the check's date)."""
    if isinstance(exc, NotFound):
        abort(404)
    if exc.details.get("field") == "date":
        return _builder(
            slug,
            None,
            who,
            errs={"check": {"check_date": forms.message(exc)}},
            status=exc.status,
        )
    errs = {form_id: {forms.field_of(exc): forms.message(exc)}}
    return _builder(slug, on, who, errs=errs, typed={form_id: typed}, status=exc.status)


@bp.post("/agency/packages/<slug>/details")
@login_required("agency")
def agency_package_update(slug: str):
    agency_id = _agency_id()
    on, who = _posted_check()
    try:
        data = forms.details(request.form, create=False)
        package_service.update(agency_id, slug, data, by=current_user().id)
    except DomainError as exc:
        return _refused(slug, "details", exc, on, who, _typed(request.form))
    flash(_("Package saved."), "success")
    return _back(slug, on, who, "details")


@bp.post("/agency/packages/<slug>/days/<int:number>")
@login_required("agency")
def agency_package_day(slug: str, number: int):
    agency_id = _agency_id()
    on, who = _posted_check()
    try:
        package_service.update(
            agency_id, slug, forms.day_settings(request.form, number), by=current_user().id
        )
    except DomainError as exc:
        return _refused(slug, f"day-{number}", exc, on, who, request.form.to_dict())
    flash(_("Day %(n)s saved.", n=number), "success")
    return _back(slug, on, who, f"day-{number}")


@bp.post("/agency/packages/<slug>/days/<int:number>/stops")
@login_required("agency")
def agency_package_stops(slug: str, number: int):
    agency_id = _agency_id()
    on, who = _posted_check()
    try:
        package_service.set_stops(
            agency_id,
            slug,
            number,
            forms.stops(request.form),
            first_date=on,
            by=current_user().id,
        )
    except DomainError as exc:
        return _refused(slug, f"stops-{number}", exc, on, who, request.form.to_dict())
    return _back(slug, on, who, f"day-{number}")


@bp.post("/agency/packages/<slug>/fill")
@login_required("agency")
def agency_package_fill(slug: str):
    agency_id = _agency_id()
    on, who = _posted_check()
    try:
        view = package_service.fill(agency_id, slug, first_date=on, party=who, by=current_user().id)
    except DomainError as exc:
        return _refused(slug, "fill", exc, on, who, {})
    added = sum(len(d["added"]) for d in view["fill"])
    flash(_("The route engine filled and ordered the days: %(n)s stops added.", n=added), "success")
    unfit = [s for d in view["fill"] for s in d["unfit_locked"]]
    if unfit:
        flash(_("Some locked stops do not fit their day: see the reasons below."), "error")
    return _back(slug, on, who, "days")


@bp.post("/agency/packages/<slug>/publish")
@login_required("agency")
def agency_package_publish(slug: str):
    agency_id = _agency_id()
    on, who = _posted_check()
    try:
        package_service.publish(agency_id, slug, by=current_user().id)
    except NotFound:
        abort(404)
    except DomainError as exc:
        errs = {"publish": {"form": forms.publish_message(exc)}}
        return _builder(slug, on, who, errs=errs, status=exc.status)
    flash(_("Published: the package's public page is live."), "success")
    return _back(slug, on, who)


@bp.post("/agency/packages/<slug>/withdraw")
@login_required("agency")
def agency_package_withdraw(slug: str):
    agency_id = _agency_id()
    on, who = _posted_check()
    try:
        package_service.withdraw(agency_id, slug, by=current_user().id)
    except NotFound:
        abort(404)
    except DomainError as exc:
        errs = {"publish": {"form": forms.publish_message(exc)}}
        return _builder(slug, on, who, errs=errs, status=exc.status)
    flash(_("Withdrawn: the public page is gone; bookings made stay."), "success")
    return _back(slug, on, who)


# --- the public pages ------------------------------------------------------------------------


@bp.get("/packages")
def packages():
    return render_template("packages/list.html", packages=package_pages.published())


def _party_arg(values: Any) -> Party | None:
    if not any((values.get(c) or "").strip() for c in CATEGORIES):
        return None
    try:
        return forms.party(values)
    except forms.FormError:
        return None


def _date_arg(text: str | None) -> date | None:
    try:
        return parse_date((text or "").strip()) if text else None
    except ValidationError:
        return None


def _public(
    slug: str,
    who: Party | None,
    *,
    start: date | None = None,
    typed: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    refusal: DomainError | None = None,
    status: int = 200,
):
    try:
        data = package_pages.public_page(slug, who, start)
    except NotFound:
        abort(404)
    values = {"key": secrets.token_hex(16), **data["party"], **(typed or {})}
    if not values.get("date") and data["runs"]:
        values["date"] = data["runs"][0]["date"]  # the first date it runs, until one is picked
    return render_template(
        "packages/package.html",
        **data,
        values=values,
        errors=errors or {},
        refusal=refusal,
        refusal_text=forms.package_refusal(refusal) if refusal else None,
        problem_text=forms.problem_text,
        **_map_settings(),
    ), status


@bp.get("/packages/<slug>")
def package(slug: str):
    typed = {"date": request.args.get("date", "")}
    who = _party_arg(request.args)
    return _public(slug, who, start=_date_arg(request.args.get("from")), typed=typed)


def _read_booking(form: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The booking form's date, party and contact; every error at once, by field."""
    errors: dict[str, str] = {}
    args: dict[str, Any] = {}
    try:
        args["first_date"] = parse_date((form.get("date") or "").strip())
    except ValidationError:
        errors["date"] = _("Pick the first day of the package (a date like 2026-12-01).")
    try:
        args["party"] = forms.party(form)
    except forms.FormError:
        errors["party"] = _("At least one person, at most 100 per category.")
    args["contact"], contact_errors = forms.contact(form)
    errors.update(contact_errors)
    return args, errors


def _booking_key(form: Any) -> str | None:
    """The form's one-time key: a double submit replays the booking, never books twice."""
    key = (form.get("key") or "").strip()
    if not key or len(key) > 64 or not key.isascii() or not key.isalnum():
        return None
    return f"package-page-{key}"


@bp.post("/packages/<slug>/book")
@limiter.limit(lambda: limit("RATE_LIMIT_BOOKINGS"), exempt_when=rate_limits_off)
def package_book(slug: str):
    typed = request.form.to_dict()
    typed.pop("csrf_token", None)
    args, errors = _read_booking(request.form)
    who = args.get("party")
    if errors:
        return _public(slug, who, typed=typed, errors=errors, status=400)
    try:
        view, replayed = package_booking.book_package(
            slug,
            args["first_date"],
            args["party"],
            args["contact"],
            lang=current_lang(),
            idempotency_key=_booking_key(request.form),
            client_ip=client_ip(),
        )
    except NotFound:
        abort(404)
    except ValidationError as exc:
        field = "date" if exc.details.get("field") == "date" else "form"
        errors = {field: forms.message(exc)}
        return _public(slug, who, typed=typed, errors=errors, status=exc.status)
    except DomainError as exc:
        return _public(slug, who, typed=typed, refusal=exc, status=exc.status)
    if replayed:
        flash(_("This booking was already sent: here it is."), "success")
    else:
        flash(
            _("Booking %(ref)s sent: each village will answer by e-mail.", ref=view["reference"]),
            "success",
        )
    return redirect(
        url_for(
            "web.booking_manage",
            reference=view["reference"],
            token=view.get("manage_token") or None,
            lang=current_lang(),
        ),
        code=303,
    )


# --- page helpers ----------------------------------------------------------------------------

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@bp.app_template_filter("package_day")
def package_day(iso: str | None) -> str:
    """``2026-12-05`` -> "Saturday 05/12/2026" in the page's language (Vietnamese order)."""
    from tourplanner.labels import WEEKDAY_LABELS

    if not iso:
        return ""
    day = date.fromisoformat(iso)
    return f"{WEEKDAY_LABELS[WEEKDAYS[day.weekday()]]} {day:%d/%m/%Y}"
