"""``flask catalogue import``: all-or-nothing, names the bad row, idempotent; export round trip."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import make_app
from tourplanner.adapters.orm import Experience, Product, Village
from tourplanner.extensions import db
from tourplanner.services.catalogue_io import export_text

N_PRODUCTS = 300
BAD_PRODUCT = 137  # 1-based position among the products


def _villages() -> list[dict]:
    return [
        {
            "slug": f"test-village-{i}",
            "name_vi": f"Làng thử {i}",
            "name_en": f"Test village {i}",
            "district": "Gia Lâm",
            "commune": "Bát Tràng",
            "category": "ceramics",
            "crafts": ["gốm (ceramics)", "vẽ men"],
            "lat": 20.98 + i / 1000,
            "lon": 105.91,
            "coord_quality": "estimate",
            "recognised_traditional": i % 2 == 0,
            "contact": {"phone": f"+84 24 0000 000{i}"},
            "sources": ["https://example.org/a"],
        }
        for i in range(1, 4)
    ]


def _products() -> list[dict]:
    return [
        {
            "slug": f"test-product-{i:03d}",
            "village": f"test-village-{i % 3 + 1}",
            "name_vi": f"Bình gốm số {i}",
            "name_en": f"Vase no. {i}",
            "category": "ceramics",
            "ocop_stars": (3, 4, 5, None)[i % 4],
            "price_min_vnd": 1000 * i,
            "price_max_vnd": 1500 * i,
            "where_to_buy": [{"name": f"Shop {i}", "url": f"https://example.org/{i}"}],
        }
        for i in range(1, N_PRODUCTS + 1)
    ]


def _experiences() -> list[dict]:
    return [
        {
            "slug": f"test-workshop-{i}",
            "village": f"test-village-{i}",
            "kind": "workshop",
            "title_vi": f"Lớp gốm {i}",
            "title_en": f"Pottery class {i}",
            "duration_minutes": 90,
            "capacity": 12,
            "price_adult_vnd": 150_000,
            "price_child_vnd": 100_000,
            "languages": ["vi", "en"],
            "weekly_hours": {"sat": [["08:00", "11:30"], ["13:30", "17:00"]]},
            "closed_dates": ["2027-02-06", "2027-02-07"],
            "is_sample": True,
        }
        for i in range(1, 4)
    ]


def catalogue(bad: bool = False) -> dict[str, list[dict]]:
    products = _products()
    if bad:
        products[BAD_PRODUCT - 1]["price_min_vnd"] = "about 5000"
    return {"villages": _villages(), "products": products, "experiences": _experiences()}


def write_json(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "|".join(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def write_csv(path: Path, data: dict) -> Path:
    rows = [
        {"type": kind[:-1], **row}
        for kind in ("villages", "products", "experiences")
        for row in data[kind]
    ]
    header = ["type", *sorted({k for row in rows for k in row} - {"type"})]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)
    return path


WRITERS = {"json": write_json, "csv": write_csv}
#: Where the bad product is reported: its JSON list position, or its CSV line (header = 1).
BAD_ROW = {"json": BAD_PRODUCT, "csv": 1 + 3 + BAD_PRODUCT}


def counts() -> tuple[int, int, int]:
    models = (Village, Product, Experience)
    return tuple(  # type: ignore[return-value]
        db.session.scalar(select(func.count()).select_from(m)) for m in models
    )


def run_import(runner, path: Path):
    return runner.invoke(args=["catalogue", "import", str(path)])


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_one_bad_row_among_300_writes_nothing_and_is_named(runner, tmp_path, fmt):
    before = counts()
    path = WRITERS[fmt](tmp_path / f"catalogue.{fmt}", catalogue(bad=True))
    result = run_import(runner, path)
    assert result.exit_code == 1
    assert f"product row {BAD_ROW[fmt]}, field 'price_min_vnd'" in result.stderr
    assert "about 5000" in result.stderr
    assert "1 problem(s); nothing was imported." in result.stderr
    assert result.stdout == ""
    db.session.remove()
    assert counts() == before


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_fixed_file_writes_everything_then_reimport_changes_nothing(runner, tmp_path, fmt):
    villages, products, experiences = counts()
    path = WRITERS[fmt](tmp_path / f"catalogue.{fmt}", catalogue())
    started = time.perf_counter()
    result = run_import(runner, path)
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.stderr
    assert "villages: 3 created, 0 updated" in result.stdout
    assert f"products: {N_PRODUCTS} created, 0 updated" in result.stdout
    assert "experiences: 3 created, 0 updated" in result.stdout
    db.session.remove()
    assert counts() == (villages + 3, products + N_PRODUCTS, experiences + 3)
    print(f"\nimport of {N_PRODUCTS} products from {fmt}: {elapsed:.2f} s")

    again = run_import(runner, path)
    assert again.exit_code == 0, again.stderr
    assert "Nothing changed." in again.stdout
    assert "products: 0 created, 0 updated, 300 unchanged" in again.stdout
    assert counts() == (villages + 3, products + N_PRODUCTS, experiences + 3)


def test_imported_values_are_typed(runner, tmp_path):
    result = run_import(runner, write_csv(tmp_path / "c.csv", catalogue()))
    assert result.exit_code == 0, result.stderr
    product = db.session.scalar(select(Product).where(Product.slug == "test-product-005"))
    assert (product.price_min_vnd, product.ocop_stars, product.village.slug) == (
        5000,
        4,
        "test-village-3",
    )
    workshop = db.session.scalar(select(Experience).where(Experience.slug == "test-workshop-1"))
    assert workshop.weekly_hours == {"sat": [["08:00", "11:30"], ["13:30", "17:00"]]}
    assert workshop.closed_dates == ["2027-02-06", "2027-02-07"]
    assert workshop.is_sample is True and workshop.bookable
    village = db.session.scalar(select(Village).where(Village.slug == "test-village-2"))
    assert village.contact == {"phone": "+84 24 0000 0002"}
    assert village.recognised_traditional is True


def test_changing_one_row_updates_only_that_row(runner, tmp_path):
    data = catalogue()
    assert run_import(runner, write_json(tmp_path / "a.json", data)).exit_code == 0
    data["products"][9]["price_max_vnd"] = 99_000
    result = run_import(runner, write_json(tmp_path / "b.json", data))
    assert "products: 0 created, 1 updated, 299 unchanged" in result.stdout


def test_every_problem_is_reported_at_once(runner, tmp_path):
    data = catalogue()
    data["products"][0]["category"] = "pottery"
    data["products"][1]["village"] = "atlantis"
    data["products"][2]["slug"] = data["products"][3]["slug"]
    data["experiences"][0]["weekly_hours"] = {"sat": [["17:00", "08:00"]]}
    del data["villages"][0]["lat"]
    result = run_import(runner, write_json(tmp_path / "bad.json", data))
    assert result.exit_code == 1
    for expected in (
        "product row 1, field 'category': unknown category 'pottery'",
        "product row 2, field 'village': no village 'atlantis'",
        "product row 4, field 'slug': duplicate of row 3",
        "experience row 1, field 'weekly_hours'",
        "village row 1, field 'lat': give both lat and lon, or neither",
    ):
        assert expected in result.stderr
    assert "5 problem(s)" in result.stderr


def test_unknown_json_field_is_a_problem(runner, tmp_path):
    data = catalogue()
    data["products"][4]["colour"] = "blue"
    result = run_import(runner, write_json(tmp_path / "bad.json", data))
    assert result.exit_code == 1
    assert "product row 5, field 'colour': unknown field" in result.stderr


def test_unknown_csv_column_is_refused(runner, tmp_path):
    data = catalogue()
    data["products"][4]["colour"] = "blue"
    before = counts()
    result = run_import(runner, write_csv(tmp_path / "bad.csv", data))
    assert result.exit_code == 1
    assert "colour" in result.stderr
    assert counts() == before


def test_csv_row_with_an_unknown_type_is_named(runner, tmp_path):
    path = write_csv(tmp_path / "c.csv", catalogue())
    lines = path.read_text("utf-8").splitlines()
    lines[5] = "widget" + lines[5][len("product") :]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_import(runner, path)
    assert result.exit_code == 1
    assert "row 6, field 'type'" in result.stderr


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("broken.json", "{not json", "not valid JSON"),
        ("list.json", "[]", 'expected an object with "villages"'),
        ("nohead.csv", "slug,name_vi\nx,y\n", "'type' column"),
        ("data.txt", "whatever", "unsupported file type"),
    ],
)
def test_unreadable_files_are_refused(runner, tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = run_import(runner, path)
    assert result.exit_code == 1
    assert message in result.stderr and "nothing was imported" in result.stderr


def test_missing_file_is_a_usage_error(runner, tmp_path):
    result = run_import(runner, tmp_path / "missing.json")
    assert result.exit_code == 2


# --- export / import round trip ----------------------------------------------------------------


def _export(runner, fmt: str, path: Path) -> str:
    result = runner.invoke(args=["catalogue", "export", "--format", fmt, "-o", str(path)])
    assert result.exit_code == 0, result.stderr
    return path.read_text("utf-8")


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_import_export_round_trip(app, runner, tmp_path, fmt):
    # Commands run against the innermost app context: the seeded app, then the fresh one.
    with app.app_context():  # the seeded database (facts + demo)
        first = _export(runner, fmt, tmp_path / f"first.{fmt}")
    from flask_migrate import upgrade

    fresh = make_app(tmp_path / "fresh.sqlite3")
    with fresh.app_context():
        upgrade()
        fresh_runner = fresh.test_cli_runner()
        result = run_import(fresh_runner, tmp_path / f"first.{fmt}")
        assert result.exit_code == 0, result.stderr
        assert "villages: 78 created" in result.stdout
        second = _export(fresh_runner, fmt, tmp_path / f"second.{fmt}")
        again = run_import(fresh_runner, tmp_path / f"second.{fmt}")
        assert "Nothing changed." in again.stdout
        db.session.remove()
        db.engine.dispose()
    assert second == first


def test_export_to_stdout_matches_the_service(runner):
    result = runner.invoke(args=["catalogue", "export"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == json.loads(export_text("json"))
