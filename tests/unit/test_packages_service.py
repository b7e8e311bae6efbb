"""The package builder's service (issue #11, items 2-5): create and update with errors by
field, a day's stops (an experience on one day only, a known position), the check naming what
breaks (closed that day, arrives after closing, full, no session, not bookable, over the day's
hours), the route engine's fill around locked stops, publishing and withdrawing, the dates a
package runs and the booking plan of a date (all or nothing). Time is passed as ``now``."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from package_fixtures import agency
from sqlalchemy import func, select

from tourplanner.adapters.orm import Booking, Experience, Package, Slot
from tourplanner.domain.errors import Conflict, NotFound, Unprocessable, ValidationError
from tourplanner.domain.pricing import Party
from tourplanner.extensions import db
from tourplanner.services import availability, package_booking, packages

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
#: Monday 2 March 2026, 09:00 in Hanoi.
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=HANOI)
SATURDAY = date(2026, 3, 14)
SUNDAY = date(2026, 3, 15)
MONDAY = date(2026, 3, 16)
CONTACT = {"name": "Mai Trần", "email": "mai@example.org", "phone": None}
#: A field left out of the body.
MISSING = object()
BASE = {
    "name_vi": "Một ngày làng nghề",
    "name_en": "A craft-village day",
    "start": {"landmark": "hoan-kiem-lake"},
}


@pytest.fixture
def owner(app) -> int:
    return agency("Sen").id


@pytest.fixture
def other(app) -> int:
    return agency("Lotus").id


def make(agency_id: int, **fields) -> str:
    return packages.create(agency_id, {**BASE, **fields}, now=NOW)["slug"]


def stops(agency_id: int, slug: str, number: int, *slugs: str, on=SATURDAY, locked=True):
    return packages.set_stops(
        agency_id,
        slug,
        number,
        [{"experience": s, "locked": locked} for s in slugs],
        first_date=on,
        now=NOW,
    )


def experience(slug: str) -> Experience:
    return db.session.scalars(select(Experience).where(Experience.slug == slug)).one()


def _raises(error_type, call, *args, **kwargs):
    with pytest.raises(error_type) as caught:
        call(*args, **kwargs)
    return caught.value


# --- create and update -----------------------------------------------------------------------


def test_two_packages_of_one_name_at_once_get_two_slugs_or_a_409(owner, monkeypatch):
    first = make(owner)
    # Both creates saw the name free: the second insert meets the unique slug.
    monkeypatch.setattr(packages, "_unused_slug", lambda session, name: first)
    error = _raises(Conflict, make, owner)
    assert error.code == "slug_taken"
    assert db.session.scalar(select(func.count(Package.id))) == 1


def test_update_refuses_per_day_settings_together_with_settings_for_every_day(owner):
    slug = make(owner, days=2)
    error = _raises(
        ValidationError,
        packages.update,
        owner,
        slug,
        {"lunch": False, "days": [{"number": 1, "day_end": "16:00"}]},
        now=NOW,
    )
    assert (error.code, error.details["field"]) == ("ambiguous_days", "days")


def test_create_makes_a_draft_with_the_builders_defaults(owner):
    view = packages.create(owner, {**BASE, "days": 2}, now=NOW)
    assert view["slug"] == "a-craft-village-day" and view["status"] == "draft"
    assert view["party"] == {"adults": 2, "children": 0, "seniors": 0}
    assert (view["travel_mode"], view["markup_kind"], view["markup_bp"]) == ("car", "percent", 0)
    assert [
        (d["number"], d["start"]["landmark"], d["day_start"], d["day_end"], d["lunch"])
        for d in view["days"]
    ] == [
        (1, "hoan-kiem-lake", "08:00", "17:00", True),
        (2, "hoan-kiem-lake", "08:00", "17:00", True),
    ]
    assert view["days"][0]["start"]["lat"] == pytest.approx(21.03, abs=0.01)
    # The check is on tomorrow by default, and a day without stops is named.
    assert view["check"]["date"] == "2026-03-03" and view["check"]["empty_days"] == [1, 2]
    # A second package of the same name gets its own slug.
    assert make(owner) == "a-craft-village-day-2"


@pytest.mark.parametrize(
    "change,field,code",
    [
        ({"name_vi": MISSING}, "name_vi", "invalid_field"),
        ({"name_en": " \t "}, "name_en", "invalid_field"),
        ({"name_en": "x" * 201}, "name_en", "invalid_field"),
        ({"description_vi": 5}, "description_vi", "invalid_field"),
        ({"days": 0}, "days", "invalid_field"),
        ({"days": 6}, "days", "invalid_field"),
        ({"days": True}, "days", "invalid_field"),
        ({"days": [{"number": 1}]}, "days", "invalid_field"),  # a list only on update
        ({"travel_mode": "boat"}, "travel_mode", "invalid_field"),
        ({"interests": ["ceramics", "robots"]}, "interests[1]", "invalid_field"),
        ({"interests": "ceramics"}, "interests", "invalid_field"),
        ({"party": {"adults": 0}}, "party", "invalid_party"),
        ({"party": {"adults": 101}}, "party.adults", "invalid_field"),
        ({"party": {"pets": 1}}, "party.pets", "unknown_field"),
        ({"markup_kind": "double"}, "markup_kind", "invalid_field"),
        ({"markup_bp": -1}, "markup_bp", "invalid_field"),
        ({"markup_bp": 100_001}, "markup_bp", "invalid_field"),
        ({"retail_prices": {"adult": "300000"}}, "retail_prices.adult", "invalid_field"),
        ({"retail_prices": {"infant": 1}}, "retail_prices.infant", "unknown_field"),
        ({"start": MISSING}, "start", "missing_field"),
        ({"start": None}, "start", "invalid_field"),
        ({"start": {"landmark": "atlantis"}}, "start.landmark", "unknown_landmark"),
        ({"start": {"landmark": "Hoan Kiem"}}, "start.landmark", "unknown_landmark"),
        ({"start": {"lat": 10.77, "lon": 106.70}}, "start", "outside_hanoi"),
        ({"start": {"lat": 21.0}}, "start.lon", "invalid_field"),
        ({"start": {"landmark": "hoan-kiem-lake", "lat": 21.0}}, "start", "invalid_field"),
        ({"start": {"lat": 21.0, "lon": 105.8, "label": "\x00"}}, "start.label", "invalid_text"),
        ({"day_start": "8:00"}, "day_start", "invalid_field"),
        ({"day_end": "24:00"}, "day_end", "invalid_field"),
        ({"day_start": "18:00"}, "day_end", "invalid_hours"),
        ({"day_start": "10:00", "day_end": "09:00"}, "day_end", "invalid_hours"),
        ({"lunch": "yes"}, "lunch", "invalid_field"),
        ({"colour": "red"}, "colour", "unknown_field"),
    ],
)
def test_create_names_the_field_of_each_error(owner, change, field, code):
    body = {k: v for k, v in {**BASE, **change}.items() if v is not MISSING}
    error = _raises(ValidationError, packages.create, owner, body, now=NOW)
    assert (error.details["field"], error.code) == (field, code)
    assert db.session.scalar(select(func.count()).select_from(Package)) == 0


def test_create_refuses_a_body_that_is_not_an_object(owner):
    error = _raises(ValidationError, packages.create, owner, [BASE], now=NOW)
    assert (error.details["field"], error.code) == ("body", "invalid_body")


def test_update_changes_the_fields_sent_and_the_days_count_or_settings(owner, other):
    slug = make(owner, days=2, day_start="07:30")
    stops(owner, slug, 2, "van-phuc-workshop-silk-weaving")
    view = packages.update(
        owner, slug, {"name_en": "Silk day", "days": 3, "markup_bp": 2000}, now=NOW
    )
    assert view["name"]["en"] == "Silk day" and view["markup_bp"] == 2000
    # The third day is like the last one (without its stops).
    assert [(d["number"], d["day_start"], len(d["stops"])) for d in view["days"]] == [
        (1, "07:30", 0),
        (2, "07:30", 1),
        (3, "07:30", 0),
    ]
    view = packages.update(
        owner,
        slug,
        {"days": [{"number": 3, "start": {"lat": 21.0, "lon": 105.8, "label": "Hotel"}}]},
        now=NOW,
    )
    assert view["days"][2]["start"] == {
        "label": "Hotel",
        "landmark": None,
        "lat": 21.0,
        "lon": 105.8,
    }
    view = packages.update(owner, slug, {"lunch": False, "days": 1}, now=NOW)
    assert [(d["number"], d["lunch"]) for d in view["days"]] == [(1, False)]
    # Day 2 went with its stop.
    assert view["villages"] == []
    error = _raises(ValidationError, packages.update, owner, slug, {"days": [{"number": 2}]})
    assert (error.details["field"], error.code) == ("days", "unknown_day")
    error = _raises(
        ValidationError, packages.update, owner, slug, {"days": [{"number": 1}, {"number": 1}]}
    )
    assert (error.details["field"], error.code) == ("days[1].number", "duplicate_day")
    error = _raises(ValidationError, packages.update, owner, slug, {"day_end": "06:00"})
    assert (error.details["field"], error.code) == ("day_end", "invalid_hours")
    # Another agency's package is not there for it.
    assert _raises(NotFound, packages.update, other, slug, {"name_en": "Mine"}).code == (
        "package_not_found"
    )
    assert packages.get_for_agency(owner, slug, now=NOW)["name"]["en"] == "Silk day"


# --- a day's stops ---------------------------------------------------------------------------


def test_set_stops_keeps_order_locks_and_planned_starts(owner):
    slug = make(owner, day_start="08:00", lunch=False)
    view = packages.set_stops(
        owner,
        slug,
        1,
        {
            "stops": [
                {"experience": "bat-trang-workshop-pottery-wheel", "locked": True},
                {"experience": "bat-trang-visit"},
            ]
        },
        first_date=SATURDAY,
        now=NOW,
    )
    day = view["days"][0]
    assert [(s["position"], s["experience"], s["locked"]) for s in day["stops"]] == [
        (0, "bat-trang-workshop-pottery-wheel", True),
        (1, "bat-trang-visit", False),
    ]
    # Bát Tràng's sessions start every 90 minutes from 08:00: the party arrives after 08:00
    # and takes the 09:30 session; the visit follows it. The check's times are the planned
    # starts.
    timed = view["check"]["days"][0]["stops"]
    assert [s["start"] for s in day["stops"]] == [s["start"] for s in timed]
    assert timed[0]["start"] == "09:30" and timed[1]["arrival"] == timed[1]["start"] >= "11:00"
    assert view["check"]["date"] == SATURDAY.isoformat() and view["check"]["ok"] is True
    assert [v["slug"] for v in view["villages"]] == ["bat-trang"]


def test_set_stops_refuses_an_experience_already_on_another_day(owner):
    slug = make(owner, days=2)
    stops(owner, slug, 1, "bat-trang-workshop-pottery-wheel")
    error = _raises(
        ValidationError,
        stops,
        owner,
        slug,
        2,
        "van-phuc-workshop-silk-weaving",
        "bat-trang-workshop-pottery-wheel",
    )
    assert (error.code, error.details["field"], error.details["day"]) == (
        "duplicate_stop",
        "stops[1].experience",
        1,
    )
    # Nothing of the refused change was kept.
    view = packages.get_for_agency(owner, slug, now=NOW)
    assert [len(d["stops"]) for d in view["days"]] == [1, 0]
    # Moving it is replacing day 1's stops first.
    stops(owner, slug, 1)
    assert stops(owner, slug, 2, "bat-trang-workshop-pottery-wheel")["days"][1]["stops"]


def test_set_stops_refuses_an_experience_twice_unknown_or_without_a_position(owner):
    slug = make(owner)
    error = _raises(ValidationError, stops, owner, slug, 1, "bat-trang-visit", "bat-trang-visit")
    assert (error.code, error.details["field"]) == ("duplicate_stop", "stops[1].experience")
    error = _raises(ValidationError, stops, owner, slug, 1, "no-such-workshop")
    assert (error.code, error.details["field"]) == ("unknown_experience", "stops[0].experience")
    error = _raises(ValidationError, stops, owner, slug, 1, "Not A Slug")
    assert (error.code, error.details["field"]) == ("unknown_experience", "stops[0].experience")
    village = experience("duong-lam-visit").village
    village.lat = village.lon = None
    db.session.commit()
    error = _raises(ValidationError, stops, owner, slug, 1, "bat-trang-visit", "duong-lam-visit")
    assert (error.code, error.details["field"]) == ("no_position", "stops[1].experience")
    too_many = [f"stop-{n}" for n in range(9)]
    error = _raises(ValidationError, stops, owner, slug, 1, *too_many)
    assert (error.code, error.details["field"]) == ("invalid_field", "stops")
    assert _raises(NotFound, stops, owner, slug, 2, "bat-trang-visit").code == "day_not_found"


# --- the check: what breaks, and why ---------------------------------------------------------


def _check_one(owner, slug_of_stop: str, on: date, *, party=None, **day) -> list[dict]:
    """Problems of a 1-day package with one stop, checked on ``on``."""
    slug = make(owner, lunch=False, **day)
    stops(owner, slug, 1, slug_of_stop)
    view = packages.check(slug, on, party, agency_id=owner, now=NOW)
    assert view["ok"] is False
    return view["problems"]


def test_the_check_names_a_workshop_closed_that_day(owner):
    # Vạn Phúc's silk workshop has no sessions on Mondays.
    assert _check_one(owner, "van-phuc-workshop-silk-weaving", MONDAY) == [
        {
            "code": "closed_that_day",
            "experience": "van-phuc-workshop-silk-weaving",
            "message": "closed that day",
            "day": 1,
        }
    ]


def test_the_check_names_a_visit_that_arrives_after_closing(owner):
    # Đường Lâm takes three hours and closes at 17:00; leaving at 15:00 is too late.
    problems = _check_one(owner, "duong-lam-visit", SATURDAY, day_start="15:00", day_end="23:59")
    assert [(p["code"], p["experience"]) for p in problems] == [
        ("arrives_after_closing", "duong-lam-visit")
    ]


def test_the_check_names_a_full_workshop_with_the_places_left(owner):
    exp = experience("bat-trang-workshop-pottery-wheel")
    for slot in availability.slots_for_day([exp.id], SATURDAY, now=NOW)[exp.id]:
        row = db.session.get(Slot, slot.id)
        row.taken = row.capacity - 1
    db.session.commit()
    problems = _check_one(owner, "bat-trang-workshop-pottery-wheel", SATURDAY)
    assert problems == [
        {
            "code": "full",
            "experience": "bat-trang-workshop-pottery-wheel",
            "left": 1,
            "message": "full",
            "day": 1,
        }
    ]
    # One person still fits.
    slug = db.session.scalars(select(Package.slug).order_by(Package.id.desc())).first()
    assert packages.check(slug, SATURDAY, Party(adults=1), agency_id=owner, now=NOW)["ok"]


def test_the_check_names_a_day_over_its_hours(owner):
    # A 90-minute workshop 40 minutes away does not fit in 08:00-09:30.
    problems = _check_one(
        owner, "bat-trang-workshop-pottery-wheel", SATURDAY, day_start="08:00", day_end="09:30"
    )
    assert [(p["code"], p["experience"]) for p in problems] == [
        ("over_day_hours", "bat-trang-workshop-pottery-wheel")
    ]


def test_the_check_names_a_workshop_with_no_session_left_and_one_that_takes_no_bookings(owner):
    # Kim Hoàng's last Saturday session starts at 15:30.
    problems = _check_one(
        owner, "kim-hoang-workshop-folk-painting", SATURDAY, day_start="16:00", day_end="22:00"
    )
    assert [p["code"] for p in problems] == ["no_session"]
    experience("xuan-la-workshop-to-he").capacity = None  # no published capacity
    db.session.commit()
    assert [p["code"] for p in _check_one(owner, "xuan-la-workshop-to-he", SATURDAY)] == [
        "not_bookable"
    ]


def _minutes(hhmm: str) -> int:
    return int(hhmm[:2]) * 60 + int(hhmm[3:])


def test_the_check_times_every_stop_of_every_day_and_places_lunch(owner):
    slug = make(owner, days=2, day_start="08:00", day_end="19:00")
    stops(owner, slug, 1, "bat-trang-workshop-pottery-wheel", "bat-trang-visit")
    stops(owner, slug, 2, "van-phuc-workshop-silk-weaving", "lang-chuong-workshop-conical-hat")
    view = packages.check(slug, SATURDAY, agency_id=owner, now=NOW)
    assert view["ok"] is True and [d["date"] for d in view["days"]] == ["2026-03-14", "2026-03-15"]
    for day in view["days"]:
        clock = _minutes("08:00")
        for stop in day["stops"]:
            arrival, start, end = (_minutes(stop[k]) for k in ("arrival", "start", "end"))
            assert arrival == clock + stop["travel_before"] and start >= arrival
            assert end - start == stop["duration_minutes"]
            assert (stop["slot_id"] is not None) == (stop["kind"] == "workshop")
            clock = end
        lunch = day["lunch"]
        assert lunch is not None
        opens, closes = _minutes(lunch["start"]), _minutes(lunch["end"])
        assert opens >= 11 * 60 and closes <= 13 * 60 + 30 and 45 <= closes - opens <= 60
        # Lunch never overlaps a stop.
        assert all(
            _minutes(s["end"]) <= opens or _minutes(s["start"]) >= closes for s in day["stops"]
        )
        assert _minutes(day["back_at"]) <= 19 * 60 and day["travel_minutes"] > 0


# --- the route engine's fill -----------------------------------------------------------------


def test_fill_keeps_locked_stops_and_adds_others_never_on_two_days(owner):
    slug = make(owner, days=2, day_start="08:00", day_end="18:00", interests=["rattan_bamboo"])
    stops(owner, slug, 1, "van-phuc-workshop-silk-weaving")
    stops(owner, slug, 2, "bat-trang-workshop-pottery-wheel")
    view = packages.fill(owner, slug, first_date=SATURDAY, now=NOW, time_limit=0.1)
    days = [[(s["experience"], s["locked"]) for s in d["stops"]] for d in view["days"]]
    assert ("van-phuc-workshop-silk-weaving", True) in days[0]
    assert ("bat-trang-workshop-pottery-wheel", True) in days[1]
    assert all(len(d) >= 2 for d in days)
    every = [e for d in days for e, _locked in d]
    assert len(every) == len(set(every))  # an experience on one day only
    for report, day in zip(view["fill"], days, strict=True):
        assert report["added"] == [e for e, locked in day if not locked]
        assert report["unfit_locked"] == []
    # The engine's stops are repaired against the day check: the filled package works.
    assert view["check"]["ok"] is True and view["check"]["date"] == SATURDAY.isoformat()
    assert packages.check(slug, SATURDAY, agency_id=owner, now=NOW)["ok"] is True


def test_fill_keeps_a_locked_stop_that_cannot_fit_and_says_why(owner):
    slug = make(owner)
    stops(owner, slug, 1, "van-phuc-workshop-silk-weaving", on=MONDAY)
    view = packages.fill(owner, slug, first_date=MONDAY, now=NOW, time_limit=0.1)
    assert view["fill"][0]["unfit_locked"] == ["van-phuc-workshop-silk-weaving"]
    kept = [(s["experience"], s["locked"]) for s in view["days"][0]["stops"]]
    assert ("van-phuc-workshop-silk-weaving", True) in kept
    assert {
        "code": "closed_that_day",
        "experience": "van-phuc-workshop-silk-weaving",
        "message": "closed that day",
        "day": 1,
    } in view["check"]["problems"]


def test_fill_of_an_empty_day_plans_it_and_locks_nothing(owner):
    slug = make(owner)
    view = packages.fill(owner, slug, first_date=SATURDAY, now=NOW, time_limit=0.1)
    day = view["days"][0]["stops"]
    assert day and not any(s["locked"] for s in day)
    assert view["fill"][0]["added"] == [s["experience"] for s in day]
    assert view["check"]["ok"] is True


def test_fill_with_no_interests_prefers_workshops_to_short_visits(owner):
    slug = make(owner, day_start="08:00", day_end="17:00")
    view = packages.fill(owner, slug, first_date=SATURDAY, now=NOW, time_limit=0.1)
    kinds = [s["kind"] for s in view["days"][0]["stops"]]
    assert kinds.count("workshop") >= kinds.count("visit") and "workshop" in kinds


def test_fill_takes_a_planning_place_and_is_503_when_none_is_left(app, owner):
    from tourplanner.domain.errors import Unavailable
    from tourplanner.services.planning import planning_place

    app.config["PLAN_CONCURRENCY"] = 1
    slug = make(owner)
    with planning_place() as placed:
        assert placed
        error = _raises(Unavailable, packages.fill, owner, slug, first_date=SATURDAY, now=NOW)
    assert error.code == "planner_busy" and error.details["retry_after"] > 0
    assert packages.fill(owner, slug, first_date=SATURDAY, now=NOW, time_limit=0.05)["fill"]


# --- publishing ------------------------------------------------------------------------------


def test_publish_needs_a_stop_every_day_and_a_retail_price_per_adult(owner, other):
    slug = make(owner, days=2)
    stops(owner, slug, 1, "bat-trang-workshop-pottery-wheel")
    error = _raises(Unprocessable, packages.publish, owner, slug, now=NOW)
    assert (error.code, error.details["empty_days"]) == ("package_incomplete", [2])
    stops(owner, slug, 2, "van-phuc-workshop-silk-weaving")
    packages.update(owner, slug, {"markup_kind": "fixed", "retail_prices": {"child": 1}}, now=NOW)
    assert _raises(Unprocessable, packages.publish, owner, slug, now=NOW).code == (
        "package_not_priced"
    )
    packages.update(owner, slug, {"retail_prices": {"adult": 500_000}}, now=NOW)
    assert _raises(NotFound, packages.publish, other, slug, now=NOW).code == "package_not_found"
    assert _raises(NotFound, packages.get_published, slug).code == "package_not_found"
    view = packages.publish(owner, slug, now=NOW)
    assert view["status"] == "published"
    assert datetime.fromisoformat(view["published_at"]) == NOW
    public = packages.get_published(slug)
    assert public["prices"] == {"retail": {"adult": 500_000, "child": None, "senior": 500_000}}
    assert slug in [p["slug"] for p in packages.list_published()]


def test_withdraw_takes_it_off_sale_and_publishing_again_keeps_the_first_date(owner, other):
    slug = make(owner)
    stops(owner, slug, 1, "bat-trang-workshop-pottery-wheel")
    assert _raises(Conflict, packages.withdraw, owner, slug, now=NOW).code == "not_published"
    packages.publish(owner, slug, now=NOW)
    assert _raises(NotFound, packages.withdraw, other, slug, now=NOW).code == "package_not_found"
    later = NOW + timedelta(days=3)
    assert packages.withdraw(owner, slug, now=later)["status"] == "withdrawn"
    assert _raises(NotFound, packages.get_published, slug).code == "package_not_found"
    assert slug not in [p["slug"] for p in packages.list_published()]
    again = packages.publish(owner, slug, now=later + timedelta(days=1))
    assert again["status"] == "published"
    assert datetime.fromisoformat(again["published_at"]) == NOW


# --- the dates a package runs ----------------------------------------------------------------


def test_run_dates_are_the_days_every_planned_session_runs(owner):
    slug = make(owner, days=2)
    stops(owner, slug, 1, "quat-dong-workshop-embroidery")  # Monday to Saturday
    stops(owner, slug, 2, "kim-hoang-workshop-folk-painting")  # Saturday and Sunday
    dates = packages.run_dates(
        slug, Party(adults=2), MONDAY, MONDAY + timedelta(days=13), agency_id=owner, now=NOW
    )
    # Day 1 a Saturday (day 2 the Sunday) or a Friday (day 2 the Saturday).
    assert [d["date"] for d in dates] == ["2026-03-20", "2026-03-21", "2026-03-27", "2026-03-28"]
    # Quất Động 150 000 + Kim Hoàng 120 000 per adult, no markup: 540 000 for two.
    assert {d["retail_total_vnd"] for d in dates} == {540_000}
    assert {d["places_left"] for d in dates} == {10}  # Quất Động holds 10
    # A draft is the agency's only.
    assert _raises(NotFound, packages.run_dates, slug, Party(adults=1), MONDAY, MONDAY).code == (
        "package_not_found"
    )


def test_run_dates_refuse_bad_ranges_and_parties_without_a_price(owner):
    slug = make(owner)
    stops(owner, slug, 1, "son-dong-workshop-wood-carving")  # no child price
    packages.publish(owner, slug, now=NOW)
    run = packages.run_dates
    error = _raises(
        ValidationError, run, slug, Party(1), MONDAY, MONDAY - timedelta(days=1), now=NOW
    )
    assert (error.code, error.details["field"]) == ("invalid_range", "to")
    error = _raises(
        ValidationError, run, slug, Party(1), MONDAY, MONDAY + timedelta(days=62), now=NOW
    )
    assert (error.code, error.details["max_days"]) == ("range_too_long", 62)
    assert run(slug, Party(1), MONDAY, MONDAY + timedelta(days=61), now=NOW)
    error = _raises(Unprocessable, run, slug, Party(1, 1), MONDAY, MONDAY, now=NOW)
    assert error.code == "package_not_priced"
    # Seniors without a senior price would pay the adult's; Sơn Đồng has one.
    assert run(slug, Party(seniors=1), MONDAY, MONDAY, now=NOW)[0]["retail_total_vnd"] == 150_000


def test_run_dates_stop_at_the_booking_horizon(app, owner):
    slug = make(owner, days=2)
    stops(owner, slug, 1, "bat-trang-workshop-pottery-wheel")
    stops(owner, slug, 2, "lang-chuong-workshop-conical-hat")
    _first, last = availability.horizon(NOW)
    dates = packages.run_dates(
        slug, Party(1), last - timedelta(days=3), last + timedelta(days=5), agency_id=owner, now=NOW
    )
    # The last first date leaves room for day 2 inside the horizon.
    assert dates[-1]["date"] == (last - timedelta(days=1)).isoformat()
    # Dates before today are not offered.
    dates = packages.run_dates(
        slug,
        Party(1),
        NOW.date() - timedelta(days=5),
        NOW.date() + timedelta(days=2),
        agency_id=owner,
        now=NOW,
    )
    assert dates and all(d["date"] >= NOW.date().isoformat() for d in dates)


def test_run_dates_far_beyond_the_horizon_are_none(owner):
    slug = make(owner, days=2)
    stops(owner, slug, 1, "bat-trang-workshop-pottery-wheel")
    stops(owner, slug, 2, "lang-chuong-workshop-conical-hat")
    assert packages.run_dates(slug, Party(1), date.max, date.max, agency_id=owner, now=NOW) == []


# --- the booking plan of a date: all or nothing ----------------------------------------------


def _two_days(owner) -> str:
    """Day 1: Bát Tràng's workshop and visit; day 2: Vạn Phúc's and Làng Chuông's workshops."""
    slug = make(owner, days=2, markup_bp=2000, day_end="19:00")
    stops(owner, slug, 1, "bat-trang-workshop-pottery-wheel", "bat-trang-visit")
    stops(owner, slug, 2, "van-phuc-workshop-silk-weaving", "lang-chuong-workshop-conical-hat")
    packages.publish(owner, slug, now=NOW)
    return slug


