"""Catalogue queries for the API and the handbook pages: filters, search, pagination, detail.

Filters arrive as plain strings (query parameters); every bad value raises a
:class:`~tourplanner.domain.errors.ValidationError` naming the parameter.
Ordering is stable (by slug), so pages never skip or repeat rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, String, cast, func, or_, select
from sqlalchemy.orm import selectinload

from tourplanner.adapters.orm import Experience, Landmark, Product, Village
from tourplanner.domain import inputs
from tourplanner.domain.catalogue import CATEGORIES, fold
from tourplanner.domain.collation import vietnamese_key
from tourplanner.domain.errors import NotFound, ValidationError
from tourplanner.extensions import db


@dataclass(frozen=True)
class Page:
    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def parse_bool(name: str, value: str) -> bool:
    """Exactly ``true`` or ``false``, the two values the OpenAPI document lists."""
    if value == "true":
        return True
    if value == "false":
        return False
    raise ValidationError(
        f"'{name}' must be true or false",
        code="invalid_filter",
        field=name,
        parameter=name,
        value=value[: inputs.MAX_PARAM_CHARS],
    )


def parse_int(name: str, value: str, low: int, high: int | None = None) -> int:
    """A bounded whole number in ASCII digits (at most 2**31 - 1 when no bound is given)."""
    return inputs.int_param(value, name, low=low, high=inputs.MAX_INT32 if high is None else high)


def _choice(name: str, value: str, allowed: list[str] | tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValidationError(
            f"unknown value {value[: inputs.MAX_PARAM_CHARS]!r} for '{name}'",
            code="invalid_filter",
            field=name,
            parameter=name,
            value=value[: inputs.MAX_PARAM_CHARS],
            allowed=list(allowed),
        )
    return value


def districts() -> list[str]:
    return list(db.session.scalars(select(Village.district).distinct().order_by(Village.district)))


def village_slugs() -> list[str]:
    """Every village slug: the values of the ``village`` filters (the OpenAPI enum)."""
    return list(db.session.scalars(select(Village.slug).order_by(Village.slug)))


def _search(column, q: str):
    """Every folded search word must occur; ``%`` and ``_`` are letters, not LIKE wildcards.

    Bounded first (characters and words): each word is one condition of the query.
    """
    terms = fold(inputs.search_text(q)).split()
    return [column.contains(term, autoescape=True) for term in terms]


def bookable_clause() -> tuple:
    """SQL twin of :attr:`Experience.bookable`: a workshop with hours, capacity and adult price."""
    return (
        Experience.kind == "workshop",
        cast(Experience.weekly_hours, String) != "{}",
        Experience.capacity > 0,
        Experience.price_adult_vnd.is_not(None),
    )


def _bookable_village_ids() -> Select:
    return select(Experience.village_id).where(*bookable_clause())


#: ``ocop``: any certified product, or at least this many stars.
OCOP_VALUES = ("any", "3", "4", "5")
#: ``stars``: exactly this many OCOP stars.
STARS = ("3", "4", "5")
KINDS = ("visit", "workshop")
BOOLEANS = ("true", "false")

VillageFilter = Callable[[Select, str], Select]


def _village_filters() -> dict[str, VillageFilter]:
    def bookable(stmt: Select, v: str) -> Select:
        ids = _bookable_village_ids()
        wanted = parse_bool("bookable", v)
        return stmt.where(Village.id.in_(ids) if wanted else Village.id.not_in(ids))

    def traditional(stmt: Select, v: str) -> Select:
        wanted = parse_bool("traditional", v)
        return stmt.where(
            Village.recognised_traditional.is_(True)
            if wanted
            else or_(
                Village.recognised_traditional.is_(None), Village.recognised_traditional.is_(False)
            )
        )

    def position(stmt: Select, v: str) -> Select:
        if parse_bool("position", v):
            return stmt.where(Village.lat.is_not(None), Village.lon.is_not(None))
        return stmt.where(or_(Village.lat.is_(None), Village.lon.is_(None)))

    return {
        "district": lambda s, v: s.where(Village.district == _choice("district", v, districts())),
        "position": position,
        "category": lambda s, v: s.where(Village.category == _choice("category", v, CATEGORIES)),
        "traditional": traditional,
        "bookable": bookable,
        "q": lambda s, v: s.where(*_search(Village.search_text, v)),
    }


def _product_filters() -> dict[str, Callable[[Select, str], Select]]:
    def ocop(stmt: Select, v: str) -> Select:
        # "Certified" excludes rows whose source says the certification is not confirmed.
        confirmed = or_(Product.ocop_status.is_(None), Product.ocop_status == "certified")
        if _choice("ocop", v, OCOP_VALUES) == "any":
            return stmt.where(Product.ocop_stars.is_not(None), confirmed)
        return stmt.where(Product.ocop_stars >= int(v), confirmed)

    def certified(stmt: Select, v: str) -> Select:
        if parse_bool("certified", v):
            return stmt.where(Product.ocop_status == "certified")
        return stmt.where(or_(Product.ocop_status.is_(None), Product.ocop_status != "certified"))

    return {
        "village": lambda s, v: s.where(Product.village_id == _village_id(v)),
        "category": lambda s, v: s.where(Product.category == _choice("category", v, CATEGORIES)),
        "ocop": ocop,
        "stars": lambda s, v: s.where(Product.ocop_stars == int(_choice("stars", v, STARS))),
        "certified": certified,
        "ip_protected": lambda s, v: s.where(
            Product.ip_protected.is_(True)
            if parse_bool("ip_protected", v)
            else Product.ip_protected.is_not(True)
        ),
        "q": lambda s, v: s.where(*_search(Product.search_text, v)),
    }


def _experience_filters() -> dict[str, Callable[[Select, str], Select]]:
    def bookable(stmt: Select, v: str) -> Select:
        ids = select(Experience.id).where(*bookable_clause())
        wanted = parse_bool("bookable", v)
        return stmt.where(Experience.id.in_(ids) if wanted else Experience.id.not_in(ids))

    return {
        "village": lambda s, v: s.where(Experience.village_id == _village_id(v)),
        "kind": lambda s, v: s.where(Experience.kind == _choice("kind", v, KINDS)),
        "category": lambda s, v: s.where(
            Experience.village.has(Village.category == _choice("category", v, CATEGORIES))
        ),
        "bookable": bookable,
        "sample": lambda s, v: s.where(Experience.is_sample.is_(parse_bool("sample", v))),
    }


FILTERS = {
    "villages": (Village, _village_filters),
    "products": (Product, _product_filters),
    "experiences": (Experience, _experience_filters),
    "landmarks": (Landmark, dict),
}
PAGING = ("page", "per_page")


def filter_names(resource: str) -> list[str]:
    return list(FILTERS[resource][1]())


def list_page(
    resource: str,
    args: Mapping[str, str],
    *,
    default_size: int,
    max_size: int,
    ignore: tuple[str, ...] = ("lang",),
) -> Page:
    """One page of a resource, filtered by ``args``. Unknown parameters are refused."""
    model, make_filters = FILTERS[resource]
    filters = make_filters()
    unknown = sorted(set(args) - set(filters) - set(PAGING) - set(ignore))
    if unknown:
        raise ValidationError(
            f"unknown parameter {unknown[0]!r}",
            code="unknown_parameter",
            parameter=unknown[0],
            allowed=sorted([*filters, *PAGING]),
        )
    page = parse_int("page", args.get("page", "1"), 1)
    per_page = parse_int("per_page", args.get("per_page", str(default_size)), 1, max_size)
    stmt = select(model)
    if model is Product:  # a village's own entry is public once an admin has approved it
        stmt = stmt.where(Product.review_status == PUBLISHED)
    for name, value in args.items():
        # Empty values are refused like any other value outside the documented ones (the
        # handbook pages drop the empty fields of their forms before calling).
        if name in filters:
            stmt = filters[name](stmt, value)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return Page(_in_name_order(model, stmt, page, per_page), page, per_page, total)


#: The Vietnamese name each list is sorted by (Vietnamese alphabetical order, then the slug).
NAME_COLUMNS = {
    Village: Village.name_vi,
    Product: Product.name_vi,
    Experience: Experience.title_vi,
    Landmark: Landmark.name_vi,
}


def _in_name_order(model, stmt: Select, page: int, per_page: int) -> list:
    """One page of ``stmt``'s rows in Vietnamese alphabetical order of their names.

    SQLite and PostgreSQL (without an ICU collation) cannot sort Vietnamese, so the ids and
    names of every matching row are read and sorted here (O(n log n), n is the catalogue's
    size: hundreds), then the page's rows are loaded.
    """
    name = NAME_COLUMNS[model]
    rows = db.session.execute(stmt.with_only_columns(model.id, name, model.slug)).all()
    rows.sort(key=lambda r: (vietnamese_key(r[1]), r[2]))
    ids = [r[0] for r in rows[(page - 1) * per_page : page * per_page]]
    loaded = {
        o.id: o for o in db.session.scalars(_eager(model, select(model).where(model.id.in_(ids))))
    }
    return [loaded[i] for i in ids]


def by_name(rows: list, attribute: str = "name_vi") -> list:
    """``rows`` in Vietnamese alphabetical order of ``attribute`` (then the slug)."""
    return sorted(rows, key=lambda r: (vietnamese_key(getattr(r, attribute)), r.slug))


PUBLISHED = "published"


def _eager(model, stmt: Select) -> Select:
    if model is Village:
        return stmt.options(selectinload(Village.experiences), selectinload(Village.products))
    if model in (Product, Experience):
        return stmt.options(selectinload(model.village))
    return stmt


def _village_id(slug: str) -> int:
    """The id of the village a ``village`` filter names; an unknown slug is a bad filter (400)."""
    village_id = db.session.scalar(select(Village.id).where(Village.slug == slug))
    if village_id is None:
        raise ValidationError(
            f"unknown value {slug[: inputs.MAX_PARAM_CHARS]!r} for 'village'",
            code="invalid_filter",
            field="village",
            parameter="village",
            value=slug[: inputs.MAX_PARAM_CHARS],
        )
    return village_id


def get_village(slug: str) -> Village:
    village = db.session.scalar(
        select(Village)
        .where(Village.slug == slug)
        .options(
            selectinload(Village.products),
            selectinload(Village.experiences).selectinload(Experience.photos),
            selectinload(Village.photos),
        )
    )
    if village is None:
        raise NotFound(f"no village {slug!r}", code="village_not_found", slug=slug)
    return village


def _by_slug(model, slug: str, code: str):
    obj = db.session.scalar(select(model).where(model.slug == slug))
    if obj is None:
        raise NotFound(f"no {model.__name__.lower()} {slug!r}", code=code, slug=slug)
    return obj


def get_product(slug: str, *, include_unpublished: bool = False) -> Product:
    """A public product; one waiting for review (or rejected) is not found."""
    product = _by_slug(Product, slug, "product_not_found")
    if product.review_status != PUBLISHED and not include_unpublished:
        raise NotFound(f"no product {slug!r}", code="product_not_found", slug=slug)
    return product


def get_experience(ref: str) -> Experience:
    """An experience by numeric id or by slug."""
    if not (ref.isascii() and ref.isdigit()):
        return _by_slug(Experience, ref, "experience_not_found")
    number = int(ref) if len(ref) <= 10 else None
    # Beyond 2**31 - 1 no row can exist (and PostgreSQL would overflow): simply not found.
    experience = (
        db.session.get(Experience, number) if number and number <= inputs.MAX_INT32 else None
    )
    if experience is None:
        raise NotFound(f"no experience {ref!r}", code="experience_not_found", ref=ref)
    return experience


def get_landmark(slug: str) -> Landmark:
    return _by_slug(Landmark, slug, "landmark_not_found")


def all_villages() -> list[Village]:
    """Every village in Vietnamese alphabetical order."""
    return by_name(
        list(db.session.scalars(select(Village).options(selectinload(Village.experiences))))
    )


def villages_with_products() -> list[Village]:
    """Villages that have a published product: the choices of the catalogue's village filter."""
    ids = select(Product.village_id).where(Product.review_status == PUBLISHED)
    return by_name(list(db.session.scalars(select(Village).where(Village.id.in_(ids)))))


