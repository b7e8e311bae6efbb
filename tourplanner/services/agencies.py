"""Travel agencies: the agency, its people (agency admins and staff), its clients, its API keys.

Everything an agency's user reads or changes goes through a function that takes the
``agency_id`` of the signed-in user (or of the API key): a row of another agency is
``NotFound`` (404), never a 403 that would tell it exists.

Accounts. :func:`create_agency` makes the agency and its first agency admin for the contact
e-mail with a random password, returned once (the caller prints or shows it; the user changes
it on their account page). An agency admin adds staff the same way (:func:`add_user`). No
account is ever taken over: an e-mail that already has an account is refused.

Suspension. A suspended agency (``active`` false) is shut out at once: :func:`suspend_agency`
raises the ``session_version`` of each of its users (every open session ends), sign-in refuses
its users (:func:`sign_in_refusal`) and its API keys answer 403 ``agency_suspended``.
Reactivating restores sign-in and keys; users suspended one by one stay suspended.

API keys. A key is ``tp_live_`` or ``tp_test_`` followed by 43 random URL-safe characters
(256 bits). Only its SHA-256 hash is stored, with its first :data:`PREFIX_CHARS` characters in
clear to tell keys apart; the key itself is returned once by :func:`create_api_key`. A lookup is
by hash (a unique index), so no secret is ever compared character by character.
``last_used_at`` is refreshed at most once per :data:`LAST_USED_RESOLUTION` per key by one
conditional UPDATE, so an API client's requests do not each write a row.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from tourplanner.adapters.orm import Agency, AgencyClient, ApiKey, Booking, Package, User
from tourplanner.adapters.orm.accounts import AGENCY_ROLES
from tourplanner.domain import inputs
from tourplanner.domain.catalogue import slugify
from tourplanner.domain.errors import DomainError, Forbidden, NotFound, ValidationError
from tourplanner.extensions import db
from tourplanner.security import audit
from tourplanner.services.accounts import check_password_strength
from tourplanner.services.availability import now_utc
from tourplanner.services.unit_of_work import unit_of_work

DEFAULT_COMMISSION_BP = 1000  # 10 % of the retail price
MAX_COMMISSION_BP = 10_000
MAX_LICENCE_CHARS = 60
MAX_SLUG_CHARS = 80
MAX_LABEL_CHARS = 100
MAX_NOTES_CHARS = 2000
KEY_PREFIXES = {False: "tp_live_", True: "tp_test_"}
#: Characters of a key kept in clear ("tp_live_" and four random ones): enough to tell keys
#: apart in a list, far too few to guess the rest.
PREFIX_CHARS = 12
LAST_USED_RESOLUTION = timedelta(minutes=5)

SAMPLE_AGENCY = {
    "slug": "sample-agency",
    "name": "Sample agency",
    "email": "agency@tourplanner.example",
    "licence_number": "SAMPLE-0001",
}


class Unauthorized(DomainError):
    """No credentials, or ones that are unknown or revoked (401)."""

    status = 401
    code = "unauthorized"


class AgencySuspended(Forbidden):
    """The agency is suspended: its users and keys are refused (403)."""

    code = "agency_suspended"


@dataclass(frozen=True)
class ApiKeyContext:
    """Who an API request acts for: set on ``flask.g.api_key`` by ``api_key_required``."""

    agency_id: int
    key_id: int
    test_mode: bool


# --- agencies ------------------------------------------------------------------------------


def _agency_row(session: Session, agency_id: int) -> Agency:
    agency = session.get(Agency, agency_id) if isinstance(agency_id, int) else None
    if agency is None:
        raise NotFound("no such agency", code="agency_not_found")
    return agency


#: The columns each kind of row shows as a dict (never a password or a key's hash).
_SHOWN: dict[type, tuple[str, ...]] = {
    Agency: (
        "id",
        "slug",
        "name",
        "licence_number",
        "contact_email",
        "contact_phone",
        "commission_bp",
        "active",
        "is_sample",
        "created_at",
    ),
    User: ("id", "email", "role", "active", "created_at"),
    AgencyClient: ("id", "name", "email", "phone", "notes", "created_at"),
    ApiKey: ("id", "label", "prefix", "test_mode", "created_at", "last_used_at", "revoked_at"),
}


def _log(
    event: str, session: Session, by: int | None, subject: str, agency_id: int, **details: Any
) -> None:
    """An agency's audit event: who acted (``by``), on what, for which agency."""
    audit.record(
        event, user_id=by, subject=subject, session=session, agency_id=agency_id, **details
    )


