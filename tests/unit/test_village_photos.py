"""Village staff upload photos of their village and experiences; the public pages show the
published ones (credit and licence given) with their alt text, srcset and credit."""

from __future__ import annotations

import html
import io

import pytest
from demo_days import open_day
from PIL import Image
from sqlalchemy import func, select

from tests.catalogue_zip import make_png
from tourplanner.adapters.orm import AuditEvent, Experience, Photo, Village
from tourplanner.domain import photos as rules
from tourplanner.extensions import db
from tourplanner.services import accounts


@pytest.fixture
def staff(app, tmp_path):
    app.config["MEDIA_ROOT"] = tmp_path / "media"
    accounts.create_user("potter@bat-trang.example", "correct horse 1", "village", "bat-trang")
    accounts.create_user("weaver@van-phuc.example", "correct horse 2", "village", "van-phuc")
    accounts.create_user("admin@example.org", "correct horse 3", "admin")
    return tmp_path / "media" / "photos"


def _login(client, email="potter@bat-trang.example", password="correct horse 1"):
    client.post("/village/login", data={"email": email, "password": password})


def _jpeg_with_gps(width=1800, height=1200) -> bytes:
    image = Image.new("RGB", (width, height), (180, 120, 60))
    exif = Image.Exif()
    exif[0x8825] = {2: (21.0, 0.0, 0.0), 4: (105.0, 0.0, 0.0)}  # GPS position
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def _form(data: bytes | None = None, **overrides) -> dict:
    form = {
        "target": "village",
        "alt_vi": "Lò gốm cổ ở Bát Tràng",
        "alt_en": "An old pottery kiln in Bát Tràng",
        "credit": "Nguyễn Văn A",
        "licence": "cc-by-4.0",
    }
    form.update(overrides)
    if data is not None:
        form["file"] = (io.BytesIO(data), "kiln.jpg")
    return form


def _count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Photo.id)))


# --- the rules ------------------------------------------------------------------------------


def test_details_give_every_problem_at_once():
    _details, problems = rules.check_details(
        {"credit": "x" * 201, "licence": "all-mine", "alt_vi": " ", "alt_en": ""}
    )
    assert {k: p.code for k, p in problems.items()} == {
        "credit": "too_long",
        "licence": "unknown_licence",
        "alt_vi": "alt_required",
    }


def test_a_photo_without_credit_or_licence_can_be_saved_but_is_not_publishable():
    details, problems = rules.check_details({"alt_vi": "Gốm", "credit": "  ", "licence": ""})
    assert problems == {} and not details.publishable
    details, _ = rules.check_details({"alt_en": "Pots", "credit": "A", "licence": "cc0-1.0"})
    assert details.publishable


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (None, "file_required"),
        (b"GIF89a" + b"\0" * 100, "not_an_image"),
        (make_png(1, 120, 90), "too_small"),
        (make_png(2, 300, 300)[:-20], "damaged"),
        (b"\xff\xd8\xff" + b"\0" * (rules.MAX_BYTES + 1), "too_big"),
    ],
)
def test_files_are_refused_by_size_format_and_dimensions(data, code):
    image, problem = rules.check_file(data)
    assert image is None and problem.code == code


# --- the back-office page -------------------------------------------------------------------


def test_staff_upload_a_village_photo_which_the_village_page_shows_with_credit_and_srcset(
    client, staff
):
    _login(client)
    response = client.post("/village/photos", data=_form(_jpeg_with_gps()))
    assert response.status_code == 302, response.text
    photo = db.session.scalar(select(Photo))
    assert photo.experience_id is None and photo.published
    assert photo.width == 1600  # resized to the largest served width
    stored = (staff / photo.stored_name).read_bytes()
    assert Image.open(io.BytesIO(stored)).getexif().get(0x8825) is None  # no GPS published
    assert sorted(p.name for p in staff.iterdir()) == sorted(
        [photo.stored_name] + [f"{photo.stored_name[:64]}-{w}.jpg" for w in (480, 960)]
    )

    page = client.get("/villages/bat-trang?lang=vi").text
    assert 'alt="Lò gốm cổ ở Bát Tràng"' in page
    assert "Nguyễn Văn A" in html.unescape(page) and "CC BY 4.0" in page
    assert f"/media/photos/{photo.stored_name[:64]}-480.jpg 480w" in page
    assert 'loading="eager"' in page  # the first photo of the page, seen at once
    english = client.get("/villages/bat-trang?lang=en").text
    assert 'alt="An old pottery kiln in Bát Tràng"' in html.unescape(english)
    with client.get(f"/media/photos/{photo.stored_name}") as served:
        assert served.data == stored
    listing = client.get("/villages?q=bat").text
    assert f"/media/photos/{photo.stored_name[:64]}-480.jpg" in listing


