"""Packages: the input rules of the builder and the check of one day of a package on a date.

Plain Python (no Flask, no database). The packages service loads the catalogue, the sessions of
the date and the travel times; this module says what a valid package field is and what a day
looks like on a date: when the party arrives at each stop, when each stop starts and ends, where
lunch goes and what breaks.

The day check (:func:`check_day`), for the ordered stops of one day:

* the day leaves its start point at ``day_start``; each leg's travel minutes are given
  (start -> stop 1 -> ... -> stop n -> start);
* a **visit** starts on arrival (or when it opens) inside an opening window of the date that
  still holds the whole visit (``start + duration <= close``, as the planner requires);
* a **workshop** starts at a session start: the first session at or after the arrival with
  places for the whole party. A day checked against its *planned* times (``planned``, the start
  stored by the last check; run dates and bookings) needs the session at exactly that minute;
* **lunch** (when the day has it): 45 to 60 minutes inside 11:00-13:30. It goes in the first
  wait before a stop that holds 45 minutes of that period (no delay); otherwise it is taken on
  arrival at the first stop that would start at 11:00 or later, for 45 minutes, and that stop
  then starts after it (the next session, for a workshop); if still untaken, after the last
  stop before the drive back when the day is still out at 11:00. A day whose stops leave no room
  for it has ``lunch`` None;
* the problems, each naming its stop: ``closed_that_day`` (no opening hours or no session that
  date), ``arrives_after_closing`` (a visit: no window left that holds the visit),
  ``no_session`` (a workshop: no session at or after the arrival, or none at its planned time),
  ``full`` (the session has fewer places left than the party; ``left`` says how many),
  ``not_bookable`` (a workshop that takes no bookings) and ``over_day_hours`` (the day gets back
  after its end time: named on the first stop that ends after it, else the last stop).

A stop with a problem still gets a time (its earliest possible start) so that the rest of the
day can be checked and shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tourplanner.domain import inputs
from tourplanner.domain.catalogue import CATEGORIES, is_slug, parse_hhmm
from tourplanner.domain.errors import ValidationError
from tourplanner.domain.pricing import Party

#: Lunch: at least LUNCH_MIN, at most LUNCH_MAX minutes inside [LUNCH_FROM, LUNCH_UNTIL].
LUNCH_FROM = 11 * 60
LUNCH_UNTIL = 13 * 60 + 30
LUNCH_MIN = 45
LUNCH_MAX = 60
#: The latest minute a lunch of LUNCH_MIN minutes can start.
LUNCH_LATEST = LUNCH_UNTIL - LUNCH_MIN

PROBLEM_CODES: tuple[str, ...] = (
    "closed_that_day",
    "arrives_after_closing",
    "full",
    "no_session",
    "over_day_hours",
    "not_bookable",
)
KINDS: tuple[str, ...] = ("workshop", "visit")


# --- the day check ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    """One session of a workshop on the date: start minute and places left."""

    start: int
    remaining: int
    slot_id: int | None = None


@dataclass(frozen=True)
class StopInput:
    """What the check needs to know about one stop on the date.

    ``windows``: the opening windows of the date (visits); ``sessions``: the sessions of the
    date in start order, full ones included (workshops); ``planned``: the stored planned start,
    for a check against the planned times (None: the earliest feasible start).
    """

    experience: str
    kind: str
    duration: int
    bookable: bool = True
    windows: tuple[tuple[int, int], ...] = ()
    sessions: tuple[Session, ...] = ()
    planned: int | None = None


@dataclass(frozen=True)
class DayInput:
    """One day: ordered stops, travel minutes of each leg (``len(stops) + 1`` legs, the last
    one back to the start), the day's hours in minutes after midnight, lunch, the party size."""

    stops: tuple[StopInput, ...]
    travel: tuple[int, ...]
    day_start: int
    day_end: int
    lunch: bool
    party_size: int

    def __post_init__(self) -> None:
        if len(self.travel) != len(self.stops) + 1:
            raise ValueError("travel needs one leg per stop plus the way back")