def _view(row: Any, **extra: Any) -> dict[str, Any]:
    """A row as callers get it: its shown columns, then ``extra``."""
    return {**{name: getattr(row, name) for name in _SHOWN[type(row)]}, **extra}


def _of_agency(model: Any, agency_id: int, *order: Any) -> list[dict[str, Any]]:
    """The agency's rows of ``model`` in ``order``, as dicts."""
    stmt = select(model).where(model.agency_id == agency_id).order_by(*order)
    return [_view(row) for row in db.session.scalars(stmt)]


def _owned(
    session: Session, model: Any, agency_id: int, row_id: int, message: str, code: str
) -> Any:
    """One row of the agency; another agency's row is NotFound, like a missing one."""
    row = session.get(model, row_id) if isinstance(row_id, int) else None
    if row is None or row.agency_id != agency_id:
        raise NotFound(message, code=code)
    return row


def get_agency(agency_id: int) -> dict[str, Any]:
    """The agency as a dict (``id``, ``slug``, ``name``, ``commission_bp``, ``active``...)."""
    return _view(_agency_row(db.session, agency_id))


def get_agency_by_slug(slug: str) -> dict[str, Any]:
    agency = db.session.scalars(select(Agency).where(Agency.slug == (slug or "").strip())).first()
    if agency is None:
        raise NotFound("no such agency", code="agency_not_found", slug=slug)
    return _view(agency)


def list_agencies() -> list[dict[str, Any]]:
    """Every agency (admins), newest first, with its number of users."""
    users = (
        select(User.agency_id, func.count(User.id).label("n"))
        .where(User.agency_id.is_not(None))
        .group_by(User.agency_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Agency, func.coalesce(users.c.n, 0))
        .outerjoin(users, users.c.agency_id == Agency.id)
        .order_by(Agency.created_at.desc(), Agency.id.desc())
    ).all()
    return [_view(agency, users=n) for agency, n in rows]


def agency_summary(agency_id: int) -> dict[str, Any]:
    """The dashboard's figures: the agency and how many clients, users and live keys it has."""
    agency = get_agency(agency_id)

    def count(model: Any, *where: Any) -> int:
        return db.session.scalar(
            select(func.count()).select_from(model).where(model.agency_id == agency_id, *where)
        )

    return {
        **agency,
        "clients": count(AgencyClient),
        "users": count(User, User.active.is_(True)),
        "api_keys": count(ApiKey, ApiKey.revoked_at.is_(None)),
        "packages": count(Package),
        "published_packages": count(Package, Package.status == "published"),
        "bookings": count(Booking),
    }


def _parse_agency(
    name: object,
    email: object,
    licence_number: object,
    phone: object,
    commission_bp: object,
    slug: object,
) -> dict[str, Any]:
    values = {
        "name": inputs.clean_text(name, "name", max_length=inputs.MAX_NAME_CHARS, min_length=1),
        "email": inputs.email_address(email, "email").lower(),
        "licence_number": _optional_text(licence_number, "licence_number", MAX_LICENCE_CHARS),
        "phone": _optional_text(phone, "phone", inputs.MAX_PHONE_CHARS),
    }
    if isinstance(commission_bp, bool) or not isinstance(commission_bp, int):
        raise ValidationError(
            "commission_bp: expected whole basis points", code="invalid_field", field="commission"
        )
    if not 0 <= commission_bp <= MAX_COMMISSION_BP:
        raise ValidationError(
            "commission: between 0 and 100 %", code="invalid_field", field="commission"
        )
    values["commission_bp"] = commission_bp
    wanted = slugify(slug if isinstance(slug, str) and slug.strip() else values["name"])
    if not wanted or len(wanted) > MAX_SLUG_CHARS:
        raise ValidationError(
            "slug: letters and digits, at most 80 characters", code="invalid_slug", field="slug"
        )
    values["slug"] = wanted
    return values