def test_an_experience_photo_appears_in_its_card_and_an_alt_in_one_language_says_which(
    client, staff
):
    _login(client)
    experience = db.session.scalar(
        select(Experience).where(Experience.slug == "bat-trang-workshop-pottery-wheel")
    )
    form = _form(make_png(3, 800, 600), target=str(experience.id), alt_en="")
    assert client.post("/village/photos", data=form).status_code == 302
    page = html.unescape(client.get("/villages/bat-trang?lang=en").text)
    card = page[page.index(f'id="experience-{experience.id}"') :]
    card = card[: card.index("</div>", card.index("<figure"))]
    assert 'alt="Lò gốm cổ ở Bát Tràng" lang="vi"' in card
    assert 'loading="lazy"' in card


def test_the_api_lists_published_photos_of_a_village_and_of_its_experiences(client, staff):
    _login(client)
    experience = db.session.scalar(
        select(Experience).where(Experience.slug == "bat-trang-workshop-pottery-wheel")
    )
    assert client.post("/village/photos", data=_form(_jpeg_with_gps())).status_code == 302
    form = _form(make_png(3, 800, 600), target=str(experience.id))
    assert client.post("/village/photos", data=form).status_code == 302
    hidden = _form(make_png(4, 400, 300), credit="")
    assert client.post("/village/photos", data=hidden).status_code == 302

    village = client.get("/api/v1/villages/bat-trang").get_json()
    (photo,) = village["photos"]  # its own, published: not the experience's, not the hidden
    assert (photo["credit"], photo["licence"]) == ("Nguyễn Văn A", "cc-by-4.0")
    assert photo["licence_url"] == "https://creativecommons.org/licenses/by/4.0/"
    assert [s["width"] for s in photo["sizes"]] == [480, 960, 1600]
    largest = photo["sizes"][-1]["url"]
    with client.get(largest[largest.index("/media/") :]) as served:
        assert served.status_code == 200
    card = next(e for e in village["experiences"] if e["id"] == experience.id)
    assert [p["alt_vi"] for p in card["photos"]] == ["Lò gốm cổ ở Bát Tràng"]
    alone = client.get(f"/api/v1/experiences/{experience.slug}").get_json()
    assert alone["photos"] == card["photos"]
    assert "photos" not in client.get("/api/v1/experiences").get_json()["items"][0]


def test_a_photo_without_credit_stays_off_the_public_pages_until_it_is_given(client, staff):
    _login(client)
    response = client.post("/village/photos", data=_form(make_png(4, 400, 300), credit=""))
    assert response.status_code == 302
    assert "hidden" in client.get(response.headers["Location"]).text
    photo = db.session.scalar(select(Photo))
    assert photo.stored_name not in client.get("/villages/bat-trang").text

    refused = client.post(f"/village/photos/{photo.id}", data=_form(licence="mine", alt_vi=""))
    assert refused.status_code == 400
    assert f'id="licence-{photo.id}-error"' in refused.text
    assert 'value="An old pottery kiln in Bát Tràng"' in html.unescape(refused.text)
    details = _form(credit="Trần Thị B")
    del details["target"]
    assert client.post(f"/village/photos/{photo.id}", data=details).status_code == 302
    assert photo.stored_name[:64] in client.get("/villages/bat-trang").text


def test_a_refused_upload_names_each_problem_in_vietnamese_keeps_what_was_typed_and_writes_nothing(
    client, staff, app
):
    _login(client)
    form = _form(make_png(5, 120, 90), alt_vi="", alt_en="", credit="Lê C", licence="mine")
    response = client.post("/village/photos?lang=vi", data=form)
    assert response.status_code == 400
    page = html.unescape(response.text)
    assert 'id="file-error"' in page and 'id="alt_vi-error"' in page
    assert 'id="licence-error"' in page
    assert 'value="Lê C"' in page  # what was typed comes back
    assert _count() == 0 and not staff.exists()


