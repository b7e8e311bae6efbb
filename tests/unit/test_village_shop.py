"""Village staff record their display space, sales points and online shops, and their videos
with a still; the village page and its map show them; every refused field is named next to it."""

from __future__ import annotations

import html
import io
import json
import re

import pytest
from PIL import Image
from sqlalchemy import select

from tests.catalogue_zip import make_png
from tourplanner.adapters.orm import AuditEvent, Village
from tourplanner.extensions import db
from tourplanner.services import accounts, village_shop

YOUTUBE = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


@pytest.fixture
def staff(app, tmp_path):
    app.config["MEDIA_ROOT"] = tmp_path / "media"
    accounts.create_user("potter@bat-trang.example", "correct horse 1", "village", "bat-trang")
    accounts.create_user("admin@example.org", "correct horse 3", "admin")
    return tmp_path / "media" / "products"


def _login(client, email="potter@bat-trang.example", password="correct horse 1"):
    client.post("/village/login", data={"email": email, "password": password})


def _village(slug="bat-trang") -> Village:
    db.session.expire_all()
    return db.session.scalar(select(Village).where(Village.slug == slug))


def _shop_form(**overrides) -> dict:
    data = {
        "ds_name": "Nhà trưng bày gốm Bát Tràng",
        "ds_address": "Thôn Giang Cao, xã Bát Tràng",
        "ds_hours": "8:00–17:30",
        "ds_lat": "20,9761",  # a decimal comma, as typed on a Vietnamese keyboard
        "ds_lon": "105.9135",
        "sp_0_name": "Chợ gốm Bát Tràng",
        "sp_0_address": "xã Bát Tràng",
        "sp_0_hours": "7:00–18:00",
        "sp_0_phone": "024 0000 0000",
        "sp_0_lat": "20.9772",
        "sp_0_lon": "105.9121",
        "sp_1_name": "Gian hàng phố cổ",
        "sp_1_address": "Hàng Khay, Hoàn Kiếm",
        "link_0_kind": "zalo",
        "link_0_url": "https://zalo.me/0000000000",
        "link_1_kind": "marketplace",
        "link_1_url": "https://shopee.vn/gom-bat-trang",
        "link_1_label": "Gốm Bát Tràng trên Shopee",
        "link_2_kind": "shop",  # the empty row's select: not an entry
    }
    data.update(overrides)
    return data


def test_staff_record_places_and_shops_in_the_datasets_shape_with_an_audit_event(client, staff):
    _login(client)
    response = client.post("/village/shop", data=_shop_form())
    assert response.status_code == 302, response.text
    village = _village()
    assert village.display_space == {
        "name": "Nhà trưng bày gốm Bát Tràng",
        "address": "Thôn Giang Cao, xã Bát Tràng",
        "hours": "8:00–17:30",
        "lat": 20.9761,
        "lon": 105.9135,
    }
    assert village.sales_points == [
        {
            "name": "Chợ gốm Bát Tràng",
            "address": "xã Bát Tràng",
            "hours": "7:00–18:00",
            "phone": "024 0000 0000",
            "lat": 20.9772,
            "lon": 105.9121,
        },
        # no position given, none invented
        {"name": "Gian hàng phố cổ", "address": "Hàng Khay, Hoàn Kiếm"},
    ]
    assert village.shop_links == [
        {"kind": "zalo", "url": "https://zalo.me/0000000000"},
        {
            "kind": "marketplace",
            "url": "https://shopee.vn/gom-bat-trang",
            "label": "Gốm Bát Tràng trên Shopee",
        },
    ]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "village_shop_changed"))
    assert event.subject == "bat-trang" and event.details["sales_points"] == 2
    assert event.details["mapped"] == 1


def test_the_village_page_lists_them_and_maps_only_the_places_with_a_position(client, staff):
    _login(client)
    client.post("/village/shop", data=_shop_form())
    page = client.get("/villages/bat-trang?lang=en").text
    assert "Nhà trưng bày gốm Bát Tràng" in page and "Gian hàng phố cổ" in page
    assert "Zalo Official Account" in page and 'href="https://zalo.me/0000000000"' in page
    assert "Gốm Bát Tràng trên Shopee" in page
    points = json.loads(html.unescape(re.search(r'data-points="([^"]*)"', page).group(1)))
    assert points == [
        {
            "kind": "display_space",
            "name": "Nhà trưng bày gốm Bát Tràng",
            "lat": 20.9761,
            "lon": 105.9135,
        },
        {"kind": "sales_point", "name": "Chợ gốm Bát Tràng", "lat": 20.9772, "lon": 105.9121},
    ]


