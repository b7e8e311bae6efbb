"""Catalogue management in pages: every edit is a change with its author, source and time.

The shipped dataset stays the seed. An edit made in a page is stored in ``catalogue_changes``
as ``{field: [before, after]}`` in the interchange format of :mod:`tourplanner.domain.records`
(the same rules validate it: nothing here restates a field's rule), with the author, the
source the author gives and the time:

* an admin's edit applies at once (``applied``);
* village staff propose changes to their own village's texts and contact and to its
  experiences (``pending``); an admin approves (``approved``: applied then) or rejects them
  (``rejected``, with a note the village reads). A newer proposal for the same row replaces
  the older one (``superseded``): the staff form starts from the proposal still waiting.

Re-seeding keeps what was edited: :func:`keep_edited` gives the seed, for every field with an
applied or approved change, the row's current value instead of the dataset's (see
``catalogue_io.seed``). Fields judged together (a position and its quality, a price range, a
product's village) are kept together, so the seed never mixes an edit with the dataset.

Three village facts the plan's targets count are not in the interchange format
(``recognised_year``, ``craft_at_risk``, ``craft_restored_year``): they are checked here, and
the seed never writes them.

Accounts of every role are managed here too (create with a random password shown once,
suspend, reactivate, reset the password); agency users go through ``services.agencies``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload
from werkzeug.security import generate_password_hash

from tourplanner.adapters.orm import Agency, CatalogueChange, Experience, Product, User, Village
from tourplanner.adapters.orm.accounts import AGENCY_ROLES, ROLES
from tourplanner.domain import records
from tourplanner.domain.availability import local_today
from tourplanner.domain.catalogue import fold, is_slug, slugify
from tourplanner.domain.errors import Conflict, Forbidden, NotFound, ValidationError
from tourplanner.domain.inputs import email_address, search_text, unsafe_text
from tourplanner.extensions import db
from tourplanner.security import audit
from tourplanner.services import agencies
from tourplanner.services.catalogue_io import (
    VILLAGE_RECORDED_FIELDS,
    product_search_text,
    village_search_text,
)
from tourplanner.services.unit_of_work import unit_of_work
from tourplanner.services.village_shop import VIETNAM

ENTITIES: tuple[str, ...] = ("village", "experience", "product")
MODELS = {"village": Village, "experience": Experience, "product": Product}
APPLIED, PENDING, APPROVED, REJECTED, SUPERSEDED = (
    "applied",
    "pending",
    "approved",
    "rejected",
    "superseded",
)
STATUSES: tuple[str, ...] = (PENDING, APPLIED, APPROVED, REJECTED, SUPERSEDED)
#: Changes in force: their fields survive a re-seed.
IN_FORCE: tuple[str, ...] = (APPLIED, APPROVED)

#: Village facts of the plan's targets, outside the interchange format.
TARGET_FIELDS: tuple[str, ...] = ("recognised_year", "craft_at_risk", "craft_restored_year")
#: Edited on the village shop pages (services.village_shop), not here.
NOT_HERE = {"slug", *VILLAGE_RECORDED_FIELDS}
VILLAGE_FIELDS: tuple[str, ...] = (
    *(n for n in records.VILLAGE.names if n not in NOT_HERE),
    *TARGET_FIELDS,
)
#: Schedules, capacity and closed dates are the schedule editor's (services.availability);
#: the source's own price and hours facts stay as the dataset states them.
EXPERIENCE_FIELDS: tuple[str, ...] = (
    "kind",
    "title_vi",
    "title_en",
    "description_vi",
    "description_en",
    "duration_minutes",
    "price_adult_vnd",
    "price_child_vnd",
    "price_senior_vnd",
    "languages",
    "min_age",
    "accessibility_vi",
    "accessibility_en",
)
#: Photos and where to buy are the product form's (web.products_admin).
PRODUCT_FIELDS: tuple[str, ...] = tuple(
    n for n in records.PRODUCT.names if n not in {"slug", "images", "where_to_buy", "is_sample"}
)
FIELDS: dict[str, tuple[str, ...]] = {
    "village": VILLAGE_FIELDS,
    "experience": EXPERIENCE_FIELDS,
    "product": PRODUCT_FIELDS,
}
#: What village staff may propose for their own village.
STAFF_FIELDS: dict[str, tuple[str, ...]] = {
    "village": ("story_vi", "story_en", "contact"),
    "experience": tuple(f for f in EXPERIENCE_FIELDS if f != "kind"),
}
#: Texts: an admin may change them without naming a source (facts need one).
TEXT_FIELDS = frozenset(
    {
        "story_vi",
        "story_en",
        "title_vi",
        "title_en",
        "description_vi",
        "description_en",
        "accessibility_vi",
        "accessibility_en",
        "languages",
    }
)
#: Fields a rule judges together: a re-seed keeps all of a group when one was edited.
GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"lat", "lon", "coord_quality", "coord_note"}),
    frozenset({"price_min_vnd", "price_max_vnd"}),
    frozenset({"village", "village_name"}),
    frozenset({"recognised_traditional", "recognised_year"}),
    frozenset({"duration_minutes", "duration_is_default"}),
)
#: Contact details a village gives (``Village.contact``); other keys already there are kept.
CONTACT_KEYS: tuple[str, ...] = ("name", "phone", "email", "website", "zalo")
CONTACT_LIMITS = {"name": 200, "phone": 40, "zalo": 40}
#: The earliest year a recognition or restoration can carry.
FIRST_YEAR = 1945
MAX_SOURCE = 1000
MAX_NOTE = 1000
MAX_LONG_TEXT = 20_000

_GROUPED_NUMBER = re.compile(r"\d{1,3}(?:[.,\s]\d{3})+")
_PAIR = re.compile(r"\s*(-?\d+(?:\.\d+)?)\s*[,;]\s+(-?\d+(?:\.\d+)?)\s*")


# --- problems ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldProblem:
    """Why one form field was refused: our ``code`` with ``params``, or ``code`` "record" with
    the dataset rule's own words in ``reason`` (domain.records)."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)
    reason: str = ""


