"""Package pages: the agency's builder (create, stops added, moved, locked and removed, the route
engine's fill, the check of a chosen date with each broken stop's reason next to it, prices,
publishing) and the public package pages (timeline, prices, terms, the calendar of run dates,
the booking form: every item at once, or nothing and a 409 naming the full item). Another
agency gets 404 on every page of the package. Pages in Vietnamese and English."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta

import pytest
from package_pages_helpers import agency_with_user, next_weekday, vietnamese, vietnamese_catalogue
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from tests.conftest import make_app
from tourplanner.adapters.orm import Booking, Package, Slot
from tourplanner.domain.pricing import Party
from tourplanner.extensions import db
from tourplanner.services import packages
from tourplanner.web import package_forms

SATURDAY = next_weekday(5)
MONDAY = SATURDAY + timedelta(days=2)
DAY_1 = (
    "quat-dong-workshop-embroidery",
    "xuan-la-workshop-to-he",
    "lang-chuong-workshop-conical-hat",
)
DAY_2 = ("kim-hoang-workshop-folk-painting", "van-phuc-workshop-silk-weaving")
NEW_FORM = {
    "name_vi": "Hai ngày thủ công",
    "name_en": "Two handmade days",
    "days": "2",
    "travel_mode": "car",
    "adults": "2",
    "children": "1",
    "seniors": "0",
    "markup_kind": "percent",
    "markup_percent": "25",
    "start_kind": "landmark",
    "landmark": "hoan-kiem-lake",
    "day_start": "07:30",
    "day_end": "18:30",
    "lunch": "on",
}


@pytest.fixture(scope="session")
def vi_dir(tmp_path_factory):
    return vietnamese_catalogue(tmp_path_factory.mktemp("translations"))


@pytest.fixture
def app(template_db, tmp_path, vi_dir):
    """The shared app, with the package pages' Vietnamese and a short route-engine search."""
    path = tmp_path / "test.sqlite3"
    shutil.copy(template_db, path)
    app = make_app(path, BABEL_TRANSLATION_DIRECTORIES=str(vi_dir), PACKAGE_FILL_TIME_LIMIT=0.1)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def _signed_in(app, name: str, email: str):
    agency_id, password = agency_with_user(name, email)
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code in (302, 303), response.get_data(as_text=True)
    return agency_id, client


@pytest.fixture
def sen(app):
    return _signed_in(app, "Sen Travel", "lan@sen.example")


@pytest.fixture
def lotus(app):
    return _signed_in(app, "Lotus Tours", "hoa@lotus.example")


def _package(agency_id: int, *, day_1=DAY_1, day_2=DAY_2, publish=False) -> str:
    data = {
        "name_vi": "Hai ngày làng nghề",
        "name_en": "Two village days",
        "days": 2,
        "party": {"adults": 2, "children": 1},
        "markup_kind": "percent",
        "markup_bp": 2500,
        "start": {"landmark": "hoan-kiem-lake"},
        "day_start": "07:30",
        "day_end": "18:30",
        "included_en": "Every workshop and the car",
    }
    slug = packages.create(agency_id, data)["slug"]
    for number, stops in ((1, day_1), (2, day_2)):
        if stops:
            chosen = [{"experience": s, "locked": True} for s in stops]
            packages.set_stops(agency_id, slug, number, chosen, first_date=SATURDAY)
    if publish:
        packages.publish(agency_id, slug)
    return slug


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _stop(html: str, slug: str) -> str:
    """The <li> of one stop on the builder's timeline."""
    found = re.search(rf'<li class="stop[^"]*" id="stop-{slug}".*?</li>', html, re.S)
    assert found, f"no stop {slug}"
    return found.group(0)


# --- the builder -----------------------------------------------------------------------------


def test_an_agency_creates_a_draft_from_the_new_package_form(sen):
    _agency, client = sen
    assert client.get("/agency/packages/new?lang=en").status_code == 200
    response = client.post("/agency/packages/new?lang=en", data=NEW_FORM)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/agency/packages/two-handmade-days")
    page = client.get("/agency/packages/two-handmade-days?lang=en").get_data(as_text=True)
    assert "Two handmade days" in page and "draft" in page
    assert "Day 1, 2 has no stop yet." in _text(page)
    listing = client.get("/agency/packages?lang=en").get_data(as_text=True)
    assert 'data-slug="two-handmade-days"' in listing


