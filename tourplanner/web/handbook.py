"""The digital handbook (sổ tay điện tử): home with the map, villages, a village, products."""

from __future__ import annotations

from flask import current_app, render_template, request
from flask_babel import lazy_gettext as _l

from tourplanner.domain.catalogue import CATEGORIES
from tourplanner.domain.errors import ValidationError
from tourplanner.services import catalogue
from tourplanner.web import bp

VILLAGE_FILTERS = ("district", "category", "traditional", "bookable", "q")
PRODUCT_FILTERS = ("category", "ocop", "village", "q")
#: How a refused parameter is named on a page (the service's own message is English-only).
FILTER_LABELS = {
    "q": _l("Search"),
    "district": _l("District"),
    "category": _l("Craft"),
    "ocop": _l("OCOP"),
    "traditional": _l("Recognised traditional village"),
    "village": _l("Villages"),
    "bookable": _l("Has bookable experiences"),
    "page": _l("Pages"),
}


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
        page = catalogue.list_page(resource, args, default_size=60, max_size=60)
        return {"page": page, "args": args, "error": None}
    except ValidationError as exc:
        page = catalogue.list_page(resource, {}, default_size=60, max_size=60)
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
    return render_template(
        "villages.html",
        **_filtered("villages", VILLAGE_FILTERS),
        categories=CATEGORIES,
        districts=catalogue.districts(),
    )


@bp.get("/villages/<slug>")
def village(slug: str):
    village = catalogue.get_village(slug)
    centre = next((lm for lm in catalogue.all_landmarks() if lm.slug == "hoan-kiem-lake"), None)
    directions = centre and catalogue.directions_from(
        centre.lat, centre.lon, village.lat, village.lon, current_app.config
    )
    return render_template(
        "village.html",
        village=village,
        centre=centre,
        directions=directions,
        map_tiles=current_app.config["MAP_TILE_URL"],
        map_attribution=current_app.config["MAP_TILE_ATTRIBUTION"],
    )


@bp.get("/products")
def products():
    return render_template(
        "products.html",
        **_filtered("products", PRODUCT_FILTERS),
        categories=CATEGORIES,
    )
