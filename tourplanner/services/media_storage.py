"""Where stored photos' bytes live: a folder (embedded set-up, the default) or an
S3-compatible bucket (production), chosen by configuration.

``MEDIA_STORAGE`` "local" (default): files under ``MEDIA_ROOT`` (default ``instance/media``).
``MEDIA_STORAGE`` "s3": objects in ``MEDIA_S3_BUCKET`` at ``MEDIA_S3_ENDPOINT`` (with
``MEDIA_S3_REGION``, ``MEDIA_S3_ACCESS_KEY_ID``, ``MEDIA_S3_SECRET_ACCESS_KEY`` and an optional
key prefix ``MEDIA_S3_PREFIX``). With ``MEDIA_PUBLIC_URL`` set, pages link photos there (a
public bucket or a CDN in front of it); without it the site streams them from the bucket.

Keys are ``<collection>/<name>``, ``name`` content-addressed (the SHA-256 of the bytes), so an
object never changes once written: writing it again is a no-op, and it may be cached for ever.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol

from flask import current_app

from tourplanner.adapters.s3 import Credentials, S3Client

#: Content-addressed objects never change.
CACHE_CONTROL = "public, max-age=31536000, immutable"
MIME_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


class MediaStore(Protocol):
    """What the photo services need of a store."""

    def put(self, key: str, data: bytes) -> bool:
        """Store the bytes; False when the object was already there (nothing written)."""

    def get(self, key: str) -> bytes | None: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def local_path(self, key: str) -> Path | None:
        """The file, when the store is a folder (the site sends it itself)."""

    def public_url(self, key: str) -> str | None:
        """Where browsers can fetch it directly, if anywhere."""


def content_type(key: str) -> str:
    return MIME_TYPES.get(key.rpartition(".")[2], "application/octet-stream")


class LocalStore:
    """A folder; files written atomically (a reader never sees half a photo)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key

    def put(self, key: str, data: bytes) -> bool:
        target = self._path(key)
        if target.exists():
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
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

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def public_url(self, key: str) -> str | None:
        return None


class S3Store:
    """A bucket (or a prefix in one) of an S3-compatible store."""

    def __init__(self, client: S3Client, prefix: str = "", public_base: str | None = None):
        self.client = client
        self.prefix = prefix.strip("/")
        self.public_base = public_base.rstrip("/") if public_base else None

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: bytes) -> bool:
        # A HEAD first: content-addressed, so an existing object is the same bytes, and the
        # caller must not remove it again if its transaction fails (another row may use it).
        if self.client.exists(self._key(key)):
            return False
        self.client.put(self._key(key), data, content_type(key), CACHE_CONTROL)
        return True

    def get(self, key: str) -> bytes | None:
        return self.client.get(self._key(key))

    def exists(self, key: str) -> bool:
        return self.client.exists(self._key(key))

    def delete(self, key: str) -> None:
        self.client.delete(self._key(key))

    def local_path(self, key: str) -> Path | None:
        return None

    def public_url(self, key: str) -> str | None:
        return f"{self.public_base}/{self._key(key)}" if self.public_base else None


def media_root() -> Path:
    root = current_app.config.get("MEDIA_ROOT") or Path(current_app.instance_path) / "media"
    return Path(root)


def store() -> MediaStore:
    """The configured store (read on each call: cheap, and tests change the settings)."""
    config = current_app.config
    kind = (config.get("MEDIA_STORAGE") or "local").lower()
    if kind == "local":
        return LocalStore(media_root())
    if kind != "s3":
        raise RuntimeError(f"MEDIA_STORAGE must be 'local' or 's3', not {kind!r}")
    required = (
        "MEDIA_S3_ENDPOINT",
        "MEDIA_S3_BUCKET",
        "MEDIA_S3_ACCESS_KEY_ID",
        "MEDIA_S3_SECRET_ACCESS_KEY",
    )
    missing = [name for name in required if not config.get(name)]
    if missing:
        raise RuntimeError(f"MEDIA_STORAGE=s3 needs {', '.join(missing)}")
    credentials = Credentials(
        config["MEDIA_S3_ACCESS_KEY_ID"],
        config["MEDIA_S3_SECRET_ACCESS_KEY"],
        config.get("MEDIA_S3_REGION") or "us-east-1",
    )
    client = S3Client(config["MEDIA_S3_ENDPOINT"], config["MEDIA_S3_BUCKET"], credentials)
    return S3Store(client, config.get("MEDIA_S3_PREFIX") or "", config.get("MEDIA_PUBLIC_URL"))
