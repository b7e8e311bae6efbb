"""Tour routes (tuyến du lịch làng nghề): what a valid route is, as plain Python.

A route is curated by the city's tourism office: texts in Vietnamese and English (name, theme,
summary, season notes), a typical length, a recommended travel mode, the crafts it serves and
an ordered list of stops (a village, optionally one of its experiences, the day of the route it
falls on and a note). It is a draft until published.

Validation collects every problem of the input at once, keyed by the field it concerns
(``name_en``, ``stops.2.village``...), as codes with parameters (:class:`Problem`): a page
words them in its own language, the API lists them. Two levels:

* **saving** (a draft): texts within their limits, at least one name, known length, mode and
  crafts, at most :data:`MAX_STOPS` stops, a village for every stop, no village twice, days
  within the length (1 for half a day or a day, 1-2 for two days), in order;
* **publishing** (:func:`publish_problems`): additionally both names and both summaries, at
  least :data:`MIN_PUBLISHED_STOPS` stops, every village with a sourced position (a route is
  shown on a map and planned), and a two-day route has stops on both days.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tourplanner.domain import inputs
from tourplanner.domain.catalogue import CATEGORIES, is_slug, slugify
from tourplanner.domain.errors import ValidationError

LENGTHS: tuple[str, ...] = ("half_day", "day", "two_days")
#: Days a route of each length spans.
LENGTH_DAYS = {"half_day": 1, "day": 1, "two_days": 2}
#: Typical hours of each length (the planner's default day when the route is planned).
LENGTH_HOURS = {
    "half_day": ("08:00", "14:00"),
    "day": ("08:00", "18:00"),
    "two_days": ("08:00", "18:00"),
}
#: A day out that ends within this many minutes is half a day.
HALF_DAY_MINUTES = 6 * 60
MAX_STOPS = 12
#: Most stops on one day (the planner's packed pace plans at most 8).
MAX_STOPS_PER_DAY = 8
MIN_PUBLISHED_STOPS = 2
MAX_PHOTOS = 8
#: Length of a slug made from a name (a suffix may follow to keep it unique).
SLUG_CHARS = 60
#: Longest slug (the audit log keeps 100 characters of a subject).
MAX_SLUG_CHARS = 100
TEXT_LIMITS = {"name": 200, "theme": 200, "summary": 4000, "season": 2000}
NOTE_LIMIT = 1000
CREDIT_LIMIT = 200
LANGS = ("vi", "en")
TEXT_FIELDS: tuple[str, ...] = tuple(f"{kind}_{lang}" for kind in TEXT_LIMITS for lang in LANGS)


@dataclass(frozen=True)
class Problem:
    """One refused field: ``code`` says why, ``params`` fill the page's sentence."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, **self.params}


class RouteInvalid(ValidationError):
    """The route has problems; ``problems`` maps each field to its :class:`Problem`."""

    def __init__(self, problems: Mapping[str, Problem], code: str = "invalid_route") -> None:
        summary = "; ".join(f"{key}: {p.code}" for key, p in problems.items())
        super().__init__(
            summary,
            code=code,
            field=next(iter(problems), None),
            problems={k: p.as_dict() for k, p in problems.items()},
        )
        self.problems = dict(problems)


class RouteNotPublishable(RouteInvalid):
    """A saved route that lacks what a published one needs (422)."""

    status = 422

    def __init__(self, problems: Mapping[str, Problem]) -> None:
        super().__init__(problems, code="route_not_publishable")


@dataclass(frozen=True)
class StopFields:
    village: str
    experience: str | None = None
    day: int = 1
    note_vi: str | None = None
    note_en: str | None = None


@dataclass(frozen=True)
class RouteFields:
    """A parsed route: texts by field name (``name_vi``...), the rest typed."""

    texts: dict[str, str | None]
    length: str = "day"
    travel_mode: str = "car"
    interests: tuple[str, ...] = ()
    stops: tuple[StopFields, ...] = ()
    slug: str | None = None

    def text(self, name: str) -> str | None:
        return self.texts.get(name)

    def suggested_slug(self) -> str:
        """An ASCII slug from the English name, else the Vietnamese one."""
        base = slugify(self.texts.get("name_en") or self.texts.get("name_vi") or "")
        if len(base) > SLUG_CHARS:  # cut at a word
            base = base[: SLUG_CHARS + 1].rsplit("-", 1)[0]
        return base.strip("-") or "route"


def _text(value: object, name: str, limit: int, problems: dict[str, Problem]) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        problems[name] = Problem("not_text")
        return None
    if inputs.unsafe_text(value):
        problems[name] = Problem("invalid_text")
        return None
    if len(value) > limit:
        problems[name] = Problem("too_long", {"max": limit})
        return None
    text = inputs.free_text(value, max_length=limit)
    return text or None


def _texts(data: Mapping[str, Any], problems: dict[str, Problem]) -> dict[str, str | None]:
    texts = {}
    for kind, limit in TEXT_LIMITS.items():
        for lang in LANGS:
            name = f"{kind}_{lang}"
            value = _text(data.get(name), name, limit, problems)
            # A name is one line: the pages show it as a title.
            texts[name] = inputs.strip_controls(value) if value and kind == "name" else value
    if not (texts["name_vi"] or texts["name_en"]) and "name_vi" not in problems:
        problems["name_vi"] = Problem("name_required")
    return texts


