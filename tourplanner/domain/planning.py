"""Day-trip plan requests: validation, interest scores, party eligibility and stop reasons.

Plain Python (no Flask, no database): the planning service resolves the start point and loads
the catalogue, this module decides what a valid request is and how much each experience is
worth to the party. Every validation error names the offending field in ``details["field"]``
so that a form can highlight it.

Rules (documented in ``docs/planner.md``):

* interest score of a stop = weight of the village's craft category (categories the request
  does not name weigh :data:`DEFAULT_WEIGHT`; an empty ``interests`` object weighs every
  category 1.0) x :data:`BASE_VALUE` of the experience kind (hands-on workshops count double);
* children are counted as under 16: an experience with ``min_age >= 16`` is not offered to a
  party with children; for lower minimum ages the stop says we cannot check ages;
* a workshop without a price for a category present in the party is not offered to it;
* a visit costs nothing unless a public page states a per-person price (then it is used per
  person and marked as reported, with its date);
* a lunch break (:data:`LUNCH_WINDOW`, :data:`LUNCH_MINUTES`) is planned like a stop with a
  window, at a village of the day, on by default for days over :data:`LUNCH_AUTO_DAY_MINUTES`
  and off with ``"lunch": false``;
* ``"shopping": true`` asks for one shopping stop at a village's sales point in every
  itinerary (``domain/shopping.py``);
* the ``pace`` (:data:`PACES`) caps the stops, drops experiences shorter than its least visit
  time, limits the road time to a share of the day (and to ``max_travel_minutes`` when given),
  allows filler stops (a category the request does not name) only when packed or when no
  interest is given, and sets the exchange rate between interest and driving: a stop is added
  only if its interest score is worth the extra minutes on the road at that rate.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

from tourplanner.domain import inputs
from tourplanner.domain.catalogue import CATEGORIES, is_slug, parse_hhmm
from tourplanner.domain.errors import ValidationError
from tourplanner.domain.pricing import Party, party_price

#: Transport modes, the values of ``tourplanner.routing.travel_time.Mode``.
MODES: tuple[str, ...] = ("car", "motorbike", "bus_taxi", "bicycle", "walk")
LANGS: tuple[str, ...] = ("vi", "en")
DEFAULT_WEIGHT = 0.2
BASE_VALUE = {"workshop": 2.0, "visit": 1.0}
ADULT_ONLY_AGE = 16
MAX_STOPS_LIMIT = 10
MAX_ALTERNATIVES = 5
MAX_ADDRESS_CHARS = 300
MAX_SLUGS = 20
#: Bounds of ``max_travel_minutes`` (a whole day of driving at most).
MIN_TRAVEL_MINUTES, MAX_TRAVEL_MINUTES = 10, 720


@dataclass(frozen=True)
class Pace:
    """How full a day is: the rules of one ``pace`` value (documented in docs/planner.md)."""

    name: str
    #: Most stops in the day (the request's ``max_stops`` may lower it further).
    max_stops: int
    #: Experiences shorter than this are not proposed.
    min_visit_minutes: int
    #: Largest share of the day (start to end time) spent on the road.
    max_road_share: float
    #: Whether stops matching no stated interest may fill the day.
    fillers: bool
    #: Exchange rate: minutes of extra driving one interest point is worth. A loved visit
    #: scores 1 point, a loved workshop 2; a filler (an unnamed category) 0.2.
    minutes_per_point: int

    @property
    def travel_weight(self) -> float:
        """Interest points given up per minute on the road (the solver's travel weight)."""
        return 1.0 / self.minutes_per_point

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "max_stops": self.max_stops,
            "min_visit_minutes": self.min_visit_minutes,
            "max_road_share": self.max_road_share,
            "fillers": self.fillers,
            "minutes_per_point": self.minutes_per_point,
        }


