"""Product photos: checked, decoded and re-encoded before anything is stored.

Two stages. First the container structure is read without decoding (JPEG segments, PNG chunks
with their CRCs, the WebP RIFF chunks): this names the format and the pixel size cheaply and
refuses truncated or disguised files, too large or too small pictures and decompression bombs
(a small file that declares a huge pixel count) before any pixel memory is allocated.

Then Pillow decodes the picture for real (corrupt compressed data is refused), turns it upright
from its EXIF orientation, and encodes it again: what is stored is new picture data only, with no
EXIF, XMP, IPTC or text chunk. A phone photo usually carries the GPS position of the person who
took it, which must not be published with a product. The colour profile (ICC) is kept: it
describes colours, not people, and without it some photos show wrong colours.

The stored photo is at most ``WIDTHS[-1]`` pixels wide; narrower copies (``WIDTHS``, only those
narrower than the photo, never enlarged) let a phone load a small file (``srcset``).
Encoding is deterministic, so the same upload gives the same bytes and the same stored name.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import warnings
import zlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from math import ceil

from PIL import Image, ImageOps

MAX_BYTES = 5 * 1024 * 1024
MIN_SIDE = 200
#: Beyond this a photo is no product picture but a memory bomb for whoever decodes it.
MAX_SIDE = 8000
#: 40 million pixels (e.g. 8000 × 5000) are about 120 MB once decoded: the most one upload
#: may cost. A PNG of one colour that declares 8000 × 8000 compresses to a few kilobytes.
MAX_PIXELS = 40_000_000
#: The widths served (``srcset``); the largest is the stored photo itself.
WIDTHS: tuple[int, ...] = (480, 960, 1600)
JPEG_QUALITY = 85
WEBP_QUALITY = 82
EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp"}
MIME_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
_PIL_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}
_NAMES = {"jpeg": "JPEG", "png": "PNG", "webp": "WebP"}
_ORIENTATION = 0x0112  # the EXIF tag
#: A narrower copy of a stored photo: ``<sha256 of the photo>-<width>.<ext>``.
RENDITION_NAME_RE = re.compile(r"([0-9a-f]{64})-(\d{2,4})\.(jpg|png|webp)")


class ImageProblem(ValueError):
    """Why a file is not an acceptable product photo (the message names the reason).

    ``code`` and ``params`` say it for pages that word it in their own language: "too_big"
    (size, limit), "not_an_image", "too_small" (width, height, limit), "too_large" (width,
    height) or "damaged"."""

    def __init__(self, message: str, code: str = "damaged", **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Rendition:
    """A narrower copy of a photo, for small screens."""

    width: int
    height: int
    data: bytes


@dataclass(frozen=True)
class CheckedImage:
    format: str  # "jpeg", "png" or "webp"
    width: int  # of the stored photo (upright, at most WIDTHS[-1] wide)
    height: int
    data: bytes  # the re-encoded photo, without metadata
    renditions: tuple[Rendition, ...] = ()  # narrower copies, narrowest first

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def stored_name(self) -> str:
        """Content-addressed: the same photo imported twice is one file."""
        return f"{self.digest}.{self.extension}"

    def rendition_name(self, width: int) -> str:
        return rendition_name(self.stored_name, width)


def rendition_name(stored_name: str, width: int) -> str:
    """The file name of the ``width`` pixels wide copy of a stored photo."""
    stem, _, extension = stored_name.partition(".")
    return f"{stem}-{width}.{extension}"


def check_image(data: bytes, *, max_bytes: int = MAX_BYTES) -> CheckedImage:
    """Validate one photo, decode it and re-encode it upright without metadata, with its
    narrower copies; raises ImageProblem with the reason."""
    if len(data) > max_bytes:
        raise ImageProblem(
            f"the file is {len(data):,} bytes; at most {max_bytes:,} are accepted",
            "too_big",
            size=len(data),
            limit=max_bytes,
        )
    if data.startswith(b"\xff\xd8\xff"):
        fmt, (width, height) = "jpeg", _jpeg_size(data)
    elif data.startswith(b"\x89PNG\r\n\x1a\n"):
        fmt, (width, height) = "png", _png_size(data)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        fmt, (width, height) = "webp", _webp_size(data)
    else:
        raise ImageProblem("not a JPEG, PNG or WebP image", "not_an_image")
    size = {"width": width, "height": height}
    if min(width, height) < MIN_SIDE:
        raise ImageProblem(
            f"{width}×{height} pixels; each side needs at least {MIN_SIDE}",
            "too_small",
            limit=MIN_SIDE,
            **size,
        )
    if max(width, height) > MAX_SIDE:
        raise ImageProblem(
            f"{width}×{height} pixels; no side may exceed {MAX_SIDE}", "too_large", **size
        )
    if width * height > MAX_PIXELS:
        raise ImageProblem(
            f"{width}×{height} pixels ({width * height / 1e6:.0f} million); "
            f"at most {MAX_PIXELS // 1_000_000} million are accepted",
            "too_large",
            **size,
        )
    picture = _decode(data, fmt, (width, height))
    return _encode_all(picture, fmt)


def check_images(
    files: Iterable[bytes], *, workers: int | None = None
) -> list[CheckedImage | ImageProblem]:
    """:func:`check_image` of many files at once, in order: each result is the checked image
    or the problem. Pillow releases the interpreter lock while it decodes, resizes and encodes,
    so threads use every core (a bulk import of hundreds of phone photos needs it)."""

    def one(data: bytes) -> CheckedImage | ImageProblem:
        try:
            return check_image(data)
        except ImageProblem as exc:
            return exc

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, files))


# --- decoding and re-encoding (Pillow) -----------------------------------------------------

#: What Pillow raises on data it cannot decode (it has no single exception class for it).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, zlib.error)


def _decode(data: bytes, fmt: str, size: tuple[int, int]) -> Image.Image:
    """The picture, upright, fully decoded; a JPEG wider than needed is decoded at a reduced
    scale (the decoder does it while reading all of the data, so corruption is still found)."""
    name = _NAMES[fmt]
    try:
        with warnings.catch_warnings():
            # Pillow only warns below twice its own limit: here any bomb warning refuses.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Not a context manager: closing the image would free the pixels it decoded.
            image = Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[fmt]])
            if image.size != size:
                raise ImageProblem(f"damaged {name}: its headers disagree on the pixel size")
            orientation = image.getexif().get(_ORIENTATION, 1)
            upright_width = size[1] if orientation in (5, 6, 7, 8) else size[0]
            scale = min(1.0, WIDTHS[-1] / upright_width)
            if fmt == "jpeg" and scale < 1:
                # The decoder picks the largest 1/2, 1/4 or 1/8 scale still at least this.
                image.draft(image.mode, (ceil(size[0] * scale), ceil(size[1] * scale)))
            image.load()
            ImageOps.exif_transpose(image, in_place=True)
    except ImageProblem:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageProblem(
            f"{size[0]}×{size[1]} pixels: too large to decode",
            "too_large",
            width=size[0],
            height=size[1],
        ) from None
    except _DECODE_ERRORS:
        raise ImageProblem(f"damaged {name}: the picture data cannot be decoded") from None
    return image


def _web_mode(image: Image.Image, fmt: str) -> Image.Image:
    """A mode every browser shows and the encoder takes (palette, 16-bit, CMYK: converted)."""
    if fmt == "jpeg":
        return image if image.mode in ("L", "RGB") else image.convert("RGB")
    if image.mode in ("L", "LA", "RGB", "RGBA"):
        return image
    alpha = image.has_transparency_data
    return image.convert("RGBA" if alpha else "RGB")


def _fit(image: Image.Image, width: int) -> Image.Image:
    if image.width <= width:
        return image
    height = max(1, round(image.height * width / image.width))
    # As Pillow's own thumbnails: a fast integer reduction first, then bicubic over the last
    # factor of 2 (Lanczos looks no better at these sizes and costs twice the time).
    return image.resize((width, height), Image.Resampling.BICUBIC, reducing_gap=2.0)


def _encode(image: Image.Image, fmt: str, icc: bytes | None) -> bytes:
    out = io.BytesIO()
    image.info = {}  # nothing of the upload's own metadata may reach the encoder
    options: dict = {"icc_profile": icc} if icc else {}
    if fmt == "jpeg":
        image.save(out, "JPEG", quality=JPEG_QUALITY, **options)
    elif fmt == "png":
        image.save(out, "PNG", **options)
    else:
        image.save(out, "WEBP", quality=WEBP_QUALITY, method=4, **options)
    return out.getvalue()


def _encode_all(picture: Image.Image, fmt: str) -> CheckedImage:
    icc = picture.info.get("icc_profile")
    picture = _web_mode(picture, fmt)
    stored = _fit(picture, WIDTHS[-1])
    renditions = []
    source = stored
    for width in sorted(WIDTHS[:-1], reverse=True):
        if width < stored.width:
            source = _fit(source, width)  # from the next larger copy: less work, same result
            renditions.append(Rendition(source.width, source.height, _encode(source, fmt, icc)))
    return CheckedImage(
        fmt,
        stored.width,
        stored.height,
        _encode(stored, fmt, icc),
        tuple(reversed(renditions)),
    )


# --- container structure (no decoding) ----------------------------------------------------

_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(data: bytes) -> tuple[int, int]:
    pos, size = 2, None
    while True:
        if pos + 4 > len(data) or data[pos] != 0xFF:
            raise ImageProblem("damaged JPEG: the headers end early")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA:  # start of scan: the picture data follows
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        segment = data[pos : pos + 2 + length]
        if length < 2 or len(segment) != 2 + length:
            raise ImageProblem("damaged JPEG: a header is cut off")
        if marker in _SOF and length >= 7:
            height, width = struct.unpack(">HH", segment[5:9])
            size = (width, height)
        pos += 2 + length
    if size is None:
        raise ImageProblem("damaged JPEG: no frame header (pixel size)")
    if b"\xff\xd9" not in data[-64:]:
        raise ImageProblem("damaged JPEG: the file is cut off (no end marker)")
    return size


def _png_size(data: bytes) -> tuple[int, int]:
    pos, size, ended = 8, None, False
    while pos < len(data):
        if pos + 12 > len(data):
            raise ImageProblem("damaged PNG: a chunk is cut off")
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        crc = data[pos + 8 + length : pos + 12 + length]
        if len(body) != length or len(crc) != 4:
            raise ImageProblem("damaged PNG: a chunk is cut off")
        if zlib.crc32(kind + body) != struct.unpack(">I", crc)[0]:
            raise ImageProblem(f"damaged PNG: the {kind.decode('latin-1')!r} chunk is corrupt")
        if size is None:
            if kind != b"IHDR" or length < 8:
                raise ImageProblem("damaged PNG: the header chunk is missing")
            size = struct.unpack(">II", body[:8])
        pos += 12 + length
        if kind == b"IEND":
            ended = True
            break
    if size is None or not ended:
        raise ImageProblem("damaged PNG: the file is cut off (no end chunk)")
    return int(size[0]), int(size[1])


def _webp_size(data: bytes) -> tuple[int, int]:
    (riff_size,) = struct.unpack("<I", data[4:8])
    if riff_size + 8 != len(data):
        raise ImageProblem("damaged WebP: the file size does not match its header")
    pos, size = 12, None
    while pos < len(data):
        kind = data[pos : pos + 4]
        if len(data) < pos + 8:
            raise ImageProblem("damaged WebP: a chunk is cut off")
        (length,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if len(body) != length:
            raise ImageProblem("damaged WebP: a chunk is cut off")
        size = size or _webp_chunk_size(kind, body)
        pos += 8 + length + (length & 1)
    if size is None:
        raise ImageProblem("damaged WebP: no image chunk")
    return size


def _webp_chunk_size(kind: bytes, body: bytes) -> tuple[int, int] | None:
    if kind == b"VP8X" and len(body) >= 10:
        width = int.from_bytes(body[4:7], "little") + 1
        height = int.from_bytes(body[7:10], "little") + 1
        return width, height
    if kind == b"VP8 " and len(body) >= 10 and body[3:6] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", body[6:10])
        return width & 0x3FFF, height & 0x3FFF
    if kind == b"VP8L" and len(body) >= 5 and body[0] == 0x2F:
        bits = int.from_bytes(body[1:5], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None
