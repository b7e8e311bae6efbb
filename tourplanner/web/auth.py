"""Sign-in for every role (village staff, agency users, admins): one page, sessions,
password change and reset.

``/login`` is the one sign-in page; ``/village/login``, its older address, is the same view.
After sign-in each role lands in its own space (:func:`home_of`). A session holds the user's
id, the user's ``session_version`` and when it was last used: a cookie from before a sign-out
or a password change, or one idle for ``SESSION_IDLE_MINUTES``, is no session at all; neither
is the session of a user whose agency is suspended. ``next=`` after sign-in accepts only a
path on this site.

Roles for :func:`login_required`: ``"village"`` (village staff; admins too), ``"admin"``,
``"agency"`` (agency admins and staff, not admins: an admin has no agency) and
``"agency_admin"``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import (
    abort,
    current_app,
    flash,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _

from tourplanner.adapters.orm import User
from tourplanner.domain.errors import Forbidden, ValidationError
from tourplanner.i18n import current_lang
from tourplanner.security import audit
from tourplanner.security.limits import client_ip, limit, limiter, rate_limits_off
from tourplanner.services import accounts, agencies
from tourplanner.web import bp

# Refresh the "last used" stamp at most this often, so that not every request rewrites the cookie.
SEEN_RESOLUTION_SECONDS = 60
USER_KEY = "tourplanner.user"


def current_user() -> User | None:
    """The signed-in user of this request (once per request), or None."""
    # Cached on the request (not on g: an app context may outlive one request).
    if USER_KEY not in request.environ:
        request.environ[USER_KEY] = _session_user()
    return request.environ[USER_KEY]


@bp.app_context_processor
def _inject_user() -> dict[str, Any]:
    if not has_request_context() or "user_id" not in session:
        return {"current_user_is_admin": False}
    user = current_user()
    return {"current_user_is_admin": bool(user and user.is_admin)}


def _session_user() -> User | None:
    if "user_id" not in session:
        return None
    now = int(time.time())
    idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
    seen = session.get("seen")
    user = accounts.session_user(session.get("user_id"), session.get("sv"))
    if user is not None and agencies.sign_in_refusal(user):
        user = None  # suspension raised the session version too; this covers the race
    if user is None or not isinstance(seen, int) or now - seen > idle:
        _forget_user()
        return None
    if now - seen >= SEEN_RESOLUTION_SECONDS:
        session["seen"] = now
    return user


def _forget_user() -> None:
    for key in ("user_id", "sv", "seen"):
        session.pop(key, None)
    request.environ[USER_KEY] = None


def _start_session(user: User) -> None:
    lang = session.get("lang")
    session.clear()  # no fixation: a fresh session for the signed-in user
    session.update(user_id=user.id, sv=user.session_version, seen=int(time.time()))
    if lang:
        session["lang"] = lang
    request.environ[USER_KEY] = user


def _has_role(user: User, role: str) -> bool:
    if role == "agency":
        return user.is_agency and user.agency_id is not None
    if role == "agency_admin":
        return user.role == "agency_admin" and user.agency_id is not None
    if role == "village":
        return user.role == "village" or user.is_admin
    return user.role == role


def login_required(role: str | None = None) -> Callable:
    """Redirect anonymous visitors to sign in; refuse (403) a signed-in user without ``role``.

    ``role`` None admits any signed-in user (their account page).
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            user = current_user()
            if user is None:
                # Village and admin pages keep sending to the sign-in address staff know.
                endpoint = (
                    "web.login" if role in ("agency", "agency_admin") else "web.village_login"
                )
                return redirect(url_for(endpoint, next=request.full_path.rstrip("?")))
            if role and not _has_role(user, role):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site (``/village/?status=pending``), else None.

    Browsers drop tabs and newlines from URLs and read a backslash as a slash, so
    ``/%09/evil.example`` or ``/\\evil.example`` would leave the site: anything with a control
    character, a backslash, a scheme or a host is refused.
    """
    if not target or len(target) > 2000:
        return None
    # Checked as given and once decoded: a redirect target may be decoded again downstream.
    for text in (target, unquote(target)):
        if not text.startswith("/") or text.startswith("//") or "\\" in text:
            return None
        if any(ord(c) < 32 or ord(c) == 127 for c in text):
            return None
        parts = urlsplit(text)
        if parts.scheme or parts.netloc:
            return None
    return target


def home_of(user: User) -> str:
    """Where each role lands after sign-in: its own space."""
    if user.is_admin:
        return url_for("web.admin_home")
    if user.is_agency:
        return url_for("web.agency_dashboard")
    return url_for("web.village_dashboard")


@limiter.limit(lambda: limit("RATE_LIMIT_SIGNIN"), methods=["POST"], exempt_when=rate_limits_off)
def login():
    """The one sign-in page (``/login``, and ``/village/login`` for the links staff have)."""
    error, status = None, 200
    email = request.form.get("email", "").strip()
    if request.method == "POST":
        try:
            user = accounts.sign_in(email, request.form.get("password", ""), client_ip())
        except accounts.SignInLocked:
            error, status = (
                _("Too many failed sign-ins. Wait 15 minutes, or reset your password."),
                429,
            )
        except accounts.SignInRefused:
            error, status = _("Wrong e-mail or password."), 401
        else:
            refusal = agencies.sign_in_refusal(user)
            if refusal:
                audit.record("signin_refused", user_id=user.id, email=user.email, reason=refusal)
                error, status = (
                    _("Your agency's account is suspended. Contact the platform's team."),
                    403,
                )
            else:
                _start_session(user)
                return redirect(safe_next(request.args.get("next")) or home_of(user))
    return render_template("login.html", error=error, email=email), status


bp.add_url_rule("/login", "login", login, methods=["GET", "POST"])
bp.add_url_rule("/village/login", "village_login", login, methods=["GET", "POST"])


@bp.post("/village/logout")
def village_logout():
    """Signing out ends the account's sessions on every device (and every copied cookie)."""
    user = current_user()
    if user is not None:
        accounts.end_sessions(user.id)
    _forget_user()
    flash(_("You are signed out on every device."), "success")
    return redirect(url_for("web.login"))


