"""Where product photos live: content-addressed files under ``MEDIA_ROOT`` (default
``instance/media/products``), named by the SHA-256 of their (metadata-free) bytes.

Files are written before the database transaction that references them commits; if that
transaction fails, the written files are removed again (:func:`staged`), so an import that
writes nothing leaves no photo behind either. The same photo stored twice is one file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import current_app

from tourplanner.domain.images import CheckedImage
from tourplanner.domain.records import IMAGE_NAME_RE


def media_dir() -> Path:
    root = current_app.config.get("MEDIA_ROOT") or Path(current_app.instance_path) / "media"
    path = Path(root) / "products"
    path.mkdir(parents=True, exist_ok=True)
    return path


def is_stored_name(name: str) -> bool:
    return bool(IMAGE_NAME_RE.fullmatch(name))


def exists(name: str) -> bool:
    return is_stored_name(name) and (media_dir() / name).is_file()


def _write(image: CheckedImage) -> bool:
    """Write the file atomically; False when it was already there."""
    target = media_dir() / image.stored_name
    if target.exists():
        return False
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(image.data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


class Stage:
    """Files written during one import; removed again if the import fails."""

    def __init__(self) -> None:
        self.added: list[Path] = []

    def write(self, images: list[CheckedImage]) -> None:
        for image in images:
            if _write(image):
                self.added.append(media_dir() / image.stored_name)


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
