"""The digital handbook (sổ tay điện tử): home with the map, villages, a village, products,
a product and its photos."""

from __future__ import annotations

from flask import abort, current_app, render_template, request
from flask_babel import lazy_gettext as _l

from tourplanner.domain.catalogue import CATEGORIES, mapped_places, video_embed
from tourplanner.domain.errors import ValidationError
from tourplanner.services import catalogue, photos, product_media, recommendations
from tourplanner.services import open_data as open_data_service
from tourplanner.web import bp
from tourplanner.web.downloads import attachment

#: One page holds every village of the catalogue (78 in data 1.2).
PAGE_SIZE = 100
VILLAGE_FILTERS = ("district", "category", "traditional", "bookable", "q")
PRODUCT_FILTERS = ("category", "ocop", "stars", "ip_protected", "village", "q")
#: How a refused parameter is named on a page (the service's own message is English-only).
FILTER_LABELS = {
    "q": _l("Search"),
    "district": _l("District"),
    "category": _l("Craft"),
    "ocop": _l("OCOP"),
    "stars": _l("OCOP stars"),
    "ip_protected": _l("Protected geographical name or trademark"),
    "traditional": _l("Recognised traditional village"),
    "village": _l("Villages"),
    "bookable": _l("Has bookable experiences"),
    "page": _l("Pages"),
}


SHOP_KIND_LABELS = {
    "shop": _l("Own online shop"),
    "marketplace": _l("Marketplace"),
    "zalo": _l("Zalo Official Account"),
    "facebook": _l("Facebook page"),
    "other": _l("Online shop"),
}


def _videos(village) -> list[dict]:
    out = []
    for video in village.videos or []:
        item = video if isinstance(video, dict) else {"url": video}
        platform, embed = video_embed(item["url"])
        out.append({**item, "platform": platform, "embed": embed})
    return out


def _args(allowed: tuple[str, ...]) -> dict[str, str]:
    """Only the known filters, without empty values: forms submit every field."""
    return {k: v for k, v in request.args.items() if k in (*allowed, "page") and v.strip()}


def _refused(exc: ValidationError) -> str:
    """The refused filter and its value, in the page's language: "Nghề: pottery"."""
    name = str(exc.details.get("parameter", ""))
    return f"{FILTER_LABELS.get(name, name)}: {exc.details.get('value', '')}"


def _filtered(resource: str, allowed: tuple[str, ...]) -> dict:
    """A page of a resource; a refused filter shows every row with a readable message."""
    args = _args(allowed)
    try:
        page = catalogue.list_page(resource, args, default_size=PAGE_SIZE, max_size=PAGE_SIZE)
        return {"page": page, "args": args, "error": None}
    except ValidationError as exc:
        page = catalogue.list_page(resource, {}, default_size=PAGE_SIZE, max_size=PAGE_SIZE)
        return {"page": page, "args": {}, "error": _refused(exc)}


@bp.get("/")
def home():
    villages = catalogue.all_villages()
    return render_template(
        "home.html",
        villages=villages,
        landmarks=catalogue.all_landmarks(),
        categories=CATEGORIES,
        map_tiles=current_app.config["MAP_TILE_URL"],
        map_attribution=current_app.config["MAP_TILE_ATTRIBUTION"],
    )


@bp.get("/villages")
def villages():
    listed = _filtered("villages", VILLAGE_FILTERS)
    return render_template(
        "villages.html",
        **listed,
        card_photos=photos.published_for_villages(v.id for v in listed["page"].items),
        categories=CATEGORIES,
        districts=catalogue.districts(),
    )


@bp.get("/villages/<slug>")
def village(slug: str):
    village = catalogue.get_village(slug)
    centre = next((lm for lm in catalogue.all_landmarks() if lm.slug == "hoan-kiem-lake"), None)
    # No position, no directions: a distance from an invented point would be a made-up fact.
    directions = (
        centre
        and village.has_position
        and catalogue.directions_from(
            centre.lat, centre.lon, village.lat, village.lon, current_app.config
        )
    )
    return render_template(
        "village.html",
        village=village,
        centre=centre,
        directions=directions,
        videos=_videos(village),
        village_points=mapped_places(village.display_space, village.sales_points),
        **recommendations.village_page(village),
        shop_kinds=SHOP_KIND_LABELS,
        map_tiles=current_app.config["MAP_TILE_URL"],
        map_attribution=current_app.config["MAP_TILE_ATTRIBUTION"],
    )


@bp.get("/products")
def products():
    return render_template(
        "products.html",
        **_filtered("products", PRODUCT_FILTERS),
        categories=CATEGORIES,
        villages=catalogue.villages_with_products(),
    )


@bp.get("/products/<slug>")
def product(slug: str):
    return render_template("product.html", product=catalogue.get_product(slug))


@bp.get("/media/products/<name>")
def product_image(name: str):
    """A stored product photo (content-addressed: the name is the SHA-256 of its bytes)."""
    return product_media.send(name)


@bp.get("/open-data")
def open_data():
    return render_template("open_data.html", formats=open_data_service.FORMATS)


MIME = {"csv": "text/csv", "json": "application/json", "geojson": "application/geo+json"}


@bp.get("/open-data/catalogue.<fmt>")
def open_data_file(fmt: str):
    if fmt not in open_data_service.FORMATS:
        abort(404)
    text = open_data_service.export(
        fmt,
        licence=current_app.config.get("OPEN_DATA_LICENCE") or open_data_service.DEFAULT_LICENCE,
        source_note="Hanoi craft villages dataset 1.2 and OCOP products 1.0 (tourplanner); "
        "per-row sources in each record",
    )
    return attachment(text, f"hanoi-craft-villages.{fmt}", MIME[fmt])
