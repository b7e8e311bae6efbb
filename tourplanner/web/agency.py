"""The agency space: dashboard, clients, API keys and the agency's people.

Every view acts for the signed-in user's own agency (``current_user().agency_id``); a row of
another agency is 404. Agency staff read keys; only agency admins create or revoke them and
manage people (403 otherwise). A new API key or password is shown once, in the answer to the
form that made it: it is never put in a redirect, a flash message or the session cookie.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tourplanner.domain.errors import ValidationError
from tourplanner.services import agencies
from tourplanner.web import bp
from tourplanner.web.auth import current_user, login_required


def _agency_id() -> int:
    return current_user().agency_id


def _field_messages() -> dict[str, str]:
    """The page's words for each field a service refuses (its own messages are English)."""
    return {
        "name": _("Enter a name (at most %(n)d characters).", n=200),
        "email": _("Enter a valid e-mail address."),
        "phone": _("At most %(n)d characters.", n=40),
        "notes": _("At most %(n)d characters.", n=agencies.MAX_NOTES_CHARS),
        "label": _("At most %(n)d characters.", n=agencies.MAX_LABEL_CHARS),
        "role": _("Choose a role."),
        "licence_number": _("At most %(n)d characters.", n=agencies.MAX_LICENCE_CHARS),
        "commission": _("A percentage between 0 and 100, at most two decimals."),
        "slug": _("Letters and digits only, at most %(n)d characters.", n=agencies.MAX_SLUG_CHARS),
    }


def field_error(exc: ValidationError) -> dict[str, str]:
    """``{field: message}`` for a refused form, in the page's language."""
    field = exc.details.get("field") or "form"
    if exc.code == "email_taken":
        return {field: _("This e-mail already has an account.")}
    if exc.code == "slug_taken":
        return {field: _("An agency with this short name already exists.")}
    if exc.code == "cannot_suspend_self":
        return {"form": _("You cannot suspend your own account.")}
    return {field: _field_messages().get(field, _("Check this field."))}


def _form(*names: str) -> dict[str, str]:
    return {name: request.form.get(name, "") for name in names}


# --- dashboard -----------------------------------------------------------------------------


@bp.get("/agency/")
@login_required("agency")
def agency_dashboard():
    return render_template(
        "agency/dashboard.html",
        summary=agencies.agency_summary(_agency_id()),
        is_agency_admin=current_user().role == "agency_admin",
    )


# --- clients -------------------------------------------------------------------------------

CLIENT_FIELDS = ("name", "email", "phone", "notes")


def _clients_page(values: dict[str, str], errors: dict[str, str], status: int = 200):
    return render_template(
        "agency/clients.html",
        clients=agencies.list_clients(_agency_id()),
        values=values,
        errors=errors,
    ), status


@bp.get("/agency/clients")
@login_required("agency")
def agency_clients():
    return _clients_page({}, {})


@bp.post("/agency/clients")
@login_required("agency")
def agency_client_create():
    values = _form(*CLIENT_FIELDS)
    try:
        agencies.create_client(
            _agency_id(),
            values["name"],
            values["email"] or None,
            values["phone"] or None,
            values["notes"] or None,
            by=current_user().id,
        )
    except ValidationError as exc:
        return _clients_page(values, field_error(exc), 400)
    flash(_("Client %(name)s added.", name=values["name"].strip()), "success")
    return redirect(url_for("web.agency_clients"))


# --- API keys ------------------------------------------------------------------------------


def _keys_page(
    *,
    new_key: str | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> str:
    return render_template(
        "agency/keys.html",
        keys=agencies.list_api_keys(_agency_id()),
        new_key=new_key,
        values=values or {},
        errors=errors or {},
        can_manage=current_user().role == "agency_admin",
    )


@bp.get("/agency/keys")
@login_required("agency")
def agency_keys():
    return _keys_page()


# A page showing a secret once must not be kept by the browser or a proxy.
NO_STORE = {"Cache-Control": "no-store"}


@bp.post("/agency/keys")
@login_required("agency_admin")
def agency_key_create():
    values = {"label": request.form.get("label", ""), "test": bool(request.form.get("test"))}
    try:
        _key_id, raw = agencies.create_api_key(
            _agency_id(), values["label"], test_mode=values["test"], by=current_user().id
        )
    except ValidationError as exc:
        return _keys_page(values=values, errors=field_error(exc)), 400
    # Shown in this answer only: the key is stored hashed and can never be shown again.
    return _keys_page(new_key=raw), 201, NO_STORE


@bp.post("/agency/keys/<int:key_id>/revoke")
@login_required("agency_admin")
def agency_key_revoke(key_id: int):
    key = agencies.revoke_api_key(_agency_id(), key_id, by=current_user().id)
    flash(_("Key %(prefix)s… revoked.", prefix=key["prefix"]), "success")
    return redirect(url_for("web.agency_keys"))


# --- people --------------------------------------------------------------------------------

ROLE_CHOICES = ("agency_staff", "agency_admin")


def _users_page(
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    created: dict[str, Any] | None = None,
) -> str:
    return render_template(
        "agency/users.html",
        users=agencies.list_users(_agency_id()),
        values=values or {},
        errors=errors or {},
        created=created,
        roles=ROLE_CHOICES,
        me=current_user().id,
    )


@bp.get("/agency/users")
@login_required("agency_admin")
def agency_users():
    return _users_page()


@bp.post("/agency/users")
@login_required("agency_admin")
def agency_user_create():
    values = _form("email", "role")
    try:
        created = agencies.add_user(
            _agency_id(), values["email"], values["role"] or "agency_staff", by=current_user().id
        )
    except ValidationError as exc:
        return _users_page(values=values, errors=field_error(exc)), 400
    # The new user's password is shown in this answer only.
    return _users_page(created=created), 201, NO_STORE


@bp.post("/agency/users/<int:user_id>/<any(suspend, reactivate):action>")
@login_required("agency_admin")
def agency_user_state(user_id: int, action: str):
    try:
        user = agencies.set_user_active(
            _agency_id(), user_id, action == "reactivate", by=current_user().id
        )
    except ValidationError as exc:
        return _users_page(errors=field_error(exc)), 400
    if user["active"]:
        flash(_("%(email)s can sign in again.", email=user["email"]), "success")
    else:
        flash(
            _("%(email)s is suspended: their sessions have ended.", email=user["email"]), "success"
        )
    return redirect(url_for("web.agency_users"))
