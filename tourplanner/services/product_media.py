"""Where product photos live: content-addressed files under ``MEDIA_ROOT`` (default
``instance/media/products``), named by the SHA-256 of their (metadata-free) bytes.

Files are written before the database transaction that references them commits; if that
transaction fails, the written files are removed again (:func:`staged`), so an import that
writes nothing leaves no photo behind either. The same photo stored twice is one file.

Next to each photo lie its narrower copies (``<name>-480.jpg``, ... see
``domain.images.WIDTHS``), written and removed with it; :func:`sources` says which exist, for
the pages' ``srcset``. Photos stored before the copies existed simply have none.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import current_app
from PIL import Image

from tourplanner.domain.images import RENDITION_NAME_RE, WIDTHS, CheckedImage, rendition_name
from tourplanner.domain.records import IMAGE_NAME_RE


def media_dir() -> Path:
    root = current_app.config.get("MEDIA_ROOT") or Path(current_app.instance_path) / "media"
    path = Path(root) / "products"
    path.mkdir(parents=True, exist_ok=True)
    return path


def is_stored_name(name: str) -> bool:
    """A photo's name, or the name of one of its narrower copies."""
    if IMAGE_NAME_RE.fullmatch(name):
        return True
    match = RENDITION_NAME_RE.fullmatch(name)
    return bool(match) and int(match.group(2)) in WIDTHS


def exists(name: str) -> bool:
    return is_stored_name(name) and (media_dir() / name).is_file()


#: Pixel sizes of stored photos by path: files are content-addressed, so never change.
_SIZES: dict[Path, tuple[int, int]] = {}


def _size(path: Path) -> tuple[int, int] | None:
    if path not in _SIZES:
        try:
            with Image.open(path) as image:  # reads the header only
                _SIZES[path] = image.size
        except (OSError, ValueError):
            return None  # not (yet) there: not remembered
    return _SIZES[path]


def sources(name: str) -> list[tuple[str, int, int]]:
    """``(file name, width, height)`` of a stored photo and its narrower copies, narrowest
    first; empty when the photo is not stored."""
    folder = media_dir()
    if not is_stored_name(name) or not (main := _size(folder / name)):
        return []
    out = []
    for width in WIDTHS:
        candidate = rendition_name(name, width)
        if width < main[0] and (size := _size(folder / candidate)):
            out.append((candidate, *size))
    return [*out, (name, *main)]


def _write_file(target: Path, data: bytes) -> bool:
    """Write the file atomically; False when it was already there."""
    if target.exists():
        return False
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def _write(image: CheckedImage) -> list[Path]:
    """The photo and its narrower copies; returns the files this call created."""
    folder = media_dir()
    files = [(folder / image.stored_name, image.data)]
    files += [(folder / image.rendition_name(r.width), r.data) for r in image.renditions]
    return [target for target, data in files if _write_file(target, data)]


class Stage:
    """Files written during one import; removed again if the import fails."""

    def __init__(self) -> None:
        self.added: list[Path] = []

    def write(self, images: list[CheckedImage]) -> None:
        for image in images:
            self.added.extend(_write(image))


@contextmanager
def staged() -> Iterator[Stage]:
    """A :class:`Stage` for the block; if the block raises (the database transaction inside
    it failed or was refused), the files it added are removed."""
    stage = Stage()
    try:
        yield stage
    except BaseException:
        for path in stage.added:
            path.unlink(missing_ok=True)
        raise
