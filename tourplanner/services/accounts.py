"""Accounts for village staff and admins: passwords, sign-in, sessions, password reset.

Passwords are hashed with Werkzeug (scrypt) and must be at least ``MIN_PASSWORD`` characters,
not a common password and not the e-mail's own name. Sign-in counts failures per account and
per address (``security/limits.py``): past the limit even the right password is refused until
the window passes, and an unknown e-mail costs the same one hash check as a known one.

Every session carries the user's ``session_version``: signing out, "sign out on every device"
and a password change raise it, which ends every copy of every session of that user.
A password-reset link is signed (1 h) over the user's current password hash and session
version, so it works once: the reset changes both.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from functools import cache
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from tourplanner.adapters.orm import Notification, User, Village
from tourplanner.adapters.orm.accounts import ROLES
from tourplanner.domain.errors import DomainError, Forbidden, NotFound, ValidationError
from tourplanner.extensions import db
from tourplanner.security import audit, limits
from tourplanner.services.unit_of_work import unit_of_work

MIN_PASSWORD = 12
RESET_SALT = "password-reset"
# The most common passwords of public breach lists that are 12+ characters long.
COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "1234567890123",
        "12345678910",
        "123123123123",
        "111111111111",
        "000000000000",
        "qwertyuiopas",
        "qwerty123456",
        "password1234",
        "password12345",
        "passwordpassword",
        "iloveyou1234",
        "abc123456789",
        "123456654321",
        "1q2w3e4r5t6y",
        "qwertyuiop123",
        "matkhau12345",
        "matkhau123456",
        "abcdefghijkl",
        "aaaaaaaaaaaa",
    }
)

# No password is written here: each demo account gets a random one, printed once by the seed.
DEMO_ACCOUNTS = (
    {"email": "village@bat-trang.example", "role": "village", "village": "bat-trang"},
    {"email": "admin@tourplanner.example", "role": "admin", "village": None},
)


class SignInRefused(DomainError):
    """Wrong e-mail or password (401)."""

    status = 401
    code = "invalid_credentials"


class SignInLocked(SignInRefused):
    """Too many failed sign-ins for the account or the address: try again later (429)."""

    status = 429
    code = "signin_locked"


# --- users ---------------------------------------------------------------------------------


def check_password_strength(password: str, email: str = "") -> None:
    """Raise ValidationError (field ``password``) for a password too weak to keep."""
    text = password or ""
    name = email.strip().lower().partition("@")[0]
    if len(text) < MIN_PASSWORD:
        raise ValidationError(
            f"the password needs at least {MIN_PASSWORD} characters",
            code="weak_password",
            field="password",
            reason="too_short",
        )
    folded = text.lower()
    if folded in COMMON_PASSWORDS or len(set(text)) < 4:
        raise ValidationError(
            "this password is too easy to guess",
            code="weak_password",
            field="password",
            reason="common",
        )
    if len(name) >= 4 and name in folded:
        raise ValidationError(
            "the password must not contain the e-mail's name",
            code="weak_password",
            field="password",
            reason="contains_email",
        )


def create_user(email: str, password: str, role: str, village_slug: str | None = None) -> User:
    """Create (or reset the password of) a staff account. Raises ValidationError on bad input."""
    email = (email or "").strip().lower()
    if "@" not in email:
        raise ValidationError("an e-mail address is required", code="invalid_email")
    if role not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(ROLES)}", code="invalid_role")
    check_password_strength(password, email)
    village = None
    if role == "village":
        village = db.session.scalars(select(Village).where(Village.slug == village_slug)).first()
        if village is None:
            raise ValidationError(
                "a village account needs an existing --village slug",
                code="invalid_village",
                village=village_slug,
            )
    village_id = village.id if village else None
    with unit_of_work() as session:
        user = session.scalars(select(User).where(func.lower(User.email) == email)).first()
        if user is None:
            user = User(email=email, session_version=1, password_hash="", role=role)
            session.add(user)
            event = "user_created"
        elif (user.role, user.village_id) != (role, village_id):
            event = "role_changed"
        else:
            event = "password_changed"
        if event != "user_created":
            # A reset password ends the sessions opened with the old one.
            user.session_version = (user.session_version or 1) + 1
        old_role = user.role
        user.password_hash = generate_password_hash(password)
        user.role, user.village_id, user.active = role, village_id, True
        session.flush()
        audit.record(
            event,
            user_id=user.id,
            email=email,
            session=session,
            by="cli",
            role=role,
            old_role=old_role,
            village=village_slug,
        )
    return user


@cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_urlsafe(16))


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None.

    Exactly one hash check either way, so the answer time does not tell which e-mails exist.
    """
    user = db.session.scalars(
        select(User).where(func.lower(User.email) == (email or "").strip().lower())
    ).first()
    known = user is not None and user.active
    ok = check_password_hash(user.password_hash if known else _dummy_hash(), password or "")
    return user if known and ok else None