def _local(moment: datetime) -> str:
    return moment.astimezone(HANOI).strftime("%Y-%m-%d %H:%M")


def test_the_booking_plan_takes_each_workshops_planned_session_with_its_prices(owner):
    slug = _two_days(owner)
    party = Party(adults=2, children=1)
    plan = packages.booking_plan(slug, SATURDAY, party, now=NOW)
    assert plan.first_date == SATURDAY and plan.slug == slug and plan.agency_id == owner
    slots = [db.session.get(Slot, i.slot_id) for i in plan.items]
    # The three workshops (the visit reserves nothing), each at its planned start.
    days = packages.get_for_agency(owner, slug, now=NOW)["days"]
    planned = [
        (s["experience"], f"{SATURDAY + timedelta(days=d['number'] - 1)} {s['start']}")
        for d in days
        for s in d["stops"]
        if s["kind"] == "workshop"
    ]
    assert [(s.experience.slug, _local(s.start)) for s in slots] == planned
    assert [e for e, _at in planned] == [
        "bat-trang-workshop-pottery-wheel",
        "van-phuc-workshop-silk-weaving",
        "lang-chuong-workshop-conical-hat",
    ]
    assert all(i.party == party for i in plan.items)
    assert plan.labels[slots[1].id] == f"Day 2 · Silk weaving session · {planned[1][1][-5:]}"
    # 2 adults + 1 child: 400 000 + 270 000 + 320 000 net; +20 %, up to the thousand.
    assert plan.net_total_vnd == 990_000
    assert plan.retail_total_vnd == 2 * 444_000 + 300_000
    assert plan.commission_vnd == (plan.retail_total_vnd * 1000 + 5000) // 10_000