def percent_to_bp(text: object, field: str = "commission") -> int:
    """A percentage as typed (``"10"``, ``"7.5"``, ``"7,5"``) in whole basis points.

    At most two decimals (1 bp is 0.01 %), between 0 and 100; ValidationError otherwise.
    """
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise ValidationError(f"{field}: a percentage", code="invalid_field", field=field)
    try:
        value = Decimal(str(text).strip().replace(",", ".").rstrip("%").strip())
    except InvalidOperation:
        raise ValidationError(f"{field}: a percentage", code="invalid_field", field=field) from None
    bp = value * 100
    if not value.is_finite() or bp != bp.to_integral_value() or not 0 <= bp <= MAX_COMMISSION_BP:
        raise ValidationError(
            f"{field}: between 0 and 100 %, at most two decimals",
            code="invalid_field",
            field=field,
        )
    return int(bp)


def _optional_text(value: object, field: str, max_length: int) -> str | None:
    if value is None:
        return None
    text = inputs.clean_text(value, field, max_length=max_length)
    return text or None


def _check_role(role: str) -> None:
    if role not in AGENCY_ROLES:
        raise ValidationError(
            f"role must be one of {', '.join(AGENCY_ROLES)}", code="invalid_role", field="role"
        )


def _email_taken(session: Session, email: str) -> bool:
    return (
        session.scalar(select(User.id).where(func.lower(User.email) == email.lower())) is not None
    )


def _new_password(email: str) -> str:
    """A random password that passes the strength rules (16 URL-safe characters)."""
    while True:
        password = secrets.token_urlsafe(12)
        try:
            check_password_strength(password, email)
        except ValidationError:
            continue
        return password


def _new_user(session: Session, email: str, role: str, agency_id: int) -> tuple[User, str]:
    password = _new_password(email)
    user = User(
        email=email,
        password_hash=generate_password_hash(password),
        role=role,
        agency_id=agency_id,
        active=True,
        session_version=1,
    )
    session.add(user)
    session.flush()
    return user, password


def create_agency(
    name: str,
    email: str,
    licence_number: str | None = None,
    phone: str | None = None,
    commission_bp: int = DEFAULT_COMMISSION_BP,
    slug: str | None = None,
    *,
    by: int | None = None,
    is_sample: bool = False,
) -> dict[str, Any]:
    """Create an agency and its first agency admin (``email``), all or nothing.

    Returns the agency dict plus ``admin_email`` and ``password``: the admin's random
    password, shown this once. Raises ValidationError (``details.field`` names the field) for
    bad input, ``slug_taken`` for a slug in use and ``email_taken`` for an e-mail that already
    has an account.
    """
    values = _parse_agency(name, email, licence_number, phone, commission_bp, slug)
    with unit_of_work() as session:
        if session.scalar(select(Agency.id).where(Agency.slug == values["slug"])) is not None:
            raise ValidationError(
                "an agency with this slug exists", code="slug_taken", field="slug"
            )
        if _email_taken(session, values["email"]):
            raise ValidationError(
                "this e-mail already has an account", code="email_taken", field="email"
            )
        agency = Agency(
            slug=values["slug"],
            name=values["name"],
            licence_number=values["licence_number"],
            contact_email=values["email"],
            contact_phone=values["phone"],
            commission_bp=values["commission_bp"],
            active=True,
            is_sample=is_sample,
        )
        session.add(agency)
        session.flush()
        user, password = _new_user(session, values["email"], "agency_admin", agency.id)
        _log(
            "agency_created",
            session,
            by,
            agency.slug,
            agency.id,
            commission_bp=agency.commission_bp,
        )
        audit.record(
            "user_created",
            user_id=user.id,
            email=user.email,
            session=session,
            by=by or "cli",
            role=user.role,
            agency=agency.slug,
        )
        view = _view(agency, admin_email=user.email, password=password)
    return view


