"""Plain-dict representations of catalogue objects, shared by the API and GeoJSON."""

from __future__ import annotations

from typing import Any

from tourplanner.adapters.orm import Experience, Landmark, Photo, Product, Village
from tourplanner.domain.catalogue import mapped_places
from tourplanner.domain.photos import LICENCES
from tourplanner.services.notifications import public_url
from tourplanner.services.photos import sources


def location(obj: Village | Landmark) -> dict[str, Any]:
    """The dataset's position; lat/lon null (quality "unknown") when none is sourced yet."""
    return {"lat": obj.lat, "lon": obj.lon, "quality": obj.coord_quality, "note": obj.coord_note}


def address(v: Village) -> dict[str, Any]:
    """The current unit (the 2025 commune or ward; districts were abolished) and the 2024
    commune and district it was formerly in. ``current`` is null where the old commune was
    split and the village's side is not stated."""
    return {
        "current": v.commune_2025,
        "formerly": {"commune": v.commune, "district": v.district},
        "note": v.commune_2025_note,
        "sources": v.commune_2025_sources,
    }


def village_summary(v: Village) -> dict[str, Any]:
    return {
        "slug": v.slug,
        "name_vi": v.name_vi,
        "name_en": v.name_en,
        "district": v.district,
        "commune": v.commune,
        "commune_2025": v.commune_2025,
        "address": address(v),
        "category": v.category,
        "crafts": v.crafts,
        "location": location(v),
        "position_known": v.has_position,
        "recognised_traditional": v.recognised_traditional,
        "has_bookable_experiences": any(e.bookable for e in v.experiences),
        # From PUBLIC_BASE_URL, never from the request's Host header.
        "url": public_url("api.village_detail", slug=v.slug),
        "page_url": public_url("web.village", slug=v.slug),
    }


def village_detail(v: Village) -> dict[str, Any]:
    return {
        **village_summary(v),
        "founded": v.founded,
        "recognition_detail": v.recognition_detail,
        "notable_products": v.notable_products,
        "display_space": v.display_space,
        "sales_points": v.sales_points,
        "shop_links": v.shop_links,
        "story_vi": v.story_vi,
        "story_en": v.story_en,
        "notes": v.notes,
        "contact": v.contact,
        "videos": v.videos,
        "has_ocop_products": v.has_ocop_products,
        "ip_protected": v.ip_protected,
        "has_display_space": v.has_display_space,
        "sources": v.sources,
        "products": [product(p) for p in v.products if p.review_status == "published"],
        "experiences": [experience_detail(e) for e in v.experiences],
        "photos": photos(p for p in v.photos if p.experience_id is None),
    }


def photos(rows: Any) -> list[dict[str, Any]]:
    """Published photos (with a credit and a licence) with the address of each stored width,
    narrowest first, for a client to pick from."""
    return [_photo(p) for p in rows if p.published]


def _photo(p: Photo) -> dict[str, Any]:
    return {
        "id": p.id,
        "sizes": [
            {
                "url": public_url("web.village_photo_file", name=name),
                "width": width,
                "height": height,
            }
            for name, width, height in sources(p)
        ],
        "alt_vi": p.alt_vi,
        "alt_en": p.alt_en,
        "credit": p.credit,
        "licence": p.licence,
        "licence_url": LICENCES.get(p.licence or ""),
    }


def product(p: Product) -> dict[str, Any]:
    return {
        "slug": p.slug,
        "village": p.village.slug if p.village else None,
        "village_name": p.village_name,
        "name_vi": p.name_vi,
        "name_en": p.name_en,
        "description_vi": p.description_vi,
        "description_en": p.description_en,
        "producer": p.producer,
        "category": p.category,
        "ocop": {
            "stars": p.ocop_stars,
            "year": p.ocop_year,
            "level": p.ocop_level,
            "status": p.ocop_status,
            "certified": p.certified,
            "decision": p.ocop_decision,
        },
        "ocop_stars": p.ocop_stars,
        "craft_village": p.craft_village,
        "ip_protected": p.ip_protected,
        "price_min_vnd": p.price_min_vnd,
        "price_max_vnd": p.price_max_vnd,
        "images": [public_url("web.product_image", name=name) for name in p.images],
        "where_to_buy": p.where_to_buy,
        "notes": p.notes,
        "sources": p.sources,
        "sample": p.is_sample,
        "url": public_url("api.product_detail", slug=p.slug),
        "page_url": public_url("web.product", slug=p.slug),
    }


def experience_detail(e: Experience) -> dict[str, Any]:
    return {**experience(e), "photos": photos(e.photos)}


def experience(e: Experience) -> dict[str, Any]:
    return {
        "id": e.id,
        "slug": e.slug,
        "village": e.village.slug,
        "kind": e.kind,
        "title_vi": e.title_vi,
        "title_en": e.title_en,
        "description_vi": e.description_vi,
        "description_en": e.description_en,
        "duration_minutes": e.duration_minutes,
        "duration_is_default": e.duration_is_default,
        "capacity": e.capacity,
        "prices_vnd": {
            "adult": e.price_adult_vnd,
            "child": e.price_child_vnd,
            "senior": e.price_senior_vnd,
        },
        "price_fact": e.price_fact,
        "languages": e.languages,
        "min_age": e.min_age,
        "accessibility_vi": e.accessibility_vi,
        "accessibility_en": e.accessibility_en,
        "weekly_hours": e.weekly_hours,
        "hours_are_default": e.hours_are_default,
        "hours_fact": e.hours_fact,
        "closed_dates": e.closed_dates,
        "booking_cutoff_hours": e.booking_cutoff_hours,
        "free_cancellation_hours": e.free_cancellation_hours,
        "bookable": e.bookable,
        "sample": e.is_sample,
    }


def landmark(lm: Landmark) -> dict[str, Any]:
    return {
        "slug": lm.slug,
        "name_vi": lm.name_vi,
        "name_en": lm.name_en,
        "location": location(lm),
        "source": lm.source,
    }


def village_feature(v: Village) -> dict[str, Any]:
    """A GeoJSON Feature (RFC 7946: coordinates are [longitude, latitude]).

    Only for a village with a position: callers leave the others out, never invent a point."""
    props = {k: val for k, val in village_summary(v).items() if k != "location"}
    props["coord_quality"] = v.coord_quality
    # Its display space and sales points with a stated position (drawn beside the village).
    props["places"] = mapped_places(v.display_space, v.sales_points)
    return {
        "type": "Feature",
        "id": v.slug,
        "geometry": {"type": "Point", "coordinates": [v.lon, v.lat]},
        "properties": props,
    }
