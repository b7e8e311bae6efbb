"""Open data for the city: the public catalogue as CSV, JSON and GeoJSON.

Every row carries its sources and the licence statement; a village without a position has
empty coordinates (and is left out of the GeoJSON, which holds points only). Only published
products are exported: a village's entry waiting for review is not public.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from tourplanner.adapters.orm import Product, Village
from tourplanner.extensions import db

DEFAULT_LICENCE = "CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)"
FORMATS = ("csv", "json", "geojson")
VILLAGE_COLUMNS = (
    "slug",
    "name_vi",
    "name_en",
    "commune_2025",
    "commune_2024",
    "district_2024",
    "category",
    "crafts",
    "lat",
    "lon",
    "coord_quality",
    "recognised_traditional",
    "recognition_detail",
    "sources",
)
PRODUCT_COLUMNS = (
    "slug",
    "name_vi",
    "name_en",
    "village",
    "village_name",
    "producer",
    "category",
    "ocop_stars",
    "ocop_year",
    "ocop_status",
    "ip_protected",
    "price_min_vnd",
    "price_max_vnd",
    "sources",
)


def _village(v: Village) -> dict[str, Any]:
    return {
        "slug": v.slug,
        "name_vi": v.name_vi,
        "name_en": v.name_en,
        "commune_2025": v.commune_2025,
        "commune_2024": v.commune,
        "district_2024": v.district,
        "category": v.category,
        "crafts": v.crafts,
        "lat": v.lat,
        "lon": v.lon,
        "coord_quality": v.coord_quality,
        "recognised_traditional": v.recognised_traditional,
        "recognition_detail": v.recognition_detail,
        "sources": v.sources,
    }


def _product(p: Product) -> dict[str, Any]:
    return {
        "slug": p.slug,
        "name_vi": p.name_vi,
        "name_en": p.name_en,
        "village": p.village.slug if p.village else None,
        "village_name": p.village_name,
        "producer": p.producer,
        "category": p.category,
        "ocop_stars": p.ocop_stars,
        "ocop_year": p.ocop_year,
        "ocop_status": p.ocop_status,
        "ip_protected": p.ip_protected,
        "price_min_vnd": p.price_min_vnd,
        "price_max_vnd": p.price_max_vnd,
        "sources": p.sources,
    }


def rows() -> tuple[list[dict], list[dict]]:
    villages = db.session.scalars(select(Village).order_by(Village.slug)).all()
    products = db.session.scalars(
        select(Product)
        .where(Product.review_status == "published")
        .options(selectinload(Product.village))
        .order_by(Product.slug)
    ).all()
    return [_village(v) for v in villages], [_product(p) for p in products]


def export(fmt: str, *, licence: str, source_note: str) -> str:
    villages, products = rows()
    meta = {"licence": licence, "sources": source_note}
    if fmt == "json":
        return json.dumps(
            {"meta": meta, "villages": villages, "products": products}, ensure_ascii=False, indent=2
        )
    if fmt == "geojson":
        features = [
            {
                "type": "Feature",
                "id": v["slug"],
                "geometry": {"type": "Point", "coordinates": [v["lon"], v["lat"]]},
                "properties": {**{k: x for k, x in v.items() if k not in ("lat", "lon")}, **meta},
            }
            for v in villages
            if v["lat"] is not None and v["lon"] is not None
        ]
        return json.dumps(
            {"type": "FeatureCollection", **meta, "features": features},
            ensure_ascii=False,
            indent=2,
        )
    return _csv(villages, products, licence)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " | ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    # A cell starting with = + - @ is run as a formula by spreadsheets: quote it as text.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _csv(villages: list[dict], products: list[dict], licence: str) -> str:
    columns = ["record", *dict.fromkeys(VILLAGE_COLUMNS + PRODUCT_COLUMNS), "licence"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for kind, items in (("village", villages), ("product", products)):
        for row in items:
            cells = {k: _cell(v) for k, v in row.items()}
            writer.writerow({"record": kind, **cells, "licence": licence})
    return buffer.getvalue()