def _set_agency_active(agency_id: int, active: bool, *, by: int | None) -> dict[str, Any]:
    with unit_of_work() as session:
        agency = _agency_row(session, agency_id)
        if agency.active != active:
            agency.active = active
            if not active:
                # Every open session of its users ends now, not at their next sign-in.
                session.execute(
                    update(User)
                    .where(User.agency_id == agency.id)
                    .values(session_version=User.session_version + 1)
                )
            event = "agency_reactivated" if active else "agency_suspended"
            _log(event, session, by, agency.slug, agency.id)
        view = _view(agency)
    return view


def suspend_agency(agency_id: int, *, by: int | None = None) -> dict[str, Any]:
    """Shut the agency out: its sessions end, its users cannot sign in, its keys answer 403."""
    return _set_agency_active(agency_id, False, by=by)


def reactivate_agency(agency_id: int, *, by: int | None = None) -> dict[str, Any]:
    return _set_agency_active(agency_id, True, by=by)


def sign_in_refusal(user: User) -> str | None:
    """Why this (correctly authenticated) user may not use the site now, or None.

    ``"agency_suspended"`` for a user of a suspended agency, ``"no_agency"`` for an agency
    role without an agency.
    """
    if user.role not in AGENCY_ROLES:
        return None
    if user.agency_id is None:
        return "no_agency"
    active = db.session.scalar(select(Agency.active).where(Agency.id == user.agency_id))
    return None if active else "agency_suspended"


# --- the agency's people -------------------------------------------------------------------


def list_users(agency_id: int) -> list[dict[str, Any]]:
    return _of_agency(User, agency_id, User.email)


def add_user(
    agency_id: int, email: str, role: str = "agency_staff", *, by: int | None = None
) -> dict[str, Any]:
    """A new user of this agency with a random password (returned once as ``password``)."""
    address = inputs.email_address(email, "email").lower()
    _check_role(role)
    with unit_of_work() as session:
        agency = _agency_row(session, agency_id)
        if _email_taken(session, address):
            raise ValidationError(
                "this e-mail already has an account", code="email_taken", field="email"
            )
        user, password = _new_user(session, address, role, agency.id)
        audit.record(
            "user_created",
            user_id=user.id,
            email=user.email,
            session=session,
            by=by,
            role=role,
            agency=agency.slug,
        )
        view = _view(user, password=password)
    return view


def set_agency_account(email: str, password: str, role: str, agency_slug: str | None) -> User:
    """The operator's command (``flask users create --role agency_staff --agency SLUG``):
    create the account, or move an existing one to this agency and role with this password
    (its sessions end). ValidationError names the bad option."""
    address = inputs.email_address(email, "email").lower()
    _check_role(role)
    check_password_strength(password, address)
    with unit_of_work() as session:
        agency = session.scalars(
            select(Agency).where(Agency.slug == (agency_slug or "").strip())
        ).first()
        if agency is None:
            raise ValidationError(
                "an agency account needs an existing --agency slug",
                code="invalid_agency",
                field="agency",
                agency=agency_slug,
            )
        user = session.scalars(select(User).where(func.lower(User.email) == address)).first()
        if user is None:
            user = User(email=address, session_version=1, password_hash="", role=role)
            session.add(user)
            event = "user_created"
        else:
            event = (
                "role_changed"
                if (user.role, user.agency_id) != (role, agency.id)
                else ("password_changed")
            )
            user.session_version = (user.session_version or 1) + 1
        old_role = user.role
        user.password_hash = generate_password_hash(password)
        user.role, user.agency_id, user.village_id, user.active = role, agency.id, None, True
        session.flush()
        audit.record(
            event,
            user_id=user.id,
            email=address,
            session=session,
            by="cli",
            role=role,
            old_role=old_role,
            agency=agency.slug,
        )
    return user


