"""Tour routes: the city's curation (create, edit, publish, photos, history) and the lists.

A route is made from scratch, from a saved plan (its itinerary's villages and experiences in
order) or from a published package (through ``services.packages``); it is a draft until an
admin publishes it. Every change is one transaction with its audit event (``route_created``,
``route_changed`` with the changed fields as ``[old, new]``, ``route_published``,
``route_unpublished``, ``route_photos_changed``), read back by :func:`history`.

Photos are stored like product photos (``services.product_media``: checked, re-encoded without
metadata, content-addressed, with narrower copies): ``TourRoute.photos`` holds
``{"name", "alt_vi", "alt_en", "credit", "licence"}`` per photo, ``name`` being the stored file.

The public side (a route's typical day, planning it on a date) is ``services.route_plans``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from tourplanner.adapters.orm import (
    AuditEvent,
    Experience,
    Package,
    TourRoute,
    TourRouteStop,
    User,
    Village,
)
from tourplanner.domain import inputs
from tourplanner.domain import tour_routes as rules
from tourplanner.domain.catalogue import CATEGORIES
from tourplanner.domain.errors import NotFound, ValidationError
from tourplanner.domain.images import ImageProblem, check_image
from tourplanner.domain.planning import MODES
from tourplanner.domain.tour_routes import Problem, RouteInvalid, RouteNotPublishable
from tourplanner.extensions import db
from tourplanner.security import audit
from tourplanner.services import planning, product_media
from tourplanner.services.unit_of_work import unit_of_work

EVENTS = (
    "route_created",
    "route_changed",
    "route_published",
    "route_unpublished",
    "route_photos_changed",
)
PUBLISHED = "published"
DRAFT = "draft"
#: Where a route's typical day starts on its page (and the planner form's default).
CENTRE = "hoan-kiem-lake"
#: Columns compared (and logged) when a route is edited.
_COLUMNS = (*rules.TEXT_FIELDS, "length", "travel_mode", "interests")


@dataclass(frozen=True)
class PhotoUpload:
    filename: str
    data: bytes
    alt_vi: str = ""
    alt_en: str = ""
    credit: str = ""
    licence: str = ""


# --- reading --------------------------------------------------------------------------------


def _query():
    return select(TourRoute).options(
        selectinload(TourRoute.stops).selectinload(TourRouteStop.village),
        selectinload(TourRoute.stops).selectinload(TourRouteStop.experience),
    )


def list_routes() -> list[TourRoute]:
    """Every route, drafts included, newest first (the curation list)."""
    return list(db.session.scalars(_query().order_by(TourRoute.updated_at.desc())))


def published_routes() -> list[TourRoute]:
    """Published routes: real ones first, then by Vietnamese name."""
    stmt = _query().where(TourRoute.status == PUBLISHED)
    return list(db.session.scalars(stmt.order_by(TourRoute.is_sample, TourRoute.name_vi)))


#: Filters of the public list (``GET /api/v1/routes``); ``lang`` is ignored like elsewhere.
FILTERS = ("village", "interest", "length")


def _refused(name: str, value: str, code: str = "invalid_filter") -> ValidationError:
    shown = value[: inputs.MAX_PARAM_CHARS]
    return ValidationError(
        f"unknown value {shown!r} for {name!r}", code=code, field=name, parameter=name, value=shown
    )


def published_filtered(args: Mapping[str, str]) -> list[TourRoute]:
    """Published routes through a village, serving a craft, of a length (all optional).

    Unknown parameters and values are refused (400), as the catalogue's lists do.
    """
    unknown = sorted(set(args) - {*FILTERS, "lang"})
    if unknown:
        raise ValidationError(
            f"unknown parameter {unknown[0][: inputs.MAX_PARAM_CHARS]!r}",
            code="unknown_parameter",
            parameter=unknown[0][: inputs.MAX_PARAM_CHARS],
            allowed=list(FILTERS),
        )
    routes = published_routes()
    if "village" in args:
        village = db.session.scalar(select(Village.id).where(Village.slug == args["village"]))
        if village is None:
            raise _refused("village", args["village"])
        routes = [r for r in routes if any(s.village_id == village for s in r.stops)]
    if "interest" in args:
        if args["interest"] not in CATEGORIES:
            raise _refused("interest", args["interest"])
        routes = [r for r in routes if args["interest"] in crafts(r)]
    if "length" in args:
        if args["length"] not in rules.LENGTHS:
            raise _refused("length", args["length"])
        routes = [r for r in routes if r.length == args["length"]]
    return routes


def crafts(route: TourRoute) -> list[str]:
    """The crafts a route serves: those named by the office, then its villages' crafts."""
    out = list(route.interests or [])
    out += [s.village.category for s in route.stops if s.village.category not in out]
    return out


