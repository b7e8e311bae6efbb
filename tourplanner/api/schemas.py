"""Plain-dict representations of catalogue objects, shared by the API and GeoJSON."""

from __future__ import annotations

from typing import Any

from tourplanner.adapters.orm import Experience, Landmark, Product, Village
from tourplanner.services.notifications import public_url


def location(obj: Village | Landmark) -> dict[str, Any]:
    return {"lat": obj.lat, "lon": obj.lon, "quality": obj.coord_quality, "note": obj.coord_note}


def village_summary(v: Village) -> dict[str, Any]:
    return {
        "slug": v.slug,
        "name_vi": v.name_vi,
        "name_en": v.name_en,
        "district": v.district,
        "commune": v.commune,
        "category": v.category,
        "crafts": v.crafts,
        "location": location(v),
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
        "story_vi": v.story_vi,
        "story_en": v.story_en,
        "notes": v.notes,
        "contact": v.contact,
        "videos": v.videos,
        "has_ocop_products": v.has_ocop_products,
        "ip_protected": v.ip_protected,
        "has_display_space": v.has_display_space,
        "sources": v.sources,
        "products": [product(p) for p in v.products],
        "experiences": [experience(e) for e in v.experiences],
    }


def product(p: Product) -> dict[str, Any]:
    return {
        "slug": p.slug,
        "village": p.village.slug,
        "name_vi": p.name_vi,
        "name_en": p.name_en,
        "category": p.category,
        "ocop_stars": p.ocop_stars,
        "ip_protected": p.ip_protected,
        "price_min_vnd": p.price_min_vnd,
        "price_max_vnd": p.price_max_vnd,
        "images": p.images,
        "source": p.source,
        "sample": p.is_sample,
    }


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
    """A GeoJSON Feature (RFC 7946: coordinates are [longitude, latitude])."""
    props = {k: val for k, val in village_summary(v).items() if k != "location"}
    props["coord_quality"] = v.coord_quality
    return {
        "type": "Feature",
        "id": v.slug,
        "geometry": {"type": "Point", "coordinates": [v.lon, v.lat]},
        "properties": props,
    }
