"""Accounts and signed links: village staff and admins, password hashing, signed tokens.

Passwords are hashed with Werkzeug (scrypt). Signed links use itsdangerous with the app's
``SECRET_KEY`` and a distinct salt per purpose, so a tourist's management link can never be
used as a village decision link and the other way round.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from tourplanner.adapters.orm import User, Village
from tourplanner.adapters.orm.accounts import ROLES
from tourplanner.domain.errors import Forbidden, NotFound, ValidationError
from tourplanner.extensions import db
from tourplanner.services.unit_of_work import unit_of_work

MIN_PASSWORD = 10

# No password is written here: each demo account gets a random one, printed once by the seed.
DEMO_ACCOUNTS = (
    {"email": "village@bat-trang.example", "role": "village", "village": "bat-trang"},
    {"email": "admin@tourplanner.example", "role": "admin", "village": None},
)


# --- users ---------------------------------------------------------------------------------


def create_user(email: str, password: str, role: str, village_slug: str | None = None) -> User:
    """Create (or reset the password of) a staff account. Raises ValidationError on bad input."""
    email = (email or "").strip().lower()
    if "@" not in email:
        raise ValidationError("an e-mail address is required", code="invalid_email")
    if role not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(ROLES)}", code="invalid_role")
    if len(password or "") < MIN_PASSWORD:
        raise ValidationError(
            f"the password needs at least {MIN_PASSWORD} characters", code="weak_password"
        )
    village = None
    if role == "village":
        village = db.session.scalars(select(Village).where(Village.slug == village_slug)).first()
        if village is None:
            raise ValidationError(
                "a village account needs an existing --village slug",
                code="invalid_village",
                village=village_slug,
            )
    with unit_of_work() as session:
        user = session.scalars(select(User).where(func.lower(User.email) == email)).first()
        if user is None:
            user = User(email=email)
            session.add(user)
        user.password_hash = generate_password_hash(password)
        user.role, user.village_id, user.active = role, village.id if village else None, True
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None (same answer for unknown e-mails)."""
    user = db.session.scalars(
        select(User).where(func.lower(User.email) == (email or "").strip().lower())
    ).first()
    if user is None or not user.active:
        check_password_hash(generate_password_hash("x"), password or "")  # even timing
        return None
    return user if check_password_hash(user.password_hash, password or "") else None


def get_user(user_id: int | None) -> User | None:
    user = db.session.get(User, user_id) if user_id else None
    return user if user is not None and user.active else None


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