def test_a_full_session_makes_the_date_not_runnable_and_names_the_stop(owner):
    slug = _two_days(owner)
    plan = packages.booking_plan(slug, SATURDAY, Party(adults=3), now=NOW)
    full = plan.items[2].slot_id  # day 2's second workshop
    row = db.session.get(Slot, full)
    row.taken = row.capacity - 2
    db.session.commit()
    error = _raises(Conflict, packages.booking_plan, slug, SATURDAY, Party(adults=3), now=NOW)
    assert error.code == "package_not_runnable" and error.details["date"] == "2026-03-14"
    assert error.details["problems"] == [
        {
            "code": "full",
            "experience": "lang-chuong-workshop-conical-hat",
            "left": 2,
            "message": "full",
            "day": 2,
        }
    ]
    # Through the booking service: nothing reserved, no booking.
    taken = [db.session.get(Slot, i.slot_id).taken for i in plan.items]
    bookings = db.session.scalar(select(func.count()).select_from(Booking))
    with pytest.raises(Conflict):
        package_booking.book_package(slug, SATURDAY, Party(adults=3), CONTACT, lang="en", now=NOW)
    db.session.expire_all()
    assert [db.session.get(Slot, i.slot_id).taken for i in plan.items] == taken
    assert db.session.scalar(select(func.count()).select_from(Booking)) == bookings