class CatalogueInvalid(ValidationError):
    """The form has problems, keyed by form field; nothing was written."""

    def __init__(self, problems: dict[str, FieldProblem]) -> None:
        summary = "; ".join(f"{k}: {p.reason or p.code}" for k, p in problems.items())
        super().__init__(summary, code="invalid_catalogue_change")
        self.problems = problems


# --- rows in the interchange format --------------------------------------------------------------


def record_value(obj: Any, name: str) -> Any:
    """A column's value as the interchange format has it (a parent village by its slug)."""
    if name == "village":
        return obj.village.slug if obj.village is not None else None
    return getattr(obj, name)


def record_of(entity: str, obj: Any) -> dict[str, Any]:
    """The row as the import format has it, plus the target facts of a village."""
    names = [*records.SPECS[entity].names, *(TARGET_FIELDS if entity == "village" else ())]
    return {name: record_value(obj, name) for name in names}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _same(a: Any, b: Any) -> bool:
    return (_empty(a) and _empty(b)) or a == b


def _list_field(entity: str, name: str) -> bool:
    spec = {f.name: f for f in records.SPECS[entity].fields}
    return name in spec and spec[name].default == []


def _form_text(form: Mapping[str, Any], key: str) -> str:
    value = form.get(key)
    return "" if value is None else str(value)


