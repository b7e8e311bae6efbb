"""Agency pages: book a package for a client, follow each booking's items, replace a declined
item, and the sales reports (the agency's own; admins see every agency's at /admin/reports).

Every view translates the form to one service call (:mod:`tourplanner.services.package_booking`,
:mod:`tourplanner.services.reports`). Another agency's booking answers 404. Errors are shown
next to their field in the page's language, with what was typed kept.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tourplanner.domain import inputs
from tourplanner.domain.errors import Conflict, DomainError, NotFound, ValidationError
from tourplanner.domain.pricing import CATEGORIES, Party
from tourplanner.i18n import current_lang
from tourplanner.services import agencies, booking_request, package_booking, packages, reports
from tourplanner.services.availability import now_utc
from tourplanner.web import bp
from tourplanner.web import package_forms as forms
from tourplanner.web.auth import current_user, login_required
from tourplanner.web.downloads import attachment


def _agency_id() -> int:
    agency_id = current_user().agency_id
    if agency_id is None:  # an agency role without an agency: nothing to show
        abort(403)
    return agency_id


# --- booking a package for a client --------------------------------------------------------


def _field_messages() -> dict[str, str]:
    return {
        "date": _("Pick the first day of the package (a date like 2026-12-01)."),
        "party": _("The party needs at least one person and at most 100 per category."),
        "client": _("Pick one of your clients or add a new one."),
        "client_name": _("Give the client's name."),
        "client_email": _("Give a valid e-mail address (or leave it empty)."),
        "client_phone": _("The phone number is at most 40 characters."),
        "notes": _("Notes are at most 2000 characters."),
    }


class FormError(ValidationError):
    """A field of the booking form (its name in the page, not the API's)."""


def _bad(field: str) -> FormError:
    return FormError(_field_messages()[field], code="invalid_form", field=field)


def _count(form: Any, name: str) -> int:
    text = (form.get(name) or "0").strip() or "0"
    if not text.isdigit():
        raise _bad("party")
    return int(text)


def _parse_form(form: Any, agency_id: int) -> dict[str, Any]:
    """The booking the form asks for, as :func:`package_booking.book_package` arguments."""
    try:
        first = booking_request.first_date((form.get("date") or "").strip())
    except ValidationError:
        raise _bad("date") from None
    try:
        party = Party(**{c: _count(form, c) for c in CATEGORIES})
    except ValueError:
        raise _bad("party") from None
    try:
        notes = booking_request.notes(form.get("notes") or None)
    except ValidationError:
        raise _bad("notes") from None
    args: dict[str, Any] = {"first_date": first, "party": party, "notes": notes}
    choice = form.get("client") or ""
    if choice == "new":
        args["new_client"] = _new_client(form)
    elif choice.isdigit():
        args["client_id"] = int(choice)
        if int(choice) not in {c["id"] for c in agencies.list_clients(agency_id)}:
            raise _bad("client")
    else:
        raise _bad("client")
    return args


def _new_client(form: Any) -> dict[str, str | None]:
    """A new client's name, e-mail (optional) and phone (optional), cleaned like a booking's
    contact (they reach the villages' e-mail and SMS)."""
    email = (form.get("client_email") or "").strip() or None
    phone = (form.get("client_phone") or "").strip() or None
    try:
        name = inputs.clean_text(
            form.get("client_name") or "",
            "client_name",
            max_length=inputs.MAX_NAME_CHARS,
            min_length=1,
        )
    except ValidationError:
        raise _bad("client_name") from None
    try:
        email = inputs.email_address(email, "client_email") if email else None
    except ValidationError:
        raise _bad("client_email") from None
    try:
        phone = (
            inputs.clean_text(phone, "client_phone", max_length=inputs.MAX_PHONE_CHARS)
            if phone
            else None
        )
    except ValidationError:
        raise _bad("client_phone") from None
    return {"name": name, "email": email, "phone": phone or None}


def _book_page(
    agency_id: int,
    package: dict[str, Any],
    values: dict[str, Any],
    error: DomainError | None = None,
):
    field = error.details.get("field") if isinstance(error, FormError) else None
    return render_template(
        "agency/book.html",
        package=package,
        clients=agencies.list_clients(agency_id),
        values=values,
        field=field,
        field_error=error.message if field else None,
        error=None if field or error is None else forms.package_refusal(error),
        problems=(error.details.get("problems") or []) if error is not None else [],
        categories=CATEGORIES,
    ), (200 if error is None else error.status)


@bp.route("/agency/packages/<slug>/book", methods=["GET", "POST"])
@login_required("agency")
def agency_book(slug: str):
    agency_id = _agency_id()
    package = packages.summary_for_agency(agency_id, slug)
    if request.method == "GET":
        tomorrow = (now_utc() + timedelta(days=7)).date()
        values = {
            "date": request.args.get("date") or tomorrow.isoformat(),
            **{c: package["party"].get(c, 1 if c == "adults" else 0) for c in CATEGORIES},
            "client": request.args.get("client", ""),
            "key": secrets.token_hex(16),
        }
        return _book_page(agency_id, package, values)
    values = request.form.to_dict()
    try:
        args = _parse_form(request.form, agency_id)
        view, _replayed = package_booking.book_package(
            slug,
            args.pop("first_date"),
            args.pop("party"),
            None,
            lang=current_lang(),
            agency_id=agency_id,
            idempotency_key=_form_key(),
            **args,
        )
    except DomainError as exc:
        return _book_page(agency_id, package, values, exc)
    flash(_("Booking %(ref)s made: each village will answer.", ref=view["reference"]), "ok")
    return redirect(url_for("web.agency_booking", reference=view["reference"]), code=303)


def _form_key() -> str | None:
    """The form's one-time key: a double submit replays the booking instead of booking twice."""
    key = (request.form.get("key") or "").strip()
    if not key or len(key) > 64 or not key.isalnum():
        return None
    return f"agency-{current_user().agency_id}-{key}"


# --- following bookings --------------------------------------------------------------------


@bp.get("/agency/bookings")
@login_required("agency")
def agency_bookings():
    return render_template(
        "agency/bookings.html", bookings=package_booking.list_for_agency(_agency_id())
    )


@bp.get("/agency/bookings/<reference>")
@login_required("agency")
def agency_booking(reference: str):
    agency_id = _agency_id()
    try:
        view = package_booking.get_for_agency(agency_id, reference)
    except NotFound:
        abort(404)
    replaced = package_booking.replaced_items(view["reference"])
    options = {
        item["id"]: package_booking.replacement_options(agency_id, view["reference"], item["id"])
        for item in view["items"]
        if item["status"] in package_booking.REPLACEABLE and item["id"] not in replaced
    }
    return render_template(
        "agency/bookings_detail.html", booking=view, options=options, replaced=replaced
    )


@bp.post("/agency/bookings/<reference>/items/<int:item_id>/replace")
@login_required("agency")
def agency_booking_replace(reference: str, item_id: int):
    agency_id = _agency_id()
    slot = request.form.get("slot_id", "")
    try:
        if not slot.isdigit():
            raise ValidationError("pick a session", code="invalid_form", field="slot_id")
        package_booking.replace_item(
            agency_id, reference, item_id, int(slot), user_id=current_user().id
        )
    except NotFound:
        abort(404)
    except (Conflict, ValidationError) as exc:
        flash(_replace_message(exc), "error")
    else:
        flash(_("The new session was added; its village will answer."), "ok")
    return redirect(url_for("web.agency_booking", reference=reference), code=303)


def _replace_message(error: DomainError) -> str:
    if error.code == "slot_full":
        return _("That session filled up meanwhile. Pick another one.")
    if error.code == "already_replaced":
        return _("This item has already been replaced.")
    if error.code == "invalid_form":
        return _("Pick a session.")
    return _("That session cannot replace this item. Pick one of those offered.")


# --- reports -------------------------------------------------------------------------------


def _dimension() -> str:
    by = request.args.get("by", "package")
    if by not in reports.DIMENSIONS:
        abort(404)
    return by


def _report(agency_id: int | None, template: str, name: str):
    """The report page, or one of its tables as CSV with ``?format=csv&by=village|package|month``
    (the same URL: the download link of each table)."""
    if request.args.get("format") == "csv":
        by = _dimension()
        return attachment(reports.to_csv(by, agency_id), f"{name}-{by}.csv")
    return render_template(template, report=reports.report(agency_id))


@bp.get("/agency/reports")
@login_required("agency")
def agency_reports():
    return _report(_agency_id(), "agency/reports.html", "report")


@bp.get("/admin/reports")
@login_required("admin")
def admin_reports():
    return _report(None, "admin/reports.html", "report-all")