PACES: dict[str, Pace] = {
    "relaxed": Pace("relaxed", 3, 60, 0.25, False, 30),
    "balanced": Pace("balanced", 5, 45, 0.35, False, 60),
    "packed": Pace("packed", 8, 30, 0.5, True, 120),
}
DEFAULT_PACE = "balanced"
#: The lunch break: it starts and ends between these minutes of the day (11:00-13:30), lasts
#: the pace's minutes (at least :data:`MIN_LUNCH_MINUTES` when the day leaves less), and is
#: planned by default when the day is longer than :data:`LUNCH_AUTO_DAY_MINUTES`.
LUNCH_WINDOW = (11 * 60, 13 * 60 + 30)
LUNCH_MINUTES = {"relaxed": 60, "balanced": 60, "packed": 45}
#: The score of the lunch break: above any day's interest points (at most 10 stops of 2 and
#: the road time's price), so a day with a lunch that fits always ranks above one without.
LUNCH_SCORE = 100.0
MIN_LUNCH_MINUTES = 45
LUNCH_AUTO_DAY_MINUTES = 6 * 60
#: Plans are made for today up to this many days ahead (the booking horizon's default).
HORIZON_DAYS = 366
FIELDS = (
    "start",
    "date",
    "start_time",
    "end_time",
    "mode",
    "party",
    "interests",
    "budget_vnd",
    "must_include",
    "exclude",
    "max_stops",
    "alternatives",
    "lang",
    "pace",
    "max_travel_minutes",
    "lunch",
    "shopping",
)
#: The Hanoi area (the capital's boundary box, rounded outwards): starts outside it are refused.
HANOI_BOX = (20.5, 21.45, 105.25, 106.05)  # south, north, west, east


def bad(
    field_name: str, message: str, code: str = "invalid_field", **details: Any
) -> ValidationError:
    """A 400 error naming ``field_name``."""
    return ValidationError(f"{field_name}: {message}", code=code, field=field_name, **details)


@dataclass(frozen=True)
class Start:
    """Where the day starts and ends: exactly one of landmark, coordinates or address."""

    landmark: str | None = None
    lat: float | None = None
    lon: float | None = None
    address: str | None = None

    def as_dict(self) -> dict[str, Any]:
        if self.landmark:
            return {"landmark": self.landmark}
        if self.address:
            return {"address": self.address}
        return {"lat": self.lat, "lon": self.lon}


@dataclass(frozen=True)
class PlanRequest:
    """A validated plan request (see :func:`parse_request`)."""

    start: Start
    day: date
    start_time: time
    end_time: time
    mode: str
    party: Party
    interests: dict[str, float]
    budget_vnd: int | None
    must_include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    max_stops: int = 5
    alternatives: int = 3
    lang: str = "vi"
    pace: str = DEFAULT_PACE
    max_travel_minutes: int | None = None
    #: True or False as asked; None: on for days over LUNCH_AUTO_DAY_MINUTES.
    lunch: bool | None = None
    #: A shopping stop at a sales point (``domain/shopping.py``) in every itinerary.
    shopping: bool = False

    @property
    def pace_rules(self) -> Pace:
        return PACES[self.pace]

    @property
    def day_minutes(self) -> int:
        return (self.end_time.hour * 60 + self.end_time.minute) - (
            self.start_time.hour * 60 + self.start_time.minute
        )

    @property
    def stop_limit(self) -> int:
        """Most stops: the request's ``max_stops`` within the pace's."""
        return min(self.max_stops, self.pace_rules.max_stops)

    @property
    def travel_limit(self) -> int:
        """Most minutes on the road: the pace's share of the day, and max_travel_minutes."""
        share = int(self.pace_rules.max_road_share * self.day_minutes)
        if self.max_travel_minutes is None:
            return share
        return min(share, self.max_travel_minutes)

    @property
    def lunch_break(self) -> tuple[int, int, int] | None:
        """``(earliest start, latest end, minutes)`` of the day's lunch break, in minutes of
        the day, or None: not wanted, or the day does not cover 45 minutes of 11:00-13:30."""
        wanted = self.lunch if self.lunch is not None else self.day_minutes > LUNCH_AUTO_DAY_MINUTES
        if not wanted:
            return None
        opens = max(LUNCH_WINDOW[0], self.start_time.hour * 60 + self.start_time.minute)
        closes = min(LUNCH_WINDOW[1], self.end_time.hour * 60 + self.end_time.minute)
        minutes = min(LUNCH_MINUTES[self.pace], closes - opens)
        if minutes < MIN_LUNCH_MINUTES:
            return None
        return opens, closes, minutes

    def is_filler(self, category: str) -> bool:
        """True if a category matches no stated interest (none stated: nothing is filler)."""
        return bool(self.interests) and category not in self.interests

    def weight(self, category: str) -> float:
        """Interest weight of a craft category for this request."""
        if not self.interests:
            return 1.0
        return self.interests.get(category, DEFAULT_WEIGHT)

    def as_dict(self) -> dict[str, Any]:
        """JSON form, as stored with the plan and re-submitted by the planner page."""
        return {
            "start": self.start.as_dict(),
            "date": self.day.isoformat(),
            "start_time": self.start_time.strftime("%H:%M"),
            "end_time": self.end_time.strftime("%H:%M"),
            "mode": self.mode,
            "party": self.party.as_dict(),
            "interests": dict(self.interests),
            "budget_vnd": self.budget_vnd,
            "must_include": list(self.must_include),
            "exclude": list(self.exclude),
            "max_stops": self.max_stops,
            "alternatives": self.alternatives,
            "lang": self.lang,
            "pace": self.pace,
            "max_travel_minutes": self.max_travel_minutes,
            "lunch": self.lunch,
            "shopping": self.shopping,
        }