def form_values(entity: str, form: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """The posted form as raw interchange values: a list field is one entry per line, a
    coordinate may use a decimal comma (or hold "lat, lon" pasted from a map), a price may be
    grouped by thousands ("150.000"), the contact is its own fields (``contact_<key>``)."""
    raw: dict[str, Any] = {}
    for name in names:
        if name == "contact":
            raw[name] = {k: _form_text(form, f"contact_{k}").strip() for k in CONTACT_KEYS}
            continue
        text = _form_text(form, name)
        if _list_field(entity, name):
            raw[name] = [line.strip() for line in text.splitlines() if line.strip()]
        elif name in ("lat", "lon"):
            raw[name] = text.strip().replace(",", ".") if text.count(",") == 1 else text.strip()
        elif name.endswith("_vnd") and _GROUPED_NUMBER.fullmatch(text.strip()):
            raw[name] = re.sub(r"[.,\s]", "", text.strip())
        else:
            raw[name] = text.replace("\r\n", "\n")
    lat = _form_text(form, "lat")
    if "lat" in raw and not _form_text(form, "lon").strip() and (pair := _PAIR.fullmatch(lat)):
        raw["lat"], raw["lon"] = pair.group(1), pair.group(2)
    return raw


# --- validation ----------------------------------------------------------------------------------


def _unsafe(raw: Mapping[str, Any], problems: dict[str, FieldProblem]) -> None:
    for name, value in raw.items():
        texts = value if isinstance(value, list) else [value]
        if isinstance(value, dict):
            texts = list(value.values())
        if any(isinstance(t, str) and unsafe_text(t) for t in texts):
            problems[name] = FieldProblem("invalid_text")


def _clean_contact(
    current: Mapping[str, Any] | None, raw: Mapping[str, str], problems: dict[str, FieldProblem]
) -> dict[str, Any] | None:
    contact = {k: v for k, v in (current or {}).items() if k not in CONTACT_KEYS}
    for key in CONTACT_KEYS:
        text = raw.get(key, "")
        if not text:
            continue
        name = f"contact_{key}"
        if key == "email":
            try:
                contact[key] = email_address(text, name)
            except ValidationError:
                problems[name] = FieldProblem("invalid_email")
        elif key == "website":
            try:
                contact[key] = records.url(text)
            except ValueError as exc:
                problems[name] = FieldProblem("record", reason=str(exc))
        elif len(text) > CONTACT_LIMITS[key]:
            problems[name] = FieldProblem("too_long", {"limit": CONTACT_LIMITS[key]})
        else:
            contact[key] = text
    return contact or None


def _year(text: Any, name: str, now: datetime, problems: dict[str, FieldProblem]) -> int | None:
    if _empty(text) or (isinstance(text, str) and not text.strip()):
        return None
    try:
        year = records._int(text)
    except ValueError as exc:
        problems[name] = FieldProblem("record", reason=str(exc))
        return None
    last = local_today(now).year
    if not FIRST_YEAR <= year <= last:
        problems[name] = FieldProblem("year_range", {"low": FIRST_YEAR, "high": last})
        return None
    return year


def _tri_state(text: Any, name: str, problems: dict[str, FieldProblem]) -> bool | None:
    if _empty(text) or (isinstance(text, str) and not text.strip()):
        return None
    try:
        return records._bool(text)
    except ValueError as exc:
        problems[name] = FieldProblem("record", reason=str(exc))
        return None


def _clean_targets(
    merged: dict[str, Any], names: Iterable[str], now: datetime, problems: dict[str, FieldProblem]
) -> None:
    """The three target facts of a village, in place in ``merged``."""
    names = set(names)
    if "recognised_year" in names:
        merged["recognised_year"] = _year(
            merged.get("recognised_year"), "recognised_year", now, problems
        )
    if "craft_restored_year" in names:
        merged["craft_restored_year"] = _year(
            merged.get("craft_restored_year"), "craft_restored_year", now, problems
        )
    if "craft_at_risk" in names:
        merged["craft_at_risk"] = _tri_state(merged.get("craft_at_risk"), "craft_at_risk", problems)
    if merged.get("recognised_year") and merged.get("recognised_traditional") is not True:
        problems.setdefault("recognised_year", FieldProblem("year_needs_recognition"))


def _in_vietnam(clean: Mapping[str, Any], problems: dict[str, FieldProblem]) -> None:
    for axis in ("lat", "lon"):
        value = clean.get(axis)
        low, high = VIETNAM[axis]
        if isinstance(value, float) and not low <= value <= high and axis not in problems:
            problems[axis] = FieldProblem("outside_vietnam", {"low": low, "high": high})


def _validate(
    entity: str,
    current: dict[str, Any],
    raw: Mapping[str, Any],
    names: tuple[str, ...],
    now: datetime,
) -> tuple[dict[str, Any], dict[str, FieldProblem]]:
    """The row with the form's values, cleaned by the dataset's rules, and every problem."""
    problems: dict[str, FieldProblem] = {}
    _unsafe(raw, problems)
    merged = {**current, **{k: v for k, v in raw.items() if k != "contact"}}
    if "contact" in raw:
        merged["contact"] = _clean_contact(current.get("contact"), raw["contact"], problems)
    spec = records.SPECS[entity]
    row = {k: v for k, v in merged.items() if k in spec.names}
    clean, found = records.clean_row(spec, row, 1)
    for p in found:
        problems.setdefault(p.field, FieldProblem("record", reason=p.reason))
    if entity == "village":
        extra = {k: merged.get(k) for k in TARGET_FIELDS}
        clean.update(extra)
        _clean_targets(clean, [n for n in TARGET_FIELDS if n in names], now, problems)
        _in_vietnam(clean, problems)
    for name in names:  # a long text is bounded even where the dataset sets no length
        if isinstance(clean.get(name), str) and len(clean[name]) > MAX_LONG_TEXT:
            problems.setdefault(name, FieldProblem("too_long", {"limit": MAX_LONG_TEXT}))
    return clean, problems


def _source(text: str | None, problems: dict[str, FieldProblem]) -> str | None:
    source = (text or "").strip()
    if unsafe_text(source):
        problems["source"] = FieldProblem("invalid_text")
    elif len(source) > MAX_SOURCE:
        problems["source"] = FieldProblem("too_long", {"limit": MAX_SOURCE})
    return source or None


def _diff(
    current: Mapping[str, Any], clean: Mapping[str, Any], names: Iterable[str]
) -> dict[str, list[Any]]:
    return {
        name: [current.get(name), clean.get(name)]
        for name in names
        if not _same(current.get(name), clean.get(name))
    }


# --- reading -------------------------------------------------------------------------------------


def _load(entity: str, slug: str) -> Any:
    model = MODELS.get(entity)
    obj = (
        db.session.scalar(select(model).where(model.slug == slug))
        if model is not None and isinstance(slug, str)
        else None
    )
    if obj is None:
        raise NotFound(f"no {entity} {slug!r}", code=f"{entity}_not_found", slug=slug)
    return obj


def get(entity: str, slug: str) -> Any:
    """A village, experience or product by slug (NotFound otherwise)."""
    return _load(entity, slug)


def _village_of(entity: str, obj: Any) -> int | None:
    return obj.id if entity == "village" else obj.village_id


def own(entity: str, slug: str, user: User) -> Any:
    """A row staff may propose changes to: their own village or its experiences."""
    obj = _load(entity, slug)
    if (
        entity not in STAFF_FIELDS
        or user.village_id is None
        or _village_of(entity, obj) != (user.village_id)
    ):
        raise NotFound(f"no {entity} {slug!r} in your village", code=f"{entity}_not_found")
    return obj


def villages(q: str | None = None) -> list[Village]:
    """Every village (admins), optionally matching ``q`` (names, communes, crafts; no accents)."""
    stmt = select(Village).order_by(Village.name_vi)
    words = fold(search_text(q or "")).split()
    for word in words:
        stmt = stmt.where(Village.search_text.contains(word))
    return list(db.session.scalars(stmt))


def products(q: str | None = None, village: str | None = None) -> list[Product]:
    stmt = select(Product).options(selectinload(Product.village)).order_by(Product.slug)
    for word in fold(search_text(q or "")).split():
        stmt = stmt.where(Product.search_text.contains(word))
    if village:
        stmt = stmt.join(Village, Product.village_id == Village.id).where(Village.slug == village)
    return list(db.session.scalars(stmt))


@dataclass(frozen=True)
class ChangeView:
    """A change for the pages: the row it concerns, who made and decided it, and which of its
    fields have changed again since it was proposed (``stale``)."""

    change: CatalogueChange
    entity_slug: str | None
    entity_name: str
    village_slug: str | None
    author: str | None
    author_role: str | None
    decider: str | None
    stale: tuple[str, ...] = ()

    @property
    def created(self) -> bool:
        return "slug" in self.change.changes


def _views(rows: list[CatalogueChange]) -> list[ChangeView]:
    ids: dict[str, set[int]] = {}
    for row in rows:
        ids.setdefault(row.entity, set()).add(row.entity_id)
    objects: dict[tuple[str, int], Any] = {}
    for entity, wanted in ids.items():
        model = MODELS[entity]
        for obj in db.session.scalars(select(model).where(model.id.in_(wanted))):
            objects[(entity, obj.id)] = obj
    user_ids = {i for r in rows for i in (r.author_id, r.decided_by) if i}
    users = (
        {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))}
        if user_ids
        else {}
    )
    views = []
    for row in rows:
        obj = objects.get((row.entity, row.entity_id))
        stale: tuple[str, ...] = ()
        if obj is not None and row.status == PENDING:
            now = record_of(row.entity, obj)
            stale = tuple(k for k, (old, _new) in row.changes.items() if not _same(now.get(k), old))
        name = ""
        if obj is not None:
            name = obj.title_vi if row.entity == "experience" else obj.name_vi
        village_slug = None
        if obj is not None:
            village_slug = obj.slug if row.entity == "village" else record_value(obj, "village")
        author, decider = users.get(row.author_id), users.get(row.decided_by)
        views.append(
            ChangeView(
                change=row,
                entity_slug=obj.slug if obj is not None else None,
                entity_name=name,
                village_slug=village_slug,
                author=author.email if author else None,
                author_role=author.role if author else None,
                decider=decider.email if decider else None,
                stale=stale,
            )
        )
    return views


