"""Products entered by village staff, their photos, and the admins' review.

A staff entry goes through the same row rules as an import (``domain.records.PRODUCT``) and the
same photo checks; it is saved as "pending" and is public only once an admin approves it. An
edit by staff puts it back to "pending"; an admin's edit keeps the status. Staff can only
reach products of their own village (anything else is not found).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from tourplanner.adapters.orm import Product, Village
from tourplanner.domain.catalogue import slugify
from tourplanner.domain.errors import NotFound, ValidationError
from tourplanner.domain.images import ImageProblem, check_image
from tourplanner.domain.records import PRODUCT, clean_row
from tourplanner.extensions import db
from tourplanner.services import product_media
from tourplanner.services.catalogue_io import product_search_text
from tourplanner.services.unit_of_work import unit_of_work

PENDING, PUBLISHED, REJECTED = "pending", "published", "rejected"
REVIEW_STATUSES = (PENDING, PUBLISHED, REJECTED)
MAX_PHOTOS = 12
#: Form fields a village may set (the rest of the record comes from sources or admins).
EDITABLE = (
    "name_vi",
    "name_en",
    "description_vi",
    "description_en",
    "producer",
    "category",
    "ocop_stars",
    "ocop_year",
    "ip_protected",
    "price_min_vnd",
    "price_max_vnd",
    "where_to_buy",
)


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


def village_products(village_id: int) -> list[Product]:
    return list(
        db.session.scalars(
            select(Product).where(Product.village_id == village_id).order_by(Product.slug)
        )
    )


def own_product(slug: str, village_id: int | None) -> Product:
    """A product of this village (``village_id`` None: an admin, any product)."""
    product = db.session.scalar(
        select(Product).where(Product.slug == slug).options(selectinload(Product.village))
    )
    if product is None or (village_id is not None and product.village_id != village_id):
        raise NotFound(f"no product {slug!r}", code="product_not_found", slug=slug)
    return product


def _unique_slug(base: str) -> str:
    base = (base or "product")[:72].rstrip("-")
    taken = set(db.session.scalars(select(Product.slug).where(Product.slug.like(f"{base}%"))))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _problems_message(problems) -> str:
    return "; ".join(f"{p.field}: {p.reason}" for p in problems)


def save(
    village: Village,
    raw: Mapping[str, Any],
    uploads: list[Upload],
    *,
    slug: str | None = None,
    remove: tuple[str, ...] = (),
    by_admin: bool = False,
) -> Product:
    """Create (``slug`` None) or update a product of ``village`` from form values and photos.

    Raises ValidationError naming the first bad field; nothing (row or photo) is written then.
    """
    product = own_product(slug, None if by_admin else village.id) if slug else None
    values = {k: raw.get(k) for k in EDITABLE}
    values["slug"] = product.slug if product else "pending-slug"
    values["village"] = village.slug
    clean, problems = clean_row(PRODUCT, values, 1)
    if problems:
        first = problems[0]
        raise ValidationError(
            _problems_message(problems), code="invalid_product", field=first.field
        )
    checked = []
    for upload in uploads:
        try:
            checked.append(check_image(upload.data))
        except ImageProblem as exc:
            raise ValidationError(
                f"{upload.filename}: {exc}", code="invalid_photo", field="photos"
            ) from None
    kept = [name for name in (product.images if product else []) if name not in remove]
    images = list(dict.fromkeys([*kept, *(image.stored_name for image in checked)]))
    if len(images) > MAX_PHOTOS:
        raise ValidationError(
            f"at most {MAX_PHOTOS} photos per product", code="invalid_photo", field="photos"
        )
    with product_media.staged() as stage, unit_of_work() as session:
        stage.write(checked)
        if product is None:
            product = Product(
                slug=_unique_slug(slugify(f"{village.slug} {clean['name_vi']}")),
                village=village,
                village_name=village.name_vi,
            )
            session.add(product)
        for key in EDITABLE:
            setattr(product, key, clean[key])
        product.images = images
        product.craft_village = True
        product.search_text = product_search_text(clean, village)
        if not by_admin:
            product.review_status, product.review_note = PENDING, None
        elif product.review_status is None:
            product.review_status = PUBLISHED
        session.flush()
    return product


def review(slug: str, *, approve: bool, note: str | None) -> Product:
    """An admin approves (public from now on) or rejects (hidden, with the reason)."""
    with unit_of_work():
        product = own_product(slug, None)
        product.review_status = PUBLISHED if approve else REJECTED
        product.review_note = (note or "").strip()[:1000] or None
    return product


def pending() -> list[Product]:
    return list(
        db.session.scalars(
            select(Product)
            .where(Product.review_status == PENDING)
            .options(selectinload(Product.village))
            .order_by(Product.updated_at)
        )
    )


# --- data quality ----------------------------------------------------------------------------


def data_quality() -> list[dict[str, Any]]:
    """Counts of what the catalogue still lacks, each with the rows to fix (slug and name)."""
    villages = db.session.scalars(
        select(Village).options(selectinload(Village.products)).order_by(Village.slug)
    ).all()
    products = db.session.scalars(
        select(Product).options(selectinload(Product.village)).order_by(Product.slug)
    ).all()

    def one_language(vi: str | None, en: str | None) -> bool:
        return bool(vi) != bool(en)

    checks = [
        ("villages_without_position", "village", [v for v in villages if not v.has_position]),
        (
            "villages_with_estimated_position",
            "village",
            [v for v in villages if v.coord_quality in ("commune_estimate", "estimate")],
        ),
        ("villages_without_contact", "village", [v for v in villages if not v.contact]),
        (
            "villages_without_photos",
            "village",
            [v for v in villages if not any(p.images for p in v.products)],
        ),
        (
            "villages_with_story_in_one_language",
            "village",
            [v for v in villages if one_language(v.story_vi, v.story_en)],
        ),
        (
            "products_without_description",
            "product",
            [p for p in products if not (p.description_vi or p.description_en)],
        ),
        (
            "products_with_text_in_one_language",
            "product",
            [
                p
                for p in products
                if one_language(p.description_vi, p.description_en) or not p.name_en
            ],
        ),
        ("products_without_photos", "product", [p for p in products if not p.images]),
        ("products_without_village", "product", [p for p in products if p.village is None]),
    ]
    return [
        {"key": key, "kind": kind, "count": len(rows), "rows": rows} for key, kind, rows in checks
    ]


def counts_by_status() -> dict[str, int]:
    rows = db.session.execute(
        select(Product.review_status, func.count()).group_by(Product.review_status)
    ).all()
    return {status: count for status, count in rows}