def test_nothing_is_left_behind_when_the_database_refuses_the_row(client, staff, monkeypatch):
    _login(client)
    from tourplanner.services import photos

    def broken_flush(*args, **kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(photos.db.session, "flush", broken_flush)
    with pytest.raises(RuntimeError):
        photos.upload(
            db.session.scalar(select(Village.id).where(Village.slug == "bat-trang")),
            _form(),
            make_png(6, 400, 300),
            user_id=None,
        )
    monkeypatch.undo()
    assert _count() == 0
    assert list(staff.iterdir()) == []


def test_staff_cannot_touch_another_villages_photo_but_an_admin_can(client, staff):
    _login(client)
    assert client.post("/village/photos", data=_form(make_png(8, 400, 300))).status_code == 302
    photo_id = db.session.scalar(select(Photo.id))
    client.post("/village/logout")
    _login(client, "weaver@van-phuc.example", "correct horse 2")
    assert client.post(f"/village/photos/{photo_id}/remove").status_code == 404
    # an experience of another village is not a target either
    other = db.session.scalar(
        select(Experience.id).where(Experience.slug == "bat-trang-workshop-pottery-wheel")
    )
    response = client.post("/village/photos", data=_form(make_png(9, 400, 300), target=str(other)))
    assert response.status_code == 400 and 'id="target-error"' in response.text
    client.post("/village/logout")
    _login(client, "admin@example.org", "correct horse 3")
    admin_page = client.get("/admin/catalogue/villages/bat-trang").text
    assert "/village/photos?village=bat-trang" in admin_page
    assert client.get("/village/photos?village=bat-trang").status_code == 200
    experience_page = client.get("/admin/catalogue/experiences/bat-trang-workshop-pottery-wheel")
    assert f"/village/photos?village=bat-trang&amp;target={other}" in experience_page.text
    preselected = client.get(f"/village/photos?village=bat-trang&target={other}").text
    assert f'<option value="{other}" selected>' in preselected
    response = client.post(f"/village/photos/{photo_id}/remove?village=bat-trang")
    assert response.status_code == 302 and _count() == 0
    events = db.session.scalars(
        select(AuditEvent.event).where(AuditEvent.subject == "bat-trang").order_by(AuditEvent.id)
    ).all()
    assert [e for e in events if e.startswith("photo_")] == ["photo_added", "photo_removed"]


def test_the_plans_stops_show_the_photo_of_their_experience_or_village(client, staff, app):

    from tourplanner.services import photos

    app.config["PLANNER_TIME_LIMIT"] = 0.1
    day = open_day(10)
    form = {
        "start_kind": "landmark",
        "landmark": "hoan-kiem-lake",
        "date": day.isoformat(),
        "start_time": "08:00",
        "end_time": "18:00",
        "mode": "car",
        "adults": "2",
        "interest-ceramics": "1",
        "max_stops": "4",
    }
    url = client.post("/plan?lang=en", data=form).headers["Location"]
    plan = client.get(f"/api/v1/plans/{url.rsplit('/', 1)[1]}").get_json()
    stop = plan["itineraries"][0]["stops"][0]
    village_id = db.session.scalar(select(Village.id).where(Village.slug == stop["village"]))
    photo = photos.upload(village_id, _form(), make_png(10, 600, 400), user_id=None)
    page = html.unescape(client.get(url).text)
    timeline = page[page.index('class="timeline"') :]
    assert f"/media/photos/{photo.stored_name[:64]}-480.png" in timeline
    assert 'alt="An old pottery kiln in Bát Tràng"' in timeline and "Nguyễn Văn A" in timeline


def test_the_booking_page_shows_each_items_village_photo(client, staff):

    from tourplanner.services import availability, photos

    exp = db.session.scalars(
        select(Experience).where(Experience.slug == "bat-trang-workshop-pottery-wheel")
    ).one()
    photo = photos.upload(exp.village_id, _form(), make_png(11, 600, 400), user_id=None)
    slot = availability.slots_for_day([exp.id], open_day(10))[exp.id][0]
    booked = client.post(
        "/api/v1/bookings",
        json={
            "items": [{"slot_id": slot.id, "party": {"adults": 1}}],
            "contact": {"name": "Lan", "email": "lan@example.org"},
            "lang": "vi",
        },
    ).get_json()
    page = html.unescape(client.get(booked["manage_url"], follow_redirects=True).text)
    item = page[page.index('class="booking-items"') :]
    assert f"/media/photos/{photo.stored_name[:64]}-480.png" in item
    assert 'alt="Lò gốm cổ ở Bát Tràng"' in item and "Nguyễn Văn A" in item


def test_removing_a_photo_removes_its_files_unless_another_photo_has_the_same_bytes(client, staff):
    _login(client)
    data = make_png(9, 1200, 800)
    for _ in range(2):  # the same bytes twice: one set of files
        assert client.post("/village/photos", data=_form(data)).status_code == 302
    first, second = db.session.scalars(select(Photo).order_by(Photo.id)).all()
    files = sorted(p.name for p in staff.iterdir())
    assert len(files) == 3  # the photo and its 480 and 960 px copies

    assert client.post(f"/village/photos/{first.id}/remove").status_code == 302
    assert sorted(p.name for p in staff.iterdir()) == files, "the other photo still uses them"
    with client.get(f"/media/photos/{second.stored_name}") as served:
        assert served.status_code == 200
    assert client.post(f"/village/photos/{second.id}/remove").status_code == 302
    assert list(staff.iterdir()) == []


def test_an_upload_writes_again_files_a_removal_deleted_before_its_commit(client, staff, app):
    from tourplanner.services import product_media

    _login(client)
    data = make_png(10, 800, 600)
    assert client.post("/village/photos", data=_form(data)).status_code == 302
    stored = sorted(p.name for p in staff.iterdir())
    real_write = product_media.Stage.write

    def write_then_lose(stage, images, collection=product_media.PRODUCTS):
        real_write(stage, images, collection)  # finds the files stored: writes nothing
        for path in staff.iterdir():  # a removal of the first photo, committed meanwhile
            path.unlink()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(product_media.Stage, "write", write_then_lose)
        assert client.post("/village/photos", data=_form(data)).status_code == 302
    assert sorted(p.name for p in staff.iterdir()) == stored, "the new photo's files are back"