def _choice(
    data: Mapping[str, Any],
    name: str,
    allowed: Sequence[str],
    default: str,
    problems: dict[str, Problem],
) -> str:
    value = data.get(name) or default
    if value not in allowed:
        problems[name] = Problem("unknown_choice", {"allowed": list(allowed)})
        return default
    return value


def _interests(value: object, problems: dict[str, Problem]) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    items = value if isinstance(value, list | tuple) else None
    if items is None or not all(isinstance(c, str) for c in items):
        problems["interests"] = Problem("not_a_list")
        return ()
    unknown = [c for c in items if c not in CATEGORIES]
    if unknown:
        problems["interests"] = Problem("unknown_category", {"category": unknown[0][:40]})
        return ()
    return tuple(dict.fromkeys(items))


def _day(value: object) -> int | None:
    if value is None or value == "":
        return 1
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return value if isinstance(value, int) and 1 <= value <= 9 else None


def _stop(raw: object, n: int, max_day: int, problems: dict[str, Problem]) -> StopFields | None:
    key = f"stops.{n}"
    if not isinstance(raw, Mapping):
        problems[key] = Problem("not_a_stop")
        return None
    village = raw.get("village")
    if not is_slug(village):
        problems[f"{key}.village"] = Problem("village_required")
        return None
    experience = raw.get("experience") or None
    if experience is not None and not is_slug(experience):
        problems[f"{key}.experience"] = Problem("unknown_experience")
        experience = None
    day = _day(raw.get("day"))
    if day is None or day > max_day:
        problems[f"{key}.day"] = Problem("day_out_of_length", {"max": max_day})
        day = 1
    notes = {
        lang: _text(raw.get(f"note_{lang}"), f"{key}.note_{lang}", NOTE_LIMIT, problems)
        for lang in LANGS
    }
    return StopFields(village, experience, day, notes["vi"], notes["en"])


def _stops(value: object, length: str, problems: dict[str, Problem]) -> tuple[StopFields, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        problems["stops"] = Problem("not_a_list")
        return ()
    if len(value) > MAX_STOPS:
        problems["stops"] = Problem("too_many_stops", {"max": MAX_STOPS})
        return ()
    stops: list[StopFields] = []
    seen: set[str] = set()
    for n, raw in enumerate(value):
        stop = _stop(raw, n, LENGTH_DAYS[length], problems)
        if stop is None:
            continue
        if stop.village in seen:
            problems[f"stops.{n}.village"] = Problem("village_twice")
        elif stops and stop.day < stops[-1].day:
            problems[f"stops.{n}.day"] = Problem("days_out_of_order")
        elif sum(1 for s in stops if s.day == stop.day) >= MAX_STOPS_PER_DAY:
            problems[f"stops.{n}.day"] = Problem("day_too_full", {"max": MAX_STOPS_PER_DAY})
        seen.add(stop.village)
        stops.append(stop)
    return tuple(stops)


def parse_route(data: object, *, modes: Sequence[str]) -> RouteFields:
    """Validate a route (a draft's rules); raises :class:`RouteInvalid` with every problem."""
    if not isinstance(data, Mapping):
        raise RouteInvalid({"body": Problem("not_an_object")})
    problems: dict[str, Problem] = {}
    slug = data.get("slug") or None
    if slug is not None and not (is_slug(slug) and len(slug) <= MAX_SLUG_CHARS):
        problems["slug"] = Problem("invalid_slug")
        slug = None
    texts = _texts(data, problems)
    length = _choice(data, "length", LENGTHS, "day", problems)
    fields = RouteFields(
        texts=texts,
        length=length,
        travel_mode=_choice(data, "travel_mode", modes, "car", problems),
        interests=_interests(data.get("interests"), problems),
        stops=_stops(data.get("stops"), length, problems),
        slug=slug,
    )
    if problems:
        raise RouteInvalid(problems)
    return fields


def publish_problems(
    texts: Mapping[str, str | None],
    length: str,
    stop_days: Sequence[int],
    unmapped: Sequence[int],
) -> dict[str, Problem]:
    """What keeps a saved route from being published (empty: it can be).

    ``stop_days`` are the stops' days in order; ``unmapped`` the positions of the stops whose
    village has no sourced position.
    """
    problems: dict[str, Problem] = {}
    for name in ("name_vi", "name_en", "summary_vi", "summary_en"):
        if not texts.get(name):
            problems[name] = Problem("required_to_publish")
    if len(stop_days) < MIN_PUBLISHED_STOPS:
        problems["stops"] = Problem("too_few_stops", {"min": MIN_PUBLISHED_STOPS})
    elif LENGTH_DAYS.get(length, 1) == 2 and set(stop_days) != {1, 2}:
        problems["stops"] = Problem("both_days_needed")
    for n in unmapped:
        problems[f"stops.{n}.village"] = Problem("village_not_mapped")
    return problems


def length_for_day(minutes_out: int) -> str:
    """The typical length of a day out that lasts ``minutes_out`` (leave to return)."""
    return "half_day" if minutes_out <= HALF_DAY_MINUTES else "day"
