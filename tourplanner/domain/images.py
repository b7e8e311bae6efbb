"""Product photos: format, size and dimension checks, and removal of embedded metadata.

Plain Python on the file's bytes, no imaging library: the checks read the container structure
(JPEG segments, PNG chunks with their CRCs, the WebP RIFF chunks) far enough to know the format
and the pixel size, and to refuse truncated or disguised files. Metadata is removed because a
phone photo usually carries the GPS position of the person who took it (EXIF), which must not be
published with a product; the picture data itself is kept byte for byte.

What this does not do is decode the pixels: a file whose headers are well-formed but whose
compressed data is corrupt passes. Decoding (and re-encoding to thumbnails) needs Pillow.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass

MAX_BYTES = 5 * 1024 * 1024
MIN_SIDE = 200
#: Beyond this a photo is no product picture but a memory bomb for whoever decodes it.
MAX_SIDE = 8000
EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp"}
MIME_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


class ImageProblem(ValueError):
    """Why a file is not an acceptable product photo (the message names the reason)."""


@dataclass(frozen=True)
class CheckedImage:
    format: str  # "jpeg", "png" or "webp"
    width: int
    height: int
    data: bytes  # the file without its metadata

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


def check_image(data: bytes) -> CheckedImage:
    """Validate one photo and strip its metadata; raises ImageProblem with the reason."""
    if len(data) > MAX_BYTES:
        raise ImageProblem(f"the file is {len(data):,} bytes; at most {MAX_BYTES:,} are accepted")
    if data.startswith(b"\xff\xd8\xff"):
        fmt, (width, height), clean = "jpeg", *_jpeg(data)
    elif data.startswith(b"\x89PNG\r\n\x1a\n"):
        fmt, (width, height), clean = "png", *_png(data)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        fmt, (width, height), clean = "webp", *_webp(data)
    else:
        raise ImageProblem("not a JPEG, PNG or WebP image")
    if min(width, height) < MIN_SIDE:
        raise ImageProblem(f"{width}×{height} pixels; each side needs at least {MIN_SIDE}")
    if max(width, height) > MAX_SIDE:
        raise ImageProblem(f"{width}×{height} pixels; no side may exceed {MAX_SIDE}")
    return CheckedImage(fmt, width, height, clean)


# --- JPEG ----------------------------------------------------------------------------------

_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
#: APP1 (EXIF, XMP), APP13 (IPTC) and comments: where cameras and editors put who, where, when.
_JPEG_METADATA = {0xE1, 0xED, 0xFE}


def _jpeg(data: bytes) -> tuple[tuple[int, int], bytes]:
    out, pos, size = [data[:2]], 2, None
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
        if marker not in _JPEG_METADATA:
            out.append(segment)
        pos += 2 + length
    if size is None:
        raise ImageProblem("damaged JPEG: no frame header (pixel size)")
    if b"\xff\xd9" not in data[-64:]:
        raise ImageProblem("damaged JPEG: the file is cut off (no end marker)")
    out.append(data[pos:])
    return size, b"".join(out)


# --- PNG -----------------------------------------------------------------------------------

_PNG_METADATA = {b"eXIf", b"tEXt", b"iTXt", b"zTXt", b"tIME"}


def _png(data: bytes) -> tuple[tuple[int, int], bytes]:
    out, pos, size, ended = [data[:8]], 8, None, False
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
        if kind not in _PNG_METADATA:
            out.append(data[pos : pos + 12 + length])
        pos += 12 + length
        if kind == b"IEND":
            ended = True
            break
    if size is None or not ended:
        raise ImageProblem("damaged PNG: the file is cut off (no end chunk)")
    return (int(size[0]), int(size[1])), b"".join(out)


# --- WebP ----------------------------------------------------------------------------------

_WEBP_METADATA = {b"EXIF", b"XMP "}


def _webp(data: bytes) -> tuple[tuple[int, int], bytes]:
    (riff_size,) = struct.unpack("<I", data[4:8])
    if riff_size + 8 != len(data):
        raise ImageProblem("damaged WebP: the file size does not match its header")
    chunks, pos, size = [], 12, None
    while pos < len(data):
        kind = data[pos : pos + 4]
        if len(data) < pos + 8:
            raise ImageProblem("damaged WebP: a chunk is cut off")
        (length,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if len(body) != length:
            raise ImageProblem("damaged WebP: a chunk is cut off")
        size = size or _webp_size(kind, body)
        if kind not in _WEBP_METADATA:
            chunks.append([kind, body])
        pos += 8 + length + (length & 1)
    if size is None:
        raise ImageProblem("damaged WebP: no image chunk")
    for chunk in chunks:
        if chunk[0] == b"VP8X":  # clear the "has EXIF" and "has XMP" flags
            chunk[1] = bytes([chunk[1][0] & ~0x0C]) + chunk[1][1:]
    body = b"".join(
        k + struct.pack("<I", len(b)) + b + (b"\x00" if len(b) & 1 else b"") for k, b in chunks
    )
    return size, b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body


def _webp_size(kind: bytes, body: bytes) -> tuple[int, int] | None:
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
