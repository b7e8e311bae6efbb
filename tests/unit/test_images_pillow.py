"""Product photos go through Pillow: decoded for real, turned upright, re-encoded without any
metadata, refused when damaged or a decompression bomb, and stored in a few widths for srcset."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from tests.catalogue_zip import make_png
from tourplanner.domain import images
from tourplanner.domain.images import ImageProblem, check_image, check_images
from tourplanner.services import product_media


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(width: int, height: int, idat: bytes, colour_type: int = 2) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def _gps_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"  # camera make
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (21.0, 1.0, 30.0), 3: "E", 4: (105.0, 55.0, 12.0)})
    return exif


def _jpeg(width: int, height: int, *, exif: Image.Exif | None = None) -> bytes:
    # Left half red, right half blue: tells which way up the stored photo is.
    picture = Image.new("RGB", (width, height), (200, 0, 0))
    picture.paste((0, 0, 200), (width // 2, 0, width, height))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=90, exif=exif or Image.Exif(), comment=b"Nguyen Van A")
    return out.getvalue()


def test_a_jpeg_with_gps_exif_is_stored_without_any_exif():
    data = _jpeg(640, 480, exif=_gps_exif())
    assert b"Exif\x00\x00" in data and b"PhoneMaker" in data and b"Nguyen" in data
    checked = check_image(data)
    for blob in (checked.data, *(r.data for r in checked.renditions)):
        assert b"Exif" not in blob and b"PhoneMaker" not in blob and b"Nguyen" not in blob
        stored = Image.open(io.BytesIO(blob))
        assert not stored.getexif() and stored.format == "JPEG"


def test_the_exif_orientation_is_applied_before_it_is_dropped():
    # Orientation 6: the camera held upright; the pixels lie on their side (left = red).
    checked = check_image(_jpeg(640, 480, exif=_gps_exif(orientation=6)))
    assert (checked.width, checked.height) == (480, 640)
    stored = Image.open(io.BytesIO(checked.data)).convert("RGB")
    assert stored.size == (480, 640)
    top, bottom = stored.getpixel((240, 20)), stored.getpixel((240, 620))
    # Turned 90° clockwise: the red left half is now at the top, the blue at the bottom.
    assert top[0] > 150 and top[2] < 60 and bottom[2] > 150 and bottom[0] < 60


def test_png_and_webp_lose_their_text_and_exif_chunks():
    png = make_png(5, 300, 250)
    assert b"tEXt" in png
    assert b"tEXt" not in check_image(png).data
    out = io.BytesIO()
    Image.new("RGB", (300, 250), (10, 120, 30)).save(out, "WEBP", exif=_gps_exif())
    assert b"EXIF" in out.getvalue()
    stored = check_image(out.getvalue()).data
    assert b"EXIF" not in stored and b"PhoneMaker" not in stored


def test_a_png_header_followed_by_junk_is_refused_with_a_clear_message():
    forged = b"\x89PNG\r\n\x1a\n" + b"this is not a picture at all" * 20
    with pytest.raises(ImageProblem, match="damaged PNG"):
        check_image(forged)


def test_well_formed_chunks_around_undecodable_picture_data_are_refused():
    # Every chunk and CRC is right, so the structural check alone let these through.
    junk = _png(300, 250, b"junk" * 100)
    rows = b"".join(b"\x00" + bytes((10, 20, y % 256)) * 300 for y in range(250))
    cut = _png(300, 250, zlib.compress(rows)[:300])
    for data in (junk, cut):
        with pytest.raises(ImageProblem, match="damaged PNG: the picture data cannot be decoded"):
            check_image(data)


def test_a_small_file_declaring_a_huge_picture_is_refused_before_decoding():
    width = height = 8000  # each side allowed; 64 million pixels are not
    packer = zlib.compressobj()
    row = b"\x00" * (width + 1)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    bomb = _png(width, height, idat, colour_type=0)
    assert len(bomb) < 200_000
    with pytest.raises(ImageProblem, match=r"8000×8000 pixels \(64 million\); at most 40 million"):
        check_image(bomb)


def test_a_side_beyond_the_limit_is_refused():
    with pytest.raises(ImageProblem, match="no side may exceed 8000"):
        check_image(_png(30000, 300, b""))


def test_a_large_photo_is_stored_1600_wide_with_480_and_960_copies():
    checked = check_image(_jpeg(2400, 1800))
    assert (checked.width, checked.height) == (1600, 1200)
    assert [(r.width, r.height) for r in checked.renditions] == [(480, 360), (960, 720)]
    for rendition in checked.renditions:
        assert Image.open(io.BytesIO(rendition.data)).size == (rendition.width, rendition.height)


def test_a_photo_is_never_enlarged_and_gets_only_narrower_copies():
    assert [r.width for r in check_image(_jpeg(700, 500)).renditions] == [480]
    small = check_image(make_png(1, 240, 200))
    assert (small.width, small.height, small.renditions) == (240, 200, ())


def test_the_same_upload_gives_the_same_bytes_and_name():
    data = _jpeg(1000, 800, exif=_gps_exif())
    assert check_image(data).stored_name == check_image(data).stored_name


def test_many_photos_are_checked_at_once_in_order_with_their_problems():
    results = check_images([make_png(1, 300, 250), b"GIF89a", make_png(2, 320, 250)])
    assert [type(r) for r in results] == [images.CheckedImage, ImageProblem, images.CheckedImage]
    assert results[2].width == 320


def test_stored_copies_are_written_with_the_photo_and_removed_with_a_failed_import(app, tmp_path):
    app.config["MEDIA_ROOT"] = tmp_path / "media"
    checked = check_image(_jpeg(1200, 900))
    with app.test_request_context():
        folder = product_media.media_dir()
        with pytest.raises(RuntimeError), product_media.staged() as stage:
            stage.write([checked])
            assert len(list(folder.iterdir())) == 3
            raise RuntimeError("the transaction failed")
        assert list(folder.iterdir()) == []
        with product_media.staged() as stage:
            stage.write([checked])
        sources = product_media.sources(checked.stored_name)
        assert [(w, h) for _, w, h in sources] == [(480, 360), (960, 720), (1200, 900)]
        assert sources[0][0] == checked.rendition_name(480)
        assert all(product_media.is_stored_name(name) for name, _, _ in sources)
        assert not product_media.is_stored_name(checked.rendition_name(500))