def test_a_session_taken_between_plan_and_hold_reserves_nothing_and_the_409_names_it(
    owner, monkeypatch
):
    slug = _two_days(owner)
    party = Party(adults=2)
    plan = packages.booking_plan(slug, SATURDAY, party, now=NOW)
    ids = [i.slot_id for i in plan.items]
    before = [db.session.get(Slot, s).taken for s in ids]
    bookings = db.session.scalar(select(func.count()).select_from(Booking))
    real = packages.booking_plan

    def racing(*args, **kwargs):
        found = real(*args, **kwargs)
        row = db.session.get(Slot, ids[1])  # day 2's first workshop
        row.taken = row.capacity - 1
        db.session.commit()
        return found

    monkeypatch.setattr(packages, "booking_plan", racing)
    error = _raises(
        Conflict, package_booking.book_package, slug, SATURDAY, party, CONTACT, lang="en", now=NOW
    )
    assert error.code == "slot_full"
    assert error.details["item"] == plan.labels[ids[1]]
    assert error.details["item"].startswith("Day 2 · Silk weaving session · ")
    db.session.expire_all()
    after = [db.session.get(Slot, s).taken for s in ids]
    assert (after[0], after[2]) == (before[0], before[2])  # nothing reserved
    assert db.session.scalar(select(func.count()).select_from(Booking)) == bookings


def test_the_booking_plan_refuses_drafts_dates_outside_the_horizon_and_unpriced_parties(
    owner, other
):
    slug = make(owner)
    stops(owner, slug, 1, "son-dong-workshop-wood-carving")
    assert _raises(NotFound, packages.booking_plan, slug, SATURDAY, Party(1), now=NOW).code == (
        "package_not_found"
    )
    assert (
        _raises(
            NotFound, packages.booking_plan, slug, SATURDAY, Party(1), agency_id=other, now=NOW
        ).code
        == "package_not_found"
    )
    # The agency plans its own draft.
    assert packages.booking_plan(slug, SATURDAY, Party(1), agency_id=owner, now=NOW).items
    error = _raises(
        ValidationError,
        packages.booking_plan,
        slug,
        date(2030, 1, 5),
        Party(1),
        agency_id=owner,
        now=NOW,
    )
    assert (error.code, error.details["field"]) == ("date_out_of_range", "date")
    error = _raises(
        Unprocessable, packages.booking_plan, slug, SATURDAY, Party(1, 1), agency_id=owner, now=NOW
    )
    assert error.code == "package_not_priced"