def test_every_problem_is_shown_next_to_its_field_keeping_what_was_typed(client, staff):
    _login(client)
    before = (_village().display_space, _village().sales_points, _village().shop_links)
    form = _shop_form(
        ds_lat="20.97",
        ds_lon="",  # half a position
        sp_0_name="",  # a row without its name
        sp_0_lat="105.9121",  # latitude and longitude swapped
        sp_0_lon="20.9772",
        sp_1_lat="north",
        sp_1_lon="105.9",
        link_0_url="http://zalo.me/0000000000",  # not https
        link_1_kind="facebook",  # a Facebook page that is not on Facebook
    )
    response = client.post("/village/shop?lang=en", data=form)
    assert response.status_code == 400
    page = response.text
    assert "Not saved. Fields to correct (marked below): 7" in page
    expected = {
        "ds_lon": "Give both latitude and longitude, or neither.",
        "sp_0_name": "Give a name.",
        "sp_0_lat": "Outside Vietnam",
        "sp_0_lon": "Outside Vietnam",
        "sp_1_lat": "is not a number in decimal degrees",
        "link_0_url": "Give a full secure address starting with https://",
        "link_1_url": "This kind of link must be on facebook.com",
    }
    for name, message in expected.items():
        found = re.search(rf'<p class="field-error" id="{name}-error">([^<]*)</p>', page)
        assert found and message in html.unescape(found.group(1)), name
        assert f'name="{name}" id="{name}"' in page
        assert re.search(rf'name="{name}"[^>]*aria-invalid="true"', page), name
    # what was typed is kept
    assert 'value="Gian hàng phố cổ"' in page and 'value="north"' in page
    assert 'value="http://zalo.me/0000000000"' in page
    # nothing was written
    village = _village()
    assert (village.display_space, village.sales_points, village.shop_links) == before
    assert (
        db.session.scalar(select(AuditEvent).where(AuditEvent.event == "village_shop_changed"))
        is None
    )


def test_the_errors_are_in_the_pages_language(client, staff):
    """Vietnamese from translations/vi_village_shop.json, once the lead merges it into the
    catalogue."""
    _login(client)
    response = client.post("/village/shop?lang=vi", data=_shop_form(sp_0_name=""))
    assert response.status_code == 400
    assert "Hãy nhập tên." in response.text


def test_emptying_the_form_removes_what_was_recorded(client, staff):
    _login(client)
    client.post("/village/shop", data=_shop_form())
    response = client.post("/village/shop", data={"link_0_kind": "shop"})
    assert response.status_code == 302
    village = _village()
    assert (village.display_space, village.sales_points, village.shop_links) == (None, [], [])


def test_staff_change_only_their_own_village(client, staff):
    _login(client)
    other = _village("lang-chuong")
    before = other.sales_points
    client.post("/village/shop?village=lang-chuong", data=_shop_form())
    assert _village("lang-chuong").sales_points == before
    assert _village("bat-trang").sales_points[0]["name"] == "Chợ gốm Bát Tràng"


def test_an_admin_records_them_for_any_village(client, staff):
    _login(client, "admin@example.org", "correct horse 3")
    response = client.post("/village/shop?village=lang-chuong", data=_shop_form())
    assert response.status_code == 302
    assert _village("lang-chuong").shop_links[0]["kind"] == "zalo"
    assert "Where we sell" in client.get("/village/shop?village=lang-chuong&lang=en").text


def test_the_form_shows_what_is_recorded_and_empty_rows_to_add_more(client, staff):
    _login(client)
    client.post("/village/shop", data=_shop_form())
    page = client.get("/village/shop?lang=en").text
    assert 'value="Chợ gốm Bát Tràng"' in page and 'value="20.9761"' in page
    assert 'name="sp_3_name"' in page and 'name="sp_4_name"' not in page
    assert 'name="link_3_url"' in page


# --- videos ----------------------------------------------------------------------------------


def _jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (120, 60, 30)).save(out, "JPEG")
    return out.getvalue()


def _videos(client, data: dict, files: dict | None = None, lang="en"):
    payload = dict(data)
    for key, blob in (files or {}).items():
        payload[key] = (io.BytesIO(blob), "still.jpg")
    return client.post(
        f"/village/videos?lang={lang}", data=payload, content_type="multipart/form-data"
    )


def test_a_video_gets_a_title_and_a_still_we_store_and_serve_in_several_widths(client, staff):
    _login(client)
    response = _videos(
        client,
        {"video_0_url": YOUTUBE, "video_0_title": "Làm gốm ở Bát Tràng"},
        {"video_0_upload": _jpeg(1280, 720)},
    )
    assert response.status_code == 302, response.text
    (video,) = _village().videos
    assert video["url"] == YOUTUBE and video["title"] == "Làm gốm ở Bát Tràng"
    assert (staff / video["still"]).is_file()
    page = client.get("/villages/bat-trang?lang=en").text
    assert f"/media/products/{video['still']}" in page
    stem = video["still"].split(".")[0]
    assert f"/media/products/{stem}-480.jpg 480w" in page
    assert f"/media/products/{stem}-960.jpg 960w" in page
    assert 'loading="lazy"' in page and "Làm gốm ở Bát Tràng" in page
    # Nothing from the platform before a click: no thumbnail, no player address in a src.
    assert "ytimg.com" not in page and "img.youtube.com" not in page
    assert 'src="https://www.youtube' not in page
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.event == "village_videos_changed")
    )
    assert event.details == {"videos": 1, "stills": 1}