def changes(
    *,
    status: str | None = None,
    entity: str | None = None,
    village_id: int | None = None,
    limit: int = 200,
) -> list[ChangeView]:
    """The change log, newest first: every field's before and after, author, source, time."""
    stmt = select(CatalogueChange).order_by(
        CatalogueChange.created_at.desc(), CatalogueChange.id.desc()
    )
    if status in STATUSES:
        stmt = stmt.where(CatalogueChange.status == status)
    if entity in ENTITIES:
        stmt = stmt.where(CatalogueChange.entity == entity)
    if village_id is not None:
        experience_ids = select(Experience.id).where(Experience.village_id == village_id)
        product_ids = select(Product.id).where(Product.village_id == village_id)
        stmt = stmt.where(
            or_(
                (CatalogueChange.entity == "village") & (CatalogueChange.entity_id == village_id),
                (CatalogueChange.entity == "experience")
                & CatalogueChange.entity_id.in_(experience_ids),
                (CatalogueChange.entity == "product") & CatalogueChange.entity_id.in_(product_ids),
            )
        )
    return _views(list(db.session.scalars(stmt.limit(limit))))


def history(entity: str, obj: Any, limit: int = 50) -> list[ChangeView]:
    """The changes of one row, newest first."""
    stmt = (
        select(CatalogueChange)
        .where(CatalogueChange.entity == entity, CatalogueChange.entity_id == obj.id)
        .order_by(CatalogueChange.created_at.desc(), CatalogueChange.id.desc())
        .limit(limit)
    )
    return _views(list(db.session.scalars(stmt)))


