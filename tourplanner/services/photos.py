"""Photos of villages and experiences: upload, change what is said about them, remove, and
the published ones for the pages.

Staff change their own village's photos only (``village_id``; anything else is not found);
admins any (``village_id`` None). An upload is checked whole first (the file and every field:
all problems at once, :class:`PhotosInvalid`); only then are the files written and the row
added in one transaction, and the files are removed again if it fails: nothing half-written.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, select

from tourplanner.adapters.orm import Experience, Photo, Village
from tourplanner.domain import photos as rules
from tourplanner.domain.errors import NotFound, ValidationError
from tourplanner.domain.images import rendition_name
from tourplanner.extensions import db
from tourplanner.security import audit
from tourplanner.services import product_media
from tourplanner.services.unit_of_work import unit_of_work

VILLAGE_TARGET = "village"


class PhotosInvalid(ValidationError):
    code = "invalid_photo"

    def __init__(self, problems: dict[str, rules.Problem]) -> None:
        super().__init__("; ".join(f"{k}: {p.code}" for k, p in problems.items()))
        self.problems = problems


def _village(village_id: int) -> Village:
    village = db.session.get(Village, village_id)
    if village is None:
        raise NotFound(f"no village {village_id}", code="village_not_found")
    return village


def village_photos(village_id: int) -> list[Photo]:
    """Every photo of the village and of its experiences (the back-office sees hidden ones)."""
    return list(
        db.session.scalars(
            select(Photo)
            .where(Photo.village_id == village_id)
            .order_by(Photo.experience_id.is_not(None), Photo.experience_id, Photo.id)
        )
    )


def _target(village: Village, target: str | None) -> tuple[Experience | None, rules.Problem | None]:
    if not target or target == VILLAGE_TARGET:
        return None, None
    for experience in village.experiences:
        if str(experience.id) == target:
            return experience, None
    return None, rules.Problem("unknown_target")


def upload(
    village_id: int, raw: Mapping[str, Any], data: bytes | None, *, user_id: int | None
) -> Photo:
    """Add a photo of the village (``raw["target"]`` "village") or of one of its experiences
    (the experience's id). Raises PhotosInvalid with every problem; nothing is written then."""
    village = _village(village_id)
    details, problems = rules.check_details(raw)
    experience, target_problem = _target(village, raw.get("target"))
    if target_problem:
        problems["target"] = target_problem
    image, file_problem = rules.check_file(data)
    if file_problem:
        problems["file"] = file_problem
    count = db.session.scalar(
        select(func.count(Photo.id)).where(
            Photo.village_id == village.id,
            Photo.experience_id == experience.id if experience else Photo.experience_id.is_(None),
        )
    )
    if not problems and count >= rules.MAX_PHOTOS_PER_PLACE:
        problems["file"] = rules.Problem("too_many", {"limit": rules.MAX_PHOTOS_PER_PLACE})
    if problems:
        raise PhotosInvalid(problems)
    assert image is not None
    with product_media.staged() as stage, unit_of_work() as session:
        stage.write([image], product_media.PHOTOS)
        photo = Photo(
            village_id=village.id,
            experience_id=experience.id if experience else None,
            stored_name=image.stored_name,
            width=image.width,
            height=image.height,
            renditions=[[r.width, r.height] for r in image.renditions],
            credit=details.credit,
            licence=details.licence,
            alt_vi=details.alt_vi,
            alt_en=details.alt_en,
            uploaded_by_id=user_id,
        )
        session.add(photo)
        session.flush()
        _audit("photo_added", photo, user_id, session)
    stage.rewrite_missing()
    return photo


def _audit(event: str, photo: Photo, user_id: int | None, session: Any) -> None:
    audit.record(
        event,
        user_id=user_id,
        subject=photo.village.slug if photo.village else None,
        session=session,
        photo=photo.id,
        experience=photo.experience_id,
        published=photo.published,
    )


def own_photo(photo_id: int, village_id: int | None) -> Photo:
    photo = db.session.get(Photo, photo_id)
    if photo is None or (village_id is not None and photo.village_id != village_id):
        raise NotFound(f"no photo {photo_id}", code="photo_not_found")
    return photo


def update(
    photo_id: int, village_id: int | None, raw: Mapping[str, Any], *, user_id: int | None = None
) -> Photo:
    """Change the credit, licence and alt texts; PhotosInvalid with every problem."""
    details, problems = rules.check_details(raw)
    if problems:
        raise PhotosInvalid(problems)
    with unit_of_work() as session:
        photo = own_photo(photo_id, village_id)
        photo.credit, photo.licence = details.credit, details.licence
        photo.alt_vi, photo.alt_en = details.alt_vi, details.alt_en
        _audit("photo_changed", photo, user_id, session)
    return photo


def remove(photo_id: int, village_id: int | None, *, user_id: int | None = None) -> Photo:
    """Remove the photo's row and, once committed, its files unless another photo of the
    same bytes (content-addressed: the same names) still uses them."""
    with unit_of_work() as session:
        photo = own_photo(photo_id, village_id)
        _audit("photo_removed", photo, user_id, session)
        session.delete(photo)
        session.flush()
        shared = session.scalar(
            select(func.count(Photo.id)).where(Photo.stored_name == photo.stored_name)
        )
    if not shared:
        product_media.discard((name for name, _w, _h in sources(photo)), product_media.PHOTOS)
    return photo


# --- the pages -----------------------------------------------------------------------------


def _published(where: Any) -> list[Photo]:
    return list(
        db.session.scalars(select(Photo).where(where, Photo.published_clause()).order_by(Photo.id))
    )


def published_for_villages(village_ids: Iterable[int]) -> dict[int, list[Photo]]:
    """Each village's own published photos (not its experiences'), in upload order."""
    ids = list(set(village_ids))
    out: dict[int, list[Photo]] = defaultdict(list)
    if ids:
        for photo in _published(Photo.village_id.in_(ids) & Photo.experience_id.is_(None)):
            out[photo.village_id].append(photo)
    return out


def published_for_village_slugs(slugs: Iterable[str | None]) -> dict[str, list[Photo]]:
    """As :func:`published_for_villages`, by the villages' slugs (the plans name them so)."""
    wanted = [s for s in set(slugs) if s]
    if not wanted:
        return {}
    ids = dict(
        db.session.execute(select(Village.id, Village.slug).where(Village.slug.in_(wanted))).all()
    )
    return {ids[vid]: found for vid, found in published_for_villages(ids).items()}


def published_for_experiences(
    experience_ids: Iterable[int | None],
) -> dict[int, list[Photo]]:
    ids = [i for i in set(experience_ids) if i is not None]
    out: dict[int, list[Photo]] = defaultdict(list)
    if ids:
        for photo in _published(Photo.experience_id.in_(ids)):
            out[photo.experience_id].append(photo)
    return out


def published_for_visits(
    experience_ids: Iterable[int | None], village_slugs: Iterable[str | None]
) -> tuple[dict[int, list[Photo]], dict[str, list[Photo]]]:
    """The published photos of the experiences and of the villages a page's visits name (a
    plan's stops, a booking's items), two queries for the whole page: the view hands them to
    its template, which queries nothing itself."""
    return published_for_experiences(experience_ids), published_for_village_slugs(village_slugs)


def sources(photo: Photo) -> list[tuple[str, int, int]]:
    """``(file name, width, height)`` of the photo and its narrower copies, narrowest first
    (from the row: no look-up in the store)."""
    copies = [(rendition_name(photo.stored_name, w), w, h) for w, h in photo.renditions or []]
    return [*copies, (photo.stored_name, photo.width, photo.height)]
