"""Published packages sold through OCTO (services/octo_packages.py): the product
``package:<slug>``, one availability per first date, a reservation holding every session of
the package at once (all or nothing, freed by expiry and cancellation), confirmation into one
package booking the villages answer item by item, and agencies kept apart."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tourplanner.adapters.orm import Booking, BookingItem, Notification, Package, Slot
from tourplanner.adapters.orm.octo import OctoBooking, OctoBookingSession
from tourplanner.domain import booking as rules
from tourplanner.domain import octo as shapes
from tourplanner.domain.availability import local_today
from tourplanner.domain.pricing import Party
from tourplanner.extensions import db
from tourplanner.services import agencies, booking, links, octo, packages

TOKEN = re.compile(r"token=([\w.-]+)")


@pytest.fixture
def pkg(app):
    app.config["PACKAGE_FILL_TIME_LIMIT"] = 0.05
    octo.seed_demo()
    agency = agencies.get_agency_by_slug("sample-agency")
    slug = packages.seed_demo_package(agency["id"])
    return {"slug": slug, "id": f"package:{slug}", "agency_id": agency["id"]}


def _caller(agency_id: int, *, test: bool = False, caps=()) -> octo.Caller:
    return octo.Caller(agency_id, None, test, frozenset(caps), "en", "http://tourplanner.test")


@pytest.fixture
def a(pkg) -> octo.Caller:
    return _caller(pkg["agency_id"])


@pytest.fixture
def b(pkg) -> octo.Caller:
    made = agencies.create_agency("Other agency", "other@agency.example", slug="other")
    return _caller(made["id"])


def _now() -> datetime:
    return datetime.now(UTC)


def _open_dates(caller: octo.Caller, product: str, n: int = 1) -> list[dict]:
    today = local_today(_now())
    query = octo.AvailabilityQuery(
        product, "DEFAULT", start=today + timedelta(days=3), end=today + timedelta(days=45)
    )
    found = [v for v in octo.check_availability(caller, query) if v["status"] != "SOLD_OUT"]
    assert len(found) >= n, "the sample package runs on some dates"
    return found


def _units(*ids: str) -> tuple[octo.UnitItemInput, ...]:
    return tuple(octo.UnitItemInput(u) for u in ids)


def _reserve(caller, pkg, availability, units=("adult", "adult"), **kw) -> dict:
    data = octo.Reservation(pkg["id"], "DEFAULT", availability["id"], _units(*units), **kw)
    return octo.reserve(caller, data)


def _taken(slot_ids) -> list[int]:
    db.session.expire_all()
    return [db.session.get(Slot, s).taken for s in slot_ids]


def _plan_slots(pkg, availability, size: int = 2) -> list[int]:
    first = datetime.fromisoformat(availability["id"]).date()
    plan = packages.booking_plan(pkg["slug"], first, Party(adults=size), now=_now())
    return sorted(i.slot_id for i in plan.items)


def _error(call, *args, **kwargs) -> octo.OctoError:
    with pytest.raises(octo.OctoError) as caught:
        call(*args, **kwargs)
    return caught.value


def _row(uuid: str) -> OctoBooking:
    db.session.expire_all()
    return db.session.scalars(select(OctoBooking).where(OctoBooking.uuid == uuid)).one()


def test_products_list_the_published_sample_package_apart_from_the_experiences(a, pkg):
    priced = _caller(a.agency_id, caps=(shapes.PRICING, shapes.CONTENT))
    products = {p["id"]: p for p in octo.list_products(priced)}
    assert list(products) == sorted(products)
    product = products[pkg["id"]]
    assert product["availabilityType"] == "START_TIME"
    assert product["instantConfirmation"] is False  # the villages answer the sample workshops
    option = product["options"][0]
    units = {u["id"]: u for u in option["units"]}
    retail = packages.get_published(pkg["slug"])["prices"]["retail"]
    assert set(units) == {u for u in ("adult", "child", "senior") if retail[u] is not None}
    # Retail is the package's price per person; net the agency's rule (10 % commission).
    adult = units["adult"]["pricingFrom"][0]
    assert adult["retail"] == retail["adult"]
    assert adult["net"] == retail["adult"] - round(retail["adult"] * 0.1)
    assert option["availabilityLocalStartTimes"] == [
        packages.get_published(pkg["slug"])["days"][0]["stops"][0]["start"]
    ]
    assert product["title"] == packages.get_published(pkg["slug"])["name"]["en"]
    assert octo.get_product(priced, pkg["id"])["id"] == pkg["id"]
    error = _error(octo.get_product, a, "package:no-such")
    assert error.code == "INVALID_PRODUCT_ID"


def test_an_availability_is_a_run_date_with_the_fewest_places_of_its_sessions(a, pkg):
    first = _open_dates(a, pkg["id"])[0]
    day = datetime.fromisoformat(first["id"]).date()
    start = packages.get_published(pkg["slug"])["days"][0]["stops"][0]["start"]
    assert first["id"] == f"{day.isoformat()}T{start}:00+07:00"
    runs = packages.run_dates(pkg["slug"], Party(adults=1), day, day, now=_now())
    assert first["vacancies"] == runs[0]["places_left"]
    slots = [db.session.get(Slot, s) for s in _plan_slots(pkg, first)]
    assert first["capacity"] == min(s.capacity for s in slots)
    calendar = octo.calendar(
        a, octo.AvailabilityQuery(pkg["id"], "DEFAULT", start=day - timedelta(days=1), end=day)
    )
    assert calendar[1]["status"] in ("AVAILABLE", "LIMITED") and calendar[1]["available"]
    # The day before a run date is a Friday: the sample package runs on weekends only.
    if not packages.run_dates(
        pkg["slug"], Party(adults=1), day - timedelta(days=1), day - timedelta(days=1)
    ):
        assert calendar[0]["status"] == "CLOSED"


def test_a_reservation_holds_every_session_of_the_package_at_once(a, pkg):
    first = _open_dates(a, pkg["id"])[0]
    ids = _plan_slots(pkg, first)
    before = _taken(ids)
    held = _reserve(a, pkg, first)
    assert held["status"] == "ON_HOLD" and held["productId"] == pkg["id"]
    assert held["availabilityId"] == first["id"]
    assert _taken(ids) == [t + 2 for t in before]
    row = _row(held["uuid"])
    assert [s.slot_id for s in row.sessions] == ids and {s.places for s in row.sessions} == {2}
    # Another reservation sees the vacancies left.
    again = octo.check_availability(
        a, octo.AvailabilityQuery(pkg["id"], "DEFAULT", availability_ids=(first["id"],))
    )
    assert again[0]["vacancies"] == first["vacancies"] - 2


def test_one_full_session_refuses_the_reservation_and_holds_nothing(a, pkg):
    first = _open_dates(a, pkg["id"])[0]
    ids = _plan_slots(pkg, first)
    last = db.session.get(Slot, ids[-1])
    last.taken = last.capacity - 1  # one place left in the last session
    db.session.commit()
    before = _taken(ids)
    error = _error(_reserve, a, pkg, first)
    assert error.code == "UNPROCESSABLE_ENTITY"
    assert _taken(ids) == before
    assert (
        db.session.scalars(select(OctoBooking).where(OctoBooking.package_id.is_not(None))).all()
        == []
    )
    # Full: the date is SOLD_OUT, still listed.
    last.taken = last.capacity
    db.session.commit()
    listed = octo.check_availability(
        a, octo.AvailabilityQuery(pkg["id"], "DEFAULT", availability_ids=(first["id"],))
    )
    assert listed[0]["status"] == "SOLD_OUT" and listed[0]["vacancies"] == 0


def test_a_race_on_the_last_places_of_one_session_holds_nothing_anywhere(a, pkg, monkeypatch):
    first = _open_dates(a, pkg["id"])[0]
    ids = _plan_slots(pkg, first)
    before = _taken(ids)
    real = booking.take

    def others_took_the_last_session(session, slot_id, places, label=None):
        if slot_id == ids[-1]:  # filled between the check and the UPDATE
            slot = session.get(Slot, slot_id)
            session.execute(
                Slot.__table__.update().where(Slot.id == slot_id).values(taken=slot.capacity)
            )
        return real(session, slot_id, places, label)

    monkeypatch.setattr(booking, "take", others_took_the_last_session)
    error = _error(_reserve, a, pkg, first)
    assert error.code == "UNPROCESSABLE_ENTITY"
    assert _taken(ids) == before  # the first sessions' places went back with the rollback


def test_expiry_frees_every_session(a, pkg):
    first = _open_dates(a, pkg["id"])[0]
    ids = _plan_slots(pkg, first)
    before = _taken(ids)
    held = _reserve(a, pkg, first, expiration_minutes=5)
    booking.expire_holds(now=_now() + timedelta(minutes=6))
    assert _taken(ids) == before
    row = _row(held["uuid"])
    assert row.status == "expired" and {s.places for s in row.sessions} == {0}
    assert octo.get_booking(a, held["uuid"])["status"] == "EXPIRED"


def test_confirm_makes_one_package_booking_the_villages_answer_item_by_item(a, pkg):
    first = _open_dates(a, pkg["id"])[0]
    ids = _plan_slots(pkg, first)
    before = _taken(ids)
    held = _reserve(a, pkg, first, units=("adult", "adult"))
    done = octo.confirm(
        a,
        held["uuid"],
        shapes.Confirmation(contact={"fullName": "Mai Trần", "emailAddress": "mai@example.org"}),
    )
    assert done["status"] == "PENDING"
    assert _taken(ids) == [t + 2 for t in before]  # moved to the booking, not taken twice
    row = _row(held["uuid"])
    made = db.session.get(Booking, row.booking_id)
    assert (
        made.source == "octo"
        and made.package_id
        == db.session.scalars(select(Package.id).where(Package.slug == pkg["slug"])).one()
    )
    assert made.reference == held["supplierReference"]
    assert sorted(i.slot_id for i in made.items) == ids
    assert made.total_vnd == row.package_terms["retail_total_vnd"]
    assert {s.places for s in row.sessions} == {0}
    # Every village but one accepts: still PENDING; the last accepts: CONFIRMED.
    items = sorted(made.items, key=lambda i: i.id)
    for item in items[:-1]:
        booking.decide(item.id, accept=True, village_id=None)
    assert octo.get_booking(a, held["uuid"])["status"] == "PENDING"
    assert octo.get_booking(a, held["uuid"])["utcConfirmedAt"] is None
    booking.decide(items[-1].id, accept=True, village_id=None)
    confirmed = octo.get_booking(a, held["uuid"])
    assert confirmed["status"] == "CONFIRMED"
    assert confirmed["utcConfirmedAt"] == shapes.utc(
        db.session.get(BookingItem, items[-1].id).decided_at
    )


def test_one_declined_item_makes_the_package_booking_rejected(a, pkg):
    first = _open_dates(a, pkg["id"])[0]
    held = _reserve(a, pkg, first)
    octo.confirm(a, held["uuid"], shapes.Confirmation())
    made = db.session.get(Booking, _row(held["uuid"]).booking_id)
    items = sorted(made.items, key=lambda i: i.id)
    booking.decide(items[0].id, accept=True, village_id=None)
    booking.decide(items[1].id, accept=False, reason="closed", village_id=None)
    assert octo.get_booking(a, held["uuid"])["status"] == "REJECTED"


def test_cancel_frees_every_session_of_a_reservation_and_of_a_confirmed_booking(a, pkg):
    dates = _open_dates(a, pkg["id"])
    first = dates[-1]  # far enough ahead for free cancellation
    ids = _plan_slots(pkg, first)
    before = _taken(ids)
    held = _reserve(a, pkg, first)
    assert octo.cancel(a, held["uuid"], "plans changed")["status"] == "CANCELLED"
    assert _taken(ids) == before
    held = _reserve(a, pkg, first)
    octo.confirm(a, held["uuid"], shapes.Confirmation())
    made = db.session.get(Booking, _row(held["uuid"]).booking_id)
    for item in made.items:
        booking.decide(item.id, accept=True, village_id=None)
    assert octo.get_booking(a, held["uuid"])["cancellable"] is True
    gone = octo.cancel(a, held["uuid"], "plans changed")
    assert gone["status"] == "CANCELLED"
    assert _taken(ids) == before
    statuses = db.session.scalars(
        select(BookingItem.status).where(BookingItem.booking_id == made.id)
    ).all()
    assert set(statuses) == {rules.CANCELLED}


def test_a_half_answered_package_booking_is_cancelled_and_withdrawn_at_once(a, pkg):
    first = _open_dates(a, pkg["id"])[-1]
    ids = _plan_slots(pkg, first)
    before = _taken(ids)
    held = _reserve(a, pkg, first)
    octo.confirm(a, held["uuid"], shapes.Confirmation())
    made = db.session.get(Booking, _row(held["uuid"]).booking_id)
    accepted = min(made.items, key=lambda i: i.id)
    booking.decide(accepted.id, accept=True, village_id=None)
    assert octo.get_booking(a, held["uuid"])["status"] == "PENDING", "the others still wait"
    assert octo.get_booking(a, held["uuid"])["cancellable"] is True
    gone = octo.cancel(a, held["uuid"], None)
    assert gone["status"] == "CANCELLED"
    assert gone["utcConfirmedAt"] is None, "never confirmed: not every village had accepted"
    assert _taken(ids) == before
    fees = db.session.scalars(
        select(BookingItem.cancellation_fee_vnd).where(BookingItem.booking_id == made.id)
    ).all()
    assert fees == [0] * len(made.items)


def test_a_resold_package_books_the_commission_the_reseller_was_quoted(pkg):
    made = agencies.create_agency("Reseller", "r@agency.example", commission_bp=1500, slug="r")
    reseller = _caller(made["id"], caps=("octo/pricing",))
    first = _open_dates(reseller, pkg["id"])[0]
    held = _reserve(reseller, pkg, first)
    quoted = held["pricing"]
    done = octo.confirm(reseller, held["uuid"], shapes.Confirmation())
    stored = db.session.get(Booking, _row(done["uuid"]).booking_id)
    assert stored.agency_id == pkg["agency_id"], "the package's agency's booking"
    assert stored.total_vnd == quoted["retail"]
    assert stored.commission_vnd == quoted["retail"] - quoted["net"], "the reseller's 15 %"
    assert stored.commission_vnd == round(quoted["retail"] * 0.15)


def test_every_village_of_a_package_booking_is_asked_and_told_of_its_own_items(a, pkg):
    held = _reserve(a, pkg, _open_dates(a, pkg["id"])[-1])
    octo.confirm(a, held["uuid"], shapes.Confirmation())
    made = db.session.get(Booking, _row(held["uuid"]).booking_id)
    villages = {i.village_id for i in made.items}
    assert len(villages) >= 5, "the sample package crosses villages"

    def mails(event: str) -> list[Notification]:
        return db.session.scalars(
            select(Notification).where(
                Notification.booking_id == made.id,
                Notification.event == event,
                Notification.channel == "email",
            )
        ).all()

    asked = mails("village_requested")
    decoded = [list(map(links.check_decision_token, TOKEN.findall(m.body))) for m in asked]
    assert all(len({v for _, v in d}) == 1 for d in decoded if d), "its own village's items"
    waiting = {i.id for i in made.items if i.status == rules.PENDING}
    assert {i for d in decoded for i, _ in d} == waiting, "every pending item is asked"
    assert len({m.recipient for m in asked}) == len(villages)
    octo.cancel(a, held["uuid"], None)
    assert len({m.recipient for m in mails("village_cancelled")}) == len(villages)


def test_a_package_booking_is_only_its_agencys(a, b, pkg):
    first = _open_dates(a, pkg["id"])[0]
    held = _reserve(a, pkg, first)
    for call in (octo.get_booking, octo.extend):
        args = (b, held["uuid"]) if call is octo.get_booking else (b, held["uuid"], 10)
        assert _error(call, *args).code == "INVALID_BOOKING_UUID"
    error = _error(octo.cancel, b, held["uuid"], None)
    assert error.code == "INVALID_BOOKING_UUID"
    # Another agency may still sell the published package (its own booking).
    mine = _reserve(b, pkg, first, units=("adult",))
    assert octo.get_booking(b, mine["uuid"])["status"] == "ON_HOLD"


def test_a_package_reservation_changes_its_details_and_its_hold(a, pkg):
    first = _open_dates(a, pkg["id"])[0]
    held = _reserve(a, pkg, first)
    changed = octo.update_booking(
        a, held["uuid"], shapes.Change(notes="Vegetarian", expiration_minutes=60)
    )
    assert changed["notes"] == "Vegetarian" and changed["status"] == "ON_HOLD"
    assert changed["utcExpiresAt"] > held["utcExpiresAt"]


def test_a_package_reservation_takes_more_units_on_every_session_of_its_date(a, pkg):
    first = _open_dates(a, pkg["id"])[0]
    ids = _plan_slots(pkg, first)
    before = _taken(ids)
    held = _reserve(a, pkg, first)
    more = octo.update_booking(
        a, held["uuid"], shapes.Change(unit_items=_units("adult", "adult", "adult"), notes="3")
    )
    assert more["status"] == "ON_HOLD" and len(more["unitItems"]) == 3 and more["notes"] == "3"
    assert more["availabilityId"] == first["id"]
    assert _taken(ids) == [t + 3 for t in before]
    row = _row(held["uuid"])
    assert [s.slot_id for s in row.sessions] == ids and {s.places for s in row.sessions} == {3}
    assert row.package_terms["retail_total_vnd"] == 3 * row.package_terms["retail"]["adult"]
    fewer = octo.update_booking(a, held["uuid"], shapes.Change(unit_items=_units("adult")))
    assert len(fewer["unitItems"]) == 1
    assert _taken(ids) == [t + 1 for t in before]


def test_a_package_reservation_moves_to_another_first_date(a, pkg):
    dates = _open_dates(a, pkg["id"], 2)
    first, second = dates[0], dates[1]
    old, new = _plan_slots(pkg, first), _plan_slots(pkg, second)
    before_old, before_new = _taken(old), _taken(new)
    held = _reserve(a, pkg, first)
    moved = octo.update_booking(a, held["uuid"], shapes.Change(availability_id=second["id"]))
    assert moved["availabilityId"] == second["id"] and moved["status"] == "ON_HOLD"
    assert _taken(old) == before_old and _taken(new) == [t + 2 for t in before_new]
    assert _row(held["uuid"]).package_date.isoformat() == second["id"][:10]


def test_a_move_that_does_not_fit_keeps_what_the_reservation_held(a, pkg):
    first = _open_dates(a, pkg["id"])[0]
    ids = _plan_slots(pkg, first)
    held = _reserve(a, pkg, first)
    last = db.session.get(Slot, ids[-1])
    last.taken = last.capacity  # the reservation's 2 places and everyone else's
    db.session.commit()
    before = _taken(ids)
    error = _error(
        octo.update_booking, a, held["uuid"], shapes.Change(unit_items=_units(*["adult"] * 3))
    )
    assert error.code == "UNPROCESSABLE_ENTITY"
    assert _taken(ids) == before
    row = _row(held["uuid"])
    assert len(row.unit_items) == 2 and {s.places for s in row.sessions} == {2}


def test_confirm_with_other_units_books_them_on_every_session(a, pkg):
    first = _open_dates(a, pkg["id"])[0]
    ids = _plan_slots(pkg, first)
    before = _taken(ids)
    held = _reserve(a, pkg, first)
    done = octo.confirm(
        a, held["uuid"], shapes.Confirmation(unit_items=_units("adult", "adult", "adult"))
    )
    assert done["status"] == "PENDING" and len(done["unitItems"]) == 3
    assert _taken(ids) == [t + 3 for t in before]
    made = db.session.get(Booking, _row(held["uuid"]).booking_id)
    assert {i.adults for i in made.items} == {3}
    assert made.total_vnd == _row(held["uuid"]).package_terms["retail_total_vnd"]
    # Confirmed: its units and date stay (cancel and reserve again).
    error = _error(octo.update_booking, a, held["uuid"], shapes.Change(unit_items=_units("adult")))
    assert error.code == "UNPROCESSABLE_ENTITY"


def test_a_package_reservation_moves_to_an_experience_and_back(a, pkg):
    first = _open_dates(a, pkg["id"])[0]
    ids = _plan_slots(pkg, first)
    before = _taken(ids)
    held = _reserve(a, pkg, first)
    wheel = "bat-trang-workshop-group-pottery"
    today = local_today(_now())
    session = octo.check_availability(
        a,
        octo.AvailabilityQuery(
            wheel, "DEFAULT", start=today + timedelta(days=9), end=today + timedelta(days=9)
        ),
    )[0]
    left = session["vacancies"]
    moved = octo.update_booking(
        a, held["uuid"], shapes.Change(product_id=wheel, availability_id=session["id"])
    )
    assert moved["productId"] == wheel and moved["availabilityId"] == session["id"]
    assert _taken(ids) == before  # every session of the package given back
    row = _row(held["uuid"])
    assert row.package_id is None and row.sessions == [] and row.places == 2
    again = octo.check_availability(
        a, octo.AvailabilityQuery(wheel, "DEFAULT", availability_ids=(session["id"],))
    )
    assert again[0]["vacancies"] == left - 2
    back = octo.update_booking(
        a, held["uuid"], shapes.Change(product_id=pkg["id"], availability_id=first["id"])
    )
    assert back["productId"] == pkg["id"] and _taken(ids) == [t + 2 for t in before]
    after = octo.check_availability(
        a, octo.AvailabilityQuery(wheel, "DEFAULT", availability_ids=(session["id"],))
    )
    assert after[0]["vacancies"] == left


def test_a_test_key_reserves_a_package_without_holding_places(pkg):
    caller = _caller(pkg["agency_id"], test=True)
    first = _open_dates(caller, pkg["id"])[0]
    ids = _plan_slots(pkg, first)
    before = _taken(ids)
    held = _reserve(caller, pkg, first)
    assert held["testMode"] is True and _taken(ids) == before
    assert octo.confirm(caller, held["uuid"], shapes.Confirmation())["status"] == "PENDING"
    assert _row(held["uuid"]).booking_id is None
    assert octo.clean_test_bookings(now=_now() + timedelta(days=2)) >= 1
    assert db.session.scalars(select(OctoBookingSession)).all() == []


def test_an_unknown_date_of_a_package_is_an_invalid_availability(a, pkg):
    first = _open_dates(a, pkg["id"])[0]
    wrong = first["id"].replace(first["id"][11:16], "03:17")
    data = octo.Reservation(pkg["id"], "DEFAULT", wrong, _units("adult"))
    assert _error(octo.reserve, a, data).code == ("INVALID_AVAILABILITY_ID")