def mapped_villages() -> list[Village]:
    """Villages with a sourced position: the only ones on a map or offered to the planner."""
    return [v for v in all_villages() if v.has_position]


def plannable_villages() -> list[Village]:
    """Villages the planner can visit: a position and at least one experience."""
    return [v for v in mapped_villages() if v.experiences]


def all_landmarks() -> list[Landmark]:
    return by_name(list(db.session.scalars(select(Landmark))))


def catalogue_version() -> str:
    """Changes whenever a village or experience changes (keys the route-matrix cache)."""
    parts = []
    for model in (Village, Experience):
        count, latest = db.session.execute(
            select(func.count(model.id), func.max(model.updated_at))
        ).one()
        parts.append(f"{count}:{latest}")
    return "|".join(parts)


def directions_from(
    lat: float, lon: float, dest_lat: float, dest_lon: float, config: Mapping[str, Any]
) -> dict[str, Any]:
    """Straight-line distance, estimated travel minutes per mode and directions links.

    The estimates come from the route engine's travel-time provider (the same model the
    planner uses; see docs/routing.md), so the handbook and the planner never disagree.
    """
    from geopy.distance import geodesic

    from tourplanner.routing.travel_time import Mode, provider_from_config

    provider = provider_from_config(dict(config))
    points = [(lat, lon), (dest_lat, dest_lon)]
    estimates = []
    for mode in (Mode.MOTORBIKE, Mode.CAR, Mode.BUS_TAXI, Mode.BICYCLE):
        minutes, km = provider.matrix(points, mode)
        estimates.append(
            {"mode": mode.value, "minutes": round(minutes[0][1]), "km": round(km[0][1], 1)}
        )
    return {
        "km": round(geodesic((lat, lon), (dest_lat, dest_lon)).km, 1),
        "estimates": estimates,
        "google": "https://www.google.com/maps/dir/?api=1"
        f"&origin={lat},{lon}&destination={dest_lat},{dest_lon}",
        "osm": "https://www.openstreetmap.org/directions?engine=fossgis_osrm_car"
        f"&route={lat}%2C{lon}%3B{dest_lat}%2C{dest_lon}",
    }
