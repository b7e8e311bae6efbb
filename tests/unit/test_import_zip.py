"""``flask catalogue import`` of a zip: a CSV of 300 products plus the 600 photos it names.

One bad photo writes nothing (no row, no file) and is named by row, field and file; fixed, all
import; imported again, nothing changes. Photos are stored without their metadata.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.catalogue_zip import build_zip, make_png
from tourplanner.adapters.orm import Product
from tourplanner.domain.images import ImageProblem, check_image
from tourplanner.extensions import db

BAD = 137  # 0-based product; CSV line = BAD + 2


@pytest.fixture
def media(app, tmp_path) -> Path:
    app.config["MEDIA_ROOT"] = tmp_path / "media"
    return tmp_path / "media" / "products"


def _products() -> int:
    return db.session.scalar(select(func.count()).select_from(Product))


def _import(runner, path: Path):
    return runner.invoke(args=["catalogue", "import", str(path)])


def _files(media: Path) -> list[Path]:
    return sorted(media.glob("*")) if media.exists() else []


def test_one_bad_photo_among_300_writes_nothing_and_is_named(runner, tmp_path, media):
    before = _products()
    path = tmp_path / "products.zip"
    path.write_bytes(build_zip(300, bad=BAD))
    result = _import(runner, path)
    assert result.exit_code == 1
    line = BAD + 2
    assert (
        f"product row {line}, field 'images': photos/p{BAD:04d}-a.png: not a JPEG, PNG or WebP"
        in result.stderr
    )
    assert "1 problem(s); nothing was imported." in result.stderr
    assert _products() == before
    assert _files(media) == []


def test_fixed_zip_imports_everything_then_again_changes_nothing(runner, tmp_path, media):
    before = _products()
    path = tmp_path / "products.zip"
    path.write_bytes(build_zip(300))
    first = _import(runner, path)
    assert first.exit_code == 0, first.stderr
    assert "products: 300 created" in first.stdout
    assert _products() == before + 300
    assert len(_files(media)) == 600
    product = db.session.scalar(select(Product).where(Product.slug == "test-product-0007"))
    assert len(product.images) == 2 and all((media / n).is_file() for n in product.images)
    assert product.where_to_buy == [{"name": "Chợ gốm Bát Tràng"}]
    again = _import(runner, path)
    assert again.exit_code == 0 and "Nothing changed." in again.stdout
    assert len(_files(media)) == 600


def test_stored_photos_lose_their_text_metadata(runner, tmp_path, media):
    path = tmp_path / "products.zip"
    path.write_bytes(build_zip(2))
    assert _import(runner, path).exit_code == 0
    for stored in _files(media):
        data = stored.read_bytes()
        assert b"tEXt" not in data and check_image(data).width == 240


def test_photo_problems_are_named(runner, tmp_path, media):
    big = make_png(1, width=9000, height=200)
    small = make_png(2, width=100, height=100)
    out = io.BytesIO()
    rows = [
        "type,slug,village,name_vi,images",
        "product,p-missing,bat-trang,A,nowhere.png",
        "product,p-small,bat-trang,B,small.png",
        "product,p-big,bat-trang,C,big.png",
        "product,p-twice,bat-trang,D,a.png|a.png",
        "product,p-copy,bat-trang,E,copy.png",
        "product,p-cut,bat-trang,F,cut.png",
    ]
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("products.csv", "\n".join(rows) + "\n")
        for name, data in [
            ("small.png", small),
            ("big.png", big),
            ("a.png", make_png(3)),
            ("copy.png", make_png(3)),
            ("cut.png", make_png(4)[:-20]),
        ]:
            archive.writestr(name, data)
    path = tmp_path / "bad.zip"
    path.write_bytes(out.getvalue())
    result = _import(runner, path)
    assert result.exit_code == 1
    for expected in (
        "row 2, field 'images': nowhere.png: no such file in the zip",
        "row 3, field 'images': small.png: 100×100 pixels; each side needs at least 200",
        "row 4, field 'images': big.png: 9000×200 pixels; no side may exceed 8000",
        "row 5, field 'images': a.png: listed twice",
        "row 6, field 'images': copy.png: the same picture as a.png (row 5)",
        "row 7, field 'images': cut.png: damaged PNG",
    ):
        assert expected in result.stderr, result.stderr
    assert _files(media) == []


def test_a_zip_needs_exactly_one_catalogue_file(runner, tmp_path, media):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a.csv", "type,slug\n")
        archive.writestr("b.json", "{}")
    path = tmp_path / "two.zip"
    path.write_bytes(out.getvalue())
    result = _import(runner, path)
    assert result.exit_code == 1 and "exactly one .csv or .json" in result.stderr
    (tmp_path / "junk.zip").write_bytes(b"PK not really")
    assert "not a zip archive" in _import(runner, tmp_path / "junk.zip").stderr


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"GIF89a" + b"\0" * 100, "not a JPEG, PNG or WebP image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "damaged JPEG"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "damaged WebP"),
    ],
)
def test_images_that_are_not_photos_are_refused(data, reason):
    with pytest.raises(ImageProblem, match=reason):
        check_image(data)