def set_user_active(
    agency_id: int, user_id: int, active: bool, *, by: int | None = None
) -> dict[str, Any]:
    """Suspend (every session ends) or reactivate one user of this agency."""
    with unit_of_work() as session:
        user = _owned(
            session, User, agency_id, user_id, "no such user in your agency", "user_not_found"
        )
        if not active and user.id == by:
            raise ValidationError(
                "you cannot suspend your own account", code="cannot_suspend_self", field="user"
            )
        if user.active != active:
            user.active = active
            user.session_version = (user.session_version or 1) + 1
            event = "user_reactivated" if active else "user_suspended"
            _log(event, session, by, str(user.id), agency_id, email=user.email)
        view = _view(user)
    return view


def suspend_user(agency_id: int, user_id: int, *, by: int | None = None) -> dict[str, Any]:
    return set_user_active(agency_id, user_id, False, by=by)


def reactivate_user(agency_id: int, user_id: int, *, by: int | None = None) -> dict[str, Any]:
    return set_user_active(agency_id, user_id, True, by=by)


# --- clients -------------------------------------------------------------------------------


def list_clients(agency_id: int) -> list[dict[str, Any]]:
    return _of_agency(AgencyClient, agency_id, func.lower(AgencyClient.name), AgencyClient.id)


def create_client(
    agency_id: int,
    name: str,
    email: str | None = None,
    phone: str | None = None,
    notes: str | None = None,
    *,
    by: int | None = None,
) -> int:
    """A new client of this agency; returns its id. ValidationError names the bad field."""
    clean_name = inputs.clean_text(name, "name", max_length=inputs.MAX_NAME_CHARS, min_length=1)
    clean_email = inputs.email_address(email, "email") if email and email.strip() else None
    clean_phone = _optional_text(phone, "phone", inputs.MAX_PHONE_CHARS)
    clean_notes = None
    if notes is not None:
        if not isinstance(notes, str):
            raise ValidationError("notes: expected text", code="invalid_field", field="notes")
        inputs.check_text(notes, "notes")
        if len(notes) > MAX_NOTES_CHARS:
            raise ValidationError(
                f"notes: at most {MAX_NOTES_CHARS} characters",
                code="invalid_field",
                field="notes",
                max_length=MAX_NOTES_CHARS,
            )
        clean_notes = inputs.free_text(notes, max_length=MAX_NOTES_CHARS) or None
    with unit_of_work() as session:
        _agency_row(session, agency_id)
        client = AgencyClient(
            agency_id=agency_id,
            name=clean_name,
            email=clean_email,
            phone=clean_phone,
            notes=clean_notes,
        )
        session.add(client)
        session.flush()
        _log("agency_client_created", session, by, str(client.id), agency_id)
        client_id = client.id
    return client_id


def get_client(agency_id: int, client_id: int) -> dict[str, Any]:
    """One client of this agency; another agency's client is NotFound, like a missing one."""
    client = _owned(
        db.session, AgencyClient, agency_id, client_id, "no such client", "client_not_found"
    )
    return _view(client)


# --- API keys ------------------------------------------------------------------------------


def _hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def list_api_keys(agency_id: int) -> list[dict[str, Any]]:
    """The agency's keys (live ones first), never the keys themselves: only their prefix."""
    order = (ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc(), ApiKey.id.desc())
    return _of_agency(ApiKey, agency_id, *order)