def get_route(slug: str) -> TourRoute:
    """A route in any state (admins)."""
    route = db.session.scalar(_query().where(TourRoute.slug == slug)) if len(slug) <= 120 else None
    if route is None:
        raise NotFound(f"no tour route {slug!r}", code="route_not_found", slug=slug[:120])
    return route


def get_published(slug: str) -> TourRoute:
    """A published route; a draft is not found."""
    route = get_route(slug)
    if route.status != PUBLISHED:
        raise NotFound(f"no tour route {slug!r}", code="route_not_found", slug=slug)
    return route


def routes_through(village_id: int) -> list[TourRoute]:
    """Published routes with a stop in the village."""
    stmt = select(TourRouteStop.route_id).where(TourRouteStop.village_id == village_id)
    ids = set(db.session.scalars(stmt))
    return [r for r in published_routes() if r.id in ids] if ids else []


def history(slug: str) -> list[AuditEvent]:
    """The route's audit events, newest first."""
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.subject == slug, AuditEvent.event.in_(EVENTS))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )
    return list(db.session.scalars(stmt))


def form_values(route: TourRoute) -> dict[str, Any]:
    """A route as the input :func:`create_route` / :func:`update_route` take."""
    values: dict[str, Any] = {name: getattr(route, name) or "" for name in rules.TEXT_FIELDS}
    values.update(
        slug=route.slug,
        length=route.length,
        travel_mode=route.travel_mode,
        interests=list(route.interests or []),
        stops=[
            {
                "village": s.village.slug,
                "experience": s.experience.slug if s.experience else "",
                "day": s.day,
                "note_vi": s.note_vi or "",
                "note_en": s.note_en or "",
            }
            for s in route.stops
        ],
    )
    return values


# --- writing --------------------------------------------------------------------------------


def _email(user_id: int | None) -> str | None:
    """Who acted, as the audit log shows it."""
    user = db.session.get(User, user_id) if user_id else None
    return user.email if user else None


def _log(event: str, route: TourRoute, user_id: int | None, session: Any, **details: Any) -> None:
    """The route's audit event, in the transaction of the change it records."""
    audit.record(
        event,
        user_id=user_id,
        email=_email(user_id),
        subject=route.slug,
        session=session,
        **details,
    )


def _slug_taken(slug: str) -> bool:
    return db.session.scalar(select(TourRoute.id).where(TourRoute.slug == slug)) is not None


def _by_slug(model: Any, slugs: set[str]) -> dict[str, Any]:
    if not slugs:
        return {}
    return {row.slug: row for row in db.session.scalars(select(model).where(model.slug.in_(slugs)))}


Resolved = list[tuple[rules.StopFields, Village, Experience | None]]


def _resolve(fields: rules.RouteFields) -> Resolved:
    """Villages and experiences of the stops; raises RouteInvalid naming each unknown one."""
    villages = _by_slug(Village, {s.village for s in fields.stops})
    experiences = _by_slug(Experience, {s.experience for s in fields.stops if s.experience})
    problems: dict[str, Problem] = {}
    resolved = []
    for n, stop in enumerate(fields.stops):
        village = villages.get(stop.village)
        experience = experiences.get(stop.experience) if stop.experience else None
        if village is None:
            problems[f"stops.{n}.village"] = Problem("unknown_village")
        elif stop.experience and (experience is None or experience.village_id != village.id):
            problems[f"stops.{n}.experience"] = Problem("experience_not_in_village")
        else:
            resolved.append((stop, village, experience))
    if problems:
        raise RouteInvalid(problems)
    return resolved


def _stop_key(day: int, village: Village, experience: Experience | None) -> str:
    """A stop as the change log compares and shows it: ``day:village:experience``."""
    return f"{day}:{village.slug}:{experience.slug if experience else ''}"