def pending_count() -> int:
    return db.session.scalar(
        select(func.count(CatalogueChange.id)).where(CatalogueChange.status == PENDING)
    )


def _pending(entity: str, entity_id: int) -> CatalogueChange | None:
    return db.session.scalar(
        select(CatalogueChange)
        .where(
            CatalogueChange.entity == entity,
            CatalogueChange.entity_id == entity_id,
            CatalogueChange.status == PENDING,
        )
        .order_by(CatalogueChange.created_at.desc(), CatalogueChange.id.desc())
        .limit(1)
    )


def proposal_values(entity: str, obj: Any) -> tuple[dict[str, Any], CatalogueChange | None]:
    """What the staff form starts from: the row, with the proposal still waiting on top."""
    values = record_of(entity, obj)
    waiting = _pending(entity, obj.id)
    if waiting is not None:
        values.update({k: new for k, (_old, new) in waiting.changes.items()})
    return values, waiting


# --- writing -------------------------------------------------------------------------------------


def _set(entity: str, obj: Any, values: Mapping[str, Any], session: Any) -> None:
    """Write interchange values onto the row and refresh what depends on them."""
    for name, value in values.items():
        if name == "slug":
            continue
        if name == "village":
            obj.village = (
                session.scalar(select(Village).where(Village.slug == value)) if value else None
            )
            continue
        spec = {f.name: f for f in records.SPECS[entity].fields}
        if value is None and name in spec and spec[name].default is not None:
            value = spec[name].default
        setattr(obj, name, value)
    if entity == "village":
        obj.search_text = village_search_text(record_of("village", obj))
        for product in obj.products:
            product.search_text = product_search_text(record_of("product", product), obj)
    elif entity == "product":
        obj.search_text = product_search_text(record_of("product", obj), obj.village)


def _record_change(
    session: Any,
    entity: str,
    obj: Any,
    diff: dict[str, list[Any]],
    *,
    status: str,
    by: User,
    source: str | None,
    now: datetime,
) -> CatalogueChange:
    change = CatalogueChange(
        entity=entity,
        entity_id=obj.id,
        changes=diff,
        source=source,
        status=status,
        author_id=by.id,
        created_at=now,
        decided_by=by.id if status == APPLIED else None,
        decided_at=now if status == APPLIED else None,
    )
    session.add(change)
    session.flush()
    event = "catalogue_change_applied" if status == APPLIED else "catalogue_change_proposed"
    _log(event, change, obj, diff, by, session)
    return change


def _log(
    event: str, change: CatalogueChange, obj: Any, fields: Iterable[str], by: User, session: Any
) -> None:
    """A change's audit event: who, which row, which fields (the values stay in the change)."""
    audit.record(
        event,
        user_id=by.id,
        email=by.email,
        subject=f"{change.entity}:{obj.slug}",
        session=session,
        change_id=change.id,
        fields=sorted(fields),
    )


