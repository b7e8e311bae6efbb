"""Import, export and seeding of the catalogue.

Import is all-or-nothing: every row is validated first and nothing is written if any row is bad.
Rows are upserted by slug, and only changed columns are written, so re-importing the same file
changes nothing. Seeding converts the shipped factual dataset into the same interchange rows;
the demo set (sample schedules, capacities and prices) lives in a separate file and every row
it creates is flagged ``is_sample``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tourplanner.adapters.orm import Experience, Landmark, Product, Village
from tourplanner.domain.catalogue import (
    DEFAULT_VISIT_HOURS,
    fold,
    parse_daily_hours,
    slugify,
    split_gloss,
)
from tourplanner.domain.errors import ValidationError
from tourplanner.domain.images import MAX_BYTES, CheckedImage, ImageProblem, check_image
from tourplanner.domain.records import PLURAL, RECORD_TYPES, SPECS, Problem, validate
from tourplanner.services import product_media
from tourplanner.services.unit_of_work import unit_of_work

MODELS = {"village": Village, "product": Product, "experience": Experience}
DATASET = "hanoi_craft_villages.json"
OCOP = "hanoi_ocop_products.json"
DEMO = "demo_experiences.json"


@dataclass
class ImportReport:
    created: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RECORD_TYPES, 0))
    updated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RECORD_TYPES, 0))
    unchanged: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RECORD_TYPES, 0))

    @property
    def changed(self) -> int:
        return sum(self.created.values()) + sum(self.updated.values())

    def summary(self) -> str:
        parts = [
            f"{PLURAL[k]}: {self.created[k]} created, {self.updated[k]} updated, "
            f"{self.unchanged[k]} unchanged"
            for k in RECORD_TYPES
        ]
        return "; ".join(parts)


class ImportFailed(ValidationError):
    """Raised with every problem found; nothing was written."""

    code = "import_invalid"

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(
            f"{len(problems)} problem(s) found; nothing was imported",
            problems=[p.__dict__ for p in problems],
        )
        self.problems = problems


# --- reading files -------------------------------------------------------------------------


def read_sections(path: Path) -> dict[str, list[tuple[int, dict]]]:
    """Read a JSON or CSV catalogue file into ``{type: [(row number, raw row)]}``."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        return parse_json(text)
    if path.suffix.lower() == ".csv":
        return parse_csv(text)
    raise ValidationError(f"{path.name}: unsupported file type; use .json or .csv")


