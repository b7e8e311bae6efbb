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
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

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


COORD_QUALITIES: tuple[str, ...] = (
    "page",
    "commune_page",
    "commune_estimate",
    "estimate",
    "survey",
    "unknown",
)


def _coord_quality(value: Any) -> str:
    if value not in COORD_QUALITIES:
        raise ValueError(f"coord_quality must be one of {', '.join(COORD_QUALITIES)}")
    return value


#: The OCOP programme started in 2018; no rating can be older, or far in the future.
OCOP_YEARS = (2018, 2100)


def _ocop_year(value: Any) -> int:
    year = _int(value)
    if not OCOP_YEARS[0] <= year <= OCOP_YEARS[1]:
        raise ValueError(f"the OCOP year must be between {OCOP_YEARS[0]} and {OCOP_YEARS[1]}")
    return year


MAX_URL = 500


def url(value: Any, *, hosts: tuple[str, ...] | None = None) -> str:
    """An absolute http(s) URL (no spaces, no credentials); optionally on one of ``hosts``."""
    text = _text(value)
    parsed = urlsplit(text)
    if (
        parsed.scheme not in ("http", "https")
        or not parsed.hostname
        or "@" in parsed.netloc
        or any(ch.isspace() for ch in text)
        or len(text) > MAX_URL
    ):
        raise ValueError(f"expected an http(s) address of at most {MAX_URL} characters")
    host = parsed.hostname.lower()
    if hosts and not any(host == h or host.endswith("." + h) for h in hosts):
        raise ValueError(f"expected a link on {', '.join(hosts)}")
    return text


def _url_list(value: Any) -> list[str]:
    return [url(item) for item in _list(value)]


def _objects(value: Any) -> list[dict]:
    value = _json_value(value)
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ValueError("expected a list of objects")
    if len(value) > 50:
        raise ValueError("at most 50 entries")
    return value


def _clean_fields(obj: dict, spec: dict[str, tuple[bool, Converter]], what: str) -> dict:
    unknown = sorted(set(obj) - set(spec))
    if unknown:
        raise ValueError(f"{what}: unknown key {unknown[0]!r}")
    clean: dict[str, Any] = {}
    for key, (required, convert) in spec.items():
        raw = obj.get(key)
        if _is_empty(raw):
            if required:
                raise ValueError(f"{what}: {key!r} is required")
            continue
        try:
            clean[key] = convert(raw)
        except ValueError as exc:
            raise ValueError(f"{what}: {key}: {exc}") from None
    if ("lat" in clean) != ("lon" in clean):
        raise ValueError(f"{what}: give both lat and lon, or neither")
    return clean


def _short(limit: int) -> Converter:
    def convert(value: Any) -> str:
        text = _text(value)
        if len(text) > limit:
            raise ValueError(f"at most {limit} characters")
        return text

    return convert


PLACE_KEYS: dict[str, tuple[bool, Converter]] = {
    "name": (True, _short(200)),
    "address": (False, _short(300)),
    "hours": (False, _short(200)),
    "phone": (False, _short(40)),
    "lat": (False, _lat),
    "lon": (False, _lon),
}
SHOP_KINDS: tuple[str, ...] = ("shop", "marketplace", "zalo", "facebook", "other")


def _shop_kind(value: Any) -> str:
    if value not in SHOP_KINDS:
        raise ValueError(f"kind must be one of {', '.join(SHOP_KINDS)}")
    return value


SHOP_LINK_KEYS: dict[str, tuple[bool, Converter]] = {
    "kind": (True, _shop_kind),
    "url": (True, url),
    "label": (False, _short(200)),
}
BUY_KEYS: dict[str, tuple[bool, Converter]] = {
    "name": (True, _short(200)),
    "address": (False, _short(300)),
    "url": (False, url),
}
#: Video platforms whose links become click-to-load embeds.
VIDEO_HOSTS: tuple[str, ...] = ("youtube.com", "youtu.be", "facebook.com", "fb.watch", "tiktok.com")


def _video_url(value: Any) -> str:
    return url(value, hosts=VIDEO_HOSTS)


def _still(value: Any) -> str:
    if not isinstance(value, str) or not IMAGE_NAME_RE.fullmatch(value):
        raise ValueError("still must be the name of a stored image")
    return value


VIDEO_KEYS: dict[str, tuple[bool, Converter]] = {
    "url": (True, _video_url),
    "title": (False, _short(200)),
    # A still the village uploaded (never fetched from the platform before a click).
    "still": (False, _still),
}


def _place(value: Any) -> dict:
    return _clean_fields(_object(value), PLACE_KEYS, "display space")


def _places(value: Any) -> list[dict]:
    return [_clean_fields(o, PLACE_KEYS, f"entry {n}") for n, o in enumerate(_objects(value), 1)]