def _needs_source(diff: Mapping[str, Any]) -> bool:
    return any(name not in TEXT_FIELDS for name in diff)


def edit(
    entity: str,
    slug: str,
    form: Mapping[str, Any],
    *,
    by: User,
    source: str | None,
    now: datetime,
) -> CatalogueChange | None:
    """An admin's edit (applied at once) or a staff proposal (waits for an admin).

    Returns the change, or None when nothing differs from the row. Raises CatalogueInvalid
    with every problem (nothing is written then), NotFound for a row staff may not change.
    """
    if entity not in ENTITIES:
        raise NotFound("no such kind of row", code="entity_not_found")
    admin = by.is_admin
    obj = _load(entity, slug) if admin else own(entity, slug, by)
    names = FIELDS[entity] if admin else STAFF_FIELDS[entity]
    raw = form_values(entity, form, names)
    current = record_of(entity, obj)
    clean, problems = _validate(entity, current, raw, names, now)
    given = _source(source, problems)
    diff = _diff(current, clean, names)
    if "duration_minutes" in diff and current.get("duration_is_default"):
        # A length someone recorded is no longer the documented default (kept by a re-seed).
        diff["duration_is_default"] = [True, False]
    if admin and diff and not given and _needs_source(diff) and "source" not in problems:
        problems["source"] = FieldProblem("source_required")
    if problems:
        raise CatalogueInvalid(problems)
    if not diff:
        return None
    status = APPLIED if admin else PENDING
    with unit_of_work() as session:
        if admin:
            _set(entity, obj, {k: new for k, (_old, new) in diff.items()}, session)
        elif (waiting := _pending(entity, obj.id)) is not None:
            waiting.status, waiting.decided_at = SUPERSEDED, now  # the newer proposal wins
        return _record_change(
            session, entity, obj, diff, status=status, by=by, source=given, now=now
        )


def _new_slug(model: Any, wanted: str, base: str) -> tuple[str, FieldProblem | None]:
    if wanted:
        if not is_slug(wanted):
            return wanted, FieldProblem("invalid_slug")
        taken = db.session.scalar(select(model.id).where(model.slug == wanted)) is not None
        return wanted, FieldProblem("slug_taken") if taken else None
    base = (slugify(base) or "new")[:72].rstrip("-")
    taken = set(db.session.scalars(select(model.slug).where(model.slug.like(f"{base}%"))))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug, None


def _blank(entity: str) -> dict[str, Any]:
    names = [*records.SPECS[entity].names, *(TARGET_FIELDS if entity == "village" else ())]
    spec = {f.name: f for f in records.SPECS[entity].fields}
    return {n: (spec[n].default if n in spec else None) for n in names}


def create(
    entity: str,
    form: Mapping[str, Any],
    *,
    by: User,
    source: str | None,
    now: datetime,
    village_slug: str | None = None,
) -> Any:
    """A new village (or a new experience of ``village_slug``), by an admin, with its change.

    The slug is the form's ``slug`` or made from the English (else Vietnamese) name."""
    if not by.is_admin:
        raise Forbidden("admins only", code="admins_only")
    if entity not in ("village", "experience"):
        raise NotFound("no such kind of row", code="entity_not_found")
    names = FIELDS[entity]
    raw = form_values(entity, form, names)
    current = _blank(entity)
    village = None
    if entity == "experience":
        village = _load("village", village_slug or "")
        current["village"] = village.slug
        current["duration_is_default"] = False
        current["hours_are_default"] = False
    problems: dict[str, FieldProblem] = {}
    title = "title" if entity == "experience" else "name"
    wanted = _form_text(form, "slug").strip()
    base = f"{village.slug} " if village else ""
    base += raw.get(f"{title}_en") or raw.get(f"{title}_vi") or ""
    slug, slug_problem = _new_slug(MODELS[entity], wanted, base)
    if slug_problem:
        problems["slug"] = slug_problem
    current["slug"] = slug if is_slug(slug) else "new"
    clean, found = _validate(entity, current, raw, names, now)
    problems = {**found, **problems}
    given = _source(source, problems)
    if not given and "source" not in problems:
        problems["source"] = FieldProblem("source_required")
    if problems:
        raise CatalogueInvalid(problems)
    with unit_of_work() as session:
        obj = MODELS[entity](slug=slug)
        if entity == "experience":
            obj.village = village
            obj.duration_is_default = False
            obj.hours_are_default = False
            obj.weekly_hours, obj.closed_dates = {}, []
        session.add(obj)
        values = {k: clean.get(k) for k in names}
        _set(entity, obj, values, session)
        session.flush()
        diff = {"slug": [None, slug], **{k: [None, v] for k, v in values.items() if not _empty(v)}}
        _record_change(session, entity, obj, diff, status=APPLIED, by=by, source=given, now=now)
    return obj