def test_a_refused_field_of_the_new_form_is_named_next_to_it_in_vietnamese(sen):
    _agency, client = sen
    response = client.post("/agency/packages/new?lang=vi", data={**NEW_FORM, "name_en": ""})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    message = vietnamese("Give the name in English (at most %(n)s characters).") % {"n": 200}
    assert f'id="error-name_en" role="alert">{message}</p>' in html
    assert 'value="Hai ngày thủ công"' in html  # what was typed is kept
    bad_start = {**NEW_FORM, "start_kind": "point", "lat": "10.77", "lon": "106.70"}
    html = client.post("/agency/packages/new?lang=vi", data=bad_start).get_data(as_text=True)
    expected = vietnamese("This point is outside the Hanoi area: give a start in or near Hanoi.")
    assert expected in html and 'value="10.77"' in html


def test_stops_are_added_locked_moved_and_removed_with_the_day_form(sen):
    agency_id, client = sen
    slug = _package(agency_id, day_1=(), day_2=())
    url = f"/agency/packages/{slug}/days/1/stops?lang=en"
    check = {"check_date": SATURDAY.isoformat()}
    for experience in DAY_1[:2]:
        stops = [
            s["experience"] for s in packages.get_for_agency(agency_id, slug)["days"][0]["stops"]
        ]
        form = MultiDict([*(("stop", s) for s in stops), ("op", "add"), ("add", experience)])
        form.update(check)
        response = client.post(url, data=form)
        assert response.status_code == 303
        assert response.headers["Location"].endswith(f"?date={SATURDAY.isoformat()}#day-1")
    day = packages.get_for_agency(agency_id, slug)["days"][0]
    assert [(s["experience"], s["locked"]) for s in day["stops"]] == [
        (DAY_1[0], False),
        (DAY_1[1], False),
    ]
    # Lock the second, move it up, then remove the first of the new order.
    form = MultiDict([("stop", DAY_1[0]), ("stop", DAY_1[1]), ("locked", DAY_1[1]), ("op", "up:1")])
    assert client.post(url, data=form).status_code == 303
    day = packages.get_for_agency(agency_id, slug)["days"][0]
    assert [(s["experience"], s["locked"]) for s in day["stops"]] == [
        (DAY_1[1], True),
        (DAY_1[0], False),
    ]
    form = MultiDict([("stop", DAY_1[1]), ("stop", DAY_1[0]), ("op", "remove:0")])
    assert client.post(url, data=form).status_code == 303
    day = packages.get_for_agency(agency_id, slug)["days"][0]
    assert [s["experience"] for s in day["stops"]] == [DAY_1[0]]


