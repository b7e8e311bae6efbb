"""The handbook pages and ``flask seed``: filters, readable errors, facts vs sample data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import make_app
from tests.unit.test_i18n import PerRequestContextClient, texts
from tourplanner.adapters.orm import Experience, Landmark, Product, Village
from tourplanner.extensions import db

DATASET = Path(__file__).resolve().parents[2] / "tourplanner/data/hanoi_craft_villages.json"


@pytest.fixture
def client(app):
    app.test_client_class = PerRequestContextClient
    return app.test_client()


def _cards(html: str) -> int:
    return html.count('<li class="card">')


def test_home_lists_every_village_and_has_the_map(client):
    html = client.get("/?lang=en").text
    assert html.count("<li data-slug=") == 78
    assert html.count("data-lat=") == 43  # only villages with a sourced position
    assert html.count("position not yet known") == 35
    assert 'id="map"' in html and "/api/v1/villages.geojson" in html


def test_village_list_filters_and_search(client):
    assert "78 villages found" in client.get("/villages?lang=en").text
    html = client.get("/villages?lang=en&q=bat+trang").text
    assert "Bat Trang Ceramic Village" in texts(html) and _cards(html) >= 1
    ceramics = client.get("/villages?lang=en&category=ceramics").text
    assert "Bat Trang Ceramic Village" in texts(ceramics) and 1 <= _cards(ceramics) < 78
    gia_lam = client.get("/villages?lang=en&district=Gia+L%C3%A2m").text
    assert "Bat Trang Ceramic Village" in texts(gia_lam) and _cards(gia_lam) < 78


def test_empty_form_fields_are_ignored(client):
    response = client.get("/villages?q=&district=&category=&lang=en")
    assert response.status_code == 200
    assert _cards(response.text) == 78


@pytest.mark.parametrize(
    "query",
    [
        "category=pottery",
        "district=Atlantis",
        "bookable=maybe",
        "page=abc",
        "page=0",
        "traditional=2",
    ],
)
def test_bad_village_filter_shows_a_readable_message(client, query):
    response = client.get(f"/villages?{query}&lang=en")
    assert response.status_code == 200
    assert 'role="alert"' in response.text
    assert "That filter is not valid" in response.text
    assert _cards(response.text) == 78  # falls back to every village


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("category=pottery", "Nghề: pottery"),
        ("ocop=7", "OCOP: 7"),
        ("ocop=lots", "OCOP: lots"),
        ("page=-2", "Trang: -2"),
        ("village=atlantis", "Làng nghề: atlantis"),
    ],
)
def test_bad_product_filter_shows_a_readable_message_in_the_page_language(client, query, shown):
    response = client.get(f"/products?{query}&lang=vi")
    assert response.status_code == 200
    alert = response.text.split('role="alert">', 1)[1].split("</p>", 1)[0]
    assert alert == f"Bộ lọc không hợp lệ ({shown}); đang hiển thị tất cả sản phẩm."


def test_page_beyond_the_last_is_an_empty_list_not_an_error(client):
    response = client.get("/villages?page=50&lang=en")
    assert response.status_code == 200
    assert "No village matches these filters." in response.text


def test_product_search_without_diacritics(client):
    html = client.get("/products?q=bo+bat+dia&lang=vi").text
    assert "Bộ bát đĩa gốm sứ hoa sen đỏ" in html
    # the village's name without diacritics finds its products
    by_village = client.get("/products?q=bat+trang&lang=vi").text
    assert by_village.count('class="card product-card"') == 5
    # the producer and the craft are searched too
    assert "Bộ ấm chén" in client.get("/products?q=quang+vinh").text
    assert "Nón lá Vĩnh Thịnh" in client.get("/products?q=non+la").text


def test_products_of_a_village(client):
    html = client.get("/products?village=bat-trang&lang=vi").text
    assert "Bộ bát đĩa gốm sứ rồng phượng" in html and "Bộ lọc không hợp lệ" not in html


def test_unknown_village_page_is_a_404_page(client):
    response = client.get("/villages/atlantis?lang=en")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Page not found" in response.text


def test_unknown_page_is_a_404_page_in_vietnamese(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Không tìm thấy trang" in response.text
    assert "The requested URL" not in response.text  # Werkzeug's English description
    assert "The requested URL" in client.get("/no-such-page?lang=en").text


def test_village_page_shows_the_facts_and_sources(client):
    shipped = next(
        v for v in json.loads(DATASET.read_text("utf-8"))["villages"] if v["id"] == "bat-trang"
    )
    html = client.get("/villages/bat-trang?lang=en").text
    for url in shipped["source"]:
        assert url.replace("&", "&amp;") in html
    assert "20.9830, 105.9170" in html
    assert "Opening hours" in html and "default" in html


def test_village_page_flags_sample_workshops(client):
    html = client.get("/villages/bat-trang?lang=en").text
    assert "Pottery wheel workshop" in html
    assert 'class="badge badge-sample"' in html
    vi = client.get("/villages/bat-trang?lang=vi").text
    assert ">mẫu</span>" in vi


# --- flask seed --------------------------------------------------------------------------------


@pytest.fixture
def empty_app(app, tmp_path):
    """A migrated but empty database; commands run against it (innermost app context)."""
    from flask_migrate import upgrade

    fresh = make_app(tmp_path / "empty.sqlite3")
    with fresh.app_context():
        upgrade()
        yield fresh
        db.session.remove()
        db.engine.dispose()


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_seed_without_demo_loads_facts_only(empty_app):
    result = empty_app.test_cli_runner().invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    assert "villages: 78 created" in result.output
    assert _count(Village) == 78
    assert _count(Landmark) > 0
    # one plain visit per village whose visit the dataset describes (not the 36 added in 1.2)
    assert _count(Experience) == 42
    assert _count(Product) == 46  # the OCOP rows
    assert _count(Experience, Experience.is_sample.is_(True)) == 0
    assert _count(Experience, Experience.kind == "workshop") == 0
    assert _count(Product, Product.is_sample.is_(True)) == 0
    client = empty_app.test_client()
    assert 'badge-sample"' not in client.get("/villages/bat-trang?lang=en").text


def test_seed_with_demo_flags_every_sample_row_and_is_idempotent(empty_app):
    runner = empty_app.test_cli_runner()
    first = runner.invoke(args=["seed", "--demo"])
    assert first.exit_code == 0, first.output
    samples = _count(Experience, Experience.is_sample.is_(True))
    assert samples > 0
    # The facts hold visits only: every workshop is demo data, and so is the OCTO demo's
    # ticketed visit; each is flagged.
    assert _count(Experience, Experience.kind == "workshop", Experience.is_sample.is_(False)) == 0
    assert samples > _count(Experience, Experience.kind == "workshop")
    again = runner.invoke(args=["seed", "--demo"])
    assert "0 created, 0 updated" in again.output
    assert "landmarks: 0 created or changed" in again.output
    assert _count(Experience, Experience.is_sample.is_(True)) == samples
    html = empty_app.test_client().get("/villages/bat-trang?lang=en").text
    assert 'class="badge badge-sample"' in html


def test_seeded_facts_leave_empty_fields_empty(empty_app):
    empty_app.test_cli_runner().invoke(args=["seed"])
    village = db.session.scalar(select(Village).where(Village.slug == "bat-trang"))
    assert village.story_vi is None and village.contact is None and village.videos == []
    visit = village.experiences[0]
    assert visit.capacity is None and visit.price_adult_vnd is None and not visit.bookable
    assert visit.duration_is_default is True


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_village_page_renders(client, lang):
    slugs = [v["id"] for v in json.loads(DATASET.read_text("utf-8"))["villages"]]
    for slug in slugs:
        response = client.get(f"/villages/{slug}?lang={lang}")
        assert response.status_code == 200, slug
        assert f'<html lang="{lang}">' in response.text
        assert "None" not in texts(response.text), slug  # an empty fact printed as "None"