def _shop_links(value: Any) -> list[dict]:
    items = _objects(value)
    return [_clean_fields(o, SHOP_LINK_KEYS, f"link {n}") for n, o in enumerate(items, 1)]


def _where_to_buy(value: Any) -> list[dict]:
    return [_clean_fields(o, BUY_KEYS, f"entry {n}") for n, o in enumerate(_objects(value), 1)]


def _videos(value: Any) -> list[dict]:
    """Videos as ``{"url", "title"}``; a plain link (or a CSV ``|`` list of links) is accepted."""
    if isinstance(value, str):
        value = (
            _json_value(value)
            if value.lstrip().startswith("[")
            else [{"url": part} for part in _list(value)]
        )
    if isinstance(value, list):
        value = [v if isinstance(v, dict) else {"url": v} for v in value]
    items = _objects(value)
    return [_clean_fields(o, VIDEO_KEYS, f"video {n}") for n, o in enumerate(items, 1)]


#: A stored image: the SHA-256 of its bytes and its format's extension (see domain/images.py).
IMAGE_NAME_RE = re.compile(r"[0-9a-f]{64}\.(?:jpg|png|webp)")


def _images(value: Any) -> list[str]:
    items = _list(value)
    if len(items) > 12:
        raise ValueError("at most 12 images per product")
    return items


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
        Field("commune_2025", _text, max_length=100),
        Field("commune_2025_note", _text),
        Field("commune_2025_sources", _url_list, default=[]),
        Field("category", _category, True),
        Field("crafts", _list, default=[]),
        Field("lat", _lat),
        Field("lon", _lon),
        Field("coord_quality", _coord_quality, True),
        Field("coord_note", _text),
        Field("recognised_traditional", _bool),
        Field("recognition_detail", _text),
        Field("founded", _text, max_length=200),
        Field("notable_products", _list, default=[]),
        Field("story_vi", _text),
        Field("story_en", _text),
        Field("notes", _text),
        Field("contact", _object),
        Field("videos", _videos, default=[]),
        Field("display_space", _place),
        Field("sales_points", _places, default=[]),
        Field("shop_links", _shop_links, default=[]),
        Field("has_ocop_products", _bool),
        Field("ip_protected", _bool),
        Field("has_display_space", _bool),
        Field("sources", _list, default=[]),
    ),
)

PRODUCT = RecordSpec(
    "product",
    (
        Field("slug", _slug, True, max_length=120),
        Field("village", _slug),
        Field("village_name", _text, max_length=200),
        Field("name_vi", _text, True, max_length=200),
        Field("name_en", _text, max_length=200),
        Field("description_vi", _text, max_length=5000),
        Field("description_en", _text, max_length=5000),
        Field("producer", _text, max_length=300),
        Field("category", _category),
        Field("ocop_stars", _ocop),
        Field("ocop_year", _ocop_year),
        Field("ocop_level", _text, max_length=60),
        Field("ocop_status", _text, max_length=500),
        Field("ocop_decision", _text, max_length=500),
        Field("craft_village", _bool),
        Field("ip_protected", _bool),
        Field("price_min_vnd", _nonneg_int),
        Field("price_max_vnd", _nonneg_int),
        Field("images", _images, default=[]),
        Field("where_to_buy", _where_to_buy, default=[]),
        Field("notes", _text, max_length=5000),
        Field("sources", _url_list, default=[]),
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
    if kind == "village":
        _check_position(clean, row, problems)
    named = any(p.field == "village" and p.row == row for p in problems)
    if (
        kind == "product"
        and not named
        and not clean.get("village")
        and not clean.get("village_name")
    ):
        problems.append(Problem(row, "village", "name a village slug or a village_name", kind))


def _check_position(clean: dict, row: int, problems: list[Problem]) -> None:
    """A position is both coordinates or none; "unknown" is exactly the case of none.

    Never filled in: a village without a sourced position keeps NULL coordinates.
    """
    if any(p.field in ("lat", "lon", "coord_quality") for p in problems if p.row == row):
        return  # a bad value is already named; "missing" would be a second, wrong reason
    has_lat, has_lon = clean.get("lat") is not None, clean.get("lon") is not None
    if has_lat != has_lon:
        missing = "lon" if has_lat else "lat"
        problems.append(Problem(row, missing, "give both lat and lon, or neither", "village"))
    quality = clean.get("coord_quality")
    if quality == "unknown" and (has_lat or has_lon):
        problems.append(
            Problem(row, "coord_quality", "is 'unknown' but a position is given", "village")
        )
    elif quality and quality != "unknown" and not (has_lat or has_lon):
        problems.append(
            Problem(row, "lat", f"required when coord_quality is {quality!r}", "village")
        )


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