@bp.route("/village/account", methods=["GET", "POST"])
@login_required()
def village_account():
    user = current_user()
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            _new_password_matches()
            accounts.change_password(
                user.id, request.form.get("current_password", ""), request.form.get("password", "")
            )
        except ValidationError as exc:
            errors[exc.details.get("field", "password")] = _password_message(exc)
        else:
            _start_session(accounts.get_user(user.id))
            flash(_("Password changed. Your other sessions have ended."), "success")
            return redirect(url_for("web.village_account"))
    return render_template(
        "village/account.html", user=user, errors=errors, min_password=accounts.MIN_PASSWORD
    ), (400 if errors else 200)


def _new_password_matches() -> None:
    if request.form.get("password", "") != request.form.get("password_again", ""):
        raise ValidationError(
            "the passwords differ", code="password_mismatch", field="password_again"
        )


def _password_message(exc: ValidationError) -> str:
    """The page's words for each refusal (the service's messages are English)."""
    messages = {
        "too_short": _("The password needs at least %(n)d characters.", n=accounts.MIN_PASSWORD),
        "common": _("This password is too easy to guess."),
        "contains_email": _("The password must not contain your e-mail's name."),
    }
    if exc.code == "weak_password":
        return messages[exc.details["reason"]]
    if exc.code == "wrong_password":
        return _("The current password is wrong.")
    return _("The two new passwords differ.")


@bp.route("/village/password-reset", methods=["GET", "POST"])
@limiter.limit(lambda: limit("RATE_LIMIT_SIGNIN"), methods=["POST"], exempt_when=rate_limits_off)
def password_reset_request():
    sent = request.method == "POST"
    if sent:
        lang = current_lang()

        def body_for(token: str) -> str:
            return render_template(
                "email/password_reset.txt",
                lang=lang,
                url=_public_url("web.password_reset", token=token, lang=lang),
                minutes=current_app.config["PASSWORD_RESET_MINUTES"],
            )

        accounts.request_password_reset(
            request.form.get("email", ""), _("Reset your tourplanner password"), body_for
        )
    return render_template("village/password_reset_request.html", sent=sent)


def _public_url(endpoint: str, **values: Any) -> str:
    from tourplanner.services.notifications import public_url

    return public_url(endpoint, **values)


@bp.route("/village/password-reset/<token>", methods=["GET", "POST"])
def password_reset(token: str):
    try:
        user = accounts.user_for_reset(token)
    except Forbidden:
        return render_template("village/password_reset.html", invalid=True, errors={}), 403
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            _new_password_matches()
            accounts.reset_password(token, request.form.get("password", ""))
        except ValidationError as exc:
            errors[exc.details.get("field", "password")] = _password_message(exc)
        else:
            flash(_("Password changed. Sign in with the new password."), "success")
            return redirect(url_for("web.login"))
    return render_template(
        "village/password_reset.html",
        invalid=False,
        errors=errors,
        email=user.email,
        min_password=accounts.MIN_PASSWORD,
    ), (400 if errors else 200)
