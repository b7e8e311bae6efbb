"""The catalogue interchange format: field specs, row validation and conversion.

The same format is read by ``flask catalogue import`` and written by ``flask catalogue export``,
as JSON (``{"villages": [...], "products": [...], "experiences": [...]}``) or CSV (one file, a
``type`` column naming ``village``, ``product`` or ``experience``; list fields joined by ``|``;
object fields as JSON text). Validation collects every problem as (row, field, reason) so that a
digitiser can fix a whole file in one pass.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tourplanner.domain.catalogue import CATEGORIES, is_slug, validate_weekly_hours

RECORD_TYPES: tuple[str, ...] = ("village", "product", "experience")
PLURAL = {"village": "villages", "product": "products", "experience": "experiences"}


@dataclass(frozen=True)
class Problem:
    """One reason a row cannot be imported. ``row`` is 1-based within its file section."""

    row: int
    field: str
    reason: str
    record: str = ""

    def __str__(self) -> str:
        where = f"{self.record} row {self.row}" if self.record else f"row {self.row}"
        return f"{where}, field {self.field!r}: {self.reason}"


Converter = Callable[[Any], Any]


def _text(value: Any) -> str:
    if not isinstance(value, str | int | float):
        raise ValueError("expected text")
    return str(value).strip()


#: Largest value an integer column holds on every supported database (PostgreSQL INTEGER).
INT_MAX = 2_147_483_647


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected a whole number")
    if isinstance(value, str):
        value = value.strip().replace("_", "")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a whole number, got {value!r}") from None
    if not math.isfinite(number) or number != int(number):
        raise ValueError(f"expected a whole number, got {value!r}")
    if abs(number) > INT_MAX:
        raise ValueError(f"{value!r} is too large (at most {INT_MAX:,})")
    return int(number)


def _nonneg_int(value: Any) -> int:
    number = _int(value)
    if number < 0:
        raise ValueError("must not be negative")
    return number


def _positive_int(value: Any) -> int:
    number = _int(value)
    if number <= 0:
        raise ValueError("must be greater than zero")
    return number


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number, got {value!r}") from None


def _lat(value: Any) -> float:
    number = _float(value)
    if not -90 <= number <= 90:
        raise ValueError("latitude must be between -90 and 90")
    return number


def _lon(value: Any) -> float:
    number = _float(value)
    if not -180 <= number <= 180:
        raise ValueError("longitude must be between -180 and 180")
    return number


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes", "y"}:
        return True
    if text in {"false", "0", "no", "n"}:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split("|") if part.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise ValueError("expected a list of texts (in CSV: separated by |)")


def _json_value(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc.msg}") from None
    return value


def _object(value: Any) -> dict:
    value = _json_value(value)
    if not isinstance(value, dict):
        raise ValueError("expected an object")
    return value


def _slug(value: Any) -> str:
    if not is_slug(value):
        raise ValueError("expected an ASCII slug such as 'bat-trang' (a-z, 0-9 and hyphens)")
    return value


def _category(value: Any) -> str:
    if value not in CATEGORIES:
        raise ValueError(f"unknown category {value!r}; use one of: {', '.join(CATEGORIES)}")
    return value


def _ocop(value: Any) -> int:
    stars = _int(value)
    if stars not in (3, 4, 5):
        raise ValueError("OCOP stars must be 3, 4 or 5 (leave empty when not certified)")
    return stars


def _kind(value: Any) -> str:
    if value not in ("visit", "workshop"):
        raise ValueError("kind must be 'visit' or 'workshop'")
    return value


def _hours(value: Any) -> dict:
    return validate_weekly_hours(_json_value(value))


def _dates(value: Any) -> list[str]:
    from datetime import date

    items = _list(value)
    for item in items:
        try:
            date.fromisoformat(item)
        except ValueError:
            raise ValueError(f"{item!r} is not a date (YYYY-MM-DD)") from None
    return items


def _coord_quality(value: Any) -> str:
    if value not in ("page", "commune_estimate", "estimate", "survey"):
        raise ValueError("coord_quality must be page, commune_estimate, estimate or survey")
    return value


@dataclass(frozen=True)
class Field:
    name: str
    convert: Converter
    required: bool = False
    default: Any = None
    max_length: int | None = None  # the column's length, for text values


@dataclass(frozen=True)
class RecordSpec:
    kind: str
    fields: tuple[Field, ...]
    parent: str | None = field(default=None)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]


VILLAGE = RecordSpec(
    "village",
    (
        Field("slug", _slug, True, max_length=80),
        Field("name_vi", _text, True, max_length=200),
        Field("name_en", _text, True, max_length=200),
        Field("district", _text, True, max_length=100),
        Field("commune", _text, max_length=100),
        Field("category", _category, True),
        Field("crafts", _list, default=[]),
        Field("lat", _lat, True),
        Field("lon", _lon, True),
        Field("coord_quality", _coord_quality, True),
        Field("coord_note", _text),
        Field("recognised_traditional", _bool),
        Field("founded", _text, max_length=200),
        Field("story_vi", _text),
        Field("story_en", _text),
        Field("notes", _text),
        Field("contact", _object),
        Field("videos", _list, default=[]),
        Field("has_ocop_products", _bool),
        Field("ip_protected", _bool),
        Field("has_display_space", _bool),
        Field("sources", _list, default=[]),
    ),
)

PRODUCT = RecordSpec(
    "product",
    (
        Field("slug", _slug, True),
        Field("village", _slug, True),
        Field("name_vi", _text, True, max_length=200),
        Field("name_en", _text, max_length=200),
        Field("category", _category, True),
        Field("ocop_stars", _ocop),
        Field("ip_protected", _bool),
        Field("price_min_vnd", _nonneg_int),
        Field("price_max_vnd", _nonneg_int),
        Field("images", _list, default=[]),
        Field("source", _text),
        Field("is_sample", _bool, default=False),
    ),
    parent="village",
)

EXPERIENCE = RecordSpec(
    "experience",
    (
        Field("slug", _slug, True),
        Field("village", _slug, True),
        Field("kind", _kind, True),
        Field("title_vi", _text, True, max_length=200),
        Field("title_en", _text, True, max_length=200),
        Field("description_vi", _text),
        Field("description_en", _text),
        Field("duration_minutes", _positive_int, True),
        Field("duration_is_default", _bool, default=False),
        Field("capacity", _positive_int),
        Field("price_adult_vnd", _nonneg_int),
        Field("price_child_vnd", _nonneg_int),
        Field("price_senior_vnd", _nonneg_int),
        Field("price_fact", _object),
        Field("languages", _list, default=[]),
        Field("min_age", _nonneg_int),
        Field("accessibility_vi", _text),
        Field("accessibility_en", _text),
        Field("weekly_hours", _hours, default={}),
        Field("hours_are_default", _bool, default=False),
        Field("hours_fact", _text),
        Field("closed_dates", _dates, default=[]),
        Field("booking_cutoff_hours", _nonneg_int, default=12),
        Field("free_cancellation_hours", _nonneg_int, default=24),
        Field("is_sample", _bool, default=False),
    ),
    parent="village",
)

SPECS: dict[str, RecordSpec] = {"village": VILLAGE, "product": PRODUCT, "experience": EXPERIENCE}


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def clean_row(spec: RecordSpec, raw: Mapping[str, Any], row: int) -> tuple[dict, list[Problem]]:
    """Convert one raw row to typed values; collect every problem instead of stopping."""
    problems: list[Problem] = []
    known = {*spec.names, "type"}
    problems += [Problem(row, key, "unknown field", spec.kind) for key in raw if key not in known]
    clean: dict[str, Any] = {}
    for f in spec.fields:
        value = raw.get(f.name)
        if _is_empty(value):
            if f.required:
                problems.append(Problem(row, f.name, "required", spec.kind))
            clean[f.name] = f.default
            continue
        try:
            clean[f.name] = f.convert(value)
        except ValueError as exc:
            problems.append(Problem(row, f.name, str(exc), spec.kind))
            continue
        if f.max_length and len(clean[f.name]) > f.max_length:
            problems.append(Problem(row, f.name, f"at most {f.max_length} characters", spec.kind))
    _check_ranges(clean, row, spec.kind, problems)
    return clean, problems


def _check_ranges(clean: dict, row: int, kind: str, problems: list[Problem]) -> None:
    low, high = clean.get("price_min_vnd"), clean.get("price_max_vnd")
    if isinstance(low, int) and isinstance(high, int) and high < low:
        problems.append(Problem(row, "price_max_vnd", "is below price_min_vnd", kind))


def validate(
    sections: Mapping[str, Iterable[tuple[int, Mapping[str, Any]]]], existing_villages: set[str]
) -> tuple[dict[str, list[dict]], list[Problem]]:
    """Validate every row of every section. Returns the cleaned rows and all problems.

    ``sections`` maps a record type to ``(row number, raw row)`` pairs in file order (the row
    number is what the user sees: the CSV line, or the position in the JSON list). Products and
    experiences must name a village that exists already or is in the same file. Slugs must be
    unique per type.
    """
    cleaned: dict[str, list[dict]] = {kind: [] for kind in RECORD_TYPES}
    numbers: dict[str, list[int]] = {kind: [] for kind in RECORD_TYPES}
    problems: list[Problem] = []
    for kind in RECORD_TYPES:
        seen: dict[str, int] = {}
        for number, raw in sections.get(kind, []):
            clean, row_problems = clean_row(SPECS[kind], raw, number)
            slug = clean.get("slug")
            if isinstance(slug, str) and slug in seen:
                row_problems.append(Problem(number, "slug", f"duplicate of row {seen[slug]}", kind))
            elif isinstance(slug, str):
                seen[slug] = number
            problems += row_problems
            cleaned[kind].append(clean)
            numbers[kind].append(number)
    known = existing_villages | {r["slug"] for r in cleaned["village"] if r.get("slug")}
    for kind in ("product", "experience"):
        for number, row in zip(numbers[kind], cleaned[kind], strict=True):
            parent = row.get("village")
            if isinstance(parent, str) and is_slug(parent) and parent not in known:
                problems.append(Problem(number, "village", f"no village {parent!r}", kind))
    problems.sort(key=lambda p: (p.row, RECORD_TYPES.index(p.record)))
    return cleaned, problems