def parse_request(data: object, today: date) -> PlanRequest:
    """Validate a JSON plan request; raise :class:`ValidationError` naming the first bad field.

    ``today`` is the current date in Hanoi (dates before it are refused).
    """
    if not isinstance(data, Mapping):
        raise bad("body", "expected a JSON object", code="invalid_body")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise bad(unknown[0], "unknown field", code="unknown_field", allowed=list(FIELDS))
    start_time = _time(data, "start_time", "08:00")
    end_time = _time(data, "end_time", "18:00")
    if end_time <= start_time:
        raise bad("end_time", "the day must end after it starts", code="end_before_start")
    must = _slugs(data, "must_include")
    exclude = _slugs(data, "exclude")
    both = sorted(set(must) & set(exclude))
    if both:
        raise bad("exclude", f"{both[0]!r} is both must-include and excluded", slug=both[0])
    return PlanRequest(
        start=_start(data.get("start")),
        day=_date(data.get("date"), today),
        start_time=start_time,
        end_time=end_time,
        mode=_choice(data, "mode", MODES, "car"),
        party=_party(data.get("party")),
        interests=_interests(data.get("interests")),
        budget_vnd=_budget(data.get("budget_vnd")),
        must_include=must,
        exclude=exclude,
        max_stops=_int(data, "max_stops", 5, 1, MAX_STOPS_LIMIT),
        alternatives=_int(data, "alternatives", 3, 1, MAX_ALTERNATIVES),
        lang=_choice(data, "lang", LANGS, "vi"),
        pace=_choice(data, "pace", tuple(PACES), DEFAULT_PACE),
        max_travel_minutes=_optional_int(
            data, "max_travel_minutes", MIN_TRAVEL_MINUTES, MAX_TRAVEL_MINUTES
        ),
        lunch=_optional_bool(data, "lunch"),
        shopping=bool(_optional_bool(data, "shopping")),
    )


def request_errors(data: object, today: date) -> list[ValidationError]:
    """Every refused field of a plan request, in form order (empty: :func:`parse_request`
    accepts it). Forms show them all at once; the API answers with the first."""
    if not isinstance(data, Mapping):
        return [bad("body", "expected a JSON object", code="invalid_body")]
    errors: list[ValidationError] = []

    def check(validate: Any) -> Any:
        try:
            return validate()
        except ValidationError as exc:
            errors.append(exc)
            return None

    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        errors.append(bad(unknown[0], "unknown field", code="unknown_field"))
    check(lambda: _start(data.get("start")))
    check(lambda: _date(data.get("date"), today))
    start_time = check(lambda: _time(data, "start_time", "08:00"))
    end_time = check(lambda: _time(data, "end_time", "18:00"))
    if start_time and end_time and end_time <= start_time:
        errors.append(bad("end_time", "the day must end after it starts", code="end_before_start"))
    check(lambda: _choice(data, "mode", MODES, "car"))
    check(lambda: _choice(data, "pace", tuple(PACES), DEFAULT_PACE))
    check(lambda: _optional_int(data, "max_travel_minutes", MIN_TRAVEL_MINUTES, MAX_TRAVEL_MINUTES))
    check(lambda: _party(data.get("party")))
    check(lambda: _budget(data.get("budget_vnd")))
    check(lambda: _interests(data.get("interests")))
    must = check(lambda: _slugs(data, "must_include")) or ()
    exclude = check(lambda: _slugs(data, "exclude")) or ()
    both = sorted(set(must) & set(exclude))
    if both:
        errors.append(
            bad("exclude", f"{both[0]!r} is both must-include and excluded", slug=both[0])
        )
    check(lambda: _int(data, "max_stops", 5, 1, MAX_STOPS_LIMIT))
    check(lambda: _int(data, "alternatives", 3, 1, MAX_ALTERNATIVES))
    check(lambda: _choice(data, "lang", LANGS, "vi"))
    check(lambda: _optional_bool(data, "lunch"))
    check(lambda: _optional_bool(data, "shopping"))
    return errors


