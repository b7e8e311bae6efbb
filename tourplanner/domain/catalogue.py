"""Catalogue vocabulary and rules: craft categories, slugs, diacritic-free search, opening hours.

Visiting hours and visit lengths that the dataset leaves empty get *documented defaults*
(:data:`DEFAULT_VISIT_HOURS`), which are always flagged as defaults wherever they are shown.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date, time
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

CATEGORIES: tuple[str, ...] = (
    "blacksmith",
    "bronze_casting",
    "ceramics",
    "conical_hats",
    "embroidery",
    "flowers_plants",
    "folk_toys",
    "food",
    "gold_leaf",
    "horn",
    "incense",
    "lacquer",
    "mother_of_pearl",
    "musical_instruments",
    "other",
    "paper_painting",
    "rattan_bamboo",
    "silk_textiles",
    "wood_carving",
)

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

#: Planning default for a plain village visit when no page states hours: daytime, every day.
#: Workshops in the villages keep daylight hours; a visitor arriving outside them finds
#: closed doors. This is a default for planning, never presented as a fact.
DEFAULT_VISIT_HOURS: dict[str, list[list[str]]] = {d: [["08:00", "17:00"]] for d in WEEKDAYS}

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_HOURS_RE = re.compile(r"(\d{1,2}):(\d{2})\s*[–-]\s*(\d{1,2}):(\d{2})\s+daily")


def fold(text: str | None) -> str:
    """Lower-case and strip Vietnamese diacritics, so that "bat trang" finds "Bát Tràng"."""
    if not text:
        return ""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return " ".join(stripped.lower().split())


def slugify(text: str) -> str:
    """ASCII slug of a (Vietnamese) name: ``"Làng gốm Bát Tràng"`` -> ``"lang-gom-bat-trang"``."""
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")


def is_slug(value: object) -> bool:
    # fullmatch: "$" alone would accept a trailing newline
    return isinstance(value, str) and bool(SLUG_RE.fullmatch(value)) and len(value) <= 120


def parse_daily_hours(text: str | None) -> dict[str, list[list[str]]] | None:
    """Weekly hours from a stated "HH:MM–HH:MM daily" text, or None when it states none."""
    if not text:
        return None
    match = _HOURS_RE.search(text)
    if not match:
        return None
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    window = [f"{h1:02d}:{m1:02d}", f"{h2:02d}:{m2:02d}"]
    hours = {d: [list(window)] for d in WEEKDAYS}
    try:  # "08:00–24:00" or "18:00–08:00" is no window we can plan with: treat as not stated
        return validate_weekly_hours(hours)
    except ValueError:
        return None


def parse_hhmm(value: str) -> time:
    """Parse "HH:MM" (24 h). Raises ValueError on anything else."""
    if not isinstance(value, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise ValueError(f"expected HH:MM (00:00 to 23:59), got {value!r}")
    return time(int(value[:2]), int(value[3:]))


def validate_weekly_hours(hours: object) -> dict[str, list[list[str]]]:
    """Check a weekly-hours mapping ``{"mon": [["08:00", "11:30"], ...], ...}``.

    Windows of a day must not overlap (they may come in any order). Raises ValueError naming
    the first bad entry.
    """
    if not isinstance(hours, dict):
        raise ValueError("weekly hours must be an object keyed by weekday")
    for day, windows in hours.items():
        if day not in WEEKDAYS:
            raise ValueError(f"unknown weekday {day!r}; use one of {', '.join(WEEKDAYS)}")
        if not isinstance(windows, list):
            raise ValueError(f"{day}: expected a list of [open, close] pairs")
        _check_day(day, windows)
    return hours  # type: ignore[return-value]


def _check_day(day: str, windows: list) -> None:
    seen: list[tuple[time, time, str]] = []
    for window in windows:
        if not (isinstance(window, list | tuple) and len(window) == 2):
            raise ValueError(f"{day}: expected [open, close], got {window!r}")
        opens, closes = parse_hhmm(window[0]), parse_hhmm(window[1])
        label = f"{window[0]}–{window[1]}"
        if closes <= opens:
            raise ValueError(f"{day}: window {label} closes before it opens")
        for other_opens, other_closes, other in seen:
            if opens < other_closes and other_opens < closes:
                raise ValueError(f"{day}: window {label} overlaps {other}")
        seen.append((opens, closes, label))


def windows_on(
    weekly_hours: dict[str, list[list[str]]], closed_dates: list[str], day: date
) -> list[tuple[time, time]]:
    """Opening windows of one calendar day; none on a closed date."""
    if day.isoformat() in closed_dates:
        return []
    return [
        (parse_hhmm(a), parse_hhmm(b)) for a, b in weekly_hours.get(WEEKDAYS[day.weekday()], [])
    ]


def split_gloss(text: str) -> tuple[str, str | None]:
    """Split ``"bình, lọ (vases)"`` into the Vietnamese name and its English gloss."""
    match = re.fullmatch(r"\s*(.+?)\s*\(([^()]+)\)\s*", text)
    if not match:
        return text.strip(), None
    return match.group(1), match.group(2)


_YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{6,20}")
_TIKTOK_VIDEO = re.compile(r"/video/(\d{6,25})")


def video_embed(url: str) -> tuple[str, str | None]:
    """The platform of a video link and its privacy-friendly embed address (None: link only).

    YouTube uses its no-cookie host; nothing is requested from any platform until the visitor
    presses play (the page only holds the address).
    """
    parsed = urlsplit(url)
    host = (parsed.hostname or "").lower().removeprefix("www.").removeprefix("m.")
    if host in ("youtube.com", "youtu.be"):
        if host == "youtu.be":
            video_id = parsed.path.strip("/")
        elif parsed.path.startswith(("/shorts/", "/embed/")):
            video_id = parsed.path.split("/")[2]
        else:
            video_id = parse_qs(parsed.query).get("v", [""])[0]
        if _YOUTUBE_ID.fullmatch(video_id):
            return "YouTube", f"https://www.youtube-nocookie.com/embed/{video_id}?autoplay=1"
        return "YouTube", None
    if host in ("facebook.com", "fb.watch"):
        return "Facebook", "https://www.facebook.com/plugins/video.php?href=" + quote(url, safe="")
    if host == "tiktok.com":
        match = _TIKTOK_VIDEO.search(parsed.path)
        return "TikTok", match and f"https://www.tiktok.com/embed/v2/{match.group(1)}"
    return host or "video", None


def mapped_places(
    display_space: dict[str, Any] | None, sales_points: Iterable[dict[str, Any]] | None
) -> list[dict[str, Any]]:
    """A village's display space and sales points that have a stated position, for maps
    (``kind`` "display_space" or "sales_point"); a place without one is never mapped."""
    places = [("display_space", display_space)]
    places += [("sales_point", p) for p in sales_points or []]
    return [
        {"kind": kind, "name": p.get("name"), "lat": p["lat"], "lon": p["lon"]}
        for kind, p in places
        if p and p.get("lat") is not None and p.get("lon") is not None
    ]