def test_an_experience_already_on_another_day_is_refused_next_to_the_add_box(sen):
    agency_id, client = sen
    slug = _package(agency_id)
    form = MultiDict([*(("stop", s) for s in DAY_2), ("op", "add"), ("add", DAY_1[0])])
    response = client.post(f"/agency/packages/{slug}/days/2/stops?lang=vi", data=form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    message = vietnamese("This experience is already on day %(day)s.") % {"day": 1}
    assert f'id="error-add-2" role="alert">{message}</p>' in html
    assert re.search(rf'<option value="{DAY_1[0]}" selected', html)  # the pick is kept


@pytest.mark.parametrize(
    ("lang", "reason"), [("en", "closed that day"), ("vi", vietnamese("closed that day"))]
)
def test_a_broken_stop_shows_its_reason_next_to_it_on_the_date_checked(sen, lang, reason):
    agency_id, client = sen
    slug = _package(agency_id)
    ok = client.get(f"/agency/packages/{slug}?lang={lang}&date={SATURDAY.isoformat()}")
    assert 'class="check-result ok"' in ok.get_data(as_text=True)
    # Kim Hoàng paints on Saturdays and Sundays only: from a Monday, day 2 is a Tuesday.
    html = client.get(f"/agency/packages/{slug}?lang={lang}&date={MONDAY.isoformat()}").get_data(
        as_text=True
    )
    assert 'class="check-result broken"' in html
    broken = _stop(html, "kim-hoang-workshop-folk-painting")
    assert 'class="stop broken"' in broken and f"⚠ {reason}" in broken
    assert "⚠" not in _stop(html, DAY_1[0])
    # Each stop's arrival, start and end; lunch; the time back.
    times = re.search(r'<span class="at">(\d\d:\d\d)–(\d\d:\d\d)</span>', _stop(html, DAY_1[0]))
    assert times and times.group(1) < times.group(2)
    assert 'class="lunch"' in html and 'class="edge back"' in html


def test_a_full_session_is_named_full_with_the_places_left(sen):
    agency_id, client = sen
    slug = _package(agency_id)
    plan = packages.booking_plan(slug, SATURDAY, Party(2, 1), agency_id=agency_id)
    slot = db.session.get(Slot, plan.items[0].slot_id)
    # Every session of that workshop that day has one place left (the check would take a
    # later session with room).
    for other in db.session.scalars(select(Slot).where(Slot.experience_id == slot.experience_id)):
        if other.start.date() == slot.start.date():
            other.taken = other.capacity - 1
    db.session.commit()
    html = client.get(f"/agency/packages/{slug}?lang=en&date={SATURDAY.isoformat()}").get_data(
        as_text=True
    )
    assert "⚠ full: 1 places left" in _stop(html, slot.experience.slug)


def test_a_date_outside_the_booking_horizon_is_refused_next_to_the_date(sen):
    agency_id, client = sen
    slug = _package(agency_id)
    response = client.get(f"/agency/packages/{slug}?lang=en&date=2001-01-01")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="error-check_date' in html and "A date between" in html


def test_the_route_engine_fills_both_days_over_at_least_five_villages(sen):
    agency_id, client = sen
    slug = _package(agency_id, day_1=(DAY_1[0],), day_2=(DAY_2[0],))
    response = client.post(
        f"/agency/packages/{slug}/fill?lang=en", data={"check_date": SATURDAY.isoformat()}
    )
    assert response.status_code == 303
    view = packages.get_for_agency(agency_id, slug, first_date=SATURDAY)
    assert len(view["villages"]) >= 5
    stops = {d["number"]: [s["experience"] for s in d["stops"]] for d in view["days"]}
    assert DAY_1[0] in stops[1] and DAY_2[0] in stops[2]  # the locked stops stay on their day
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The route engine filled and ordered the days" in page


def test_prices_show_net_retail_margin_and_commission_and_the_typical_partys_totals(sen):
    agency_id, client = sen
    slug = _package(agency_id, day_2=())
    html = client.get(f"/agency/packages/{slug}?lang=en").get_data(as_text=True)
    # Net per person: 150,000 + 60,000 + 100,000 (adult), 100,000 + 50,000 + 70,000 (child),
    # 120,000 + 50,000 + 80,000 (senior). Retail: +25 %, rounded up to the thousand.
    # Commission: 10 % of retail. The typical party: 2 adults and 1 child.
    rows = {
        "net": ("310,000 VND", "220,000 VND", "250,000 VND"),
        "retail": ("388,000 VND", "275,000 VND", "313,000 VND"),
        "margin": ("78,000 VND", "55,000 VND", "63,000 VND"),
        "commission": ("38,800 VND", "27,500 VND", "31,300 VND"),
    }
    for key, cells in rows.items():
        row = re.search(rf'<tr class="row-{key}">.*?</tr>', html, re.S).group(0)
        assert re.findall(r'<td data-category="\w+">([^<]*)</td>', row) == list(cells), key
    totals = dict(re.findall(r'<dd data-total="(\w+)">([^<]*)</dd>', html))
    assert totals == {
        "retail": "1,051,000 VND",
        "net": "840,000 VND",
        "margin": "211,000 VND",
        "commission": "105,100 VND",
    }


def test_the_details_form_keeps_what_was_typed_when_the_markup_is_not_a_number(sen):
    agency_id, client = sen
    slug = _package(agency_id)
    form = {**NEW_FORM, "name_en": "Renamed", "markup_percent": "lots"}
    response = client.post(f"/agency/packages/{slug}/details?lang=en", data=form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="error-markup"' in html and 'value="lots"' in html and 'value="Renamed"' in html
    form["markup_percent"] = "12,5"
    assert client.post(f"/agency/packages/{slug}/details", data=form).status_code == 303
    view = packages.get_for_agency(agency_id, slug)
    assert (view["name"]["en"], view["markup_bp"]) == ("Renamed", 1250)


def test_a_day_gets_its_own_start_and_hours(sen):
    agency_id, client = sen
    slug = _package(agency_id)
    form = {
        "start_kind": "point",
        "lat": "21.0245",
        "lon": "105.8412",
        "start_label": "Hotel Sen",
        "day_start": "08:15",
        "day_end": "17:00",
    }
    response = client.post(f"/agency/packages/{slug}/days/2?lang=en", data=form)
    assert response.status_code == 303 and response.headers["Location"].endswith("#day-2")
    day = packages.get_for_agency(agency_id, slug)["days"][1]
    assert (day["start"]["label"], day["day_start"], day["lunch"]) == ("Hotel Sen", "08:15", False)
    response = client.post(
        f"/agency/packages/{slug}/days/2?lang=en", data={**form, "day_end": "07:00"}
    )
    assert response.status_code == 400
    assert "The day must end after it starts." in response.get_data(as_text=True)


def test_publishing_needs_a_stop_every_day_and_withdrawing_ends_the_public_page(sen, client):
    agency_id, agency_client = sen
    slug = _package(agency_id, day_2=())
    response = agency_client.post(f"/agency/packages/{slug}/publish?lang=en")
    assert response.status_code == 422
    assert "Every day needs at least one stop (day 2 has none)." in response.get_data(as_text=True)
    assert client.get(f"/packages/{slug}").status_code == 404
    packages.set_stops(agency_id, slug, 2, [{"experience": DAY_2[0]}], first_date=SATURDAY)
    assert agency_client.post(f"/agency/packages/{slug}/publish").status_code == 303
    assert client.get(f"/packages/{slug}?lang=en").status_code == 200
    assert slug in client.get("/packages?lang=en").get_data(as_text=True)
    assert agency_client.post(f"/agency/packages/{slug}/withdraw").status_code == 303
    assert client.get(f"/packages/{slug}").status_code == 404
    assert slug not in client.get("/packages").get_data(as_text=True)


def test_another_agency_gets_404_on_every_page_of_the_package(sen, lotus):
    agency_id, _sen_client = sen
    _lotus_id, other = lotus
    slug = _package(agency_id, publish=True)
    for path in (f"/agency/packages/{slug}", f"/agency/packages/{slug}/book"):
        assert other.get(path).status_code == 404, path
    for path in ("details", "days/1", "days/1/stops", "fill", "publish", "withdraw"):
        response = other.post(f"/agency/packages/{slug}/{path}", data={**NEW_FORM, "op": "save"})
        assert response.status_code == 404, path
    assert slug not in other.get("/agency/packages").get_data(as_text=True)
    assert packages.get_for_agency(agency_id, slug)["name"]["en"] == "Two village days"


def test_agency_pages_need_an_agency_account(client):
    response = client.get("/agency/packages")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- the public pages ------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_public_page_shows_the_days_prices_terms_and_the_dates_it_runs(sen, client, lang):
    agency_id, _agency_client = sen
    slug = _package(agency_id, publish=True)
    response = client.get(f"/packages/{slug}?lang={lang}&adults=2&children=1")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'<html lang="{lang}">' in html
    for stop in (*DAY_1, *DAY_2):
        assert f'href="/villages/{stop.split("-workshop")[0]}"' in html
    assert 'id="package-map-data"' in html and 'id="price-from"' in html
    # Retail only (adult 550,000 net + 25 %), never the net price.
    price = {"vi": ("688.000 ₫", "550.000 ₫"), "en": ("688,000 VND", "550,000 VND")}[lang]
    assert price[0] in html and price[1] not in html
    assert "Every workshop and the car" in html  # no Vietnamese text given: the English one
    runs = re.findall(r'class="run" data-date="([\d-]+)"', html)
    assert SATURDAY.isoformat() in runs and MONDAY.isoformat() not in runs
    assert 'id="package-book"' in html and 'name="date"' in html


def test_a_draft_has_no_public_page(sen, client):
    agency_id, _agency_client = sen
    slug = _package(agency_id)
    assert client.get(f"/packages/{slug}").status_code == 404
    assert client.post(f"/packages/{slug}/book", data=_booking_form()).status_code == 404
    assert db.session.scalar(select(func.count(Booking.id))) == 0


def test_the_public_booking_form_names_every_wrong_field_at_once(sen, client):
    agency_id, _agency_client = sen
    slug = _package(agency_id, publish=True)
    response = client.post(
        f"/packages/{slug}/book?lang=vi",
        data={"date": "soon", "adults": "x", "name": "", "email": "nope", "phone": "0912"},
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    for field in ("date", "party", "name", "email"):
        assert f'id="error-{field}"' in html, field
    assert vietnamese("Give an e-mail address where the villages can answer you.") in html
    assert 'value="nope"' in html and 'value="0912"' in html
    assert db.session.scalar(select(func.count(Booking.id))) == 0


def _booking_form(**extra) -> dict:
    return {
        "date": SATURDAY.isoformat(),
        "adults": "2",
        "children": "1",
        "seniors": "0",
        "name": "Mai Trần",
        "email": "mai@example.org",
        "key": "k1",
        **extra,
    }


def test_the_public_form_books_every_workshop_at_once(sen, client):
    agency_id, _agency_client = sen
    slug = _package(agency_id, publish=True)
    plan = packages.booking_plan(slug, SATURDAY, Party(2, 1))
    ids = [i.slot_id for i in plan.items]
    before = [db.session.get(Slot, s).taken for s in ids]
    response = client.post(f"/packages/{slug}/book?lang=en", data=_booking_form())
    assert response.status_code == 303
    assert re.search(r"/bookings/TP-\w+\?token=[\w-]+&lang=en$", response.headers["Location"])
    stored = db.session.scalars(select(Booking)).one()
    assert len(stored.items) == len(DAY_1) + len(DAY_2) == len(ids)
    assert stored.total_vnd == plan.retail_total_vnd and stored.source == "site"
    db.session.expire_all()
    assert [db.session.get(Slot, s).taken for s in ids] == [t + 3 for t in before]
    # The same form sent twice books once.
    again = client.post(f"/packages/{slug}/book?lang=en", data=_booking_form())
    assert again.status_code == 303
    assert db.session.scalar(select(func.count(Booking.id))) == 1


def test_a_full_session_reserves_nothing_and_the_409_names_it(sen, client):
    agency_id, _agency_client = sen
    slug = _package(agency_id, publish=True)
    plan = packages.booking_plan(slug, SATURDAY, Party(2, 1))
    ids = [i.slot_id for i in plan.items]
    full = db.session.get(Slot, ids[1])
    full.taken = full.capacity - 2
    db.session.commit()
    before = [db.session.get(Slot, s).taken for s in ids]
    response = client.post(f"/packages/{slug}/book?lang=en", data=_booking_form(key="k2"))
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    error = re.search(r'id="form-error">(.*?)</div>', html, re.S).group(1)
    assert "Nothing was reserved" in error
    assert f'data-experience="{full.experience.slug}"' in error
    assert f"{full.experience.title_en}: full: 2 places left" in _text(error)
    assert 'value="Mai Trần"' in html  # what was typed is kept
    api = client.post(
        "/api/v1/bookings",
        json={
            "package": slug,
            "date": SATURDAY.isoformat(),
            "party": {"adults": 2, "children": 1},
            "contact": {"name": "Mai", "email": "mai@example.org"},
        },
    )
    assert api.status_code == 409
    named = [p["experience"] for p in api.get_json()["error"]["details"]["problems"]]
    assert named == [full.experience.slug]
    db.session.expire_all()
    assert [db.session.get(Slot, s).taken for s in ids] == before
    assert db.session.scalar(select(func.count(Booking.id))) == 0


def test_the_public_list_shows_published_packages_with_their_price_from(sen, client):
    agency_id, _agency_client = sen
    published = _package(agency_id, publish=True)
    draft = _package(agency_id)
    html = client.get("/packages?lang=en").get_data(as_text=True)
    assert f'data-slug="{published}"' in html and f'data-slug="{draft}"' not in html
    assert "from 688,000 VND per adult" in html
    assert db.session.scalar(select(func.count(Package.id))) == 2


# --- reading the forms -----------------------------------------------------------------------


def test_a_markup_is_read_in_percent_with_a_comma_or_a_dot():
    assert [package_forms.percent_bp(t) for t in ("25", "12,5", "12.55", "", "0")] == [
        2500,
        1250,
        1255,
        0,
        0,
    ]
    for bad in ("-5", "1e3", "12.555", "abc"):
        with pytest.raises(package_forms.FormError):
            package_forms.percent_bp(bad)


def test_retail_prices_are_read_with_thousand_separators():
    form = {"retail_adult": "1.250.000", "retail_child": "800 000", "retail_senior": ""}
    assert package_forms.retail_prices(form) == {"adult": 1250000, "child": 800000, "senior": None}
    with pytest.raises(package_forms.FormError):
        package_forms.retail_prices({"retail_adult": "cheap"})


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        ("save", ["a", "b", "c"]),
        ("up:0", ["a", "b", "c"]),
        ("up:2", ["a", "c", "b"]),
        ("down:0", ["b", "a", "c"]),
        ("down:2", ["a", "b", "c"]),
        ("remove:1", ["a", "c"]),
        ("remove:9", ["a", "b", "c"]),
        ("add", ["a", "b", "c", "d"]),
    ],
)
def test_a_days_stops_follow_the_button_pressed(op, expected):
    form = MultiDict([("stop", "a"), ("stop", "b"), ("stop", "c"), ("locked", "b"), ("op", op)])
    form.add("add", "d")
    stops = package_forms.stops(form)
    assert [s["experience"] for s in stops] == expected
    assert {s["experience"] for s in stops if s["locked"]} == {"b"} & set(expected)


def test_the_public_page_shows_the_villages_product_photos(sen, client):
    from tourplanner.adapters.orm import Product, Village

    agency_id, _agency_client = sen
    slug = _package(agency_id, publish=True)
    village = db.session.scalars(select(Village).where(Village.slug == "van-phuc")).one()
    db.session.add(
        Product(
            slug="van-phuc-silk-scarf",
            village_id=village.id,
            name_vi="Khăn lụa Vạn Phúc",
            name_en="Van Phuc silk scarf",
            images=["silk-scarf.jpg"],
        )
    )
    db.session.commit()
    html = client.get(f"/packages/{slug}?lang=en").get_data(as_text=True)
    photos = re.search(r'id="photos">(.*?)</div>', html, re.S).group(1)
    assert (
        'src="/media/products/silk-scarf.jpg"' in photos and 'alt="Van Phuc silk scarf"' in photos
    )
    assert 'src="/media/products/silk-scarf.jpg"' in client.get("/packages").get_data(as_text=True)


def test_the_calendar_is_laid_out_in_weeks_from_monday():
    from datetime import date

    from tourplanner.services.package_pages import calendar_weeks

    weeks = calendar_weeks(date(2026, 12, 2), date(2026, 12, 8), [{"date": "2026-12-05"}])
    assert [[d["day"] for d in w] for w in weeks] == [
        [30, 1, 2, 3, 4, 5, 6],
        [7, 8, 9, 10, 11, 12, 13],
    ]
    assert [d["date"] for w in weeks for d in w if d["run"]] == ["2026-12-05"]
    assert [d["day"] for w in weeks for d in w if d["in_range"]] == [2, 3, 4, 5, 6, 7, 8]
