"""What a village records about where its products are shown and sold, and its videos.

The display space, the sales points (name, address, hours, phone, position) and the online
shops (own shop, marketplaces, Zalo Official Account, Facebook page) are kept in the village's
``display_space``, ``sales_points`` and ``shop_links`` columns, in the dataset's shape
(``domain.records.PLACE_KEYS`` and ``SHOP_LINK_KEYS``). Videos are ``videos``: ``{"url",
"title", "still"}``, the still being a stored photo (``services.product_media``).

A position is only ever what the staff gave: typed coordinates or a click on the form's map
(which fills the same two fields). No position is looked up or guessed; a place without one is
listed but not mapped.

Validation collects every problem of the form at once, keyed by the form field it concerns, as
codes with parameters (:class:`Problem`): the page words them in its own language. Nothing is
written when there is any problem; a change is one transaction with its audit event.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tourplanner.adapters.orm import Village
from tourplanner.domain.catalogue import video_embed
from tourplanner.domain.errors import NotFound, ValidationError
from tourplanner.domain.images import ImageProblem, check_image
from tourplanner.domain.records import IMAGE_NAME_RE, MAX_URL, SHOP_KINDS, VIDEO_HOSTS
from tourplanner.extensions import db
from tourplanner.security import audit
from tourplanner.services import product_media
from tourplanner.services.unit_of_work import unit_of_work

#: The dataset's limits for a place (domain.records.PLACE_KEYS).
PLACE_LIMITS = {"name": 200, "address": 300, "hours": 200, "phone": 40}
PLACE_FIELDS = (*PLACE_LIMITS, "lat", "lon")
LINK_FIELDS = ("kind", "url", "label")
LABEL_LIMIT = 200
TITLE_LIMIT = 200
MAX_SALES_POINTS = 20
MAX_SHOP_LINKS = 10
MAX_VIDEOS = 12
#: Vietnam with a margin: a point outside is a typing slip (or latitude and longitude swapped).
VIETNAM = {"lat": (8.0, 23.5), "lon": (102.0, 110.0)}
#: Links of these kinds must be on the platform they name.
KIND_HOSTS: dict[str, tuple[str, ...]] = {
    "zalo": ("zalo.me",),
    "facebook": ("facebook.com", "fb.com", "fb.me"),
}
_NUMBER = re.compile(r"[+-]?\d{1,3}(?:[.,]\d{1,10})?")


@dataclass(frozen=True)
class Problem:
    """One refused form field: ``code`` says why, ``params`` fill the page's sentence."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)


class ShopInvalid(ValidationError):
    """The form has problems; ``problems`` maps each form field to its :class:`Problem`."""

    def __init__(self, problems: dict[str, Problem]) -> None:
        summary = "; ".join(f"{key}: {p.code}" for key, p in problems.items())
        super().__init__(summary, code="invalid_village_shop")
        self.problems = problems


@dataclass(frozen=True)
class StillUpload:
    filename: str
    data: bytes


# --- validation (plain Python) -------------------------------------------------------------