def create_api_key(
    agency_id: int, label: str = "", *, test_mode: bool = False, by: int | None = None
) -> tuple[int, str]:
    """A new key for this agency: ``(key_id, raw_key)``. The raw key is not stored anywhere."""
    clean_label = inputs.clean_text(label or "", "label", max_length=MAX_LABEL_CHARS)
    raw = KEY_PREFIXES[bool(test_mode)] + secrets.token_urlsafe(32)
    with unit_of_work() as session:
        agency = _agency_row(session, agency_id)
        if not agency.active:
            raise AgencySuspended("this agency is suspended")
        key = ApiKey(
            agency_id=agency.id,
            label=clean_label,
            prefix=raw[:PREFIX_CHARS],
            key_hash=_hash_key(raw),
            test_mode=bool(test_mode),
            created_by=by,
        )
        session.add(key)
        session.flush()
        _log(
            "api_key_created",
            session,
            by,
            key.prefix,
            agency.id,
            key_id=key.id,
            test_mode=key.test_mode,
        )
        key_id = key.id
    return key_id, raw


def revoke_api_key(
    agency_id: int, key_id: int, *, by: int | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Revoke one of this agency's keys (at once: the next request with it is 401)."""
    with unit_of_work() as session:
        key = _owned(session, ApiKey, agency_id, key_id, "no such API key", "api_key_not_found")
        if key.revoked_at is None:
            key.revoked_at = now or now_utc()
            _log("api_key_revoked", session, by, key.prefix, agency_id, key_id=key.id)
        view = _view(key)
    return view


def authenticate_api_key(raw: str | None, *, now: datetime | None = None) -> ApiKeyContext:
    """The agency behind a raw key; Unauthorized (401) for no, an unknown or a revoked key,
    AgencySuspended (403) while its agency is suspended."""
    if not raw or not isinstance(raw, str) or len(raw) > 200:
        raise Unauthorized("an API key is required: Authorization: Bearer <key>")
    row = db.session.execute(
        select(ApiKey.id, ApiKey.agency_id, ApiKey.test_mode, ApiKey.revoked_at, Agency.active)
        .join(Agency, Agency.id == ApiKey.agency_id)
        .where(ApiKey.key_hash == _hash_key(raw))
    ).first()
    if row is None or row.revoked_at is not None:
        raise Unauthorized("this API key is unknown or revoked")
    if not row.active:
        raise AgencySuspended("this agency is suspended")
    _touch(row.id, row.agency_id, now or now_utc())
    return ApiKeyContext(agency_id=row.agency_id, key_id=row.id, test_mode=bool(row.test_mode))


def _touch(key_id: int, agency_id: int, now: datetime) -> None:
    """Record the use at most once per LAST_USED_RESOLUTION: one conditional UPDATE, which
    changes nothing (and writes no audit event) when the key was used a moment ago."""
    with unit_of_work() as session:
        changed = session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == key_id,
                or_(
                    ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - LAST_USED_RESOLUTION
                ),
            )
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed:
            audit.record("api_key_used", subject=str(key_id), session=session, agency_id=agency_id)


# --- demo data -----------------------------------------------------------------------------


def seed_demo_agency() -> dict[str, Any]:
    """The sample agency (``is_sample``) and its agency-admin demo account.

    Like ``accounts.seed_demo_accounts``: the account gets a random password, returned once as
    ``password``; a second seed leaves both as they are (``password`` None).
    """
    slug = SAMPLE_AGENCY["slug"]
    existing = db.session.scalars(select(Agency).where(Agency.slug == slug)).first()
    if existing is not None:
        return {
            **_view(existing),
            "admin_email": SAMPLE_AGENCY["email"],
            "role": "agency_admin",
            "password": None,
        }
    view = create_agency(
        SAMPLE_AGENCY["name"],
        SAMPLE_AGENCY["email"],
        licence_number=SAMPLE_AGENCY["licence_number"],
        slug=slug,
        is_sample=True,
    )
    return {**view, "role": "agency_admin"}
