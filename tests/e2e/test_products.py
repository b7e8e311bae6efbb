"""Issue #15 on a phone (390x844) in Debian's Chromium: village staff add a product with a
photo; an admin approves it; a tourist finds it by its village's name typed without diacritics,
and its page shows the photo, the OCOP stars and where to buy."""

from __future__ import annotations

import pytest

from tests.catalogue_zip import make_png
from tests.e2e.browsing import loopback_only, no_sideways_scroll, sign_in

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
STAFF = ("potter@bat-trang.example", "correct horse 1")
ADMIN = ("admin@example.org", "correct horse 3")


@pytest.fixture(scope="module")
def server(serve_app, tmp_path_factory):
    live = serve_app(MEDIA_ROOT=str(tmp_path_factory.mktemp("media")))
    with live.app.app_context():
        from tourplanner.services import accounts

        accounts.create_user(*STAFF, "village", "bat-trang")
        accounts.create_user(*ADMIN, "admin")
    return live


@pytest.fixture
def phone(new_page):
    page = new_page(**PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="vi-VN")
    loopback_only(page)
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))  # type: ignore[attr-defined]
    return page


def test_staff_add_a_product_with_a_photo_and_tourists_find_it(phone, server, tmp_path):
    photo = tmp_path / "binh.png"
    photo.write_bytes(make_png(77, 640, 480))

    sign_in(phone, server.url, *STAFF, lang="vi")
    phone.goto(server.url + "/village/products/new?lang=vi")
    no_sideways_scroll(phone)
    phone.locator("input[name=name_vi]").fill("Bình men lam vẽ tay")
    phone.locator("input[name=name_en]").fill("Hand-painted blue vase")
    phone.locator("textarea[name=description_vi]").fill("Bình gốm men lam, vẽ tay.")
    phone.locator("textarea[name=description_en]").fill("A hand-painted blue-glaze vase.")
    phone.locator("select[name=category]").select_option("ceramics")
    phone.locator("select[name=ocop_stars]").select_option("4")
    phone.locator("input[name=buy_name_0]").fill("Chợ gốm Bát Tràng, gian 7")
    phone.locator("input[name=buy_url_0]").fill("https://shop.example/binh-men-lam")
    phone.locator("input[name=photos]").set_input_files(str(photo))
    phone.locator("#product-form button[type=submit]").click()
    phone.wait_for_url("**/village/products*")
    assert phone.locator(".flash-success").is_visible()
    no_sideways_scroll(phone)
    phone.locator("form.inline button").click()  # sign out
    phone.wait_for_load_state()

    sign_in(phone, server.url, *ADMIN, lang="vi")
    phone.goto(server.url + "/admin/products?lang=vi")
    card = phone.locator("li.card", has_text="Bình men lam vẽ tay")
    card.locator("button[value=approve]").click()
    phone.wait_for_load_state()
    no_sideways_scroll(phone)

    phone.goto(server.url + "/products?lang=vi")
    phone.locator("input[name=q]").fill("bat trang")
    phone.locator("form.filters button[type=submit]").click()
    phone.wait_for_url("**q=bat*")
    found = phone.locator("li.card", has_text="Bình men lam vẽ tay")
    assert found.count() == 1
    no_sideways_scroll(phone)
    found.get_by_role("link", name="Bình men lam vẽ tay").click()
    phone.wait_for_url("**/products/bat-trang-binh-men-lam-ve-tay*")

    image = phone.locator(".gallery img").first
    image.wait_for()
    # The photo or one of its narrower copies (srcset: a phone takes a copy), loaded.
    width, source = phone.evaluate(
        "(img) => [img.complete && img.naturalWidth, img.currentSrc]", image.element_handle()
    )
    assert 0 < width <= 640 and "/media/products/" in source
    assert "OCOP ★★★★" in phone.locator(".product-stars").inner_text()
    where = phone.locator("#where-to-buy")
    assert "Chợ gốm Bát Tràng, gian 7" in where.inner_text()
    assert (
        where.get_by_role("link").first.get_attribute("href") == "https://shop.example/binh-men-lam"
    )
    no_sideways_scroll(phone)
    assert phone.errors == []  # type: ignore[attr-defined]
