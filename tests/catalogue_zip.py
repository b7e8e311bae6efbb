"""Zips of products with photos for the import tests and bench/import_products.py.

The photos are real PNG files (made here with zlib, no imaging library), each one different.
"""

from __future__ import annotations

import csv
import io
import random
import struct
import zipfile
import zlib


def make_png(seed: int, width: int = 240, height: int = 200, *, noise: bool = False) -> bytes:
    """A valid RGB PNG whose pixels depend on ``seed`` (so every photo is a different file);
    ``noise``: random pixels, which do not compress (a file as large as a real photo)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    r, g, b = seed % 251, (seed // 251) % 251, (seed * 7) % 253
    if noise:
        rng = random.Random(seed)
        rows = b"".join(b"\x00" + rng.randbytes(3 * width) for _ in range(height))
    else:
        rows = b"".join(b"\x00" + bytes((r, g, (b + y) % 256)) * width for y in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"tEXt", b"Comment\x00made by the tests")
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


COLUMNS = [
    "type",
    "slug",
    "village",
    "name_vi",
    "name_en",
    "category",
    "ocop_stars",
    "images",
    "where_to_buy",
    "sources",
]


def product_rows(count: int, village: str = "bat-trang") -> list[dict]:
    return [
        {
            "type": "product",
            "slug": f"test-product-{n:04d}",
            "village": village,
            "name_vi": f"Sản phẩm thử {n}",
            "name_en": f"Test product {n}",
            "category": "ceramics",
            "ocop_stars": str(3 + n % 3),
            "images": f"photos/p{n:04d}-a.png|photos/p{n:04d}-b.png",
            "where_to_buy": '[{"name": "Chợ gốm Bát Tràng"}]',
            "sources": "https://example.org/catalogue",
        }
        for n in range(count)
    ]


def build_zip(count: int = 300, *, bad: int | None = None) -> bytes:
    """``count`` products with two photos each; ``bad``: that product's first photo is junk."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    rows = product_rows(count)
    writer.writerows(rows)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("products.csv", buffer.getvalue())
        for n in range(count):
            first = b"not a picture" if n == bad else make_png(2 * n)
            archive.writestr(f"photos/p{n:04d}-a.png", first)
            archive.writestr(f"photos/p{n:04d}-b.png", make_png(2 * n + 1))
    return out.getvalue()