def _apply(
    route: TourRoute,
    fields: rules.RouteFields,
    resolved: Resolved,
) -> dict[str, list[Any]]:
    """Write the fields on the route; returns the changes as ``{field: [old, new]}``."""
    before = {name: getattr(route, name) for name in _COLUMNS}
    old_stops = [_stop_key(s.day, s.village, s.experience) for s in route.stops] if route.id else []
    for name in rules.TEXT_FIELDS:
        setattr(route, name, fields.text(name))
    route.length, route.travel_mode = fields.length, fields.travel_mode
    route.interests = list(fields.interests)
    # The columns are NOT NULL: a name not given yet is empty (pages show the other one).
    route.name_vi, route.name_en = route.name_vi or "", route.name_en or ""
    route.stops = [
        TourRouteStop(
            position=n,
            day=stop.day,
            village=village,
            experience=experience,
            note_vi=stop.note_vi,
            note_en=stop.note_en,
        )
        for n, (stop, village, experience) in enumerate(resolved)
    ]
    changes = {
        name: [before[name], getattr(route, name)]
        for name in _COLUMNS
        if before[name] != getattr(route, name)
    }
    new_stops = [_stop_key(stop.day, village, experience) for stop, village, experience in resolved]
    if new_stops != old_stops:
        changes["stops"] = [old_stops, new_stops]
    return changes


def _publish_problems(route: TourRoute) -> dict[str, Problem]:
    texts = {name: getattr(route, name) for name in rules.TEXT_FIELDS}
    unmapped = [n for n, s in enumerate(route.stops) if not s.village.has_position]
    return rules.publish_problems(texts, route.length, [s.day for s in route.stops], unmapped)


def _free_slug(base: str) -> str:
    taken = set(db.session.scalars(select(TourRoute.slug).where(TourRoute.slug.like(f"{base}%"))))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def create_route(
    data: object,
    *,
    user_id: int | None,
    now: datetime | None = None,
    source_plan_id: str | None = None,
    source_package_id: int | None = None,
    is_sample: bool = False,
) -> TourRoute:
    """A new draft route. Raises RouteInvalid with every problem (nothing is written then)."""
    fields = rules.parse_route(data, modes=MODES)
    resolved = _resolve(fields)
    if fields.slug and _slug_taken(fields.slug):
        raise RouteInvalid({"slug": Problem("slug_taken")})
    now = now or datetime.now(UTC)
    with unit_of_work() as session:
        route = TourRoute(
            slug=fields.slug or _free_slug(fields.suggested_slug()),
            status=DRAFT,
            source_plan_id=source_plan_id,
            source_package_id=source_package_id,
            is_sample=is_sample,
            created_by=user_id,
            created_at=now,
            updated_at=now,
        )
        _apply(route, fields, resolved)
        session.add(route)
        session.flush()
        source = "plan" if source_plan_id else "package" if source_package_id else "scratch"
        _log("route_created", route, user_id, session, source=source, stops=len(route.stops))
    return route


def update_route(
    slug: str, data: object, *, user_id: int | None, now: datetime | None = None
) -> TourRoute:
    """Save an edit. A published route stays published, so it must stay publishable (422)."""
    route = get_route(slug)
    fields = rules.parse_route(data, modes=MODES)
    resolved = _resolve(fields)
    with unit_of_work() as session:
        changes = _apply(route, fields, resolved)
        if route.status == PUBLISHED and (problems := _publish_problems(route)):
            raise RouteNotPublishable(problems)
        if changes:
            route.updated_at = now or datetime.now(UTC)
            _log("route_changed", route, user_id, session, changes=_loggable(changes))
    return route


def _loggable(changes: Mapping[str, list[Any]]) -> dict[str, list[Any]]:
    """Changes as JSON, long texts shortened (the log says what changed, not every word)."""
    out = {}
    for name, pair in changes.items():
        out[name] = [v[:200] + "…" if isinstance(v, str) and len(v) > 200 else v for v in pair]
    return out


def publish(slug: str, *, user_id: int | None, now: datetime | None = None) -> TourRoute:
    """Publish a draft; raises RouteNotPublishable (422) naming what is missing."""
    route = get_route(slug)
    problems = _publish_problems(route)
    if problems:
        raise RouteNotPublishable(problems)
    if route.status == PUBLISHED:
        return route
    now = now or datetime.now(UTC)
    with unit_of_work() as session:
        route.status, route.published_at, route.updated_at = PUBLISHED, now, now
        _log("route_published", route, user_id, session)
    return route


