"""Catalogue vocabulary and rules (tourplanner/domain/catalogue.py): plain Python, no app."""

from __future__ import annotations

from datetime import date, time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tourplanner.domain.catalogue import (
    CATEGORIES,
    DEFAULT_VISIT_HOURS,
    WEEKDAYS,
    fold,
    is_slug,
    parse_daily_hours,
    parse_hhmm,
    slugify,
    split_gloss,
    validate_weekly_hours,
    windows_on,
)


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Bát Tràng", "bat trang"),
        ("Làng lụa Vạn Phúc", "lang lua van phuc"),
        ("ĐỒ THỜ Đông Hồ", "do tho dong ho"),
        ("Phú   Vinh\t mây tre", "phu vinh may tre"),
        ("Ước Lễ, Nhị Khê", "uoc le, nhi khe"),
        ("bat trang", "bat trang"),
        ("", ""),
        (None, ""),
    ],
)
def test_fold_strips_diacritics_case_and_extra_spaces(text, folded):
    assert fold(text) == folded


def test_fold_treats_composed_and_decomposed_text_alike():
    import unicodedata

    name = "Làng gốm Bát Tràng"
    assert fold(unicodedata.normalize("NFD", name)) == fold(unicodedata.normalize("NFC", name))


@given(st.text())
def test_fold_is_idempotent(text):
    assert fold(fold(text)) == fold(text)


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Làng gốm Bát Tràng", "lang-gom-bat-trang"),
        ("bình, lọ", "binh-lo"),
        ("  Đúc đồng -- Ngũ Xá! ", "duc-dong-ngu-xa"),
        ("Vạn Phúc 2024", "van-phuc-2024"),
    ],
)
def test_slugify_makes_ascii_slugs(text, slug):
    assert slugify(text) == slug
    assert is_slug(slug)


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x1EFF), min_size=1))
def test_slugify_output_is_a_slug_or_empty(text):
    slug = slugify(text)
    assert slug == "" or is_slug(slug[:120].strip("-"))
    assert slug.isascii()


@pytest.mark.parametrize("value", ["bat-trang", "a", "van-phuc-2", "x" * 120])
def test_valid_slugs(value):
    assert is_slug(value)


@pytest.mark.parametrize(
    "value", ["", "Bat-Trang", "bát-tràng", "-a", "a-", "a--b", "a b", "x" * 121, None, 5]
)
def test_invalid_slugs(value):
    assert not is_slug(value)


def test_parse_daily_hours_reads_a_stated_daily_window():
    hours = parse_daily_hours("08:00–18:00 daily (Bát Tràng Ceramics Museum, 2023)")
    assert hours == {d: [["08:00", "18:00"]] for d in WEEKDAYS}
    assert parse_daily_hours("8:00 - 17:30 daily") == {d: [["08:00", "17:30"]] for d in WEEKDAYS}


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "open most days",
        "08:00–18:00 on weekdays",
        "18:00–08:00 daily",
        "08:00–24:00 daily",
        "07:75–09:00 daily",
    ],
)
def test_parse_daily_hours_returns_none_when_no_valid_daily_window_is_stated(text):
    assert parse_daily_hours(text) is None


def test_parse_daily_hours_result_is_valid_and_not_shared():
    hours = parse_daily_hours("09:00-16:00 daily")
    assert validate_weekly_hours(hours) == hours
    hours["mon"][0][0] = "10:00"
    assert hours["tue"][0][0] == "09:00"


@pytest.mark.parametrize(
    ("value", "parsed"), [("00:00", time(0, 0)), ("23:59", time(23, 59)), ("08:30", time(8, 30))]
)
def test_parse_hhmm(value, parsed):
    assert parse_hhmm(value) == parsed


@pytest.mark.parametrize("value", ["8:30", "08:3", "0830", "24:00", "12:60", "", None, 830])
def test_parse_hhmm_refuses_anything_else(value):
    with pytest.raises(ValueError, match="HH:MM"):
        parse_hhmm(value)


