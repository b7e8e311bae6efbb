"""#9 item 5 on a phone (390x844, Vietnamese) in Debian's Chromium: village staff upload a
photo of their village from the phone-first form (a too-small picture first: the reason next
to the field, what was typed kept), and the public village page shows it with its credit."""

from __future__ import annotations

import pytest

from tests.catalogue_zip import make_png
from tests.e2e.browsing import loopback_only, no_sideways_scroll, sign_in

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
STAFF = ("photos@bat-trang.example", "correct horse 1")


@pytest.fixture(scope="module")
def server(serve_app, tmp_path_factory):
    live = serve_app(MEDIA_ROOT=str(tmp_path_factory.mktemp("media")))
    with live.app.app_context():
        from tourplanner.services import accounts

        accounts.create_user(*STAFF, "village", "bat-trang")
    return live


@pytest.fixture
def phone(new_page):
    page = new_page(**PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="vi-VN")
    return loopback_only(page)


def test_staff_upload_a_village_photo_on_a_phone_and_the_village_page_shows_it(
    phone, server, tmp_path
):
    base = server.url
    sign_in(phone, base, *STAFF, lang="vi")

    phone.goto(base + "/village/photos?lang=vi")
    no_sideways_scroll(phone)
    small = tmp_path / "small.png"
    small.write_bytes(make_png(21, 120, 90))
    form = phone.locator("#photo-upload")
    form.locator("input[type=file]").set_input_files(str(small))
    form.locator("input[name=alt_vi]").fill("Lò gốm cổ ở Bát Tràng")
    form.locator("input[name=credit]").fill("Nguyễn Văn A")
    form.locator("select[name=licence]").select_option("cc-by-4.0")
    form.locator("button[type=submit]").click()
    phone.wait_for_load_state()
    error = phone.locator("#file-error")
    assert "200" in error.inner_text()  # the reason, in the page's language, next to the file
    assert phone.locator("#photo-upload input[name=credit]").input_value() == "Nguyễn Văn A"
    no_sideways_scroll(phone)

    good = tmp_path / "kiln.png"
    good.write_bytes(make_png(22, 1200, 800))
    form = phone.locator("#photo-upload")
    form.locator("input[type=file]").set_input_files(str(good))
    form.locator("button[type=submit]").click()
    phone.wait_for_load_state()
    assert phone.locator(".flash-success").count() == 1
    assert phone.locator(".photo-item .badge-published").count() == 1
    no_sideways_scroll(phone)

    phone.goto(base + "/villages/bat-trang?lang=vi")
    figure = phone.locator("article.village figure.photo").first
    image = figure.locator("img")
    assert image.get_attribute("alt") == "Lò gốm cổ ở Bát Tràng"
    assert image.get_attribute("srcset")
    image.scroll_into_view_if_needed()
    phone.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    assert "Nguyễn Văn A" in figure.inner_text() and "CC BY 4.0" in figure.inner_text()
    no_sideways_scroll(phone)
