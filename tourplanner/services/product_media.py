"""Where stored photos live: content-addressed objects in the configured store
(``services.media_storage``: a folder under ``MEDIA_ROOT``, default ``instance/media``, or an
S3-compatible bucket), named by the SHA-256 of their (metadata-free) bytes, in a collection:
"products" (product photos, video stills, tour-route photos) or "photos" (village and
experience photos, ``services.photos``).

Files are written before the database transaction that references them commits; if that
transaction fails, the written files are removed again (:func:`staged`), so an import that
writes nothing leaves no photo behind either. The same photo stored twice is one file.

Next to each photo lie its narrower copies (``<name>-480.jpg``, ... see
``domain.images.WIDTHS``), written and removed with it; :func:`sources` says which exist, for
the pages' ``srcset``. Photos stored before the copies existed simply have none.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Response, abort, current_app, redirect, send_from_directory
from PIL import Image

from tourplanner.domain.images import RENDITION_NAME_RE, WIDTHS, CheckedImage, rendition_name
from tourplanner.domain.records import IMAGE_NAME_RE
from tourplanner.services import media_storage

PRODUCTS = "products"
PHOTOS = "photos"
COLLECTIONS = (PRODUCTS, PHOTOS)


def media_dir(collection: str = PRODUCTS) -> Path:
    """The collection's folder in the local store (the embedded set-up)."""
    path = media_storage.media_root() / collection
    path.mkdir(parents=True, exist_ok=True)
    return path


def _key(name: str, collection: str) -> str:
    if collection not in COLLECTIONS:
        raise ValueError(f"unknown media collection {collection!r}")
    return f"{collection}/{name}"


def is_stored_name(name: str) -> bool:
    """A photo's name, or the name of one of its narrower copies."""
    if IMAGE_NAME_RE.fullmatch(name):
        return True
    match = RENDITION_NAME_RE.fullmatch(name)
    return bool(match) and int(match.group(2)) in WIDTHS


def exists(name: str, collection: str = PRODUCTS) -> bool:
    return is_stored_name(name) and media_storage.store().exists(_key(name, collection))


#: Pixel sizes of stored photos by where they are: objects are content-addressed, so never
#: change. (Photos of ``services.photos`` record their sizes in the database instead.)
_SIZES: dict[str, tuple[int, int]] = {}


def _size(store: media_storage.MediaStore, key: str) -> tuple[int, int] | None:
    path = store.local_path(key)
    where = str(path) if path else (store.public_url(key) or f"s3:{id(type(store))}:{key}")
    if where not in _SIZES:
        try:
            if path is not None:
                with Image.open(path) as image:  # reads the header only
                    _SIZES[where] = image.size
            else:
                data = store.get(key)
                if data is None:
                    return None
                with Image.open(io.BytesIO(data)) as image:
                    _SIZES[where] = image.size
        except (OSError, ValueError):
            return None  # not (yet) there: not remembered
    return _SIZES[where]


def sources(name: str, collection: str = PRODUCTS) -> list[tuple[str, int, int]]:
    """``(file name, width, height)`` of a stored photo and its narrower copies, narrowest
    first; empty when the photo is not stored."""
    store = media_storage.store()
    if not is_stored_name(name) or not (main := _size(store, _key(name, collection))):
        return []
    out = []
    for width in WIDTHS:
        candidate = rendition_name(name, width)
        if width < main[0] and (size := _size(store, _key(candidate, collection))):
            out.append((candidate, *size))
    return [*out, (name, *main)]


def _files(image: CheckedImage, collection: str) -> list[tuple[str, bytes]]:
    """The keys and bytes of the photo and its narrower copies."""
    files = [(image.stored_name, image.data)]
    files += [(image.rendition_name(r.width), r.data) for r in image.renditions]
    return [(_key(name, collection), data) for name, data in files]


def discard(names: Iterable[str], collection: str) -> None:
    """Delete stored files (the caller knows no row uses them any more)."""
    store = media_storage.store()
    for name in names:
        store.delete(_key(name, collection))


def send(name: str, collection: str = PRODUCTS) -> Response:
    """The HTTP answer for a stored photo: the file, a redirect to the public bucket, or the
    bytes streamed from the bucket; 404 for anything that is not a stored name."""
    if not is_stored_name(name):
        abort(404)
    store = media_storage.store()
    key = _key(name, collection)
    if (url := store.public_url(key)) is not None:
        return redirect(url, code=301)  # content-addressed: the address never changes
    if store.local_path(key) is not None:
        response = send_from_directory(media_dir(collection), name, max_age=31536000)
    else:
        data = store.get(key)
        if data is None:
            abort(404)
        response = current_app.response_class(data, mimetype=media_storage.content_type(key))
        response.headers["Cache-Control"] = media_storage.CACHE_CONTROL
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


class Stage:
    """Files written during one import; removed again if the import fails."""

    def __init__(self) -> None:
        self.added: list[str] = []
        self.files: list[tuple[str, bytes]] = []

    def write(self, images: list[CheckedImage], collection: str = PRODUCTS) -> None:
        store = media_storage.store()
        for image in images:
            for key, data in _files(image, collection):
                self.files.append((key, data))
                if store.put(key, data):
                    self.added.append(key)

    def rewrite_missing(self) -> None:
        """After the commit: write again any file found already stored that a removal of a
        photo of the same bytes deleted meanwhile (between the write and the commit)."""
        store = media_storage.store()
        for key, data in self.files:
            if not store.exists(key):
                store.put(key, data)


@contextmanager
def staged() -> Iterator[Stage]:
    """A :class:`Stage` for the block; if the block raises (the database transaction inside
    it failed or was refused), the files it added are removed."""
    stage = Stage()
    try:
        yield stage
    except BaseException:
        store = media_storage.store()
        for key in stage.added:
            store.delete(key)
        raise