def _start(value: object) -> Start:
    if not isinstance(value, Mapping) or not value:
        raise bad(
            "start",
            'give {"landmark": slug}, {"lat", "lon"} or {"address": text}',
            code="missing_start",
        )
    keys = set(value)
    if keys == {"landmark"}:
        if not is_slug(value["landmark"]):
            raise bad("start.landmark", "expected a landmark slug such as 'hoan-kiem-lake'")
        return Start(landmark=value["landmark"])
    if keys == {"address"}:
        # Shown on the shared plan page and sent to the geocoder: controls stripped.
        text = inputs.clean_text(
            value["address"], "start.address", max_length=MAX_ADDRESS_CHARS, min_length=3
        )
        return Start(address=text)
    if keys == {"lat", "lon"}:
        lat, lon = _number(value["lat"], "start.lat"), _number(value["lon"], "start.lon")
        if not -90 <= lat <= 90:
            raise bad("start.lat", "latitude must be between -90 and 90")
        if not -180 <= lon <= 180:
            raise bad("start.lon", "longitude must be between -180 and 180")
        return Start(lat=lat, lon=lon)
    raise bad(
        "start",
        'give exactly one of {"landmark"}, {"lat", "lon"} or {"address"}',
        code="invalid_start",
    )


def in_hanoi(lat: float, lon: float) -> bool:
    """True if a point lies in the Hanoi area (:data:`HANOI_BOX`)."""
    south, north, west, east = HANOI_BOX
    return south <= lat <= north and west <= lon <= east


def _number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad(name, "expected a number")
    return float(value)


def _date(value: object, today: date) -> date:
    if value is None:
        raise bad("date", "required (YYYY-MM-DD)", code="missing_field")
    try:
        day = date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        day = None
    if day is None or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):  # type: ignore[arg-type]
        raise bad("date", "expected a date as YYYY-MM-DD")
    if day < today:
        raise bad("date", f"{day.isoformat()} is in the past", code="date_in_past")
    if (day - today).days > HORIZON_DAYS:
        raise bad("date", "plans can be made up to one year ahead", max_days=HORIZON_DAYS)
    return day


def _time(data: Mapping, name: str, default: str) -> time:
    value = data.get(name, default)
    try:
        return parse_hhmm(value)
    except ValueError:
        raise bad(name, "expected a time as HH:MM (24 h)") from None


