"""Rules for a village's or an experience's photo: its file and what is said about it.

Plain Python, no Flask: :func:`check_details` gives every problem at once as
``{field: Problem(code, params)}``; pages word the codes in their own language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tourplanner.domain.images import CheckedImage, ImageProblem, check_image

#: Phone photos are often 4-8 MB; re-encoded and resized, what is stored is far smaller.
MAX_BYTES = 10 * 1024 * 1024
MAX_CREDIT = 200
MAX_ALT = 300
MAX_PHOTOS_PER_PLACE = 12
#: Licences a photo may be published under (the code stored, and its canonical page).
LICENCES: dict[str, str | None] = {
    "cc-by-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "cc-by-sa-4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "cc0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    # The photographer lets the site show it; no licence to anyone else.
    "permission": None,
}
LICENCE_SHORT = {
    "cc-by-4.0": "CC BY 4.0",
    "cc-by-sa-4.0": "CC BY-SA 4.0",
    "cc0-1.0": "CC0 1.0",
}


@dataclass(frozen=True)
class Problem:
    code: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Details:
    """What is said about a photo (credit and licence may wait: the photo is then hidden)."""

    credit: str | None
    licence: str | None
    alt_vi: str | None
    alt_en: str | None

    @property
    def publishable(self) -> bool:
        return bool(self.credit and self.licence)


def _text(raw: Mapping[str, Any], name: str) -> str | None:
    value = raw.get(name)
    value = " ".join(str(value).split()) if value is not None else ""
    return value or None


def check_details(raw: Mapping[str, Any]) -> tuple[Details, dict[str, Problem]]:
    """The cleaned details and every problem (empty when they can be saved)."""
    details = Details(
        credit=_text(raw, "credit"),
        licence=_text(raw, "licence"),
        alt_vi=_text(raw, "alt_vi"),
        alt_en=_text(raw, "alt_en"),
    )
    problems: dict[str, Problem] = {}
    if details.credit and len(details.credit) > MAX_CREDIT:
        problems["credit"] = Problem("too_long", {"limit": MAX_CREDIT})
    if details.licence and details.licence not in LICENCES:
        problems["licence"] = Problem("unknown_licence")
    for name in ("alt_vi", "alt_en"):
        value = getattr(details, name)
        if value and len(value) > MAX_ALT:
            problems[name] = Problem("too_long", {"limit": MAX_ALT})
    if not (details.alt_vi or details.alt_en):
        # A picture nobody can describe is no use to a reader who cannot see it.
        problems["alt_vi"] = Problem("alt_required")
    return details, problems


def check_file(data: bytes | None) -> tuple[CheckedImage | None, Problem | None]:
    """The checked, re-encoded photo or the problem with the file."""
    if not data:
        return None, Problem("file_required")
    try:
        return check_image(data, max_bytes=MAX_BYTES), None
    except ImageProblem as exc:
        return None, Problem(exc.code, dict(exc.params))
