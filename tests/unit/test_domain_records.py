"""The catalogue interchange format (tourplanner/domain/records.py): every converter's message."""

from __future__ import annotations

import pytest

from tourplanner.domain.records import (
    EXPERIENCE,
    INT_MAX,
    PRODUCT,
    VILLAGE,
    Problem,
    clean_row,
    validate,
)


def village(**changes) -> dict:
    row = {
        "slug": "lang-thu",
        "name_vi": "Làng thử",
        "name_en": "Test village",
        "district": "Gia Lâm",
        "category": "ceramics",
        "lat": "20.98",
        "lon": "105.91",
        "coord_quality": "estimate",
    }
    return {k: v for k, v in {**row, **changes}.items() if v is not ...}


def product(**changes) -> dict:
    return {
        "slug": "binh-gom",
        "village": "lang-thu",
        "name_vi": "Bình gốm",
        "category": "ceramics",
        **changes,
    }


def experience(**changes) -> dict:
    return {
        "slug": "lop-gom",
        "village": "lang-thu",
        "kind": "workshop",
        "title_vi": "Lớp gốm",
        "title_en": "Pottery class",
        "duration_minutes": "90",
        **changes,
    }


def problems(spec, raw: dict) -> dict[str, str]:
    _clean, found = clean_row(spec, raw, 7)
    assert all(p.row == 7 and p.record == spec.kind for p in found)
    return {p.field: p.reason for p in found}


def test_good_rows_convert_to_typed_values():
    clean, found = clean_row(
        VILLAGE,
        village(crafts="gốm | vẽ men", recognised_traditional="yes", contact='{"phone": "+84"}'),
        1,
    )
    assert found == []
    assert clean["lat"] == 20.98 and clean["lon"] == 105.91
    assert clean["crafts"] == ["gốm", "vẽ men"]
    assert clean["recognised_traditional"] is True
    assert clean["contact"] == {"phone": "+84"}
    assert clean["videos"] == [] and clean["commune"] is None


def test_defaults_fill_empty_optional_fields():
    clean, found = clean_row(EXPERIENCE, experience(capacity="", weekly_hours="  "), 1)
    assert found == []
    assert clean["capacity"] is None
    assert clean["weekly_hours"] == {} and clean["closed_dates"] == []
    assert clean["booking_cutoff_hours"] == 12 and clean["free_cancellation_hours"] == 24
    assert clean["is_sample"] is False


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("slug", "Làng Thử", "expected an ASCII slug such as 'bat-trang' (a-z, 0-9 and hyphens)"),
        ("slug", "x" * 81, "at most 80 characters"),
        ("name_vi", ["a"], "expected text"),
        ("name_vi", "x" * 201, "at most 200 characters"),
        ("district", "x" * 101, "at most 100 characters"),
        ("category", "pottery", "unknown category 'pottery'; use one of: blacksmith, "),
        ("lat", "north", "expected a number, got 'north'"),
        ("lat", "95", "latitude must be between -90 and 90"),
        ("lon", "-181", "longitude must be between -180 and 180"),
        ("lon", None, "give both lat and lon, or neither"),
        (
            "coord_quality",
            "guess",
            "coord_quality must be one of page, commune_page, commune_estimate, estimate",
        ),
        ("coord_quality", "unknown", "is 'unknown' but a position is given"),
        ("commune_2025_sources", "ftp://x", "expected an http(s) address"),
        ("videos", "https://example.com/v", "video 1: url: expected a link on youtube.com"),
        ("sales_points", '[{"address": "x"}]', "entry 1: 'name' is required"),
        ("shop_links", '[{"kind": "shop", "url": "javascript:alert(1)"}]', "link 1: url:"),
        ("recognised_traditional", "perhaps", "expected true or false, got 'perhaps'"),
        ("crafts", ["gốm", 3], "expected a list of texts (in CSV: separated by |)"),
        (
            "contact",
            "{phone: 1}",
            "not valid JSON: Expecting property name enclosed in double quotes",
        ),
        ("contact", "[1, 2]", "expected an object"),
        ("colour", "blue", "unknown field"),
    ],
)
def test_village_field_messages(field, value, reason):
    found = problems(VILLAGE, village(**{field: value}))
    assert found[field].startswith(reason), found


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("slug", "", "required"),
        ("village", "Bát Tràng", "expected an ASCII slug"),
        ("ocop_stars", "2", "OCOP stars must be 3, 4 or 5 (leave empty when not certified)"),
        ("ocop_stars", "four", "expected a whole number, got 'four'"),
        ("price_min_vnd", "-5", "must not be negative"),
        ("price_min_vnd", "12.5", "expected a whole number, got '12.5'"),
        ("price_min_vnd", True, "expected a whole number"),
        ("price_min_vnd", "inf", "expected a whole number, got 'inf'"),
        ("price_min_vnd", "nan", "expected a whole number, got 'nan'"),
        ("price_min_vnd", "1e12", f"'1e12' is too large (at most {INT_MAX:,})"),
        ("price_min_vnd", [1], "expected a whole number, got [1]"),
        ("ip_protected", "2", "expected true or false, got '2'"),
        ("images", 5, "expected a list of texts"),
        ("name_en", "x" * 201, "at most 200 characters"),
        ("is_sample", "sometimes", "expected true or false"),
    ],
)
def test_product_field_messages(field, value, reason):
    found = problems(PRODUCT, product(**{field: value}))
    assert found[field].startswith(reason), found