def _choice(data: Mapping, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = data.get(name, default)
    if value not in allowed:
        raise bad(
            name, f"unknown value {value!r}; use one of {', '.join(allowed)}", allowed=list(allowed)
        )
    return value


def _int(data: Mapping, name: str, default: int, low: int, high: int) -> int:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise bad(name, f"expected a whole number between {low} and {high}")
    return value


def _optional_int(data: Mapping, name: str, low: int, high: int) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise bad(name, f"expected a whole number between {low} and {high}, or null")
    return value


def _optional_bool(data: Mapping, name: str) -> bool | None:
    value = data.get(name)
    if value is not None and not isinstance(value, bool):
        raise bad(name, "expected true, false or null")
    return value


def _party(value: object) -> Party:
    if not isinstance(value, Mapping):
        raise bad("party", 'expected {"adults", "children", "seniors"}')
    try:
        return Party.from_mapping(value)
    except (ValueError, TypeError) as exc:
        message = str(exc)
        name = next(
            (f"party.{k}" for k in ("adults", "children", "seniors") if f"party.{k}" in message),
            "party",
        )
        raise bad(name, message.removeprefix(f"{name} "), code="invalid_party") from None


def _interests(value: object) -> dict[str, float]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise bad("interests", "expected an object {category: weight between 0 and 1}")
    out: dict[str, float] = {}
    for category, weight in value.items():
        if category not in CATEGORIES:
            raise bad(
                f"interests.{category}",
                f"unknown craft category {category!r}",
                code="unknown_category",
                allowed=list(CATEGORIES),
            )
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 1:
            raise bad(f"interests.{category}", "weight must be a number between 0 and 1")
        out[category] = float(weight)
    return out


def _budget(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad("budget_vnd", "expected a whole number of VND")
    if value < 0:
        raise bad("budget_vnd", "must not be negative", code="negative_budget")
    if value > inputs.MAX_BUDGET_VND:
        raise bad("budget_vnd", f"at most {inputs.MAX_BUDGET_VND} VND", max=inputs.MAX_BUDGET_VND)
    return value


def _slugs(data: Mapping, name: str) -> tuple[str, ...]:
    value = data.get(name)
    if value is None:
        value = []
    if not isinstance(value, list) or not all(is_slug(v) for v in value):
        raise bad(name, "expected a list of village or experience slugs")
    if len(value) > MAX_SLUGS:
        raise bad(name, f"at most {MAX_SLUGS} entries")
    return tuple(dict.fromkeys(value))


# --- what an experience is worth to this party -------------------------------------------


@dataclass(frozen=True)
class Offer:
    """An experience as the planner sees it, with the party's price and the reasons."""

    experience_id: int
    slug: str
    village: str
    category: str
    kind: str
    duration: int
    score: float
    price_vnd: int
    reasons: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    price_note: dict[str, Any] | None = None


@dataclass(frozen=True)
class ExperienceFacts:
    """The catalogue facts the planner needs about one experience (no ORM types here)."""

    id: int
    slug: str
    village: str
    category: str
    kind: str
    duration: int
    prices: Mapping[str, int | None]
    price_fact: Mapping[str, Any] | None = None
    min_age: int | None = None
    bookable: bool = False


def visit_price(fact: Mapping[str, Any] | None, party: Party) -> tuple[int, dict | None]:
    """Cost of a plain visit: a stated per-person price times the party size, else 0.

    Returns the price and a note for the traveller (None when nothing is reported). A stated
    range uses its upper end, so the budget is never understated. Prices in other units
    (e.g. "per self-made piece") are shown as a note but not charged.
    """
    if not fact or fact.get("min") is None:
        return 0, None
    unit = str(fact.get("unit") or "")
    note = {
        "code": "reported_price",
        "min": fact.get("min"),
        "max": fact.get("max"),
        "unit": unit,
        "as_of": fact.get("as_of"),
        "source": fact.get("source"),
    }
    if "per person" not in unit:
        return 0, {**note, "charged": False}
    each = int(fact.get("max") or fact["min"])
    return each * party.size, {**note, "charged": True}


def make_offer(
    facts: ExperienceFacts, request: PlanRequest, must: bool = False
) -> tuple[Offer | None, str | None]:
    """The offer of one experience to the request's party, or (None, why it is not offered)."""
    party = request.party
    pace = request.pace_rules
    if not must and facts.duration < pace.min_visit_minutes:
        return None, "too_short_for_pace"
    if not must and not pace.fillers and request.is_filler(facts.category):
        return None, "no_matching_interest"
    if party.children and facts.min_age is not None and facts.min_age >= ADULT_ONLY_AGE:
        return None, "adults_only"
    reasons: list[dict[str, Any]] = [
        {"code": "interest", "category": facts.category, "weight": request.weight(facts.category)}
    ]
    note = None
    if facts.kind == "workshop":
        if not facts.bookable:
            return None, "not_bookable"
        price = party_price(facts.prices, party)
        if price is None:
            return None, "no_price_for_party"
        reasons.append({"code": "workshop"})
    else:
        price, note = visit_price(facts.price_fact, party)
    if party.children and facts.min_age:
        reasons.append({"code": "min_age", "age": facts.min_age})
    if must:
        reasons.append({"code": "must_include"})
    score = request.weight(facts.category) * BASE_VALUE.get(facts.kind, 1.0)
    return Offer(
        facts.id,
        facts.slug,
        facts.village,
        facts.category,
        facts.kind,
        facts.duration,
        round(score, 4),
        price,
        tuple(reasons),
        note,
    ), None
