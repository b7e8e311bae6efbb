"""Small things a user notices (#9 item 9): lists in Vietnamese alphabetical order, money as
each language writes it, product search by village name and craft, a favicon, a styled home
button."""

from __future__ import annotations

import re
from pathlib import Path

from tourplanner.domain.collation import vietnamese_key

ROOT = Path(__file__).resolve().parents[2]


def test_vietnamese_order_puts_letters_with_marks_after_their_base_and_tones_last():
    names = ["Yên Thái", "Ước Lễ", "Đông Hồ", "Dương Liễu", "Ấp", "An", "Ăn", "Bát Tràng"]
    assert sorted(names, key=vietnamese_key) == [
        "An", "Ăn", "Ấp", "Bát Tràng", "Dương Liễu", "Đông Hồ", "Ước Lễ", "Yên Thái",
    ]  # fmt: skip
    assert sorted(["má", "mà", "ma", "mạ", "mả", "mã"], key=vietnamese_key) == [
        "ma", "mà", "mả", "mã", "má", "mạ",
    ]  # fmt: skip


def test_the_villages_page_and_the_api_list_villages_by_their_vietnamese_names(client):
    page = client.get("/villages?lang=vi").get_data(as_text=True)
    slugs = re.findall(r'<a href="/villages/([a-z0-9-]+)"', page)
    names = client.get("/api/v1/villages?per_page=100").get_json()["items"]
    by_slug = {v["slug"]: v["name_vi"] for v in names}
    listed = [by_slug[s] for s in dict.fromkeys(slugs) if s in by_slug]
    assert len(listed) > 50
    assert listed == sorted(listed, key=vietnamese_key)
    assert [v["name_vi"] for v in names] == sorted(
        (v["name_vi"] for v in names), key=vietnamese_key
    )


def test_english_pages_write_money_the_english_way(client):
    english = client.get("/villages/bat-trang?lang=en").get_data(as_text=True)
    assert "150,000 VND" in english and "150.000 ₫" not in english
    vietnamese = client.get("/villages/bat-trang?lang=vi").get_data(as_text=True)
    assert "150.000 ₫" in vietnamese


def test_product_search_matches_the_village_name_without_marks(client):
    page = client.get("/products?q=bat+trang&lang=en").get_data(as_text=True)
    assert len(re.findall(r'class="card product-card"', page)) >= 4


def test_every_page_has_a_favicon_and_the_home_button_is_styled(client):
    page = client.get("/?lang=en").get_data(as_text=True)
    icon = re.search(r'<link rel="icon" href="([^"]+)"', page).group(1)
    with client.get(icon) as served:
        assert served.status_code == 200 and b"<svg" in served.data
    assert re.search(r'<a class="button" href="/plan"', page)
    css = (ROOT / "tourplanner/static/css/app.css").read_text()
    assert re.search(r"^a\.button \{[^}]*background: var\(--accent\)", css, re.M)
