"""Village staff add and edit their own products with photos; admins review, import and see
the data-quality page; the catalogue's open-data exports."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select

from tests.catalogue_zip import build_zip, make_png
from tourplanner.adapters.orm import Product
from tourplanner.extensions import db
from tourplanner.services import accounts


@pytest.fixture
def staff(app, tmp_path):
    app.config["MEDIA_ROOT"] = tmp_path / "media"
    accounts.create_user("potter@bat-trang.example", "correct horse 1", "village", "bat-trang")
    accounts.create_user("hats@lang-chuong.example", "correct horse 2", "village", "lang-chuong")
    accounts.create_user("admin@example.org", "correct horse 3", "admin")


def _login(client, email: str, password: str):
    return client.post("/village/login", data={"email": email, "password": password})


def _form(**overrides) -> dict:
    data = {
        "name_vi": "Bình hút lộc men rạn",
        "name_en": "Crackle-glaze vase",
        "description_vi": "Bình gốm men rạn làm tay.",
        "description_en": "A hand-made crackle-glaze vase.",
        "producer": "Xưởng gốm thử",
        "category": "ceramics",
        "ocop_stars": "4",
        "ocop_year": "2024",
        "ip_protected": "true",
        "price_min_vnd": "350000",
        "price_max_vnd": "900000",
        "buy_name_0": "Chợ gốm Bát Tràng, gian 12",
        "buy_address_0": "xã Bát Tràng",
        "buy_url_0": "https://shop.example/binh",
    }
    data.update(overrides)
    return data


def _add(client, photo: bytes | None = None, **overrides):
    data = _form(**overrides)
    if photo is not None:
        data["photos"] = (io.BytesIO(photo), "binh.png")
    return client.post("/village/products/new", data=data, content_type="multipart/form-data")


def test_staff_add_a_product_with_a_photo_which_waits_for_review(client, staff):
    _login(client, "potter@bat-trang.example", "correct horse 1")
    response = _add(client, make_png(11, 640, 480))
    assert response.status_code == 302, response.text
    product = db.session.scalar(select(Product).where(Product.name_vi == "Bình hút lộc men rạn"))
    assert product.village.slug == "bat-trang" and product.review_status == "pending"
    assert len(product.images) == 1 and product.ocop_stars == 4
    assert product.where_to_buy == [
        {
            "name": "Chợ gốm Bát Tràng, gian 12",
            "address": "xã Bát Tràng",
            "url": "https://shop.example/binh",
        }
    ]
    # not public before an admin approves it
    assert client.get(f"/products/{product.slug}").status_code == 404
    assert "men rạn" not in client.get("/products?q=bat+trang").text
    assert client.get(f"/api/v1/products/{product.slug}").status_code == 404


def test_admin_approves_then_the_product_is_public_and_found_by_its_village(client, staff):
    _login(client, "potter@bat-trang.example", "correct horse 1")
    _add(client, make_png(12, 640, 480))
    slug = db.session.scalar(select(Product.slug).where(Product.producer == "Xưởng gốm thử"))
    client.post("/village/logout")
    _login(client, "admin@example.org", "correct horse 3")
    assert "Bình hút lộc men rạn" in client.get("/admin/products").text
    client.post(f"/admin/products/{slug}/review", data={"action": "approve"})
    assert "Bình hút lộc men rạn" in client.get("/products?q=bat+trang&lang=vi").text
    page = client.get(f"/products/{slug}?lang=en").text
    assert "Crackle-glaze vase" in page and "OCOP ★★★★" in page
    assert "Chợ gốm Bát Tràng, gian 12" in page and "/media/products/" in page
    image = client.get(page.split('src="')[1].split('"')[0])
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    image.close()


def test_rejected_product_stays_hidden_with_the_reason_for_the_village(client, staff):
    _login(client, "potter@bat-trang.example", "correct horse 1")
    _add(client)
    slug = db.session.scalar(select(Product.slug).where(Product.producer == "Xưởng gốm thử"))
    client.post("/village/logout")
    _login(client, "admin@example.org", "correct horse 3")
    client.post(f"/admin/products/{slug}/review", data={"action": "reject", "note": "Ảnh mờ"})
    assert client.get(f"/products/{slug}").status_code == 404
    client.post("/village/logout")
    _login(client, "potter@bat-trang.example", "correct horse 1")
    assert "Ảnh mờ" in client.get("/village/products").text


def test_staff_cannot_edit_another_villages_product(client, staff):
    _login(client, "hats@lang-chuong.example", "correct horse 2")
    slug = db.session.scalar(select(Product.slug).where(Product.village.has(slug="bat-trang")))
    assert client.get(f"/village/products/{slug}/edit").status_code == 404
    response = client.post(f"/village/products/{slug}/edit", data=_form())
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("overrides", "photo", "message"),
    [
        ({"name_vi": ""}, None, "name_vi: required"),
        ({"ocop_stars": "7"}, None, "OCOP stars must be 3, 4 or 5"),
        ({"price_max_vnd": "1"}, None, "price_max_vnd: is below price_min_vnd"),
        ({"buy_url_0": "javascript:alert(1)"}, None, "expected an http(s) address"),
        ({}, b"<svg onload=alert(1)>", "binh.png: not a JPEG, PNG or WebP image"),
        ({}, make_png(1, 120, 120), "each side needs at least 200"),
    ],
)
def test_bad_product_form_is_a_400_that_writes_nothing(client, staff, overrides, photo, message):
    _login(client, "potter@bat-trang.example", "correct horse 1")
    before = db.session.scalar(select(db.func.count()).select_from(Product))
    response = _add(client, photo, **overrides)
    assert response.status_code == 400
    assert message in response.text
    assert db.session.scalar(select(db.func.count()).select_from(Product)) == before


def test_staff_edit_puts_the_product_back_to_review_and_can_remove_photos(client, staff):
    _login(client, "potter@bat-trang.example", "correct horse 1")
    _add(client, make_png(21, 300, 300))
    product = db.session.scalar(select(Product).where(Product.producer == "Xưởng gốm thử"))
    product.review_status = "published"
    db.session.commit()
    photo = product.images[0]
    data = {**_form(name_en="Crackle vase"), "remove": photo}
    response = client.post(f"/village/products/{product.slug}/edit", data=data)
    assert response.status_code == 302
    db.session.refresh(product)
    assert product.name_en == "Crackle vase" and product.images == []
    assert product.review_status == "pending"


def test_product_form_checks_the_csrf_token_after_raising_the_upload_limit(app, staff):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    with client.session_transaction() as session:
        session["csrf_token"] = "x"
    response = client.post("/village/products/new", data=_form())
    # not signed in: redirected before anything; signed in without a token: refused
    assert response.status_code in (302, 400)
    app.config["WTF_CSRF_ENABLED"] = False
    _login(client, "potter@bat-trang.example", "correct horse 1")
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post("/village/products/new", data=_form())
    assert response.status_code == 400
    assert db.session.scalar(select(Product).where(Product.producer == "Xưởng gốm thử")) is None


def test_photos_larger_than_the_site_body_limit_are_accepted_on_the_product_form(client, staff):
    _login(client, "potter@bat-trang.example", "correct horse 1")
    photo = make_png(5, 400, 300, noise=True)
    assert len(photo) > client.application.config["MAX_CONTENT_LENGTH"]
    response = _add(client, photo)
    assert response.status_code == 302, response.text
    product = db.session.scalar(select(Product).where(Product.producer == "Xưởng gốm thử"))
    assert len(product.images) == 1


def test_staff_cannot_reach_the_review_import_or_quality_pages(client, staff):
    _login(client, "potter@bat-trang.example", "correct horse 1")
    for path in ("/admin/products", "/admin/import", "/admin/data-quality"):
        assert client.get(path).status_code == 403


def test_admin_import_page_reports_rows_then_imports(client, staff):
    _login(client, "admin@example.org", "correct horse 3")
    bad = client.post(
        "/admin/import?lang=en",
        data={"file": (io.BytesIO(build_zip(20, bad=4)), "products.zip")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 400
    assert "nothing was imported" in bad.text and "photos/p0004-a.png" in bad.text
    good = client.post(
        "/admin/import",
        data={"file": (io.BytesIO(build_zip(20)), "products.zip")},
        content_type="multipart/form-data",
    )
    assert good.status_code == 200, good.text
    assert "<td>product</td><td>20</td>" in good.text


def test_data_quality_page_counts_what_is_missing(client, staff):
    _login(client, "admin@example.org", "correct horse 3")
    html = client.get("/admin/data-quality?lang=en").text
    assert "<strong>35</strong> · Villages without a position" in html
    assert "<strong>25</strong> · Villages with an estimated position" in html
    assert "<strong>46</strong> · Products without a description" in html


def test_open_data_exports_carry_licence_and_sources(client):
    data = json.loads(client.get("/open-data/catalogue.json").data)
    assert data["meta"]["licence"] and len(data["villages"]) == 78 and len(data["products"]) == 46
    assert all(p["sources"] for p in data["products"])
    geo = json.loads(client.get("/open-data/catalogue.geojson").data)
    assert len(geo["features"]) == 43 and geo["licence"]
    rows = list(csv.DictReader(io.StringIO(client.get("/open-data/catalogue.csv").text)))
    assert len(rows) == 78 + 46 and all(r["licence"] and r["sources"] for r in rows)
    assert client.get("/open-data/catalogue.xml").status_code == 404
