"""Catalogue management pages: admins edit villages (every field of the dataset, the position
on the map picker, recognition and the plan's target facts, contact, OCOP/IP/display flags),
experiences and products, approve what village staff propose, manage accounts, and read the
change log (who changed what, when, from which source). Village staff propose changes to their
own village's texts and contact and to its experiences (``/village/texts``,
``/village/experiences``); an admin approves them.

Display space, sales points, online shops and videos stay on the village shop pages
(``web.village_shop``), schedules on the schedule editor, product photos and where to buy on
the product form: these pages link to them.

A refused form comes back with what was typed and each problem next to its field in the
page's language: the service gives codes, or the dataset rule's own words
(``domain.records``), which :data:`REASONS` words here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tourplanner.adapters.orm.accounts import ROLES
from tourplanner.domain import records
from tourplanner.domain.catalogue import CATEGORIES
from tourplanner.domain.errors import Conflict, ValidationError
from tourplanner.services import catalogue_admin as admin
from tourplanner.services.availability import now_utc
from tourplanner.web import bp
from tourplanner.web.agency import NO_STORE
from tourplanner.web.auth import current_user, login_required, safe_next
from tourplanner.web.village import _own_village

# --- words ---------------------------------------------------------------------------------------

LABELS: dict[str, Any] = {
    "slug": _l("Short name in addresses"),
    "name_vi": _l("Name (Vietnamese)"),
    "name_en": _l("Name (English)"),
    "district": _l("District (before July 2025)"),
    "commune": _l("Commune (before July 2025)"),
    "commune_2025": _l("Commune or ward since July 2025"),
    "commune_2025_note": _l("Note on the 2025 commune"),
    "commune_2025_sources": _l("Sources of the 2025 commune"),
    "category": _l("Craft"),
    "crafts": _l("Crafts practised"),
    "lat": _l("Latitude"),
    "lon": _l("Longitude"),
    "coord_quality": _l("Where the position comes from"),
    "coord_note": _l("Note on the position"),
    "recognised_traditional": _l("Recognised traditional craft village"),
    "recognition_detail": _l("Recognition (decision, date)"),
    "recognised_year": _l("Year of the recognition decision"),
    "craft_at_risk": _l("Craft at risk of disappearing"),
    "craft_restored_year": _l("Year the craft was restored"),
    "founded": _l("Founded"),
    "notable_products": _l("Signature products"),
    "story_vi": _l("Story (Vietnamese)"),
    "story_en": _l("Story (English)"),
    "notes": _l("Notes"),
    "contact": _l("Contact"),
    "contact_name": _l("Contact person"),
    "contact_phone": _l("Phone"),
    "contact_email": _l("E-mail"),
    "contact_website": _l("Website"),
    "contact_zalo": _l("Zalo number"),
    "has_ocop_products": _l("Has OCOP-certified products"),
    "ip_protected": _l("Products under IP protection"),
    "has_display_space": _l("Has a display space"),
    "sources": _l("Sources"),
    "village": _l("Village"),
    "village_name": _l("Village as the source names it"),
    "kind": _l("Kind"),
    "title_vi": _l("Title (Vietnamese)"),
    "title_en": _l("Title (English)"),
    "description_vi": _l("Description (Vietnamese)"),
    "description_en": _l("Description (English)"),
    "duration_minutes": _l("Length (minutes)"),
    "duration_is_default": _l("Length is the documented default"),
    "price_adult_vnd": _l("Adult price (VND)"),
    "price_child_vnd": _l("Child price (VND)"),
    "price_senior_vnd": _l("Senior price (VND)"),
    "languages": _l("Languages spoken"),
    "min_age": _l("Minimum age"),
    "accessibility_vi": _l("Access notes (Vietnamese)"),
    "accessibility_en": _l("Access notes (English)"),
    "producer": _l("Producer"),
    "ocop_stars": _l("OCOP stars"),
    "ocop_year": _l("Year of the OCOP rating"),
    "ocop_level": _l("OCOP level"),
    "ocop_status": _l("OCOP status (the source's words)"),
    "ocop_decision": _l("OCOP decision"),
    "craft_village": _l("From a craft village"),
    "price_min_vnd": _l("Lowest price (VND)"),
    "price_max_vnd": _l("Highest price (VND)"),
    "source": _l("Source of this change"),
    "note": _l("Note for the village"),
}
COORD_LABELS = {
    "page": _l("From a public page"),
    "commune_page": _l("The commune's reference point (public page)"),
    "commune_estimate": _l("Estimated from the commune"),
    "estimate": _l("Estimated"),
    "survey": _l("Surveyed on the spot"),
    "unknown": _l("Not known"),
}
KIND_LABELS = {"visit": _l("Visit (no booking)"), "workshop": _l("Workshop (booked)")}
ROLE_LABELS = {
    "village": _l("Village staff"),
    "agency_admin": _l("Agency administrator"),
    "agency_staff": _l("Agency staff"),
    "admin": _l("Admin (city)"),
}
STATUS_LABELS = {
    "pending": _l("waiting for approval"),
    "applied": _l("applied"),
    "approved": _l("approved"),
    "rejected": _l("rejected"),
    "superseded": _l("replaced by a newer proposal"),
}
ENTITY_LABELS = {"village": _l("Village"), "experience": _l("Experience"), "product": _l("Product")}
MESSAGES = {
    "invalid_text": _l("This text contains characters that cannot be stored."),
    "too_long": _l("At most %(limit)s characters."),
    "outside_vietnam": _l(
        "Outside Vietnam (expected between %(low)s and %(high)s): check the number, and that "
        "latitude and longitude are not swapped."
    ),
    "year_range": _l("A year from %(low)s to %(high)s."),
    "year_needs_recognition": _l(
        "A recognition year needs the village marked as a recognised traditional craft village."
    ),
    "source_required": _l(
        "Say where this comes from: a web address, a decision, or who told you and when."
    ),
    "invalid_email": _l("Enter a valid e-mail address."),
    "invalid_slug": _l("Lower-case letters, digits and hyphens only."),
    "slug_taken": _l("Another row already has this short name."),
}
#: The dataset rules' words (domain.records) and how a page says them.
REASONS: tuple[tuple[re.Pattern[str], Any], ...] = tuple(
    (re.compile(pattern), message)
    for pattern, message in (
        (r"required", _l("Required.")),
        (r"expected a whole number.*", _l("Give a whole number, e.g. 150000.")),
        (r".* is too large .*", _l("This number is too large.")),
        (r"must not be negative", _l("Must not be negative.")),
        (r"must be greater than zero", _l("Must be greater than zero.")),
        (r"expected a number.*", _l("Give a number in decimal degrees, e.g. 21.0285.")),
        (r"latitude must be .*", _l("A latitude is between -90 and 90.")),
        (r"longitude must be .*", _l("A longitude is between -180 and 180.")),
        (r"expected true or false.*", _l("Choose yes, no or not known.")),
        (r"unknown category .*", _l("Pick one of the crafts.")),
        (r"OCOP stars must be .*", _l("OCOP stars are 3, 4 or 5 (leave empty when not rated).")),
        (r"kind must be .*", _l("Pick one of the choices.")),
        (r"coord_quality must be .*", _l("Pick one of the choices.")),
        (
            r"the OCOP year must be between (?P<low>\d+) and (?P<high>\d+)",
            _l("A year from %(low)s to %(high)s."),
        ),
        (
            r"expected an http\(s\) address.*",
            _l("Give full web addresses starting with http:// or https://, one per line."),
        ),
        (r"at most (?P<limit>\d+) characters", _l("At most %(limit)s characters.")),
        (r"at most (?P<limit>\d+) entries", _l("At most %(limit)s rows.")),
        (r"is below price_min_vnd", _l("The highest price is below the lowest.")),
        (r"give both lat and lon, or neither", _l("Give both latitude and longitude, or neither.")),
        (
            r"is 'unknown' but a position is given",
            _l("Say where this position comes from (“Not known” is for a village without one)."),
        ),
        (r"required when coord_quality is .*", _l("Give the position, or choose “Not known”.")),
        (
            r"name a village slug or a village_name",
            _l("Pick a village, or give the name the source uses."),
        ),
    )
)

# --- which field is which widget -----------------------------------------------------------------

LONG = frozenset(
    {
        "commune_2025_note",
        "coord_note",
        "recognition_detail",
        "story_vi",
        "story_en",
        "notes",
        "description_vi",
        "description_en",
        "accessibility_vi",
        "accessibility_en",
        "ocop_status",
        "ocop_decision",
    }
)
BOOLS = frozenset(
    {
        "recognised_traditional",
        "craft_at_risk",
        "has_ocop_products",
        "ip_protected",
        "has_display_space",
        "craft_village",
    }
)
NUMBERS = frozenset(
    {
        "recognised_year",
        "craft_restored_year",
        "duration_minutes",
        "price_adult_vnd",
        "price_child_vnd",
        "price_senior_vnd",
        "min_age",
        "ocop_year",
        "price_min_vnd",
        "price_max_vnd",
    }
)
LIMITS = {
    f.name: f.max_length for spec in records.SPECS.values() for f in spec.fields if f.max_length
}
#: The village form's parts, in order (every field of services.catalogue_admin.VILLAGE_FIELDS).
VILLAGE_SECTIONS = (
    (
        _l("Names and address"),
        (
            "name_vi",
            "name_en",
            "district",
            "commune",
            "commune_2025",
            "commune_2025_note",
            "commune_2025_sources",
        ),
    ),
    (_l("Craft"), ("category", "crafts", "founded", "notable_products")),
    (
        _l("Recognition and the plan's targets"),
        (
            "recognised_traditional",
            "recognised_year",
            "recognition_detail",
            "craft_at_risk",
            "craft_restored_year",
            "has_ocop_products",
            "ip_protected",
            "has_display_space",
        ),
    ),
    (_l("Texts"), ("story_vi", "story_en", "notes")),
    (_l("Sources of the village's facts"), ("sources",)),
)
POSITION_FIELDS = ("lat", "lon", "coord_quality", "coord_note")
PRODUCT_SECTIONS = (
    (_l("Village"), ("village", "village_name", "craft_village")),
    (
        _l("Texts"),
        ("name_vi", "name_en", "description_vi", "description_en", "producer", "category"),
    ),
    (
        _l("OCOP and IP protection"),
        ("ocop_stars", "ocop_year", "ocop_level", "ocop_status", "ocop_decision", "ip_protected"),
    ),
    (_l("Prices, notes and sources"), ("price_min_vnd", "price_max_vnd", "notes", "sources")),
)


def _choices(name: str) -> list[tuple[str, Any]] | None:
    """The options of a select field, or None for other widgets."""
    if name == "category":
        return [(c, _category_label(c)) for c in CATEGORIES]
    if name == "coord_quality":
        return [(c, COORD_LABELS[c]) for c in records.COORD_QUALITIES]
    if name == "kind":
        return [(k, KIND_LABELS[k]) for k in ("visit", "workshop")]
    if name == "ocop_stars":
        return [("", _("not rated"))] + [(str(n), "★" * n) for n in (3, 4, 5)]
    if name == "village":
        return [("", "—")] + [(v.slug, v.name_vi) for v in admin.villages()]
    return None


def _category_label(code: str) -> Any:
    from tourplanner.labels import CATEGORY_LABELS

    return CATEGORY_LABELS.get(code, code)


def widget(name: str) -> str:
    if name in BOOLS:
        return "bool"
    if name in NUMBERS:
        return "number"
    if name in ("lat", "lon"):
        return "coordinate"
    if name in LONG:
        return "long"
    if any(_list(entity, name) for entity in records.SPECS):
        return "lines"
    return "text"


def _list(entity: str, name: str) -> bool:
    return any(f.name == name and f.default == [] for f in records.SPECS[entity].fields)


# --- values and messages -------------------------------------------------------------------------


def _as_form(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return str(value)


def _values_of(row: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    """The form fields of a stored row."""
    values: dict[str, str] = {}
    for name in names:
        if name == "contact":
            for key in admin.CONTACT_KEYS:
                values[f"contact_{key}"] = _as_form((row.get("contact") or {}).get(key))
        else:
            values[name] = _as_form(row.get(name))
    if "slug" in row:
        values["slug"] = _as_form(row["slug"])
    return values


def _typed() -> dict[str, str]:
    values = request.form.to_dict()
    values.pop("csrf_token", None)
    return values


def _reason(text: str) -> str:
    for pattern, message in REASONS:
        match = pattern.fullmatch(text)
        if match:
            return str(message) % match.groupdict()
    return _("Check this field (%(reason)s).", reason=text)


def _messages(problems: Mapping[str, admin.FieldProblem]) -> dict[str, str]:
    out = {}
    for name, problem in problems.items():
        if problem.code == "record":
            out[name] = _reason(problem.reason)
        else:
            out[name] = str(MESSAGES.get(problem.code, _("Check this field."))) % problem.params
    return out


@bp.app_template_global()
def catalogue_changes_waiting() -> int:
    """Staff proposals waiting for an admin (the back-office menu's count)."""
    user = current_user()
    return admin.pending_count() if user is not None and user.is_admin else 0


def show_value(value: Any) -> str:
    """A before/after value as the change log shows it."""
    if value is None or value == [] or value == {} or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return "; ".join(show_value(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {show_value(v)}" for k, v in value.items())
    return str(value)


def _page(template: str, status: int = 200, **context: Any):
    html = render_template(
        template,
        labels=LABELS,
        widget=widget,
        choices=_choices,
        limits=LIMITS,
        status_labels=STATUS_LABELS,
        entity_labels=ENTITY_LABELS,
        role_labels=ROLE_LABELS,
        show_value=show_value,
        **context,
    )
    return html, status


def _map_settings() -> dict[str, Any]:
    return {
        "map_tiles": current_app.config["MAP_TILE_URL"],
        "map_attribution": current_app.config["MAP_TILE_ATTRIBUTION"],
    }


def _saved(change: Any) -> None:
    if change is None:
        flash(_("Nothing was changed."), "success")
    elif change.status == admin.PENDING:
        flash(_("Sent: an admin reviews your change before the public sees it."), "success")
    else:
        flash(_("Saved. The change is in the history below."), "success")


def _stored(entity: str, obj: Any) -> dict[str, str]:
    """An admin form's fields as the row stands."""
    return _values_of(admin.record_of(entity, obj), admin.FIELDS[entity])


#: Draws a form page again: ``(values typed, messages by field, status)``.
Refused = Callable[[dict[str, str], dict[str, str], int], Any]


def _submit(
    refused: Refused,
    done: Callable[[Any], Any],
    call: Callable[..., Any],
    *args: Any,
    **kwargs: Any,
):
    """A form's POST as one service call: ``call(*args, form, by=, source=, now=, **kwargs)``.

    A refused form comes back through ``refused`` (400) with what was typed and each problem
    in the page's words; otherwise ``done`` answers with the call's result."""
    try:
        result = call(
            *args,
            request.form,
            by=current_user(),
            source=request.form.get("source"),
            now=now_utc(),
            **kwargs,
        )
    except admin.CatalogueInvalid as exc:
        return refused(_typed(), _messages(exc.problems), 400)
    return done(result)


def _save(entity: str, slug: str, refused: Refused, back: str):
    """An edit form's POST: applied (admins) or proposed (staff), said, then back to ``back``."""

    def done(change: Any):
        _saved(change)
        return redirect(back)

    return _submit(refused, done, admin.edit, entity, slug)


def _create(entity: str, refused: Refused, message: str, endpoint: str, **kwargs: Any):
    """A new row's POST: ``message`` is said, then the new row's page at ``endpoint``."""

    def done(row: Any):
        flash(message, "success")
        return redirect(url_for(endpoint, slug=row.slug))

    return _submit(refused, done, admin.create, entity, **kwargs)


# --- admins: villages ----------------------------------------------------------------------------


@bp.get("/admin/catalogue")
@login_required("admin")
def admin_catalogue():
    q = request.args.get("q", "")
    try:
        rows, error = admin.villages(q), None
    except ValidationError:
        rows, error = admin.villages(), _("That search is not valid; showing every village.")
    return _page(
        "admin/catalogue/index.html",
        villages=rows,
        q=q,
        error=error,
        waiting=admin.changes(status=admin.PENDING, limit=20),
    )


def _village_page(village, values, errors, status=200):
    return _page(
        "admin/catalogue/village.html",
        status,
        village=village,
        values=values,
        errors=errors,
        sections=VILLAGE_SECTIONS,
        position=POSITION_FIELDS,
        history=admin.history("village", village) if village else [],
        waiting=admin.changes(status=admin.PENDING, village_id=village.id) if village else [],
        **_map_settings(),
    )


@bp.route("/admin/catalogue/villages/new", methods=["GET", "POST"])
@login_required("admin")
def admin_catalogue_village_new():
    if request.method == "GET":
        return _village_page(None, {"coord_quality": "unknown"}, {})
    page = partial(_village_page, None)
    return _create("village", page, _("Village created."), "web.admin_catalogue_village")


@bp.route("/admin/catalogue/villages/<slug>", methods=["GET", "POST"])
@login_required("admin")
def admin_catalogue_village(slug: str):
    village = admin.get("village", slug)
    if request.method == "GET":
        return _village_page(village, _stored("village", village), {})
    back = url_for("web.admin_catalogue_village", slug=slug)
    return _save("village", slug, partial(_village_page, village), back)


# --- admins: experiences -------------------------------------------------------------------------


def _experience_page(village, experience, values, errors, status=200):
    return _page(
        "admin/catalogue/experience.html",
        status,
        village=village,
        experience=experience,
        values=values,
        errors=errors,
        fields=admin.EXPERIENCE_FIELDS,
        history=admin.history("experience", experience) if experience else [],
    )


@bp.route("/admin/catalogue/villages/<slug>/experiences/new", methods=["GET", "POST"])
@login_required("admin")
def admin_catalogue_experience_new(slug: str):
    village = admin.get("village", slug)
    if request.method == "GET":
        return _experience_page(village, None, {"kind": "workshop"}, {})
    return _create(
        "experience",
        partial(_experience_page, village, None),
        _("Experience created. Publish its schedule to make it bookable."),
        "web.admin_catalogue_experience",
        village_slug=slug,
    )


@bp.route("/admin/catalogue/experiences/<slug>", methods=["GET", "POST"])
@login_required("admin")
def admin_catalogue_experience(slug: str):
    experience = admin.get("experience", slug)
    village = experience.village
    if request.method == "GET":
        return _experience_page(village, experience, _stored("experience", experience), {})
    back = url_for("web.admin_catalogue_experience", slug=slug)
    return _save("experience", slug, partial(_experience_page, village, experience), back)


# --- admins: products ----------------------------------------------------------------------------


@bp.get("/admin/catalogue/products")
@login_required("admin")
def admin_catalogue_products():
    q, village = request.args.get("q", ""), request.args.get("village") or None
    try:
        rows, error = admin.products(q, village), None
    except ValidationError:
        rows, error = admin.products(), _("That search is not valid; showing every product.")
    return _page("admin/catalogue/products.html", items=rows, q=q, village=village, error=error)


def _product_page(product, values, errors, status=200):
    return _page(
        "admin/catalogue/product.html",
        status,
        product=product,
        values=values,
        errors=errors,
        sections=PRODUCT_SECTIONS,
        history=admin.history("product", product),
    )


@bp.route("/admin/catalogue/products/<slug>", methods=["GET", "POST"])
@login_required("admin")
def admin_catalogue_product(slug: str):
    product = admin.get("product", slug)
    if request.method == "GET":
        return _product_page(product, _stored("product", product), {})
    back = url_for("web.admin_catalogue_product", slug=slug)
    return _save("product", slug, partial(_product_page, product), back)


# --- admins: the change log and approvals --------------------------------------------------------


def _changes_page(errors: dict[int, str] | None = None, status: int = 200):
    state = request.args.get("status")
    state = state if state in admin.STATUSES else None
    entity = request.args.get("entity")
    entity = entity if entity in admin.ENTITIES else None
    return _page(
        "admin/catalogue/changes.html",
        status,
        rows=admin.changes(status=state, entity=entity),
        state=state,
        entity=entity,
        statuses=admin.STATUSES,
        entities=admin.ENTITIES,
        decision_errors=errors or {},
    )


@bp.get("/admin/catalogue/changes")
@login_required("admin")
def admin_catalogue_changes():
    return _changes_page()


@bp.post("/admin/catalogue/changes/<int:change_id>/decide")
@login_required("admin")
def admin_catalogue_decide(change_id: int):
    action = request.form.get("action")
    if action not in ("approve", "reject"):
        return _changes_page({change_id: _("Choose approve or reject.")}, 400)
    try:
        admin.decide(
            change_id,
            approve=action == "approve",
            note=request.form.get("note"),
            by=current_user(),
            now=now_utc(),
        )
    except admin.CatalogueInvalid as exc:
        words = "; ".join(f"{LABELS.get(k, k)}: {m}" for k, m in _messages(exc.problems).items())
        return _changes_page({change_id: _("Cannot be approved: %(why)s", why=words)}, 400)
    except Conflict:
        flash(_("This change was already decided."), "error")
    else:
        if action == "approve":
            flash(_("Approved: the change is public."), "success")
        else:
            flash(_("Rejected: the village sees your note."), "success")
    return redirect(safe_next(request.form.get("back")) or url_for("web.admin_catalogue_changes"))


# --- admins: accounts ----------------------------------------------------------------------------

ACCOUNT_FIELDS = ("email", "role", "village", "agency")


def _accounts_page(values=None, errors=None, shown=None, status=200):
    role = request.args.get("role")
    role = role if role in ROLES else None
    q = request.args.get("q", "")
    try:
        rows = admin.accounts(role, q)
    except ValidationError:
        rows = admin.accounts(role)
    html, code = _page(
        "admin/catalogue/accounts.html",
        status,
        accounts=rows,
        roles=ROLES,
        role=role,
        q=q,
        values=values or {},
        errors=errors or {},
        shown=shown,
        villages=admin.villages(),
        agencies=admin.agency_choices(),
        me=current_user().id,
    )
    return html, code, NO_STORE


def _account_error(exc: ValidationError) -> dict[str, str]:
    field = exc.details.get("field") or "form"
    words = {
        "email_taken": _("This e-mail already has an account."),
        "invalid_role": _("Choose a role."),
        "invalid_village": _("Village staff need their village."),
        "invalid_agency": _("Agency users need their agency."),
        "cannot_suspend_self": _("You cannot suspend your own account."),
    }
    if exc.code in words:
        return {field if field != "user" else "form": words[exc.code]}
    if field == "email":
        return {"email": _("Enter a valid e-mail address.")}
    return {field: _("Check this field.")}


@bp.route("/admin/accounts", methods=["GET", "POST"])
@login_required("admin")
def admin_accounts():
    if request.method == "GET":
        return _accounts_page()
    values = {name: request.form.get(name, "") for name in ACCOUNT_FIELDS}
    try:
        created = admin.create_account(
            values["email"],
            values["role"],
            village=values["village"] or None,
            agency=values["agency"] or None,
            by=current_user(),
        )
    except ValidationError as exc:
        return _accounts_page(values=values, errors=_account_error(exc), status=400)
    # The password is shown in this answer only.
    return _accounts_page(shown={**created, "created": True}, status=201)


@bp.post("/admin/accounts/<int:user_id>/<any(suspend, reactivate, reset):action>")
@login_required("admin")
def admin_account_action(user_id: int, action: str):
    try:
        if action == "reset":
            shown = admin.reset_password(user_id, by=current_user())
            return _accounts_page(shown=shown)
        user = admin.set_active(user_id, action == "reactivate", by=current_user())
    except ValidationError as exc:
        return _accounts_page(errors=_account_error(exc), status=400)
    if user.active:
        flash(_("%(email)s can sign in again.", email=user.email), "success")
    else:
        flash(_("%(email)s is suspended: their sessions have ended.", email=user.email), "success")
    return redirect(url_for("web.admin_accounts"))


# --- village staff: proposals --------------------------------------------------------------------


def _staff_village():
    """The signed-in staff member's village; admins edit on the admin pages instead."""
    if current_user().is_admin:
        return None
    return _own_village()


def _staff_texts_page(village, waiting, values, errors, status=200):
    return _page(
        "admin/catalogue/staff_texts.html",
        status,
        village=village,
        values=values,
        errors=errors,
        waiting=waiting,
        history=admin.changes(village_id=village.id, limit=20),
    )


@bp.route("/village/texts", methods=["GET", "POST"])
@login_required("village")
def village_texts():
    village = _staff_village()
    if village is None:
        slug = request.values.get("village")
        target = url_for("web.admin_catalogue_village", slug=slug) if slug else None
        return redirect(target or url_for("web.admin_catalogue"))
    row, waiting = admin.proposal_values("village", village)
    if request.method == "GET":
        values = _values_of(row, admin.STAFF_FIELDS["village"])
        return _staff_texts_page(village, waiting, values, {})
    page = partial(_staff_texts_page, village, waiting)
    return _save("village", village.slug, page, url_for("web.village_texts"))


@bp.get("/village/experiences")
@login_required("village")
def village_experiences():
    village = _staff_village()
    if village is None:
        return redirect(url_for("web.admin_catalogue"))
    return _page(
        "admin/catalogue/staff_experiences.html",
        village=village,
        history=admin.changes(village_id=village.id, entity="experience", limit=20),
    )


def _staff_experience_page(village, experience, waiting, values, errors, status=200):
    return _page(
        "admin/catalogue/staff_experience.html",
        status,
        village=village,
        experience=experience,
        values=values,
        errors=errors,
        waiting=waiting,
        fields=admin.STAFF_FIELDS["experience"],
    )


@bp.route("/village/experiences/<slug>", methods=["GET", "POST"])
@login_required("village")
def village_experience_edit(slug: str):
    village = _staff_village()
    if village is None:
        return redirect(url_for("web.admin_catalogue_experience", slug=slug))
    experience = admin.own("experience", slug, current_user())
    row, waiting = admin.proposal_values("experience", experience)
    if request.method == "GET":
        values = _values_of(row, admin.STAFF_FIELDS["experience"])
        return _staff_experience_page(village, experience, waiting, values, {})
    page = partial(_staff_experience_page, village, experience, waiting)
    return _save("experience", slug, page, url_for("web.village_experiences"))
