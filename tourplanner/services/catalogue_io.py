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
from tourplanner.domain.records import PLURAL, RECORD_TYPES, SPECS, Problem, validate
from tourplanner.services.unit_of_work import unit_of_work

MODELS = {"village": Village, "product": Product, "experience": Experience}
DATASET = "hanoi_craft_villages.json"
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


def import_sections(sections: Sections) -> ImportReport:
    """Validate all rows, then upsert them in one transaction; ImportFailed on any problem."""
    with unit_of_work() as session:
        existing = set(session.scalars(select(Village.slug)))
        cleaned, problems = validate(sections, existing)
        if problems:
            raise ImportFailed(problems)
        report = ImportReport()
        villages = {v.slug: v for v in session.scalars(select(Village))}
        for kind in RECORD_TYPES:
            _upsert(session, kind, cleaned[kind], villages, report)
            session.flush()
        return report


def _upsert(session, kind: str, rows: list[dict], villages: dict, report: ImportReport) -> None:
    model = MODELS[kind]
    slugs = [r["slug"] for r in rows]
    current = {o.slug: o for o in session.scalars(select(model).where(model.slug.in_(slugs)))}
    for row in rows:
        values = _columns(kind, row, villages)
        obj = current.get(row["slug"])
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
        values["village"] = villages[values.pop("village")]
    if kind == "village":
        values["search_text"] = fold(
            " ".join(
                [
                    row["name_vi"],
                    row["name_en"],
                    row["district"],
                    row.get("commune") or "",
                    *row["crafts"],
                ]
            )
        )
    elif kind == "product":
        values["search_text"] = fold(f"{row['name_vi']} {row.get('name_en') or ''}")
    return values


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
                row[name] = obj.village.slug if name == "village" else getattr(obj, name)
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
    """The shipped factual dataset as interchange rows (facts only; empty stays empty)."""
    data = load_packaged(DATASET)
    villages, products, experiences = [], [], []
    for v in data["villages"]:
        villages.append(_village_row(v))
        products += _product_rows(v)
        experiences.append(_visit_row(v))
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
        "category": v["category"],
        "crafts": v["crafts"],
        "lat": v["lat"],
        "lon": v["lon"],
        "coord_quality": v["coord_quality"],
        "coord_note": v["coord_note"],
        "recognised_traditional": v["recognised_traditional"],
        "founded": v["year_founded_or_century"],
        "notes": v["notes"],
        "sources": v["source"],
    }


def _product_rows(v: dict) -> list[dict]:
    rows, seen = [], set()
    for text in v["notable_products"]:
        name_vi, name_en = split_gloss(text)
        slug = f"{v['id']}-{slugify(name_vi)}"[:120].rstrip("-")
        if slug in seen:
            continue
        seen.add(slug)
        rows.append(
            {
                "slug": slug,
                "village": v["id"],
                "name_vi": name_vi,
                "name_en": name_en,
                "category": v["category"],
                "source": v["source"][0],
            }
        )
    return rows


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
    """Load the factual catalogue (and, with ``demo``, the sample workshops). Idempotent."""
    report = import_sections(dataset_sections())
    lines = [f"facts: {report.summary()}", f"landmarks: {seed_landmarks()} created or changed"]
    if demo:
        lines.append(f"demo (sample data): {import_sections(demo_sections()).summary()}")
    return "\n".join(lines)
