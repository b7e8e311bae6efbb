"""Data 1.2 in the catalogue: 78 villages (35 without a position), 2025 communes with the 2024
units as "formerly", recognition facts, and the OCOP rows as products with their stars."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.unit.test_plan_api import body as plan_body
from tourplanner.adapters.orm import Experience, Village
from tourplanner.extensions import db
from tourplanner.services.catalogue_io import match_village

DATA = Path(__file__).resolve().parents[2] / "tourplanner/data"


@pytest.fixture(scope="module")
def villages() -> list[dict]:
    return json.loads((DATA / "hanoi_craft_villages.json").read_text("utf-8"))["villages"]


@pytest.fixture(scope="module")
def ocop() -> list[dict]:
    return json.loads((DATA / "hanoi_ocop_products.json").read_text("utf-8"))["products"]


def _items(client, path: str) -> list[dict]:
    return client.get(path + ("&" if "?" in path else "?") + "per_page=200").get_json()["items"]


def test_the_package_ships_data_1_2():
    meta = json.loads((DATA / "hanoi_craft_villages.json").read_text("utf-8"))["meta"]
    assert meta["version"] == "1.2"


def test_villages_without_position_are_listed_with_null_coordinates_never_a_point(client, villages):
    served = {v["slug"]: v for v in _items(client, "/api/v1/villages")}
    assert len(served) == 78
    for v in villages:
        got = served[v["id"]]["location"]
        assert (got["lat"], got["lon"]) == (v["lat"], v["lon"]), v["id"]
    unknown = [s for s, v in served.items() if v["location"]["lat"] is None]
    assert len(unknown) == 35
    features = client.get("/api/v1/villages.geojson").get_json()["features"]
    assert not {f["id"] for f in features} & set(unknown)
    assert len(features) == 43
    assert {v["slug"] for v in _items(client, "/api/v1/villages?position=false")} == set(unknown)


def test_village_page_without_position_has_no_map_and_says_so(client):
    html = client.get("/villages/vinh-thinh?lang=en").text
    assert 'id="map"' not in html and "data-lat" not in html
    assert "position not yet known" in html
    assert "km in a straight line" not in html  # no directions from an invented point


def test_village_without_position_is_never_planned(client):
    """Even with an experience of its own, a village without a position is not offered."""
    village = db.session.scalar(select(Village).where(Village.slug == "vinh-thinh"))
    template = db.session.scalar(select(Experience).where(Experience.slug == "bat-trang-visit"))
    db.session.add(
        Experience(
            slug="vinh-thinh-visit",
            village=village,
            kind="visit",
            title_vi="Tham quan",
            title_en="Visit",
            duration_minutes=60,
            weekly_hours=template.weekly_hours,
        )
    )
    db.session.commit()
    response = client.post("/api/v1/plans", json=plan_body(must_include=["vinh-thinh"]))
    assert response.status_code == 400
    assert response.get_json()["error"]["details"]["field"] == "must_include"
    plan = client.post("/api/v1/plans", json=plan_body(interests={"conical_hats": 1.0}))
    assert plan.status_code == 201, plan.get_json()
    assert "vinh-thinh" not in plan.get_data(as_text=True)


def test_current_address_is_the_2025_commune_with_the_2024_units_as_formerly(client):
    body = client.get("/api/v1/villages/tranh-khuc").get_json()
    assert body["address"]["current"] == "xã Nam Phù"
    assert body["address"]["formerly"] == {"commune": "Duyên Hà", "district": "Thanh Trì"}
    html = client.get("/villages/tranh-khuc?lang=en").text
    assert "xã Nam Phù" in html and "formerly Duyên Hà, Thanh Trì district" in html
    split = client.get("/villages/la-phu?lang=en").text  # the old commune was split
    assert "2025 commune not yet determined" in split


@pytest.mark.parametrize(
    "query", ["Nam Phù", "nam phu", "Duyên Hà", "duyen ha", "thanh tri", "Thanh Trì"]
)
def test_search_finds_the_2025_and_the_2024_names_with_and_without_diacritics(client, query):
    found = {v["slug"] for v in _items(client, f"/api/v1/villages?q={query}")}
    assert "tranh-khuc" in found


def test_recognition_facts_and_notes_are_on_the_village_page(client, villages):
    row = next(v for v in villages if v["id"] == "vinh-thinh")
    html = client.get("/villages/vinh-thinh?lang=en").text
    assert "QĐ 5427/QĐ-UBND" in row["recognition_detail"]
    assert "QĐ 5427/QĐ-UBND" in html and "Recognised traditional craft village" in html
    kim_lan = next(v for v in villages if v["id"] == "kim-lan")
    assert "national intangible cultural heritage" in kim_lan["notes"]  # a 1.2 note
    assert "national intangible cultural heritage" in client.get("/villages/kim-lan").text


def test_products_are_the_ocop_rows_with_the_files_stars(client, ocop):
    items = _items(client, "/api/v1/products")
    assert len(items) == len(ocop) == 46
    assert Counter(p["ocop_stars"] for p in items) == Counter(r["stars"] for r in ocop)
    for stars in (3, 4, 5):
        served = _items(client, f"/api/v1/products?stars={stars}")
        assert len(served) == sum(r["stars"] == stars for r in ocop)
        assert all(p["ocop_stars"] == stars for p in served)
    by_name = {(p["name_vi"], p["producer"]): p for p in items}
    for row in ocop:
        got = by_name[(row["product_name"], row["producer"])]
        assert got["ocop"]["year"] == row["year"] and got["sources"] == row["source"]
        assert got["ocop"]["status"] == row["status"]
        assert got["ocop"]["certified"] == (row["status"] == "certified")
        assert got["description_vi"] is None and got["price_min_vnd"] is None  # not in sources


def test_rows_link_to_their_village_only_where_the_row_names_one(villages, ocop):
    links = Counter(match_village(row, villages) for row in ocop)
    assert links[None] == 11  # Viên Đình, Hồng Vân, Sơn Thanh, Phú Xuyên town, Đại Yên teas
    assert links["bat-trang"] == 5 and links["van-phuc"] == 5 and links["chuon-thuong"] == 1
    assert links["van-phuc-thanh-tri"] == 0  # same name, another district
    context = [r for r in ocop if r["craft_village"] is False]
    assert context and all(match_village(r, villages) is None for r in context)


def test_an_unconfirmed_certification_says_so(client):
    items = _items(client, "/api/v1/products?certified=false")
    assert items and all(not p["ocop"]["certified"] for p in items)
    slug = next(p["slug"] for p in items if p["ocop_stars"] == 4)
    html = client.get(f"/products/{slug}?lang=en").text
    assert "Certification not confirmed" in html
    assert "district-level score" in html
    assert all(p["ocop"]["certified"] for p in _items(client, "/api/v1/products?ocop=any"))