def _text(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    return "" if value is None else str(value).strip()


def _coordinate(text: str, axis: str) -> float | Problem:
    # A decimal comma is how many Vietnamese keyboards type a decimal point.
    if not _NUMBER.fullmatch(text):
        return Problem("not_a_number", {"value": text})
    number = float(text.replace(",", "."))
    low, high = VIETNAM[axis]
    if not low <= number <= high:
        return Problem("outside_vietnam", {"low": low, "high": high})
    return number


def clean_place(
    raw: Mapping[str, Any], prefix: str, problems: dict[str, Problem]
) -> dict[str, Any] | None:
    """A place from its form fields (``<prefix>name`` ...), or None when all are empty;
    problems go into ``problems`` under the field's own name."""
    values = {key: _text(raw, prefix + key) for key in PLACE_FIELDS}
    if not any(values.values()):
        return None
    place: dict[str, Any] = {}
    for key, limit in PLACE_LIMITS.items():
        if len(values[key]) > limit:
            problems[prefix + key] = Problem("too_long", {"limit": limit})
        elif values[key]:
            place[key] = values[key]
    if not values["name"]:
        problems[prefix + "name"] = Problem("name_required")
    lat, lon = values["lat"], values["lon"]
    if bool(lat) != bool(lon):
        missing = "lon" if lat else "lat"
        problems[prefix + missing] = Problem("both_coordinates")
    elif lat:
        for axis, text in (("lat", lat), ("lon", lon)):
            value = _coordinate(text, axis)
            if isinstance(value, Problem):
                problems[prefix + axis] = value
            else:
                place[axis] = value
    return place


def _https_url(text: str, kind: str) -> str | Problem:
    parts = urlsplit(text)
    if (
        parts.scheme != "https"
        or not parts.hostname
        or "@" in parts.netloc
        or any(ch.isspace() for ch in text)
    ):
        return Problem("not_https")
    if len(text) > MAX_URL:
        return Problem("too_long", {"limit": MAX_URL})
    hosts = KIND_HOSTS.get(kind)
    host = parts.hostname.lower()
    if hosts and not any(host == h or host.endswith("." + h) for h in hosts):
        return Problem("wrong_host", {"hosts": ", ".join(hosts)})
    return text


def clean_link(
    raw: Mapping[str, Any], prefix: str, problems: dict[str, Problem]
) -> dict[str, Any] | None:
    values = {key: _text(raw, prefix + key) for key in LINK_FIELDS}
    if not values["url"] and not values["label"]:
        return None  # a kind alone is the select's default, not an entry
    link: dict[str, Any] = {}
    if values["kind"] not in SHOP_KINDS:
        problems[prefix + "kind"] = Problem("unknown_kind")
    else:
        link["kind"] = values["kind"]
    if not values["url"]:
        problems[prefix + "url"] = Problem("url_required")
    else:
        url = _https_url(values["url"], values["kind"])
        if isinstance(url, Problem):
            problems[prefix + "url"] = url
        else:
            link["url"] = url
    if len(values["label"]) > LABEL_LIMIT:
        problems[prefix + "label"] = Problem("too_long", {"limit": LABEL_LIMIT})
    elif values["label"]:
        link["label"] = values["label"]
    return link


def clean_shop(raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Problem]]:
    """The form's display space, sales points and links, and every problem in it.

    Fields: ``ds_<key>`` for the display space, ``sp_<key>_<n>`` for sales point n,
    ``link_<key>_<n>`` for link n. Empty rows are dropped."""
    problems: dict[str, Problem] = {}
    display = clean_place(raw, "ds_", problems)
    points = [
        p
        for n in range(_count(raw, "sp_", MAX_SALES_POINTS, problems))
        if (p := clean_place(raw, f"sp_{n}_", problems)) is not None
    ]
    links = [
        link
        for n in range(_count(raw, "link_", MAX_SHOP_LINKS, problems))
        if (link := clean_link(raw, f"link_{n}_", problems)) is not None
    ]
    return {"display_space": display, "sales_points": points, "shop_links": links}, problems


def _count(raw: Mapping[str, Any], prefix: str, limit: int, problems: dict[str, Problem]) -> int:
    """How many rows of ``<prefix><n>_<key>`` the form has; beyond ``limit`` is a problem."""
    numbers = [
        int(m.group(1)) for key in raw if (m := re.fullmatch(re.escape(prefix) + r"(\d+)_\w+", key))
    ]
    count = max(numbers, default=-1) + 1
    if count > limit:
        filled = [
            n
            for n in set(numbers)
            if n >= limit and any(_text(raw, k) for k in raw if k.startswith(f"{prefix}{n}_"))
        ]
        if filled:
            problems[prefix.rstrip("_")] = Problem("too_many", {"limit": limit})
    return min(count, limit)


def _video_url(text: str) -> str | Problem:
    url = _https_url(text, "")
    if isinstance(url, Problem):
        return url
    host = (urlsplit(url).hostname or "").lower()
    on_platform = any(host == h or host.endswith("." + h) for h in VIDEO_HOSTS)
    # A channel or profile page has no embed: only a link to one video is a video.
    if not on_platform or video_embed(url)[1] is None:
        return Problem("not_a_video_link")
    return url


