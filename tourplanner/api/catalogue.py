"""Catalogue endpoints: villages, products, experiences, landmarks and the villages GeoJSON."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request, url_for

from tourplanner.api import bp, schemas
from tourplanner.api.openapi import (
    add_filler,
    add_paths,
    add_schemas,
    add_tag,
    error_responses,
    integer,
    json_response,
    path_param,
    query_param,
    ref,
)
from tourplanner.domain import inputs
from tourplanner.domain.catalogue import CATEGORIES
from tourplanner.domain.records import COORD_QUALITIES
from tourplanner.services import catalogue

SERIALIZERS = {
    "villages": schemas.village_summary,
    "products": schemas.product,
    "experiences": schemas.experience,
    "landmarks": schemas.landmark,
}


def _list(resource: str):
    page = catalogue.list_page(
        resource,
        request.args.to_dict(),
        default_size=current_app.config["API_PAGE_SIZE"],
        max_size=current_app.config["API_MAX_PAGE_SIZE"],
    )
    # Relative links: the request's Host header never appears in an answer.
    links: dict[str, str | None] = {"next": None, "prev": None}
    args = request.args.to_dict()
    if page.page < page.pages:
        links["next"] = url_for(request.endpoint, **{**args, "page": page.page + 1})
    if page.page > 1:
        links["prev"] = url_for(request.endpoint, **{**args, "page": page.page - 1})
    return jsonify(
        {
            "items": [SERIALIZERS[resource](item) for item in page.items],
            "page": page.page,
            "per_page": page.per_page,
            "total": page.total,
            "pages": page.pages,
            "links": links,
        }
    )


@bp.get("/villages")
def villages():
    return _list("villages")


@bp.get("/villages/<slug>")
def village_detail(slug: str):
    return jsonify(schemas.village_detail(catalogue.get_village(slug)))


@bp.get("/villages.geojson")
def villages_geojson():
    features = [schemas.village_feature(v) for v in catalogue.mapped_villages()]
    response = jsonify({"type": "FeatureCollection", "features": features})
    response.mimetype = "application/geo+json"
    return response


@bp.get("/products")
def products():
    return _list("products")


@bp.get("/products/<slug>")
def product_detail(slug: str):
    return jsonify(schemas.product(catalogue.get_product(slug)))


@bp.get("/experiences")
def experiences():
    return _list("experiences")


@bp.get("/experiences/<ref>")
def experience_detail(ref: str):
    return jsonify(schemas.experience_detail(catalogue.get_experience(ref)))


@bp.get("/landmarks")
def landmarks():
    return _list("landmarks")


@bp.get("/landmarks/<slug>")
def landmark_detail(slug: str):
    return jsonify(schemas.landmark(catalogue.get_landmark(slug)))


# --- OpenAPI description -------------------------------------------------------------------

NULLABLE_BOOL = {"type": ["boolean", "null"]}
NULLABLE_STR = {"type": ["string", "null"]}
NULLABLE_INT = {"type": ["integer", "null"]}
STR_LIST = {"type": "array", "items": {"type": "string"}}
CATEGORY = {"type": "string", "enum": list(CATEGORIES)}
BOOL_TEXT = {
    "type": "string",
    "enum": list(catalogue.BOOLEANS),
    "description": "Exactly true or false (0, 1, yes, no are refused with 400)",
}


def _obj(required: list[str], **props: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props}


NULLABLE_NUM = {"type": ["number", "null"]}
LOCATION = _obj(
    ["lat", "lon", "quality"],
    lat={**NULLABLE_NUM, "description": "null when the position is not known yet"},
    lon=NULLABLE_NUM,
    quality={"type": "string", "enum": list(COORD_QUALITIES)},
    note=NULLABLE_STR,
)
ADDRESS = _obj(
    ["current", "formerly"],
    current={
        **NULLABLE_STR,
        "description": "The commune or ward since 1 July 2025 (null where not determined)",
    },
    formerly=_obj(["commune", "district"], commune=NULLABLE_STR, district={"type": "string"}),
    note=NULLABLE_STR,
    sources=STR_LIST,
)
PLACE = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "address": {"type": "string"},
        "hours": {"type": "string"},
        "phone": {"type": "string"},
        "lat": {"type": "number"},
        "lon": {"type": "number"},
    },
}
OBJECTS = {"type": "array", "items": {"type": "object"}}
VILLAGE_PROPS = {
    "slug": {"type": "string"},
    "name_vi": {"type": "string"},
    "name_en": {"type": "string"},
    "district": {"type": "string"},
    "commune": NULLABLE_STR,
    "commune_2025": NULLABLE_STR,
    "address": ADDRESS,
    "category": CATEGORY,
    "crafts": STR_LIST,
    "location": LOCATION,
    "position_known": {"type": "boolean"},
    "recognised_traditional": NULLABLE_BOOL,
    "has_bookable_experiences": {"type": "boolean"},
    "url": {"type": "string"},
    "page_url": {"type": "string"},
}
PRODUCT = _obj(
    ["slug", "village", "name_vi", "category", "ocop", "ocop_stars", "images", "sources"],
    slug={"type": "string"},
    village={**NULLABLE_STR, "description": "Village slug; null when not in the catalogue"},
    village_name={**NULLABLE_STR, "description": "The village as the source names it"},
    name_vi={"type": "string"},
    name_en=NULLABLE_STR,
    description_vi=NULLABLE_STR,
    description_en=NULLABLE_STR,
    producer=NULLABLE_STR,
    category={"type": ["string", "null"], "enum": [*CATEGORIES, None]},
    ocop=_obj(
        ["stars", "year", "status", "certified"],
        stars={"type": ["integer", "null"], "enum": [3, 4, 5, None]},
        year=NULLABLE_INT,
        level=NULLABLE_STR,
        status={**NULLABLE_STR, "description": "'certified', or what the source says instead"},
        certified={"type": "boolean", "description": "A page states the certification"},
        decision=NULLABLE_STR,
    ),
    ocop_stars={"type": ["integer", "null"], "enum": [3, 4, 5, None]},
    craft_village=NULLABLE_BOOL,
    ip_protected=NULLABLE_BOOL,
    price_min_vnd=NULLABLE_INT,
    price_max_vnd=NULLABLE_INT,
    images={**STR_LIST, "description": "Absolute URLs of the photos"},
    where_to_buy=OBJECTS,
    notes=NULLABLE_STR,
    sources=STR_LIST,
    sample={"type": "boolean"},
    url={"type": "string"},
    page_url={"type": "string"},
)
EXPERIENCE = _obj(
    ["id", "slug", "village", "kind", "title_vi", "title_en", "duration_minutes"],
    id={"type": "integer"},
    slug={"type": "string"},
    village={"type": "string"},
    kind={"type": "string", "enum": ["visit", "workshop"]},
    title_vi={"type": "string"},
    title_en={"type": "string"},
    description_vi=NULLABLE_STR,
    description_en=NULLABLE_STR,
    duration_minutes={"type": "integer"},
    duration_is_default={"type": "boolean"},
    capacity=NULLABLE_INT,
    prices_vnd=_obj(
        ["adult", "child", "senior"], adult=NULLABLE_INT, child=NULLABLE_INT, senior=NULLABLE_INT
    ),
    price_fact={"type": ["object", "null"]},
    languages=STR_LIST,
    min_age=NULLABLE_INT,
    accessibility_vi=NULLABLE_STR,
    accessibility_en=NULLABLE_STR,
    weekly_hours={
        "type": "object",
        "additionalProperties": {
            "type": "array",
            "items": {"type": "array", "items": {"type": "string"}},
        },
    },
    hours_are_default={"type": "boolean"},
    hours_fact=NULLABLE_STR,
    closed_dates=STR_LIST,
    booking_cutoff_hours={"type": "integer"},
    free_cancellation_hours={"type": "integer"},
    bookable={"type": "boolean"},
    sample={"type": "boolean"},
)
PHOTOS = {
    "type": "array",
    "description": "Published photos (credited and licensed), in upload order",
    "items": _obj(
        ["id", "sizes", "credit", "licence"],
        id={"type": "integer"},
        sizes={
            "type": "array",
            "description": "The stored widths, narrowest first (the last is the largest)",
            "items": _obj(
                ["url", "width", "height"],
                url={"type": "string"},
                width={"type": "integer"},
                height={"type": "integer"},
            ),
        },
        alt_vi=NULLABLE_STR,
        alt_en=NULLABLE_STR,
        credit={"type": "string"},
        licence={"type": "string"},
        licence_url=NULLABLE_STR,
    ),
}
LANDMARK = _obj(
    ["slug", "name_vi", "name_en", "location"],
    slug={"type": "string"},
    name_vi={"type": "string"},
    name_en={"type": "string"},
    location=LOCATION,
    source=NULLABLE_STR,
)

add_schemas(
    {
        "Village": _obj(list(VILLAGE_PROPS), **VILLAGE_PROPS),
        "VillageDetail": {
            "allOf": [
                ref("Village"),
                _obj(
                    ["products", "experiences", "sources", "photos"],
                    founded=NULLABLE_STR,
                    recognition_detail=NULLABLE_STR,
                    notable_products=STR_LIST,
                    display_space={"oneOf": [{"type": "null"}, PLACE]},
                    sales_points={"type": "array", "items": PLACE},
                    shop_links=OBJECTS,
                    story_vi=NULLABLE_STR,
                    story_en=NULLABLE_STR,
                    notes=NULLABLE_STR,
                    contact={"type": ["object", "null"]},
                    videos=OBJECTS,
                    has_ocop_products=NULLABLE_BOOL,
                    ip_protected=NULLABLE_BOOL,
                    has_display_space=NULLABLE_BOOL,
                    sources=STR_LIST,
                    products={"type": "array", "items": ref("Product")},
                    experiences={"type": "array", "items": ref("ExperienceDetail")},
                    photos=PHOTOS,
                ),
            ]
        },
        "Product": PRODUCT,
        "Experience": EXPERIENCE,
        "ExperienceDetail": {
            "allOf": [ref("Experience"), _obj(["photos"], photos=PHOTOS)],
        },
        "Landmark": LANDMARK,
        "Links": _obj(["next", "prev"], next=NULLABLE_STR, prev=NULLABLE_STR),
        "FeatureCollection": _obj(
            ["type", "features"],
            type={"const": "FeatureCollection"},
            features={
                "type": "array",
                "items": _obj(
                    ["type", "geometry", "properties"],
                    type={"const": "Feature"},
                    id={"type": "string"},
                    geometry=_obj(
                        ["type", "coordinates"],
                        type={"const": "Point"},
                        coordinates={
                            "type": "array",
                            "items": {"type": "number"},
                            "minItems": 2,
                            "maxItems": 2,
                        },
                    ),
                    properties={"type": "object"},
                ),
            },
        ),
    }
)


def _page_of(name: str) -> dict[str, Any]:
    return _obj(
        ["items", "page", "per_page", "total", "pages", "links"],
        items={"type": "array", "items": ref(name)},
        page={"type": "integer"},
        per_page={"type": "integer"},
        total={"type": "integer"},
        pages={"type": "integer"},
        links=ref("Links"),
    )


PAGING = [
    query_param("page", "Page number, from 1", integer(1, default=1)),
    # The maximum is API_MAX_PAGE_SIZE, filled in when the document is served.
    query_param("per_page", "Items per page", integer(1, 200, default=50)),
]
SEARCH = query_param(
    "q",
    f"Search words; diacritics optional ('bat trang' finds 'Bát Tràng'). At most "
    f"{inputs.MAX_SEARCH_CHARS} characters and {inputs.MAX_SEARCH_WORDS} words.",
    {
        "type": "string",
        "maxLength": inputs.MAX_SEARCH_CHARS,
        "pattern": inputs.SEARCH_PATTERN,
    },
)
#: Filled with the catalogue's current values when the document is served (see _fill_enums).
DISTRICT = {"type": "string", "description": "One of the districts in the catalogue"}
VILLAGE_SLUG = {"type": "string", "description": "One of the village slugs in the catalogue"}
SLUG = {"type": "string", "maxLength": 200, "pattern": inputs.NO_NUL_PATTERN}


def _collection(tag: str, name: str, op: str, params: list[dict], notes: str) -> dict[str, Any]:
    return {
        "get": {
            "tags": [tag],
            "summary": f"List {tag}, ordered by slug",
            "description": notes,
            "operationId": op,
            "parameters": params + PAGING,
            "responses": {
                "200": json_response(f"One page of {tag}", _page_of(name)),
                **error_responses(400, 404),
            },
        }
    }


def _item(tag: str, name: str, op: str, param: dict) -> dict[str, Any]:
    return {
        "get": {
            "tags": [tag],
            "summary": f"One {name.lower()}",
            "operationId": op,
            "parameters": [param],
            "responses": {"200": json_response(name, ref(name)), **error_responses(404)},
        }
    }


add_tag("catalogue", "The digital handbook of Hanoi's craft villages")
add_paths(
    {
        "/api/v1/villages": _collection(
            "catalogue",
            "Village",
            "listVillages",
            [
                query_param("district", "District (2024 name, e.g. 'Gia Lâm')", DISTRICT),
                query_param("category", "Craft category", CATEGORY),
                query_param("traditional", "Recognised traditional craft village", BOOL_TEXT),
                query_param("bookable", "Has experiences that can be booked", BOOL_TEXT),
                query_param("position", "Has a sourced position (false: not yet known)", BOOL_TEXT),
                SEARCH,
            ],
            "Every village, with the dataset's coordinates (null where the position is not yet "
            "known). The search finds the 2025 commune and the 2024 commune and district. "
            "Unknown parameters and values outside the listed ones are refused with 400.",
        ),
        "/api/v1/villages/{slug}": {
            "get": {
                **_item(
                    "catalogue",
                    "VillageDetail",
                    "getVillage",
                    path_param("slug", "Village slug, e.g. bat-trang", SLUG),
                )["get"],
                "summary": "One village with its products and experiences",
            }
        },
        "/api/v1/villages.geojson": {
            "get": {
                "tags": ["catalogue"],
                "summary": "Every village with a known position as a GeoJSON FeatureCollection",
                "operationId": "villagesGeojson",
                "responses": {
                    "200": {
                        "description": "RFC 7946 FeatureCollection",
                        "content": {"application/geo+json": {"schema": ref("FeatureCollection")}},
                    }
                },
            }
        },
        "/api/v1/products": _collection(
            "catalogue",
            "Product",
            "listProducts",
            [
                query_param("village", "Village slug", VILLAGE_SLUG),
                query_param("category", "Craft category", CATEGORY),
                query_param(
                    "ocop",
                    "'any' for OCOP-certified, or the minimum stars (3-5)",
                    {"type": "string", "enum": list(catalogue.OCOP_VALUES)},
                ),
                query_param(
                    "stars",
                    "Exactly this many OCOP stars",
                    {"type": "string", "enum": list(catalogue.STARS)},
                ),
                query_param("certified", "A page states the OCOP certification", BOOL_TEXT),
                query_param(
                    "ip_protected", "Covered by intellectual-property protection", BOOL_TEXT
                ),
                SEARCH,
            ],
            "Village products (OCOP rows of the dataset and the villages' own entries). The "
            "search covers product, producer, village and craft, diacritics optional.",
        ),
        "/api/v1/products/{slug}": _item(
            "catalogue", "Product", "getProduct", path_param("slug", "Product slug", SLUG)
        ),
        "/api/v1/experiences": _collection(
            "catalogue",
            "Experience",
            "listExperiences",
            [
                query_param("village", "Village slug", VILLAGE_SLUG),
                query_param(
                    "kind", "visit or workshop", {"type": "string", "enum": list(catalogue.KINDS)}
                ),
                query_param("category", "Craft category of the village", CATEGORY),
                query_param("bookable", "Schedule, capacity and price are published", BOOL_TEXT),
                query_param("sample", "Demo rows (true) or real rows (false)", BOOL_TEXT),
            ],
            "Visits and hands-on workshops.",
        ),
        "/api/v1/experiences/{ref}": {
            "get": {
                **_item(
                    "catalogue",
                    "ExperienceDetail",
                    "getExperience",
                    path_param("ref", "Numeric id or slug", SLUG),
                )["get"],
                "summary": "One experience with its photos",
            }
        },
        "/api/v1/landmarks": _collection(
            "catalogue", "Landmark", "listLandmarks", [], "Start points such as Hoàn Kiếm Lake."
        ),
        "/api/v1/landmarks/{slug}": _item(
            "catalogue", "Landmark", "getLandmark", path_param("slug", "Landmark slug", SLUG)
        ),
    }
)


def _fill_enums(doc: dict[str, Any]) -> None:
    """The ``district`` and ``village`` filters take the catalogue's values: a closed set,
    listed as an enum so that clients (and schemathesis) know which values are accepted."""
    values = {"district": catalogue.districts(), "village": catalogue.village_slugs()}
    per_page = current_app.config["API_MAX_PAGE_SIZE"]
    for path in (
        "/api/v1/villages",
        "/api/v1/products",
        "/api/v1/experiences",
        "/api/v1/landmarks",
    ):
        for param in doc["paths"][path]["get"]["parameters"]:
            if param["name"] in values:
                param["schema"]["enum"] = values[param["name"]]
            elif param["name"] == "per_page":
                param["schema"]["maximum"] = per_page


add_filler(_fill_enums)