def test_whole_numbers_accept_common_spellings():
    clean, found = clean_row(
        PRODUCT, product(price_min_vnd=" 150_000 ", price_max_vnd="2e5", ocop_stars=4.0), 1
    )
    assert found == []
    assert (clean["price_min_vnd"], clean["price_max_vnd"], clean["ocop_stars"]) == (
        150_000,
        200_000,
        4,
    )


def test_price_range_must_not_be_reversed():
    found = problems(PRODUCT, product(price_min_vnd="50000", price_max_vnd="30000"))
    assert found == {"price_max_vnd": "is below price_min_vnd"}


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("kind", "tour", "kind must be 'visit' or 'workshop'"),
        ("title_en", "", "required"),
        ("title_vi", "x" * 201, "at most 200 characters"),
        ("duration_minutes", "0", "must be greater than zero"),
        ("capacity", "-1", "must be greater than zero"),
        ("min_age", "-3", "must not be negative"),
        ("weekly_hours", '{"mon": [["08:00", "25:00"]]}', "expected HH:MM (00:00 to 23:59)"),
        ("weekly_hours", '{"mon": [["17:00", "08:00"]]}', "mon: window 17:00–08:00 closes before"),
        ("weekly_hours", "[1]", "weekly hours must be an object keyed by weekday"),
        ("weekly_hours", "{oops", "not valid JSON"),
        ("closed_dates", "2027-02-30", "'2027-02-30' is not a date (YYYY-MM-DD)"),
        ("closed_dates", "2027-02-06|soon", "'soon' is not a date (YYYY-MM-DD)"),
        ("price_fact", "12", "expected an object"),
        ("languages", {"vi": 1}, "expected a list of texts"),
        ("booking_cutoff_hours", "-1", "must not be negative"),
    ],
)
def test_experience_field_messages(field, value, reason):
    found = problems(EXPERIENCE, experience(**{field: value}))
    assert found[field].startswith(reason), found


def test_every_field_has_a_converter_that_refuses_a_wrong_type():
    """No converter lets an arbitrary object through unchecked (free text accepts numbers)."""
    for spec in (VILLAGE, PRODUCT, EXPERIENCE):
        for f in spec.fields:
            with pytest.raises(ValueError):
                f.convert(object())


def test_problems_name_record_row_and_field():
    assert str(Problem(12, "price_min_vnd", "must not be negative", "product")) == (
        "product row 12, field 'price_min_vnd': must not be negative"
    )
    assert str(Problem(3, "type", "must be village, product or experience")) == (
        "row 3, field 'type': must be village, product or experience"
    )


def test_validate_checks_parents_and_duplicates_across_the_file():
    sections = {
        "village": [(2, village())],
        "product": [
            (3, product()),
            (4, product(slug="vase", village="elsewhere")),
            (5, product(slug="binh-gom")),
            (6, product(slug="x", village="known")),
        ],
        "experience": [(7, experience(village="nowhere"))],
    }
    cleaned, found = validate(sections, existing_villages={"known"})
    assert [str(p) for p in found] == [
        "product row 4, field 'village': no village 'elsewhere'",
        "product row 5, field 'slug': duplicate of row 3",
        "experience row 7, field 'village': no village 'nowhere'",
    ]
    assert len(cleaned["product"]) == 4


def test_validate_sorts_problems_by_row():
    sections = {"product": [(9, product(category="x"))], "village": [(2, village(lat="x"))]}
    _, found = validate(sections, set())
    assert [p.row for p in found] == [2, 9]