def _clean_video(
    raw: Mapping[str, Any],
    key: str,
    upload: StillUpload | None,
    kept_stills: set[str],
    problems: dict[str, Problem],
) -> tuple[dict[str, Any], Any]:
    """One row: the video and its checked still upload (or None)."""
    video: dict[str, Any] = {}
    url, title = _text(raw, key + "url"), _text(raw, key + "title")
    result = _video_url(url) if url else Problem("url_required")
    if isinstance(result, Problem):
        problems[key + "url"] = result
    else:
        video["url"] = result
    if len(title) > TITLE_LIMIT:
        problems[key + "title"] = Problem("too_long", {"limit": TITLE_LIMIT})
    elif title:
        video["title"] = title
    checked = None
    still = _text(raw, key + "still")
    if upload is not None:
        try:
            checked = check_image(upload.data)
            video["still"] = checked.stored_name
        except ImageProblem as exc:
            problems[key + "still"] = Problem("bad_image", {"why": str(exc)})
    elif still in kept_stills and not _text(raw, key + "remove_still"):
        # Only a still this village already has: the hidden field cannot name other files.
        video["still"] = still
    return video, checked


def clean_videos(
    raw: Mapping[str, Any], stills: Mapping[int, StillUpload], current: Sequence[Mapping]
) -> tuple[list[dict[str, Any]], dict[int, Any], dict[str, Problem]]:
    """Videos from ``video_<n>_url``, ``video_<n>_title``, ``video_<n>_still`` (the stored
    still to keep), ``video_<n>_remove_still`` and an uploaded still per row (``stills``).

    Returns the videos, the checked stills to store by row, and the problems."""
    problems: dict[str, Problem] = {}
    videos: list[dict[str, Any]] = []
    checked: dict[int, Any] = {}
    kept_stills = {
        str(v["still"]) for v in current if IMAGE_NAME_RE.fullmatch(v.get("still") or "")
    }
    rows = max(_count(raw, "video_", MAX_VIDEOS, problems), max(stills, default=-1) + 1)
    for n in range(min(rows, MAX_VIDEOS)):
        key = f"video_{n}_"
        if not _text(raw, key + "url") and not _text(raw, key + "title") and n not in stills:
            continue
        video, image = _clean_video(raw, key, stills.get(n), kept_stills, problems)
        if image is not None:
            checked[n] = image
        videos.append(video)
    return videos, checked, problems


# --- the changes ---------------------------------------------------------------------------


def _village(village_id: int) -> Village:
    village = db.session.get(Village, village_id)
    if village is None:
        raise NotFound("no such village", code="village_not_found")
    return village


def save_shop(village_id: int, raw: Mapping[str, Any], *, user_id: int | None) -> Village:
    """Replace the village's display space, sales points and online shops with the form's.

    Raises ShopInvalid with every problem; nothing is written then."""
    clean, problems = clean_shop(raw)
    if problems:
        raise ShopInvalid(problems)
    with unit_of_work() as session:
        village = _village(village_id)
        village.display_space = clean["display_space"]
        village.sales_points = clean["sales_points"]
        village.shop_links = clean["shop_links"]
        audit.record(
            "village_shop_changed",
            user_id=user_id,
            subject=village.slug,
            session=session,
            display_space=clean["display_space"] is not None,
            sales_points=len(clean["sales_points"]),
            mapped=sum(1 for p in clean["sales_points"] if "lat" in p),
            shop_links=len(clean["shop_links"]),
        )
    return village


def save_videos(
    village_id: int,
    raw: Mapping[str, Any],
    stills: Mapping[int, StillUpload],
    *,
    user_id: int | None,
) -> Village:
    """Replace the village's videos (link, title, still) with the form's.

    Raises ShopInvalid with every problem; nothing (row or still) is written then."""
    village = _village(village_id)
    videos, checked, problems = clean_videos(raw, stills, village.videos or [])
    if problems:
        raise ShopInvalid(problems)
    with product_media.staged() as stage, unit_of_work() as session:
        stage.write(list(checked.values()))
        village = _village(village_id)
        village.videos = videos
        audit.record(
            "village_videos_changed",
            user_id=user_id,
            subject=village.slug,
            session=session,
            videos=len(videos),
            stills=sum(1 for v in videos if v.get("still")),
        )
    return village