def test_a_video_without_a_still_shows_a_plain_frame_with_its_title(client, staff):
    _login(client)
    _videos(client, {"video_0_url": YOUTUBE, "video_0_title": "Phơi gốm"})
    page = client.get("/villages/bat-trang?lang=en").text
    assert '<span class="video-placeholder-title">Phơi gốm</span>' in page
    assert "ytimg.com" not in page


def test_a_bad_still_and_a_bad_link_are_named_and_nothing_is_written(client, staff):
    _login(client)
    response = _videos(
        client,
        {
            "video_0_url": YOUTUBE,
            "video_0_title": "Có ảnh hỏng",
            "video_1_url": "https://www.youtube.com/@langgom",  # a channel, not a video
            "video_1_title": "Kênh",
        },
        {"video_0_upload": b"\x89PNG\r\n\x1a\n" + b"junk" * 50},
    )
    assert response.status_code == 400
    page = html.unescape(response.text)
    assert re.search(r'id="video_0_still-error">This picture cannot be used: damaged PNG', page)
    assert (
        'id="video_1_url-error">Give the link of one video on YouTube, Facebook or TikTok.' in page
    )
    assert 'value="Có ảnh hỏng"' in page
    assert _village().videos == []
    assert not staff.exists() or list(staff.iterdir()) == []


def test_a_kept_still_stays_and_a_removed_one_goes(client, staff):
    _login(client)
    _videos(client, {"video_0_url": YOUTUBE}, {"video_0_upload": _jpeg(640, 360)})
    still = _village().videos[0]["still"]
    form = client.get("/village/videos?lang=en").text
    assert f'name="video_0_still" value="{still}"' in form
    _videos(client, {"video_0_url": YOUTUBE, "video_0_title": "Mới", "video_0_still": still})
    assert _village().videos == [{"url": YOUTUBE, "title": "Mới", "still": still}]
    _videos(client, {"video_0_url": YOUTUBE, "video_0_still": still, "video_0_remove_still": "1"})
    assert _village().videos == [{"url": YOUTUBE}]


def test_the_still_field_cannot_name_a_file_the_village_does_not_have(client, staff):
    _login(client)
    foreign = "a" * 64 + ".jpg"
    _videos(client, {"video_0_url": YOUTUBE, "video_0_still": foreign})
    assert _village().videos == [{"url": YOUTUBE}]


# --- the service without the pages ----------------------------------------------------------


def test_clean_shop_reports_every_problem_by_field():
    _clean, problems = village_shop.clean_shop(
        {"ds_name": "x" * 201, "sp_0_lat": "21.0", "link_0_kind": "fax", "link_0_url": "ftp://a"}
    )
    assert {k: p.code for k, p in problems.items()} == {
        "ds_name": "too_long",
        "sp_0_name": "name_required",
        "sp_0_lon": "both_coordinates",
        "link_0_kind": "unknown_kind",
        "link_0_url": "not_https",
    }


def test_product_cards_use_the_smallest_stored_copy(client, staff, app):
    from tourplanner.domain.images import check_image
    from tourplanner.services import product_media

    checked = check_image(make_png(9, 1200, 900))
    with app.test_request_context():
        with product_media.staged() as stage:
            stage.write([checked])
        template = app.jinja_env.from_string(
            '{% from "_catalogue.html" import photo %}{{ photo(name, "a vase", sizes="50vw") }}'
        )
        rendered = template.render(name=checked.stored_name)
    assert f"{checked.rendition_name(480)} 480w" in rendered
    assert f"{checked.stored_name} 1200w" in rendered
    assert 'width="1200" height="900"' in rendered and 'loading="lazy"' in rendered
    assert 'sizes="50vw"' in rendered


def test_rows_beyond_the_limit_are_refused_not_dropped():
    _clean, problems = village_shop.clean_shop({"sp_20_name": "Điểm bán thứ 21"})
    assert problems["sp"].code == "too_many" and problems["sp"].params == {"limit": 20}
    _clean, problems = village_shop.clean_shop({"sp_25_name": ""})
    assert problems == {}  # an empty row beyond the limit is nothing


def test_a_reseed_keeps_what_the_village_recorded(client, staff):
    """``flask seed`` runs at every start (scripts/prod.sh): the dataset, which states no
    sales point, must not wipe what the village recorded. Fails until catalogue_io leaves
    these village-owned columns alone when a source row does not state them."""
    from tourplanner.services import catalogue_io

    _login(client)
    client.post("/village/shop", data=_shop_form())
    _videos(client, {"video_0_url": YOUTUBE, "video_0_title": "Phơi gốm"})
    catalogue_io.seed()
    village = _village()
    assert village.sales_points[0]["name"] == "Chợ gốm Bát Tràng"
    assert village.display_space["name"] == "Nhà trưng bày gốm Bát Tràng"
    assert village.shop_links[0]["kind"] == "zalo"
    assert village.videos == [{"url": YOUTUBE, "title": "Phơi gốm"}]
