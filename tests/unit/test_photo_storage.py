"""Photos' bytes in the configured store: a folder by default, an S3-compatible bucket with
MEDIA_STORAGE=s3 (here a fake S3 server in this test, speaking HTTP to the real client)."""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.catalogue_zip import make_png
from tourplanner.adapters.s3 import Credentials, sign
from tourplanner.domain.images import check_image
from tourplanner.services import media_storage, product_media


def test_sigv4_signature_matches_the_published_example_of_the_s3_documentation():
    # AWS's worked example "GET Object" (bucket examplebucket, object test.txt, first 10 bytes).
    credentials = Credentials(
        "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1"
    )
    headers = sign(
        "GET",
        "https://examplebucket.s3.amazonaws.com/test.txt",
        {"host": "examplebucket.s3.amazonaws.com", "range": "bytes=0-9"},
        hashlib.sha256(b"").hexdigest(),
        credentials,
        now=datetime(2013, 5, 24, tzinfo=UTC),
    )
    assert headers["authorization"].endswith(
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )
    assert "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date" in headers["authorization"]


class FakeS3(BaseHTTPRequestHandler):
    """Objects in a dict; refuses a request without a SigV4 authorization for its key id."""

    objects: dict[str, tuple[bytes, str]] = {}

    def log_message(self, *args):  # quiet
        pass

    def _authorised(self) -> bool:
        auth = self.headers.get("Authorization", "")
        ok = auth.startswith("AWS4-HMAC-SHA256 Credential=test-key/") and self.headers.get(
            "x-amz-date"
        )
        if not ok:
            self.send_response(403)
            self.send_header("Content-Length", "0")
            self.end_headers()
        return bool(ok)

    def do_PUT(self):
        if self._authorised():
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if hashlib.sha256(body).hexdigest() != self.headers["x-amz-content-sha256"]:
                self.send_response(400)
            else:
                self.objects[self.path] = (body, self.headers["Content-Type"])
                self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def _read(self, with_body: bool):
        if not self._authorised():
            return
        found = self.objects.get(self.path)
        self.send_response(200 if found else 404)
        self.send_header("Content-Length", str(len(found[0]) if found else 0))
        self.end_headers()
        if found and with_body:
            self.wfile.write(found[0])

    def do_GET(self):
        self._read(True)

    def do_HEAD(self):
        self._read(False)

    def do_DELETE(self):
        if self._authorised():
            self.objects.pop(self.path, None)
            self.send_response(204)
            self.end_headers()


@pytest.fixture
def s3(app):
    FakeS3.objects = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeS3)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config.update(
        MEDIA_STORAGE="s3",
        MEDIA_S3_ENDPOINT=f"http://127.0.0.1:{server.server_port}",
        MEDIA_S3_BUCKET="photos-bucket",
        MEDIA_S3_ACCESS_KEY_ID="test-key",
        MEDIA_S3_SECRET_ACCESS_KEY="test-secret",
        MEDIA_S3_PREFIX="tourplanner",
    )
    yield FakeS3.objects
    server.shutdown()
    server.server_close()


def test_a_photo_written_to_the_bucket_is_served_by_the_site_and_removed_if_the_import_fails(
    app, client, s3
):
    image = check_image(make_png(7, 1200, 800))
    with app.app_context():
        with pytest.raises(RuntimeError), product_media.staged() as stage:
            stage.write([image], product_media.PHOTOS)
            assert f"/photos-bucket/tourplanner/photos/{image.stored_name}" in s3
            raise RuntimeError("the transaction failed")
        assert s3 == {}
        with product_media.staged() as stage:
            stage.write([image], product_media.PHOTOS)
        assert len(s3) == 1 + len(image.renditions)
        stored, kind = s3[f"/photos-bucket/tourplanner/photos/{image.stored_name}"]
        assert stored == image.data and kind == "image/png"
        assert [n for n, _w, _h in product_media.sources(image.stored_name, "photos")][-1] == (
            image.stored_name
        )
    response = client.get(f"/media/photos/{image.stored_name}")
    assert response.status_code == 200
    assert response.data == image.data
    assert response.mimetype == "image/png"
    assert "immutable" in response.headers["Cache-Control"]
    assert client.get(f"/media/photos/{'0' * 64}.png").status_code == 404


def test_with_a_public_address_the_site_sends_browsers_to_the_bucket(app, client, s3):
    app.config["MEDIA_PUBLIC_URL"] = "https://cdn.example.org/media/"
    name = "a" * 64 + ".jpg"
    response = client.get(f"/media/photos/{name}")
    assert response.status_code == 301
    assert (
        response.headers["Location"] == f"https://cdn.example.org/media/tourplanner/photos/{name}"
    )


def test_s3_storage_refuses_to_start_without_its_settings(app):
    app.config.update(MEDIA_STORAGE="s3", MEDIA_S3_ENDPOINT="", MEDIA_S3_BUCKET="b")
    with app.app_context(), pytest.raises(RuntimeError, match="MEDIA_S3_ENDPOINT"):
        media_storage.store()


def test_the_local_store_writes_once_and_never_shows_a_half_written_file(app, tmp_path):
    app.config["MEDIA_ROOT"] = tmp_path / "media"
    with app.app_context():
        store = media_storage.store()
        assert store.put("photos/x.png", b"one") is True
        assert store.put("photos/x.png", b"two") is False  # content-addressed: never rewritten
        assert store.get("photos/x.png") == b"one"
        assert [p.name for p in (tmp_path / "media" / "photos").iterdir()] == ["x.png"]
        store.delete("photos/x.png")
        assert store.get("photos/x.png") is None and not store.exists("photos/x.png")