def parse_json(text: str) -> dict[str, list[tuple[int, dict]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"not valid JSON (line {exc.lineno}): {exc.msg}") from None
    if not isinstance(data, dict) or not any(PLURAL[k] in data for k in RECORD_TYPES):
        raise ValidationError('expected an object with "villages", "products" or "experiences"')
    sections: dict[str, list[tuple[int, dict]]] = {}
    for kind in RECORD_TYPES:
        rows = data.get(PLURAL[kind], [])
        if not isinstance(rows, list):
            raise ValidationError(f'"{PLURAL[kind]}" must be a list')
        sections[kind] = [
            (n, row if isinstance(row, dict) else {"slug": None}) for n, row in enumerate(rows, 1)
        ]
    return sections


def parse_csv(text: str) -> dict[str, list[tuple[int, dict]]]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "type" not in reader.fieldnames:
        raise ValidationError("a catalogue CSV needs a header row with a 'type' column")
    known = {"type"}.union(*(spec.names for spec in SPECS.values()))
    unknown = [name for name in reader.fieldnames if name not in known]
    if unknown:  # a misspelt column would otherwise be dropped silently
        raise ImportFailed([Problem(1, name, "unknown column") for name in unknown])
    sections: dict[str, list[tuple[int, dict]]] = {kind: [] for kind in RECORD_TYPES}
    bad: list[Problem] = []
    for line, row in enumerate(reader, start=2):
        kind = (row.get("type") or "").strip()
        if kind not in SPECS:
            bad.append(Problem(line, "type", "must be village, product or experience"))
            continue
        spec_names = set(SPECS[kind].names)
        sections[kind].append((line, {k: v for k, v in row.items() if k in spec_names}))
    if bad:
        raise ImportFailed(bad)
    return sections


# --- writing -------------------------------------------------------------------------------


Sections = Mapping[str, Iterable[tuple[int, Mapping[str, Any]]]]


def import_sections(sections: Sections, *, files: Files | None = None) -> ImportReport:
    """Validate all rows (and the photos they name), then upsert them in one transaction.

    ``files`` are the other files of a zip, by name: a product's ``images`` name them. Without
    ``files`` an image must be one already stored. Raises ImportFailed with every problem;
    then nothing is written, neither rows nor photos.
    """
    with product_media.staged() as stage, unit_of_work() as session:
        existing = set(session.scalars(select(Village.slug)))
        cleaned, problems = validate(sections, existing)
        numbers = [n for n, _ in sections.get("product", [])]
        images, image_problems = _check_images(cleaned["product"], numbers, files)
        problems = sorted(
            [*problems, *image_problems], key=lambda p: (p.row, RECORD_TYPES.index(p.record))
        )
        if problems:
            raise ImportFailed(problems)
        stage.write(list(images.values()))
        report = ImportReport()
        villages = {v.slug: v for v in session.scalars(select(Village))}
        for kind in RECORD_TYPES:
            _upsert(session, kind, cleaned[kind], villages, report)
            session.flush()
        return report


def _check_images(
    rows: list[dict], numbers: list[int], files: Files | None
) -> tuple[dict[str, CheckedImage], list[Problem]]:
    """Check every photo a product names; replace the names by the stored names.

    Problems: a file missing from the zip, not an image, too large or small, damaged; the
    same name twice in one product; the same picture under two names (a digitising slip).
    """
    checked: dict[str, CheckedImage] = {}
    problems: list[Problem] = []
    first_seen: dict[str, tuple[str, int]] = {}  # digest -> (file name, row)
    for number, row in zip(numbers, rows, strict=True):
        stored, names = [], row.get("images") or []
        for name in dict.fromkeys(names):  # each name once; a repeat is one problem
            problem = _image_problem(name, names, files, checked, first_seen, number)
            if problem:
                problems.append(Problem(number, "images", problem, "product"))
            elif name in checked:
                stored.append(checked[name].stored_name)
            else:
                stored.append(name)  # an already stored photo
        row["images"] = stored
    return checked, problems


def _image_problem(
    name: str,
    names: list[str],
    files: Files | None,
    checked: dict[str, CheckedImage],
    first_seen: dict[str, tuple[str, int]],
    row: int,
) -> str | None:
    twice = f"{name}: listed twice" if names.count(name) > 1 else None
    if files is None or name not in files:
        if product_media.exists(name):
            return twice
        return (
            f"{name}: no such file in the zip"
            if files is not None
            else f"{name}: no stored photo of that name (import photos in a zip)"
        )
    if files[name] is None:
        return f"{name}: larger than {MAX_BYTES:,} bytes"
    if name not in checked:
        try:
            image = check_image(files[name])
        except ImageProblem as exc:
            return f"{name}: {exc}"
        seen = first_seen.setdefault(image.digest, (name, row))
        if seen[0] != name:
            return f"{name}: the same picture as {seen[0]} (row {seen[1]})"
        checked[name] = image
    return twice


# --- zip archives ----------------------------------------------------------------------------

RawSections = dict[str, list[tuple[int, dict]]]
#: The zip's other files by name; None for one too large to be a photo (never decompressed).
Files = dict[str, bytes | None]
MAX_ZIP_ENTRIES = 5000
MAX_ZIP_BYTES = 1024 * 1024 * 1024  # uncompressed, all files together


def read_zip(data: bytes | Path) -> tuple[RawSections, Files]:
    """A zip of one catalogue file (.csv or .json) and the photos it names.

    Files are read by name, never extracted, so no path in the archive reaches the disk.
    Sizes are checked from the directory before anything is decompressed (zip bombs).
    """
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        archive = zipfile.ZipFile(source)
    except zipfile.BadZipFile:
        raise ValidationError("not a zip archive", code="import_invalid") from None
    with archive:
        entries = [i for i in archive.infolist() if not i.is_dir()]
        entries = [i for i in entries if not i.filename.startswith(("__MACOSX/", "."))]
        if len(entries) > MAX_ZIP_ENTRIES:
            raise ValidationError(f"at most {MAX_ZIP_ENTRIES} files in a zip")
        if sum(i.file_size for i in entries) > MAX_ZIP_BYTES:
            raise ValidationError("the zip unpacks to more than 1 GiB")
        tables = [i for i in entries if i.filename.lower().endswith((".csv", ".json"))]
        if len(tables) != 1:
            raise ValidationError(
                f"a zip needs exactly one .csv or .json catalogue file (found {len(tables)})",
                code="import_invalid",
            )
        table = tables[0]
        text = archive.read(table).decode("utf-8-sig")
        sections = parse_json(text) if table.filename.lower().endswith(".json") else parse_csv(text)
        files: dict[str, bytes | None] = {}
        for info in entries:
            if info is table:
                continue
            # Larger than any accepted photo: named as too large without decompressing it.
            files[info.filename] = archive.read(info) if info.file_size <= MAX_BYTES else None
        return sections, files


def read_any(path: Path) -> tuple[RawSections, Files | None]:
    """``flask catalogue import`` input: a .json, a .csv, or a .zip of one of them and photos."""
    if path.suffix.lower() == ".zip":
        return read_zip(path)
    return read_sections(path), None


#: Village fields its staff record in the back-office (services/village_shop.py).
VILLAGE_RECORDED_FIELDS = ("display_space", "sales_points", "shop_links", "videos")


def _upsert(session, kind: str, rows: list[dict], villages: dict, report: ImportReport) -> None:
    model = MODELS[kind]
    slugs = [r["slug"] for r in rows]
    current = {o.slug: o for o in session.scalars(select(model).where(model.slug.in_(slugs)))}
    for row in rows:
        values = _columns(kind, row, villages)
        obj = current.get(row["slug"])
        if obj is not None and kind == "village":
            # What a village recorded in its back-office survives a re-seed or an import row
            # that leaves the field empty (the dataset has none of it yet).
            for key in VILLAGE_RECORDED_FIELDS:
                if not values.get(key):
                    values.pop(key, None)
        if obj is None:
            obj = model(**values)
            session.add(obj)
            report.created[kind] += 1
        elif _assign(obj, values):
            report.updated[kind] += 1
        else:
            report.unchanged[kind] += 1
        if kind == "village":
            villages[obj.slug] = obj


def _columns(kind: str, row: dict, villages: dict) -> dict[str, Any]:
    values = dict(row)
    if kind != "village":
        slug = values.pop("village")
        values["village"] = villages[slug] if slug else None
    if kind == "village":
        values["search_text"] = village_search_text(row)
    elif kind == "product":
        values["search_text"] = product_search_text(row, values["village"])
    return values


def village_search_text(row: Mapping[str, Any]) -> str:
    """Names, the 2024 commune and district and the 2025 commune (both find the village),
    and the crafts; folded so that a search without diacritics matches."""
    parts = [
        row["name_vi"],
        row["name_en"],
        row["district"],
        row.get("commune") or "",
        row.get("commune_2025") or "",
        *row.get("crafts", []),
    ]
    return fold(" ".join(parts))


def product_search_text(row: Mapping[str, Any], village: Village | None) -> str:
    """Product, producer, village (names, communes) and craft: what the catalogue searches."""
    parts = [
        row["name_vi"],
        row.get("name_en") or "",
        row.get("producer") or "",
        row.get("village_name") or "",
        (row.get("category") or "").replace("_", " "),
    ]
    if village is not None:
        parts.append(village.search_text or "")
    return fold(" ".join(parts))


def _assign(obj: Any, values: dict[str, Any]) -> bool:
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


# --- export --------------------------------------------------------------------------------


def export_rows() -> dict[str, list[dict[str, Any]]]:
    """Every catalogue row in the interchange format, ordered by slug."""
    from tourplanner.extensions import db

    out: dict[str, list[dict[str, Any]]] = {}
    for kind in RECORD_TYPES:
        model = MODELS[kind]
        rows = []
        for obj in db.session.scalars(select(model).order_by(model.slug)):
            row = {}
            for name in SPECS[kind].names:
                if name == "village":
                    row[name] = obj.village.slug if obj.village else None
                else:
                    row[name] = getattr(obj, name)
            rows.append(row)
        out[PLURAL[kind]] = rows
    return out


def export_text(fmt: str) -> str:
    rows = export_rows()
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    header = ["type", *sorted({n for k in RECORD_TYPES for n in SPECS[k].names})]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    for kind in RECORD_TYPES:
        for row in rows[PLURAL[kind]]:
            writer.writerow({"type": kind, **{k: _csv_cell(v) for k, v in row.items()}})
    return buffer.getvalue()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "|".join(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- seeding -------------------------------------------------------------------------------


def load_packaged(name: str) -> dict[str, Any]:
    return json.loads(resources.files("tourplanner.data").joinpath(name).read_text("utf-8"))


def dataset_sections() -> dict[str, list[tuple[int, dict]]]:
    """The shipped factual datasets as interchange rows (facts only; empty stays empty).

    Villages from the craft-village file (a plain visit only where the file describes one:
    the villages added in 1.2 have none yet), products from the OCOP file.
    """
    data = load_packaged(DATASET)
    villages = [_village_row(v) for v in data["villages"]]
    experiences = [_visit_row(v) for v in data["villages"] if v.get("experience")]
    products = ocop_product_rows(load_packaged(OCOP)["products"], data["villages"])
    return {
        "village": list(enumerate(villages, 1)),
        "product": list(enumerate(products, 1)),
        "experience": list(enumerate(experiences, 1)),
    }


def _village_row(v: dict) -> dict:
    return {
        "slug": v["id"],
        "name_vi": v["name_vi"],
        "name_en": v["name_en"],
        "district": v["district_vi"],
        "commune": v["commune_vi"],
        "commune_2025": v.get("commune_vi_2025"),
        "commune_2025_note": v.get("commune_2025_note"),
        "commune_2025_sources": v.get("commune_2025_source") or [],
        "category": v["category"],
        "crafts": v["crafts"],
        "lat": v["lat"],
        "lon": v["lon"],
        "coord_quality": v["coord_quality"],
        "coord_note": v["coord_note"],
        "recognised_traditional": v["recognised_traditional"],
        "recognition_detail": v.get("recognition_detail"),
        "founded": v["year_founded_or_century"],
        "notable_products": v["notable_products"],
        "notes": v["notes"],
        "sources": v["source"],
    }


def _words(text: str | None) -> list[str]:
    """Folded words of a name without its parenthesised parts: "Chuôn Thượng (thôn Thượng)"."""
    return fold(re.sub(r"\([^()]*\)", " ", text or "")).replace(",", " ").split()


def match_village(row: Mapping[str, Any], villages: Iterable[Mapping[str, Any]]) -> str | None:
    """The catalogue village an OCOP row names, or None.

    A village matches when the row's village name ends its Vietnamese name (word for word,
    diacritics ignored: "Bát Tràng" ends "Làng gốm Bát Tràng"), in the same 2024 district, and
    in the same 2024 commune when the row states one. Only a single match links; the context
    rows (not from a craft village) never link.
    """
    if row.get("craft_village") is False:
        return None
    wanted = _words(row.get("village"))
    if not wanted:
        return None
    found = []
    for v in villages:
        name = _words(v["name_vi"])
        if name[-len(wanted) :] != wanted:
            continue
        if row.get("district_vi_2024") and fold(row["district_vi_2024"]) != fold(v["district_vi"]):
            continue
        commune = row.get("commune_vi_2024")
        if commune and v.get("commune_vi") and fold(commune) != fold(v["commune_vi"]):
            continue
        found.append(v["id"])
    return found[0] if len(found) == 1 else None


def ocop_product_rows(rows: list[dict], villages: list[dict]) -> list[dict]:
    """The OCOP file's rows as products: stars, year, level, status, producer and sources as
    stated; the category is the linked village's; nothing else is filled in."""
    by_id = {v["id"]: v for v in villages}
    out, seen = [], set()
    for row in rows:
        village = match_village(row, villages)
        base = slugify(f"{village or row['village']} {row['product_name']}")[:80].rstrip("-")
        slug, n = base, 2
        while slug in seen:
            slug, n = f"{base}-{n}", n + 1
        seen.add(slug)
        out.append(
            {
                "slug": slug,
                "village": village,
                "village_name": row["village"],
                "name_vi": row["product_name"],
                "producer": row["producer"],
                "category": by_id[village]["category"] if village else None,
                "ocop_stars": row["stars"],
                "ocop_year": row["year"],
                "ocop_level": row["level"],
                "ocop_status": row["status"],
                "ocop_decision": row["decision"],
                "craft_village": row["craft_village"],
                "notes": row["notes"],
                "sources": row["source"],
            }
        )
    return out


def legacy_product_slugs(villages: list[dict]) -> set[str]:
    """Slugs of the products seeded before 1.2 from ``notable_products`` (now a village field)."""
    slugs = set()
    for v in villages:
        for text in v["notable_products"]:
            name_vi, _ = split_gloss(text)
            slugs.add(f"{v['id']}-{slugify(name_vi)}"[:120].rstrip("-"))
    return slugs


def prune_legacy_products() -> int:
    """Delete the pre-1.2 notable-product rows nobody has touched since (no stars, producer,
    photo or description): their names now live in ``Village.notable_products``."""
    slugs = legacy_product_slugs(load_packaged(DATASET)["villages"])
    removed = 0
    with unit_of_work() as session:
        for product in session.scalars(select(Product).where(Product.slug.in_(slugs))):
            if not (
                product.ocop_stars
                or product.producer
                or product.images
                or product.description_vi
                or product.description_en
            ):
                session.delete(product)
                removed += 1
    return removed


def _visit_row(v: dict) -> dict:
    exp = v["experience"]
    stated = parse_daily_hours(exp["opening_hours"])
    return {
        "slug": f"{v['id']}-visit",
        "village": v["id"],
        "kind": "visit",
        "title_vi": f"Tham quan {v['name_vi']}",
        "title_en": f"Visit {v['name_en']}",
        "description_en": exp["description"],
        "duration_minutes": exp["duration_minutes"],
        "duration_is_default": True,
        "price_fact": exp["price_vnd"],
        "weekly_hours": stated or DEFAULT_VISIT_HOURS,
        "hours_are_default": stated is None,
        "hours_fact": exp["opening_hours"],
    }


def demo_sections() -> dict[str, list[tuple[int, dict]]]:
    """The demo set: sample bookable workshops, every row flagged as sample data."""
    data = load_packaged(DEMO)
    rows = [{**row, "is_sample": True} for row in data["experiences"]]
    return {"experience": list(enumerate(rows, 1))}


def seed_landmarks() -> int:
    """Upsert the shipped landmarks (start points). Returns how many were created or changed."""
    changed = 0
    with unit_of_work() as session:
        current = {lm.slug: lm for lm in session.scalars(select(Landmark))}
        for row in load_packaged(DATASET)["landmarks"]:
            values = {
                "slug": row["id"],
                "name_vi": row["name_vi"],
                "name_en": row["name_en"],
                "lat": row["lat"],
                "lon": row["lon"],
                "coord_quality": row["coord_quality"],
                "coord_note": row["coord_note"],
                "source": row["source"],
            }
            landmark = current.get(row["id"])
            if landmark is None:
                session.add(Landmark(**values))
                changed += 1
            elif _assign(landmark, values):
                changed += 1
    return changed


def seed(demo: bool = False) -> str:
    """Load the factual catalogue (and, with ``demo``, the sample workshops). Idempotent.

    Fields edited in pages (applied or approved changes) keep their value: see
    ``services.catalogue_admin.keep_edited``."""
    from tourplanner.services.catalogue_admin import keep_edited

    report = import_sections(keep_edited(dataset_sections()))
    lines = [f"facts: {report.summary()}", f"landmarks: {seed_landmarks()} created or changed"]
    pruned = prune_legacy_products()
    if pruned:
        lines.append(f"notable-product rows of the old seed removed: {pruned}")
    if demo:
        demo_report = import_sections(keep_edited(demo_sections()))
        lines.append(f"demo (sample data): {demo_report.summary()}")
    return "\n".join(lines)
