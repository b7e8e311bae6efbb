"""Product pages of the back-office: village staff add and edit their products with photos;
admins review them, import zips of products with photos, and see the data-quality page.

Uploads are larger than the site-wide body limit (``MAX_CONTENT_LENGTH``, 256 KiB): these views
raise the limit for their own request (``PRODUCT_UPLOAD_MAX_BYTES``, ``IMPORT_UPLOAD_MAX_BYTES``)
and only then check the CSRF token, which the site-wide check would otherwise read (and refuse
as too large) before the view runs.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tourplanner.domain.catalogue import CATEGORIES
from tourplanner.domain.errors import ValidationError
from tourplanner.extensions import csrf
from tourplanner.services import catalogue_io, products
from tourplanner.web import bp
from tourplanner.web.auth import current_user, login_required
from tourplanner.web.village import _own_village

PRODUCT_UPLOAD_MAX_BYTES = 32 * 1024 * 1024
IMPORT_UPLOAD_MAX_BYTES = 256 * 1024 * 1024
BUY_ROWS = 3
QUALITY_LABELS = {
    "villages_without_position": _l("Villages without a position"),
    "villages_with_estimated_position": _l("Villages with an estimated position"),
    "villages_without_contact": _l("Villages without contact details"),
    "villages_without_photos": _l("Villages without product photos"),
    "villages_with_story_in_one_language": _l("Village stories in one language only"),
    "products_without_description": _l("Products without a description"),
    "products_with_text_in_one_language": _l("Products with texts in one language only"),
    "products_without_photos": _l("Products without photos"),
    "products_without_village": _l("Products not linked to a village"),
}


def upload_view(setting: str, default: int) -> Callable:
    """Allow a larger body for this view, then check the CSRF token (see the module text)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            if request.method == "POST":
                request.max_content_length = int(current_app.config.get(setting) or default)
                if current_app.config.get("WTF_CSRF_ENABLED", True):
                    csrf.protect()  # the same check the site-wide hook makes
            return view(*args, **kwargs)

        return csrf.exempt(wrapped)

    return decorator


def _form_values() -> dict[str, Any]:
    values: dict[str, Any] = {k: request.form.get(k, "") for k in products.EDITABLE}
    buy = []
    for n in range(BUY_ROWS):
        entry = {
            k: request.form.get(f"buy_{k}_{n}", "").strip() for k in ("name", "address", "url")
        }
        if any(entry.values()):
            buy.append({k: v for k, v in entry.items() if v})
    values["where_to_buy"] = buy or None
    return values


def _uploads() -> list[products.Upload]:
    return [
        products.Upload(f.filename or "photo", f.read())
        for f in request.files.getlist("photos")
        if f and f.filename
    ]


def _render_form(village, product=None, values=None, error=None, status=200):
    values = values or (
        {k: getattr(product, k) for k in products.EDITABLE} if product else {"where_to_buy": []}
    )
    buy = list(values.get("where_to_buy") or [])
    buy += [{}] * (BUY_ROWS - len(buy))
    html = render_template(
        "village/products_form.html",
        village=village,
        product=product,
        values=values,
        buy=buy[:BUY_ROWS],
        categories=CATEGORIES,
        error=error,
    )
    return html, status


@bp.get("/village/products")
@login_required("village")
def village_products():
    village = _own_village()
    return render_template(
        "village/products.html", village=village, items=products.village_products(village.id)
    )


@bp.route("/village/products/new", methods=["GET", "POST"])
@login_required("village")
@upload_view("PRODUCT_UPLOAD_MAX_BYTES", PRODUCT_UPLOAD_MAX_BYTES)
def village_product_new():
    village = _own_village()
    if request.method == "GET":
        return _render_form(village)
    values = _form_values()
    try:
        product = products.save(village, values, _uploads(), by_admin=current_user().is_admin)
    except ValidationError as exc:
        return _render_form(village, values=values, error=exc.message, status=400)
    flash(_("Product saved; it is shown to the public once an admin has reviewed it."), "success")
    return redirect(url_for("web.village_products", village=village.slug, saved=product.slug))


@bp.route("/village/products/<slug>/edit", methods=["GET", "POST"])
@login_required("village")
@upload_view("PRODUCT_UPLOAD_MAX_BYTES", PRODUCT_UPLOAD_MAX_BYTES)
def village_product_edit(slug: str):
    village = _own_village()
    admin = current_user().is_admin
    product = products.own_product(slug, None if admin else village.id)
    if request.method == "GET":
        return _render_form(village, product)
    values = _form_values()
    try:
        products.save(
            village,
            values,
            _uploads(),
            slug=slug,
            remove=tuple(request.form.getlist("remove")),
            by_admin=admin,
        )
    except ValidationError as exc:
        return _render_form(village, product, values=values, error=exc.message, status=400)
    flash(_("Product saved; it is shown to the public once an admin has reviewed it."), "success")
    return redirect(url_for("web.village_products", village=village.slug))


# --- admins ----------------------------------------------------------------------------------


@bp.get("/admin/products")
@login_required("admin")
def admin_products_review():
    return render_template(
        "admin/products_review.html", items=products.pending(), counts=products.counts_by_status()
    )


@bp.post("/admin/products/<slug>/review")
@login_required("admin")
def admin_product_review(slug: str):
    approve = request.form.get("action") == "approve"
    product = products.review(slug, approve=approve, note=request.form.get("note"))
    flash(
        _("Approved: %(name)s is public.", name=product.name_vi)
        if approve
        else _("Rejected: %(name)s stays hidden.", name=product.name_vi),
        "success",
    )
    return redirect(url_for("web.admin_products_review"))


@bp.route("/admin/import", methods=["GET", "POST"])
@login_required("admin")
@upload_view("IMPORT_UPLOAD_MAX_BYTES", IMPORT_UPLOAD_MAX_BYTES)
def admin_import():
    if request.method == "GET":
        return render_template("admin/import.html", report=None, problems=None)
    upload = request.files.get("file")
    name = (upload.filename or "") if upload else ""
    problems, report, error, status = None, None, None, 200
    try:
        if not upload or not name.lower().endswith((".zip", ".csv", ".json")):
            raise ValidationError(_("Choose a .zip, .csv or .json file."))
        data = upload.read()
        if name.lower().endswith(".zip"):
            sections, files = catalogue_io.read_zip(data)
        else:
            text = data.decode("utf-8-sig", errors="replace")
            json_file = name.lower().endswith(".json")
            sections = catalogue_io.parse_json(text) if json_file else catalogue_io.parse_csv(text)
            files = None
        report = catalogue_io.import_sections(sections, files=files)
    except catalogue_io.ImportFailed as exc:
        problems, status = exc.problems, 400
    except ValidationError as exc:
        error, status = exc.message, 400
    html = render_template(
        "admin/import.html", report=report, problems=problems, error=error, filename=name
    )
    return html, status


@bp.get("/admin/data-quality")
@login_required("admin")
def admin_data_quality():
    return render_template(
        "admin/data_quality.html", checks=products.data_quality(), labels=QUALITY_LABELS
    )