def unpublish(slug: str, *, user_id: int | None, now: datetime | None = None) -> TourRoute:
    """Back to draft: off the public pages, the API and the targets' count."""
    route = get_route(slug)
    if route.status != PUBLISHED:
        return route
    with unit_of_work() as session:
        route.status, route.published_at = DRAFT, None
        route.updated_at = now or datetime.now(UTC)
        _log("route_unpublished", route, user_id, session)
    return route


# --- from a saved plan or a package ---------------------------------------------------------


def from_plan_input(plan_id: str, itinerary: int = 0) -> dict[str, Any]:
    """The input of a draft route made from one itinerary of a saved plan."""
    row = planning.get_plan(plan_id)
    itineraries = row.result.get("itineraries") or []
    if not 0 <= itinerary < len(itineraries):
        raise ValidationError(
            "the plan has no such itinerary", code="no_itinerary", field="plan", plan=plan_id
        )
    chosen = itineraries[itinerary]
    stops: list[dict[str, Any]] = []
    for s in chosen["stops"]:  # a village once, where it first comes; its workshop if any
        if s.get("kind") == "shopping":
            continue  # a sales point is not a village stop of a tour route
        kept = next((k for k in stops if k["village"] == s["village"]), None)
        if kept is None:
            stops.append({"village": s["village"], "experience": s["experience_slug"]})
        elif s["kind"] == "workshop":
            kept["experience"] = s["experience_slug"]
    leave, back = (datetime.fromisoformat(chosen[k]) for k in ("leave", "return"))
    names = [
        next(s["village_name"] for s in chosen["stops"] if s["village"] == kept["village"])
        for kept in stops
    ]
    interests = [c for c, w in (row.request.get("interests") or {}).items() if w > 0]
    interests += [s["category"] for s in chosen["stops"] if s["category"] not in interests]
    return {
        "name_vi": " – ".join(n["vi"] for n in names)[: rules.TEXT_LIMITS["name"]],
        "name_en": " – ".join(n["en"] or n["vi"] for n in names)[: rules.TEXT_LIMITS["name"]],
        "length": rules.length_for_day(int((back - leave).total_seconds() // 60)),
        "travel_mode": row.request.get("mode") or "car",
        "interests": interests,
        "stops": stops,
    }


def plan_id_from(text: str) -> str:
    """A plan id from what an admin pastes: the id or the plan's address."""
    value = (text or "").strip().rstrip("/")
    value = value.split("?")[0].split("#")[0].rsplit("/", 1)[-1]
    if not value or len(value) > 32:
        raise ValidationError("give a plan's id or address", code="invalid_plan", field="plan")
    return value


def create_from_plan(
    plan_ref: str, *, itinerary: int = 0, user_id: int | None, now: datetime | None = None
) -> TourRoute:
    """A draft route with the villages and experiences of a saved plan's itinerary, in order."""
    plan_id = plan_id_from(plan_ref)
    try:
        data = from_plan_input(plan_id, itinerary)
    except NotFound as exc:
        raise ValidationError(exc.message, code=exc.code, field="plan", plan=plan_id) from None
    return create_route(data, user_id=user_id, now=now, source_plan_id=plan_id)


def _packages_module() -> Any:
    """``services.packages`` once it offers what a route needs, else None."""
    try:
        from tourplanner.services import packages
    except ImportError:
        return None
    return (
        packages
        if hasattr(packages, "get_published") and hasattr(packages, "list_published")
        else None
    )


def packages_available() -> bool:
    return _packages_module() is not None


def from_package_input(view: Mapping[str, Any]) -> dict[str, Any]:
    """The input of a draft route made from a published package's public view
    (``services.packages.get_published``): its stops day by day, a village once; a third
    day and later join the second (a route lasts at most two days)."""
    stops: list[dict[str, Any]] = []
    for day in view.get("days") or []:
        for stop in day.get("stops") or []:
            village = stop["village"]["slug"]
            if all(village != kept["village"] for kept in stops):
                number = min(int(day.get("number") or 1), 2)
                stops.append({"village": village, "experience": stop["experience"], "day": number})
    name, description = view.get("name") or {}, view.get("description") or {}
    two = any(s["day"] == 2 for s in stops)
    return {
        "name_vi": (name.get("vi") or "")[: rules.TEXT_LIMITS["name"]],
        "name_en": (name.get("en") or "")[: rules.TEXT_LIMITS["name"]],
        "summary_vi": (description.get("vi") or "")[: rules.TEXT_LIMITS["summary"]],
        "summary_en": (description.get("en") or "")[: rules.TEXT_LIMITS["summary"]],
        "length": "two_days" if two else "day",
        "travel_mode": view.get("travel_mode") or "car",
        "interests": list(view.get("interests") or []),
        "stops": stops[: rules.MAX_STOPS],
    }


def create_from_package(
    slug: str, *, user_id: int | None, now: datetime | None = None
) -> TourRoute:
    """A draft route with the stops of a published package (its days and stops in order)."""
    packages = _packages_module()
    if packages is None:
        raise ValidationError(
            "packages are not available yet", code="packages_unavailable", field="package"
        )
    try:
        view = packages.get_published(slug)
    except NotFound as exc:
        raise ValidationError(exc.message, code=exc.code, field="package", slug=slug) from None
    package_id = db.session.scalar(select(Package.id).where(Package.slug == view["slug"]))
    data = from_package_input(view)
    return create_route(data, user_id=user_id, now=now, source_package_id=package_id)


def published_packages() -> list[dict[str, Any]]:
    """The public views of the published packages (empty while packages are not available)."""
    packages = _packages_module()
    if packages is None:
        return []
    return [packages.get_published(p["slug"]) for p in packages.list_published()]


# --- photos ---------------------------------------------------------------------------------


def _photo_entry(checked_name: str, upload: PhotoUpload) -> dict[str, str]:
    entry = {"name": checked_name}
    for key, limit in (("alt_vi", 300), ("alt_en", 300), ("credit", 200), ("licence", 100)):
        entry[key] = " ".join(str(getattr(upload, key) or "").split())[:limit]
    return entry


def add_photos(slug: str, uploads: Sequence[PhotoUpload], *, user_id: int | None) -> TourRoute:
    """Add photos (checked and stored like product photos). Raises RouteInvalid on a bad file."""
    route = get_route(slug)
    if len(route.photos or []) + len(uploads) > rules.MAX_PHOTOS:
        raise RouteInvalid({"photos": Problem("too_many_photos", {"max": rules.MAX_PHOTOS})})
    checked = []
    for upload in uploads:
        try:
            checked.append(check_image(upload.data))
        except ImageProblem as exc:
            problem = Problem("bad_photo", {"file": upload.filename[:100], "reason": str(exc)})
            raise RouteInvalid({"photos": problem}) from None
    with product_media.staged() as stage, unit_of_work() as session:
        stage.write(checked)
        entries = [_photo_entry(c.stored_name, u) for c, u in zip(checked, uploads, strict=True)]
        route.photos = [*(route.photos or []), *entries]
        _log("route_photos_changed", route, user_id, session, added=[e["name"] for e in entries])
    return route


def remove_photo(slug: str, name: str, *, user_id: int | None) -> TourRoute:
    """Take a photo off the route (the file stays: other rows may share it)."""
    route = get_route(slug)
    kept = [p for p in route.photos or [] if p.get("name") != name]
    if len(kept) == len(route.photos or []):
        return route
    with unit_of_work() as session:
        route.photos = kept
        _log("route_photos_changed", route, user_id, session, removed=[name])
    return route


# --- sample routes (flask seed --demo) ------------------------------------------------------


def _sample_routes() -> list[dict[str, Any]]:
    text = resources.files("tourplanner.data").joinpath("demo_routes.json").read_text("utf-8")
    return json.loads(text)["routes"]


def seed_demo_routes(now: datetime | None = None) -> list[str]:
    """Create and publish the sample routes that are not there yet (flagged ``is_sample``).

    Idempotent by slug: a route already there (edited or not) is left as it is. Returns the
    slugs created.
    """
    created = []
    for data in _sample_routes():
        if _slug_taken(data["slug"]):
            continue
        route = create_route(data, user_id=None, now=now, is_sample=True)
        publish(route.slug, user_id=None, now=now)
        created.append(route.slug)
    return created