def test_validate_weekly_hours_accepts_split_days():
    hours = {
        "mon": [["08:00", "11:30"], ["13:30", "17:30"]],
        "sun": [],
        "sat": [["13:00", "17:00"], ["08:00", "13:00"]],
    }
    assert validate_weekly_hours(hours) == hours
    assert validate_weekly_hours(DEFAULT_VISIT_HOURS) == DEFAULT_VISIT_HOURS


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ([["08:00", "17:00"]], "object keyed by weekday"),
        ({"monday": [["08:00", "17:00"]]}, "unknown weekday 'monday'"),
        ({"mon": ["08:00", "17:00"]}, "mon: expected \\[open, close\\]"),
        ({"mon": "08:00-17:00"}, "mon: expected a list"),
        ({"tue": [["08:00"]]}, "tue: expected \\[open, close\\]"),
        ({"wed": [["17:00", "08:00"]]}, "wed: window 17:00–08:00 closes before it opens"),
        ({"thu": [["08:00", "08:00"]]}, "closes before it opens"),
        ({"fri": [["8am", "5pm"]]}, "HH:MM"),
        ({"sat": [["08:00", "12:00"], ["11:00", "13:00"]]}, "sat: window 11:00–13:00 overlaps"),
        ({"sun": [["13:00", "17:00"], ["08:00", "13:30"]]}, "sun: window 08:00–13:30 overlaps"),
    ],
)
def test_validate_weekly_hours_names_the_first_bad_entry(hours, message):
    with pytest.raises(ValueError, match=message):
        validate_weekly_hours(hours)


def test_windows_on_uses_the_weekday_and_closed_dates():
    hours = {"mon": [["08:00", "11:30"], ["13:30", "17:30"]], "sat": [["09:00", "12:00"]]}
    monday = date(2027, 3, 1)
    assert monday.weekday() == 0
    assert windows_on(hours, [], monday) == [(time(8), time(11, 30)), (time(13, 30), time(17, 30))]
    assert windows_on(hours, [], date(2027, 3, 6)) == [(time(9), time(12))]
    assert windows_on(hours, [], date(2027, 3, 2)) == []  # Tuesday: no hours
    assert windows_on(hours, ["2027-03-01"], monday) == []  # closed that day


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("bình, lọ (vases)", ("bình, lọ", "vases")),
        ("bát đĩa, ấm chén (tableware, tea sets)", ("bát đĩa, ấm chén", "tableware, tea sets")),
        ("  nón lá   (conical hats) ", ("nón lá", "conical hats")),
        ("đồ thờ", ("đồ thờ", None)),
        ("  tranh Đông Hồ ", ("tranh Đông Hồ", None)),
        ("a (b) c", ("a (b) c", None)),
        ("khung (ảnh (gỗ))", ("khung (ảnh (gỗ))", None)),
    ],
)
def test_split_gloss(text, parts):
    assert split_gloss(text) == parts


def test_categories_match_the_shipped_dataset():
    import json
    from pathlib import Path

    data = json.loads(
        (
            Path(__file__).resolve().parents[2] / "tourplanner/data/hanoi_craft_villages.json"
        ).read_text("utf-8")
    )
    assert tuple(data["meta"]["categories"]) == CATEGORIES
    assert {v["category"] for v in data["villages"]} <= set(CATEGORIES)


def test_domain_imports_no_framework():
    """Domain modules import no Flask, SQLAlchemy, Celery or geopy (read from their source)."""
    import ast
    from pathlib import Path

    forbidden = {"flask", "flask_babel", "sqlalchemy", "celery", "geopy"}
    domain = Path(__file__).resolve().parents[2] / "tourplanner/domain"
    for path in domain.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not {n.split(".")[0] for n in names} & forbidden, (path.name, names)