def decide(
    change_id: int, *, approve: bool, note: str | None, by: User, now: datetime
) -> CatalogueChange:
    """An admin approves a waiting proposal (its values apply now) or rejects it (with a note
    the village reads). Conflict when it was already decided; CatalogueInvalid when the row
    has changed so that the proposal no longer passes the dataset's rules."""
    if not by.is_admin:
        raise Forbidden("admins only", code="admins_only")
    change = db.session.get(CatalogueChange, change_id) if isinstance(change_id, int) else None
    if change is None:
        raise NotFound("no such change", code="change_not_found")
    if change.status != PENDING:
        raise Conflict("this change was already decided", code="already_decided")
    text = (note or "").strip()
    if unsafe_text(text):
        raise CatalogueInvalid({"note": FieldProblem("invalid_text")})
    text = text[:MAX_NOTE] or None
    obj = db.session.get(MODELS[change.entity], change.entity_id)
    if obj is None:
        raise NotFound("the row of this change no longer exists", code="change_not_found")
    values = {k: new for k, (_old, new) in change.changes.items()}
    if approve:
        current = record_of(change.entity, obj)
        raw = {k: v for k, v in values.items() if k != "contact"}
        merged = {**current, **raw}
        spec = records.SPECS[change.entity]
        _clean, found = records.clean_row(
            spec, {k: v for k, v in merged.items() if k in spec.names}, 1
        )
        if found:
            raise CatalogueInvalid(
                {p.field: FieldProblem("record", reason=p.reason) for p in found}
            )
    with unit_of_work() as session:
        if approve:
            _set(change.entity, obj, values, session)
        change.status = APPROVED if approve else REJECTED
        change.decided_by, change.decided_at, change.decision_note = by.id, now, text
        event = "catalogue_change_approved" if approve else "catalogue_change_rejected"
        _log(event, change, obj, values, by, session)
    return change


# --- the seed keeps what was edited --------------------------------------------------------------


def edited_fields() -> dict[str, dict[int, set[str]]]:
    """``{entity: {row id: fields}}`` of every applied or approved change."""
    out: dict[str, dict[int, set[str]]] = {}
    rows = db.session.execute(
        select(CatalogueChange.entity, CatalogueChange.entity_id, CatalogueChange.changes).where(
            CatalogueChange.status.in_(IN_FORCE)
        )
    )
    for entity, entity_id, diff in rows:
        fields = out.setdefault(entity, {}).setdefault(entity_id, set())
        fields.update(k for k in diff if k != "slug")
    return out


def keep_edited(
    sections: Mapping[str, list[tuple[int, Mapping[str, Any]]]],
) -> dict[str, list[tuple[int, Mapping[str, Any]]]]:
    """The seed's rows with, for every field edited in pages (and the fields judged with it),
    the row's current value instead of the dataset's: a re-seed changes nothing that was edited
    and approved, and still brings every other field up to the dataset."""
    edited = edited_fields()
    out: dict[str, list[tuple[int, Mapping[str, Any]]]] = {}
    for entity, rows in sections.items():
        by_id = edited.get(entity)
        if not by_id:
            out[entity] = list(rows)
            continue
        model = MODELS[entity]
        slugs = {r.get("slug") for _n, r in rows}
        objs = {
            o.slug: o
            for o in db.session.scalars(
                select(model).where(model.id.in_(by_id), model.slug.in_(slugs))
            )
        }
        names = set(records.SPECS[entity].names)
        kept = []
        for number, row in rows:
            obj = objs.get(row.get("slug"))
            if obj is None:
                kept.append((number, row))
                continue
            fields = set(by_id[obj.id])
            for group in GROUPS:
                if fields & group:
                    fields |= group
            new = dict(row)
            for name in fields & names:
                new[name] = record_value(obj, name)
            kept.append((number, new))
        out[entity] = kept
    return out


# --- accounts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    id: int
    email: str
    role: str
    active: bool
    village: str | None
    agency: str | None
    created_at: datetime | None


