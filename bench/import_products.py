"""Bulk-import benchmark: a zip of 300 products with two photos each (600 PNG files).

Runs the real ``flask catalogue import`` path (read the zip, validate every row and photo,
store the photos, upsert in one transaction) on a fresh, migrated and seeded SQLite database:

1. the zip with one bad photo: must write nothing and name the photo (row and field);
2. the fixed zip: all 300 import (the issue's target: under a minute);
3. the same zip again: nothing changes.

Run: ``.venv/bin/python bench/import_products.py`` (BENCH_PRODUCTS=300 by default).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.catalogue_zip import build_zip  # noqa: E402

LIMIT_SECONDS = 60.0


def main() -> int:
    from flask_migrate import upgrade

    from tourplanner import create_app
    from tourplanner.services.catalogue_io import ImportFailed, import_sections, read_zip, seed

    count = int(os.environ.get("BENCH_PRODUCTS", "300"))
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite3",
                "SECRET_KEY_FILE": Path(tmp) / "secret_key",
                "MEDIA_ROOT": Path(tmp) / "media",
            }
        )
        bad_zip, good_zip = build_zip(count, bad=count // 2), build_zip(count)
        print(f"zip: {count} products, {2 * count} photos, {len(good_zip) / 1e6:.1f} MB")
        with app.app_context():
            upgrade()
            seed()
            started = time.perf_counter()
            try:
                sections, files = read_zip(bad_zip)
                import_sections(sections, files=files)
                print("FAIL: the bad zip was imported")
                return 1
            except ImportFailed as exc:
                took = time.perf_counter() - started
                print(f"bad photo: refused in {took:.2f} s: {exc.problems[0]}")
            media = Path(tmp) / "media" / "products"
            stored = list(media.glob("*")) if media.exists() else []
            if stored:
                print(f"FAIL: {len(stored)} photos left behind")
                return 1
            started = time.perf_counter()
            sections, files = read_zip(good_zip)
            report = import_sections(sections, files=files)
            first = time.perf_counter() - started
            print(f"import: {report.summary()} in {first:.2f} s")
            started = time.perf_counter()
            sections, files = read_zip(good_zip)
            again = import_sections(sections, files=files)
            print(f"again: {again.changed} changed in {time.perf_counter() - started:.2f} s")
            if again.changed or first > LIMIT_SECONDS:
                print("FAIL")
                return 1
    print(f"OK: {count} products with photos in {first:.2f} s (limit {LIMIT_SECONDS:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
