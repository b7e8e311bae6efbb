"""The catalogue API: the shipped dataset with its real coordinates, GeoJSON, filters, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from tourplanner.domain.collation import vietnamese_key

DATASET = Path(__file__).resolve().parents[2] / "tourplanner/data/hanoi_craft_villages.json"
#: Hanoi's administrative area (after the 2008 expansion), with a little margin.
HANOI = {"lat": (20.50, 21.42), "lon": (105.25, 106.05)}


@pytest.fixture(scope="module")
def dataset() -> dict:
    return json.loads(DATASET.read_text("utf-8"))


def _all(client, path: str, **params) -> list[dict]:
    items, page = [], 1
    while True:
        query = "&".join(f"{k}={v}" for k, v in {**params, "page": page}.items())
        body = client.get(f"{path}?{query}").get_json()
        items += body["items"]
        if body["links"]["next"] is None:
            return items
        page += 1


def test_villages_lists_every_village_of_the_dataset_with_its_coordinates(client, dataset):
    served = {v["slug"]: v for v in _all(client, "/api/v1/villages", per_page=10)}
    shipped = {v["id"]: v for v in dataset["villages"]}
    assert set(served) == set(shipped)
    assert len(served) == 78
    unknown = {slug for slug, v in served.items() if v["location"]["lat"] is None}
    assert len(unknown) == 35 and all(not served[s]["position_known"] for s in unknown)
    assert all(served[s]["location"]["quality"] == "unknown" for s in unknown)
    for slug, village in shipped.items():
        got = served[slug]
        assert got["location"]["lat"] == village["lat"], slug
        assert got["location"]["lon"] == village["lon"], slug
        assert got["location"]["quality"] == village["coord_quality"], slug
        assert got["name_vi"] == village["name_vi"]
        assert got["name_en"] == village["name_en"]
        assert got["district"] == village["district_vi"]
        assert got["category"] == village["category"]
        assert got["recognised_traditional"] == village["recognised_traditional"]


def test_village_detail_keeps_facts_and_leaves_empty_fields_empty(client, dataset):
    shipped = next(v for v in dataset["villages"] if v["id"] == "bat-trang")
    body = client.get("/api/v1/villages/bat-trang").get_json()
    assert body["sources"] == shipped["source"]
    assert body["founded"] == shipped["year_founded_or_century"]
    assert body["story_vi"] is None and body["contact"] is None  # the dataset has none
    assert body["notable_products"] == shipped["notable_products"]
    assert {p["ocop_stars"] for p in body["products"]} == {5}  # the five OCOP 5-star sets
    visit = next(e for e in body["experiences"] if e["kind"] == "visit")
    assert visit["price_fact"]["min"] == shipped["experience"]["price_vnd"]["min"]
    assert visit["sample"] is False


GEOJSON_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"const": "FeatureCollection"},
        "features": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "id", "geometry", "properties"],
                "properties": {
                    "type": {"const": "Feature"},
                    "id": {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"},
                    "geometry": {
                        "type": "object",
                        "required": ["type", "coordinates"],
                        "properties": {
                            "type": {"const": "Point"},
                            "coordinates": {
                                "type": "array",
                                "minItems": 2,
                                "maxItems": 2,
                                "prefixItems": [
                                    {
                                        "type": "number",
                                        "minimum": HANOI["lon"][0],
                                        "maximum": HANOI["lon"][1],
                                    },
                                    {
                                        "type": "number",
                                        "minimum": HANOI["lat"][0],
                                        "maximum": HANOI["lat"][1],
                                    },
                                ],
                            },
                        },
                    },
                    "properties": {"type": "object", "required": ["name_vi", "name_en"]},
                },
            },
        },
    },
}


def test_villages_geojson_is_a_valid_feature_collection_in_lon_lat_order(client, dataset):
    response = client.get("/api/v1/villages.geojson")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    body = json.loads(response.data)
    Draft202012Validator.check_schema(GEOJSON_SCHEMA)
    errors = list(Draft202012Validator(GEOJSON_SCHEMA).iter_errors(body))
    assert not errors, [e.message for e in errors[:5]]
    ids = [f["id"] for f in body["features"]]
    with_position = [v for v in dataset["villages"] if v["lat"] is not None]
    assert len(ids) == len(set(ids)) == len(with_position) == 43
    shipped = {v["id"]: (v["lon"], v["lat"]) for v in with_position}
    for feature in body["features"]:
        assert tuple(feature["geometry"]["coordinates"]) == shipped[feature["id"]]


def test_the_map_gets_each_village_s_sales_points_with_a_stated_position_only(client):
    from tourplanner.adapters.orm import Village
    from tourplanner.extensions import db

    village = db.session.query(Village).filter_by(slug="bat-trang").one()
    village.display_space = {"name": "Nhà trưng bày", "lat": 20.9751, "lon": 105.9122}
    village.sales_points = [
        {"name": "Chợ gốm", "lat": 20.9763, "lon": 105.9131},
        {"name": "Cửa hàng không rõ vị trí", "lat": None, "lon": None},
    ]
    db.session.commit()
    features = client.get("/api/v1/villages.geojson").get_json()["features"]
    places = {f["id"]: f["properties"]["places"] for f in features}
    assert places["bat-trang"] == [
        {"kind": "display_space", "name": "Nhà trưng bày", "lat": 20.9751, "lon": 105.9122},
        {"kind": "sales_point", "name": "Chợ gốm", "lat": 20.9763, "lon": 105.9131},
    ]
    assert all(p == [] for slug, p in places.items() if slug != "bat-trang")


def test_geojson_schema_refuses_lat_lon_order():
    swapped = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "bat-trang",
                "properties": {"name_vi": "x", "name_en": "x"},
                "geometry": {"type": "Point", "coordinates": [20.983, 105.917]},
            }
        ],
    }
    assert not Draft202012Validator(GEOJSON_SCHEMA).is_valid(swapped)


# --- filters ---------------------------------------------------------------------------------


def _slugs(client, path: str, query: str) -> set[str]:
    response = client.get(f"{path}?{query}&per_page=200")
    assert response.status_code == 200, response.get_json()
    return {item["slug"] for item in response.get_json()["items"]}


def test_diacritic_free_search_finds_vietnamese_names(client):
    assert "bat-trang" in _slugs(client, "/api/v1/villages", "q=bat trang")
    assert "bat-trang" in _slugs(client, "/api/v1/villages", "q=Bát Tràng")
    assert "bat-trang" in _slugs(client, "/api/v1/villages", "q=BAT%20TRANG")


def test_search_lua_finds_the_silk_villages(client, dataset):
    found = _slugs(client, "/api/v1/villages", "q=lua")
    silk = {v["id"] for v in dataset["villages"] if v["category"] == "silk_textiles"}
    assert "van-phuc" in found
    assert found & silk
    products = client.get("/api/v1/products?q=lua&per_page=200").get_json()["items"]
    # the product's own name, or its village (name, communes, crafts) has the word
    assert products and all(
        "lua" in _fold(p["name_vi"] + " " + (p["name_en"] or "")) or p["village"] in found
        for p in products
    )
    assert "van-phuc-vai-lua-van-phuc" in {p["slug"] for p in products}


def _fold(text: str) -> str:
    from tourplanner.domain.catalogue import fold

    return fold(text)


def test_search_treats_like_wildcards_literally(client):
    assert _slugs(client, "/api/v1/villages", "q=%25") == set()
    assert _slugs(client, "/api/v1/villages", "q=_") == set()


def test_district_category_traditional_filters(client, dataset):
    gia_lam = {v["id"] for v in dataset["villages"] if v["district_vi"] == "Gia Lâm"}
    assert _slugs(client, "/api/v1/villages", "district=Gia Lâm") == gia_lam
    ceramics = {v["id"] for v in dataset["villages"] if v["category"] == "ceramics"}
    assert _slugs(client, "/api/v1/villages", "category=ceramics") == ceramics
    traditional = {v["id"] for v in dataset["villages"] if v["recognised_traditional"] is True}
    assert _slugs(client, "/api/v1/villages", "traditional=true") == traditional
    others = _slugs(client, "/api/v1/villages", "traditional=false")
    assert others == {v["id"] for v in dataset["villages"]} - traditional


def test_bookable_filter_matches_the_demo_workshops(client):
    bookable = _slugs(client, "/api/v1/villages", "bookable=true")
    demo = client.get("/api/v1/experiences?sample=true&per_page=200").get_json()["items"]
    assert bookable == {e["village"] for e in demo if e["bookable"]}
    assert bookable.isdisjoint(_slugs(client, "/api/v1/villages", "bookable=false"))
    workshops = client.get("/api/v1/experiences?bookable=true&per_page=200").get_json()
    assert workshops["total"] > 0
    assert all(e["kind"] == "workshop" and e["bookable"] for e in workshops["items"])


def test_filters_combine(client):
    both = _slugs(client, "/api/v1/villages", "category=ceramics&district=Gia Lâm")
    assert both == {"bat-trang"} or "bat-trang" in both
    assert both <= _slugs(client, "/api/v1/villages", "category=ceramics")


def test_products_filter_by_village_and_category(client):
    items = client.get("/api/v1/products?village=bat-trang&per_page=200").get_json()["items"]
    assert items and {p["village"] for p in items} == {"bat-trang"}
    for resource in ("products", "experiences"):
        error = _error(client.get(f"/api/v1/{resource}?village=nowhere"), 400)
        assert error["code"] == "invalid_filter"
        assert error["details"] == {"field": "village", "parameter": "village", "value": "nowhere"}


# --- pagination ------------------------------------------------------------------------------


def test_pagination_is_stable_and_complete(client):
    whole = client.get("/api/v1/villages?per_page=200").get_json()
    paged = _all(client, "/api/v1/villages", per_page=5)
    assert [v["slug"] for v in paged] == [v["slug"] for v in whole["items"]]
    # Vietnamese alphabetical order of the names (#9), not the slugs' order.
    order = sorted(paged, key=lambda v: (vietnamese_key(v["name_vi"]), v["slug"]))
    assert [v["slug"] for v in paged] == [v["slug"] for v in order]
    first = client.get("/api/v1/villages?per_page=5").get_json()
    assert first["pages"] == 16 and first["total"] == 78
    assert first["links"]["prev"] is None and "page=2" in first["links"]["next"]


def test_page_beyond_the_last_is_empty_with_the_total(client):
    response = client.get("/api/v1/villages?page=99&per_page=10")
    assert response.status_code == 200
    body = response.get_json()
    assert body["items"] == [] and body["total"] == 78 and body["links"]["next"] is None


def test_pagination_links_keep_the_filters(client):
    body = client.get("/api/v1/products?q=gom&per_page=1").get_json()
    assert "q=gom" in body["links"]["next"]


# --- errors ----------------------------------------------------------------------------------


def _error(response, status: int) -> dict:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("page=0", "page"),
        ("page=abc", "page"),
        ("page=-1", "page"),
        ("per_page=1000", "per_page"),
        ("per_page=0", "per_page"),
        ("per_page=", "per_page"),
    ],
)
def test_bad_paging_is_a_400(client, query, parameter):
    error = _error(client.get(f"/api/v1/villages?{query}"), 400)
    assert error["code"] == "invalid_parameter"
    assert error["details"]["parameter"] == parameter


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("category=pottery", "category"),
        ("district=Atlantis", "district"),
        ("traditional=maybe", "traditional"),
        ("bookable=2", "bookable"),
    ],
)
def test_unknown_filter_value_is_a_400_naming_it(client, query, parameter):
    error = _error(client.get(f"/api/v1/villages?{query}"), 400)
    assert error["code"] == "invalid_filter"
    assert error["details"]["parameter"] == parameter


def test_unknown_parameter_is_a_400(client):
    error = _error(client.get("/api/v1/villages?colour=red"), 400)
    assert error["code"] == "unknown_parameter"
    assert "district" in error["details"]["allowed"]


def test_lang_parameter_is_accepted_by_the_api(client):
    assert client.get("/api/v1/villages?lang=en").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/villages/atlantis",
        "/api/v1/products/atlantis",
        "/api/v1/experiences/atlantis",
        "/api/v1/experiences/99999",
        "/api/v1/landmarks/atlantis",
    ],
)
def test_unknown_slug_is_a_json_404(client, path):
    assert _error(client.get(path), 404)["code"].endswith("not_found")


def test_unknown_api_url_is_a_json_404(client):
    assert _error(client.get("/api/v1/xyz"), 404)["code"] == "not_found"


def test_wrong_method_is_a_json_405(client):
    assert _error(client.post("/api/v1/villages"), 405)["code"] == "method_not_allowed"
    assert _error(client.delete("/api/v1/villages/bat-trang"), 405)


def test_experience_by_id_and_by_slug(client):
    first = client.get("/api/v1/experiences?per_page=1").get_json()["items"][0]
    detail = {**first, "photos": []}  # the one experience also lists its photos
    assert client.get(f"/api/v1/experiences/{first['id']}").get_json() == detail
    assert client.get(f"/api/v1/experiences/{first['slug']}").get_json() == detail


def test_bookable_filter_agrees_with_the_bookable_flag(client, app):
    """A workshop with capacity and price but no published hours cannot be booked."""
    from tourplanner.services.catalogue_io import import_sections

    import_sections(
        {
            "experience": [
                (
                    1,
                    {
                        "slug": "kim-hoang-workshop-no-hours",
                        "village": "vong",
                        "kind": "workshop",
                        "title_vi": "Lớp in tranh",
                        "title_en": "Print class",
                        "duration_minutes": 60,
                        "capacity": 10,
                        "price_adult_vnd": 100_000,
                    },
                )
            ]
        }
    )
    detail = client.get("/api/v1/experiences/kim-hoang-workshop-no-hours").get_json()
    assert detail["bookable"] is False
    listed = client.get("/api/v1/experiences?bookable=true&per_page=200").get_json()["items"]
    assert all(e["bookable"] for e in listed)
    assert "kim-hoang-workshop-no-hours" not in {e["slug"] for e in listed}
    villages = client.get("/api/v1/villages?bookable=true&per_page=200").get_json()["items"]
    assert all(v["has_bookable_experiences"] for v in villages)
    unbookable = client.get("/api/v1/villages?bookable=false&per_page=200").get_json()["items"]
    assert not any(v["has_bookable_experiences"] for v in unbookable)