def accounts(role: str | None = None, q: str | None = None) -> list[Account]:
    """Every account (village staff, agency users, admins), filtered by role and e-mail."""
    stmt = (
        select(User, Village.slug, Agency.name)
        .outerjoin(Village, User.village_id == Village.id)
        .outerjoin(Agency, User.agency_id == Agency.id)
        .order_by(User.role, User.email)
    )
    if role in ROLES:
        stmt = stmt.where(User.role == role)
    text = search_text(q or "").lower()
    if text:
        stmt = stmt.where(func.lower(User.email).contains(text))
    return [
        Account(u.id, u.email, u.role, bool(u.active), v, a, u.created_at)
        for u, v, a in db.session.execute(stmt)
    ]


def agency_choices() -> list[tuple[str, str]]:
    return [(a.slug, a.name) for a in db.session.scalars(select(Agency).order_by(Agency.name))]


def _random_password(email: str) -> str:
    # The agencies' generator: random, and passes the same strength rules.
    return agencies._new_password(email)


def create_account(
    email: str, role: str, *, village: str | None, agency: str | None, by: User
) -> dict[str, Any]:
    """A new account with a random password, returned once as ``password``.

    An e-mail that already has an account is refused (``email_taken``): no account is taken
    over. Village staff need a village, agency users an agency (through services.agencies).
    ValidationError names the field."""
    if not by.is_admin:
        raise Forbidden("admins only", code="admins_only")
    if role not in ROLES:
        raise ValidationError("choose a role", code="invalid_role", field="role")
    address = email_address(email, "email").lower()
    if role in AGENCY_ROLES:
        row = db.session.scalar(select(Agency).where(Agency.slug == (agency or "")))
        if row is None:
            raise ValidationError("choose an agency", code="invalid_agency", field="agency")
        return agencies.add_user(row.id, address, role, by=by.id)
    village_row = None
    if role == "village":
        village_row = db.session.scalar(select(Village).where(Village.slug == (village or "")))
        if village_row is None:
            raise ValidationError("choose a village", code="invalid_village", field="village")
    with unit_of_work() as session:
        taken = session.scalar(select(User.id).where(func.lower(User.email) == address))
        if taken is not None:
            raise ValidationError(
                "this e-mail already has an account", code="email_taken", field="email"
            )
        password = _random_password(address)
        user = User(
            email=address,
            password_hash=generate_password_hash(password),
            role=role,
            village_id=village_row.id if village_row else None,
            active=True,
            session_version=1,
        )
        session.add(user)
        session.flush()
        audit.record(
            "user_created",
            user_id=user.id,
            email=address,
            session=session,
            by=by.id,
            role=role,
            village=village_row.slug if village_row else None,
        )
        view = {"id": user.id, "email": address, "role": role, "password": password}
    return view


def _account(session: Any, user_id: int) -> User:
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None:
        raise NotFound("no such account", code="user_not_found")
    return user


def set_active(user_id: int, active: bool, *, by: User) -> User:
    """Suspend an account (every session ends at once; sign-in refused) or reactivate it.

    Nobody suspends their own account (so an admin always remains)."""
    if not by.is_admin:
        raise Forbidden("admins only", code="admins_only")
    user = _account(db.session, user_id)
    if not active and user.id == by.id:
        raise ValidationError(
            "you cannot suspend your own account", code="cannot_suspend_self", field="user"
        )
    if user.role in AGENCY_ROLES and user.agency_id is not None:
        agencies.set_user_active(user.agency_id, user.id, active, by=by.id)
        db.session.expire(user)
        return user
    with unit_of_work() as session:
        if user.active != active:
            user.active = active
            user.session_version = (user.session_version or 1) + 1
            audit.record(
                "user_reactivated" if active else "user_suspended",
                user_id=by.id,
                email=user.email,
                subject=str(user.id),
                session=session,
                role=user.role,
            )
    return user


def reset_password(user_id: int, *, by: User) -> dict[str, Any]:
    """A new random password for the account, returned once; its sessions end."""
    if not by.is_admin:
        raise Forbidden("admins only", code="admins_only")
    with unit_of_work() as session:
        user = _account(session, user_id)
        password = _random_password(user.email)
        user.password_hash = generate_password_hash(password)
        user.session_version = (user.session_version or 1) + 1
        audit.record(
            "password_changed",
            user_id=user.id,
            email=user.email,
            session=session,
            by=by.id,
        )
        view = {"id": user.id, "email": user.email, "role": user.role, "password": password}
    return view