@dataclass(frozen=True)
class StopProblem:
    code: str
    experience: str
    left: int | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "experience": self.experience}
        if self.left is not None:
            data["left"] = self.left
        return data


@dataclass(frozen=True)
class TimedStop:
    """A stop on the timeline: arrival, start and end in minutes after midnight."""

    experience: str
    travel_before: int
    arrival: int
    start: int
    end: int
    slot_id: int | None = None
    places_left: int | None = None


@dataclass(frozen=True)
class DayCheck:
    stops: tuple[TimedStop, ...]
    back_at: int
    travel_minutes: int
    lunch: tuple[int, int] | None
    problems: tuple[StopProblem, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.problems


def _visit_start(stop: StopInput, earliest: int) -> tuple[int, str | None]:
    """Earliest start >= ``earliest`` in a window holding the whole visit; O(windows)."""
    if not stop.windows:
        return earliest, "closed_that_day"
    for opens, closes in sorted(stop.windows):
        start = max(earliest, opens)
        if start + stop.duration <= closes:
            return start, None
    return earliest, "arrives_after_closing"


def _workshop_start(
    stop: StopInput, earliest: int, party: int
) -> tuple[int, Session | None, StopProblem | None]:
    """The session the party takes: at the planned minute, or the first with places at or
    after ``earliest``. O(sessions)."""
    if not stop.bookable:
        return earliest, None, StopProblem("not_bookable", stop.experience)
    if not stop.sessions:
        return earliest, None, StopProblem("closed_that_day", stop.experience)
    if stop.planned is not None:
        chosen = next(
            (s for s in stop.sessions if s.start == stop.planned and s.start >= earliest), None
        )
        if chosen is None:
            return max(earliest, stop.planned), None, StopProblem("no_session", stop.experience)
        if chosen.remaining < party:
            return chosen.start, chosen, StopProblem("full", stop.experience, chosen.remaining)
        return chosen.start, chosen, None
    later = [s for s in sorted(stop.sessions, key=lambda s: s.start) if s.start >= earliest]
    if not later:
        return earliest, None, StopProblem("no_session", stop.experience)
    for session in later:
        if session.remaining >= party:
            return session.start, session, None
    most = max(s.remaining for s in later)
    return later[0].start, later[0], StopProblem("full", stop.experience, most)


def _place(stop: StopInput, earliest: int, party: int) -> tuple[int, Session | None, list]:
    if stop.kind == "workshop":
        start, session, problem = _workshop_start(stop, earliest, party)
        return start, session, [problem] if problem else []
    start, code = _visit_start(stop, max(earliest, stop.planned or earliest))
    return start, None, [StopProblem(code, stop.experience)] if code else []


def _lunch_in_wait(arrival: int, start: int) -> tuple[int, int] | None:
    """Lunch inside the wait ``[arrival, start]`` if 45 minutes of it fall in lunch time."""
    opens, closes = max(arrival, LUNCH_FROM), min(start, LUNCH_UNTIL)
    if closes - opens >= LUNCH_MIN:
        return opens, opens + min(LUNCH_MAX, closes - opens)
    return None


def check_day(day: DayInput) -> DayCheck:
    """The timeline and the problems of one day (see the module docstring). O(stops x
    (windows + sessions))."""
    clock = day.day_start
    lunch: tuple[int, int] | None = None
    wants_lunch = day.lunch
    timed: list[TimedStop] = []
    problems: list[StopProblem] = []
    for stop, leg in zip(day.stops, day.travel, strict=False):
        arrival = clock + leg
        start, session, found = _place(stop, arrival, day.party_size)
        if wants_lunch and lunch is None:
            lunch = _lunch_in_wait(arrival, start)
            if lunch is None and start >= LUNCH_FROM and max(arrival, LUNCH_FROM) <= LUNCH_LATEST:
                at = max(arrival, LUNCH_FROM)
                lunch = (at, at + LUNCH_MIN)
                start, session, found = _place(stop, lunch[1], day.party_size)
        end = start + stop.duration
        problems.extend(found)
        timed.append(
            TimedStop(
                stop.experience,
                leg,
                arrival,
                start,
                end,
                session.slot_id if session else None,
                session.remaining if session else None,
            )
        )
        clock = end
    home_leg = day.travel[-1]
    if (
        wants_lunch
        and lunch is None
        and timed
        and clock + home_leg > LUNCH_FROM
        and max(clock, LUNCH_FROM) <= LUNCH_LATEST
    ):
        at = max(clock, LUNCH_FROM)
        lunch = (at, at + LUNCH_MIN)
        clock = lunch[1]
    back_at = clock + home_leg if timed else day.day_start
    if timed and back_at > day.day_end:
        late = next((t for t in timed if t.end > day.day_end), timed[-1])
        problems.append(StopProblem("over_day_hours", late.experience))
    travel = sum(day.travel) if timed else 0
    return DayCheck(tuple(timed), back_at, travel, lunch, tuple(problems))


def hhmm(minute: int | None) -> str | None:
    """``605`` -> ``"10:05"`` (minutes after midnight; a day running past midnight wraps)."""
    if minute is None:
        return None
    minute %= 24 * 60
    return f"{minute // 60:02d}:{minute % 60:02d}"


def minutes(value: str) -> int:
    """``"10:05"`` -> ``605``."""
    at = parse_hhmm(value)
    return at.hour * 60 + at.minute


# --- input rules of the builder --------------------------------------------------------------

MIN_DAYS, MAX_DAYS = 1, 5
MAX_STOPS_PER_DAY = 8
MAX_TEXT_CHARS = 5000
MAX_LABEL_CHARS = 200
#: Markup in basis points: up to 1000 % (10 x the net price).
MAX_MARKUP_BP = 100_000
#: The largest retail price per person, in VND.
MAX_PRICE_VND = 1_000_000_000
MARKUP_KINDS: tuple[str, ...] = ("percent", "fixed")
PRICE_KEYS: tuple[str, ...] = ("adult", "child", "senior")
#: The fields of a package (create and update); ``days`` is a count on create and a count or a
#: list of per-day settings on update.
FIELDS: tuple[str, ...] = (
    "name_vi",
    "name_en",
    "description_vi",
    "description_en",
    "included_vi",
    "included_en",
    "days",
    "travel_mode",
    "interests",
    "party",
    "markup_kind",
    "markup_bp",
    "retail_prices",
    "start",
    "day_start",
    "day_end",
    "lunch",
)
DAY_FIELDS: tuple[str, ...] = ("number", "start", "day_start", "day_end", "lunch")
START_FIELDS: tuple[str, ...] = ("landmark", "lat", "lon", "label")
STOP_FIELDS: tuple[str, ...] = ("experience", "locked")


def bad(field_name: str, message: str, code: str = "invalid_field", **details: Any):
    return ValidationError(f"{field_name}: {message}", code=code, field=field_name, **details)


def _object(value: object, field_name: str, allowed: Sequence[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        if not field_name:
            raise ValidationError("send a JSON object", code="invalid_body", field="body")
        raise bad(field_name, "expected an object")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        name = f"{field_name}.{unknown[0]}" if field_name else unknown[0]
        raise bad(name, "unknown field", "unknown_field", allowed=list(allowed))
    return value


@dataclass(frozen=True)
class StartInput:
    """A day's start: a landmark slug, or a point (lat/lon) with an optional label."""

    landmark: str | None = None
    lat: float | None = None
    lon: float | None = None
    label: str | None = None


def parse_start(value: object, field_name: str = "start") -> StartInput:
    data = _object(value, field_name, START_FIELDS)
    label = data.get("label")
    if label is not None:
        label = inputs.clean_text(label, f"{field_name}.label", max_length=MAX_LABEL_CHARS)
    if data.get("landmark") is not None:
        if "lat" in data or "lon" in data:
            raise bad(field_name, "give a landmark or lat/lon, not both")
        if not is_slug(data["landmark"]):
            raise bad(f"{field_name}.landmark", "expected a landmark slug", "unknown_landmark")
        return StartInput(landmark=data["landmark"], label=label or None)
    coords = []
    for name in ("lat", "lon"):
        number = data.get(name)
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise bad(f"{field_name}.{name}", "expected a number (or give a landmark)")
        coords.append(float(number))
    return StartInput(lat=coords[0], lon=coords[1], label=label or None)


def _hours(data: Mapping[str, Any], prefix: str, out: dict[str, Any]) -> None:
    for name in ("day_start", "day_end"):
        if name in data:
            try:
                out[name] = minutes(data[name])
            except ValueError:
                raise bad(f"{prefix}{name}", "expected HH:MM (00:00 to 23:59)") from None
    if "lunch" in data:
        if not isinstance(data["lunch"], bool):
            raise bad(f"{prefix}lunch", "expected true or false")
        out["lunch"] = data["lunch"]
    if "day_start" in out and "day_end" in out and out["day_end"] <= out["day_start"]:
        raise bad(f"{prefix}day_end", "the day must end after it starts", "invalid_hours")


def _optional_text(value: object, field_name: str, max_length: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad(field_name, "expected text")
    inputs.check_text(value, field_name)
    if len(value) > max_length:
        raise bad(field_name, f"at most {max_length} characters", max_length=max_length)
    return inputs.free_text(value, max_length=max_length) or None


def parse_package(data: object, *, create: bool, modes: Sequence[str]) -> dict[str, Any]:
    """Validate the fields of a package (create: names required, defaults filled).

    Returns plain values: texts cleaned, ``party`` a :class:`Party`, hours in minutes,
    ``start`` a :class:`StartInput`, ``days`` an int or (update) a list of per-day dicts
    ``{"number", "start"?, "day_start"?, "day_end"?, "lunch"?}``.
    """
    body = _object(data, "", FIELDS)
    out: dict[str, Any] = {}
    _texts(body, create, out)
    if "days" in body:
        days = body["days"]
        if isinstance(days, list) and not create:
            out["days"] = _day_list(days)
        else:
            out["days"] = inputs.bounded_int(days, "days", low=MIN_DAYS, high=MAX_DAYS)
    if "travel_mode" in body and body["travel_mode"] not in modes:
        raise bad("travel_mode", f"one of {', '.join(modes)}", allowed=list(modes))
    if "travel_mode" in body:
        out["travel_mode"] = body["travel_mode"]
    if "interests" in body:
        out["interests"] = _interests(body["interests"])
    if "party" in body:
        out["party"] = parse_party(body["party"], "party")
    _prices(body, out)
    if "start" in body:
        out["start"] = parse_start(body["start"])
    elif create:
        raise bad("start", "give the start point: a landmark or lat/lon", "missing_field")
    _hours(body, "", out)
    if create:
        _defaults(out)
    return out


def _defaults(out: dict[str, Any]) -> None:
    out.setdefault("days", 1)
    out.setdefault("day_start", 8 * 60)
    out.setdefault("day_end", 17 * 60)
    out.setdefault("lunch", True)
    if out["day_end"] <= out["day_start"]:
        raise bad("day_end", "the day must end after it starts", "invalid_hours")


def _texts(body: Mapping[str, Any], create: bool, out: dict[str, Any]) -> None:
    for name in ("name_vi", "name_en"):
        if name in body or create:
            out[name] = inputs.clean_text(
                body.get(name), name, max_length=inputs.MAX_NAME_CHARS, min_length=1
            )
    for name in ("description_vi", "description_en", "included_vi", "included_en"):
        if name in body:
            out[name] = _optional_text(body[name], name, MAX_TEXT_CHARS)


def _prices(body: Mapping[str, Any], out: dict[str, Any]) -> None:
    if "markup_kind" in body:
        if body["markup_kind"] not in MARKUP_KINDS:
            raise bad("markup_kind", "percent or fixed", allowed=list(MARKUP_KINDS))
        out["markup_kind"] = body["markup_kind"]
    if "markup_bp" in body:
        out["markup_bp"] = inputs.bounded_int(body["markup_bp"], "markup_bp", high=MAX_MARKUP_BP)
    if "retail_prices" in body:
        out["retail_prices"] = _retail_prices(body["retail_prices"])


def _day_list(value: list) -> list[dict[str, Any]]:
    if len(value) > MAX_DAYS:
        raise bad("days", f"at most {MAX_DAYS} days", max_items=MAX_DAYS)
    out: list[dict[str, Any]] = []
    seen: set[int] = set()
    for n, item in enumerate(value):
        prefix = f"days[{n}]."
        data = _object(item, f"days[{n}]", DAY_FIELDS)
        number = inputs.bounded_int(data.get("number"), f"{prefix}number", low=1, high=MAX_DAYS)
        if number in seen:
            raise bad(f"{prefix}number", "each day once", "duplicate_day")
        seen.add(number)
        day: dict[str, Any] = {"number": number}
        if "start" in data:
            day["start"] = parse_start(data["start"], f"{prefix}start")
        _hours(data, prefix, day)
        out.append(day)
    return out


def parse_party(value: object, field_name: str = "party") -> Party:
    data = _object(value, field_name, ("adults", "children", "seniors"))
    counts = {
        name: inputs.bounded_int(
            data.get(name, 0), f"{field_name}.{name}", high=inputs.MAX_PARTY_PER_CATEGORY
        )
        for name in ("adults", "children", "seniors")
    }
    try:
        return Party(**counts)
    except ValueError as exc:
        raise bad(field_name, str(exc), "invalid_party") from None


def _interests(value: object) -> list[str]:
    if not isinstance(value, list) or len(value) > len(CATEGORIES):
        raise bad("interests", f"expected a list of at most {len(CATEGORIES)} craft categories")
    out: list[str] = []
    for n, item in enumerate(value):
        if item not in CATEGORIES:
            raise bad(f"interests[{n}]", "unknown craft category", allowed=list(CATEGORIES))
        if item not in out:
            out.append(item)
    return out


def _retail_prices(value: object) -> dict[str, int | None]:
    data = _object(value, "retail_prices", PRICE_KEYS)
    out: dict[str, int | None] = {}
    for key in PRICE_KEYS:
        price = data.get(key)
        out[key] = (
            None
            if price is None
            else inputs.bounded_int(price, f"retail_prices.{key}", high=MAX_PRICE_VND)
        )
    return out


@dataclass(frozen=True)
class StopChoice:
    experience: str
    locked: bool = False


def parse_stops(value: object) -> list[StopChoice]:
    """A day's stops in order: ``[{"experience": slug, "locked": bool}]``, each once."""
    if isinstance(value, Mapping) and set(value) == {"stops"}:
        value = value["stops"]
    if not isinstance(value, list):
        raise bad("stops", "expected a list of {experience, locked}")
    if len(value) > MAX_STOPS_PER_DAY:
        raise bad("stops", f"at most {MAX_STOPS_PER_DAY} stops a day", max_items=MAX_STOPS_PER_DAY)
    out: list[StopChoice] = []
    for n, item in enumerate(value):
        data = _object(item, f"stops[{n}]", STOP_FIELDS)
        slug = data.get("experience")
        if not is_slug(slug):
            raise bad(f"stops[{n}].experience", "expected an experience slug", "unknown_experience")
        locked = data.get("locked", False)
        if not isinstance(locked, bool):
            raise bad(f"stops[{n}].locked", "expected true or false")
        if any(c.experience == slug for c in out):
            raise bad(f"stops[{n}].experience", "each experience once", "duplicate_stop")
        out.append(StopChoice(slug, locked))
    return out