def sign_in(email: str, password: str, ip: str) -> User:
    """Check the credentials under the lockout; records every attempt in the audit log."""
    email = (email or "").strip().lower()[:254]
    if limits.signin_locked(email, ip):
        audit.record("signin_locked", email=email)
        raise SignInLocked("too many failed sign-ins; try again later")
    user = authenticate(email, password)
    if user is None:
        limits.record_signin_failure(email, ip)
        audit.record("signin_failed", email=email)
        raise SignInRefused("wrong e-mail or password")
    audit.record("signin", user_id=user.id, email=user.email)
    return user


def get_user(user_id: int | None) -> User | None:
    user = db.session.get(User, user_id) if user_id else None
    return user if user is not None and user.active else None


def session_user(user_id: Any, version: Any) -> User | None:
    """The user of a session cookie, while the cookie's version is the user's current one."""
    if not isinstance(user_id, int) or not isinstance(version, int):
        return None
    user = get_user(user_id)
    return user if user is not None and user.session_version == version else None


def end_sessions(user_id: int, *, event: str = "signout") -> None:
    """End every session of this user, on every device (and every copy of their cookies)."""
    with unit_of_work() as session:
        session.execute(
            update(User).where(User.id == user_id).values(session_version=User.session_version + 1)
        )
        audit.record(event, user_id=user_id, email=_email_of(session, user_id), session=session)


def _email_of(session: Any, user_id: int) -> str | None:
    return session.scalar(select(User.email).where(User.id == user_id))


def change_password(user_id: int, current: str, new: str) -> User:
    """A signed-in user's new password; every other session of theirs ends."""
    user = get_user(user_id)
    if user is None:
        raise Forbidden("sign in first", code="login_required")
    if not check_password_hash(user.password_hash, current or ""):
        raise ValidationError(
            "the current password is wrong", code="wrong_password", field="current_password"
        )
    check_password_strength(new, user.email)
    _set_password(user, new, by="user")
    return user


def _set_password(user: User, password: str, *, by: str) -> None:
    with unit_of_work() as session:
        user.password_hash = generate_password_hash(password)
        user.session_version = (user.session_version or 1) + 1
        audit.record("password_changed", user_id=user.id, email=user.email, session=session, by=by)


# --- password reset ------------------------------------------------------------------------


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESET_SALT)


def _fingerprint(user: User) -> str:
    """Changes with the password and the session version: a used link is dead."""
    text = f"{user.password_hash}|{user.session_version}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def password_reset_token(user: User) -> str:
    return _reset_serializer().dumps({"u": user.id, "f": _fingerprint(user)})


def request_password_reset(email: str, subject: str, body_for: Any) -> None:
    """Queue a reset e-mail when the address has an active account; the same answer if not.

    ``body_for(token)`` renders the message (the web layer knows URLs and the language).
    """
    from tourplanner.services import notifications

    email = (email or "").strip().lower()[:254]
    user = db.session.scalars(select(User).where(func.lower(User.email) == email)).first()
    if user is None or not user.active:
        audit.record("password_reset_requested", email=email, known=False)
        return
    with unit_of_work() as session:
        row = Notification(
            event="password_reset",
            channel="email",
            recipient=user.email,
            subject=subject,
            body=body_for(password_reset_token(user)),
            status="pending",
            attempts=0,
        )
        session.add(row)
        audit.record(
            "password_reset_requested",
            user_id=user.id,
            email=user.email,
            session=session,
            known=True,
        )
    notifications.dispatch_after_commit([row])


def user_for_reset(token: str) -> User:
    """The user a reset link is for; Forbidden when it is expired, used or forged."""
    max_age = int(timedelta(minutes=current_app.config["PASSWORD_RESET_MINUTES"]).total_seconds())
    try:
        data = _reset_serializer().loads(token or "", max_age=max_age)
    except SignatureExpired:
        raise Forbidden("this link has expired", code="link_expired") from None
    except BadSignature:
        raise Forbidden("this link is not valid", code="invalid_token") from None
    user = get_user(data.get("u")) if isinstance(data, dict) else None
    if user is None or not secrets.compare_digest(str(data.get("f")), _fingerprint(user)):
        raise Forbidden("this link was already used or is no longer valid", code="invalid_token")
    return user


def reset_password(token: str, new: str) -> User:
    user = user_for_reset(token)
    check_password_strength(new, user.email)
    _set_password(user, new, by="reset")
    return user


def seed_demo_accounts() -> list[dict[str, Any]]:
    """Create the documented demo accounts that do not exist yet, each with a random password.

    Returns every demo account; ``password`` is the new password, or None for an account that
    already existed (its password is left as it is, so a second seed locks nobody out).
    """
    accounts = []
    for account in DEMO_ACCOUNTS:
        exists = (
            db.session.scalars(
                select(User.id).where(func.lower(User.email) == account["email"])
            ).first()
            is not None
        )
        password = None if exists else secrets.token_urlsafe(12)
        if password:
            create_user(account["email"], password, account["role"], account["village"])
        accounts.append({**account, "password": password})
    return accounts


def require_village_user(user: User | None, village_id: int) -> None:
    """Staff see only their own village; admins see every village."""
    if user is None:
        raise Forbidden("sign in first", code="login_required")
    if not user.is_admin and user.village_id != village_id:
        raise NotFound("no such booking for your village", code="booking_not_found")
