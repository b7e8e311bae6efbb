"""The OCTO service (services/octo.py): our catalogue and bookings in OCTO's terms, capacity
taken and given back like every booking, the village answering, agencies kept apart, test
mode, webhooks and the demo data. The HTTP side is in tests/integration/test_octo_*.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from demo_days import demo_experiences, open_day
from sqlalchemy import func, select

from tourplanner.adapters.orm import Booking, Experience, Notification, Slot, Village
from tourplanner.adapters.orm.octo import OctoBooking
from tourplanner.domain import octo as shapes
from tourplanner.domain.availability import local_today
from tourplanner.domain.errors import Conflict
from tourplanner.extensions import db
from tourplanner.services import accounts, agencies, booking, notifications, octo, village_desk

GROUP = "bat-trang-workshop-group-pottery"  # instant confirmation, 80 places (seed_demo)
VISIT = "bat-trang-visit-ceramics-market"  # OPENING_HOURS, 150 a day (seed_demo)
WHEEL = "bat-trang-workshop-pottery-wheel"  # on request, 20 places (demo_experiences.json)
CARVING = "son-dong-workshop-wood-carving"  # no child price


@pytest.fixture
def demo(app):
    octo.seed_demo()
    for village in db.session.scalars(select(Village)):
        village.booking_email = f"requests@{village.slug}.example"
    db.session.commit()
    return app


def _caller(agency_id: int, *, test: bool = False, caps=(), lang: str = "vi") -> octo.Caller:
    return octo.Caller(agency_id, None, test, frozenset(caps), lang, "http://tourplanner.test")


@pytest.fixture
def a(demo) -> octo.Caller:
    return _caller(agencies.get_agency_by_slug("sample-agency")["id"])


@pytest.fixture
def b(demo) -> octo.Caller:
    made = agencies.create_agency("Other agency", "other@agency.example", slug="other")
    return _caller(made["id"])


def _now() -> datetime:
    return datetime.now(UTC)


def _session(caller: octo.Caller, product: str, days: int = 5, n: int = 0) -> dict:
    """The n-th open session of ``product`` on the first day at least ``days`` days from today
    on which it holds sessions (Sơn Đồng's carving closes on Sundays)."""
    day = open_day(days, workshops=(product,) if product in demo_experiences() else ())
    query = octo.AvailabilityQuery(product, "DEFAULT", start=day, end=day)
    return octo.check_availability(caller, query)[n]


def _units(*ids: str) -> tuple[octo.UnitItemInput, ...]:
    return tuple(octo.UnitItemInput(u) for u in ids)


def _reserve(caller: octo.Caller, product: str, units=("adult", "adult"), **kwargs) -> dict:
    session = kwargs.pop("session", None) or _session(caller, product)
    data = octo.Reservation(product, "DEFAULT", session["id"], _units(*units), **kwargs)
    return octo.reserve(caller, data)


def _taken(caller: octo.Caller, product: str, availability_id: str) -> int:
    row = octo.find_session(octo.find_product(product), availability_id, _now())
    db.session.refresh(row)
    return row.taken


def _error(call, *args, **kwargs) -> octo.OctoError:
    with pytest.raises(octo.OctoError) as caught:
        call(*args, **kwargs)
    return caught.value


# --- products ----------------------------------------------------------------------------------


def test_products_are_bookable_workshops_and_ticketed_visits_by_slug(a):
    products = {p["id"]: p for p in octo.list_products(a)}
    assert products[GROUP]["availabilityType"] == "START_TIME"
    assert products[VISIT]["availabilityType"] == "OPENING_HOURS"
    assert products[WHEEL]["instantConfirmation"] is False
    assert products[GROUP]["instantConfirmation"] is True
    visits = db.session.scalars(select(Experience).where(Experience.kind == "visit")).all()
    plain = [e.slug for e in visits if e.hours_are_default or e.price_adult_vnd is None]
    assert plain and not set(plain) & set(products), "a free visit is not a product"
    assert list(products) == sorted(products)
    option = products[GROUP]["options"][0]
    assert option["id"] == "DEFAULT" and option["availabilityLocalStartTimes"] == [
        "08:00",
        "10:00",
        "13:30",
        "15:30",
    ]
    assert products[VISIT]["options"][0]["availabilityLocalStartTimes"] == ["00:00"]


def test_units_follow_the_villages_prices_and_ages(a):
    priced = octo.Caller(a.agency_id, None, False, frozenset({shapes.PRICING}))
    units = {u["id"]: u for u in octo.get_product(priced, GROUP)["options"][0]["units"]}
    assert {u: units[u]["type"] for u in units} == {
        "adult": "ADULT",
        "child": "CHILD",
        "senior": "SENIOR",
    }
    assert units["child"]["restrictions"]["maxAge"] == 15
    assert units["child"]["restrictions"]["minAge"] == 6  # the workshop's minimum age
    assert units["senior"]["restrictions"]["minAge"] == 60
    adult = units["adult"]["pricingFrom"][0]
    # The sample agency's commission rate is 10 %: net is the village's price less 10 %.
    assert adult == {
        "original": 180_000,
        "retail": 180_000,
        "net": 162_000,
        "currency": "VND",
        "currencyPrecision": 0,
        "includedTaxes": [],
    }
    carving = octo.get_product(a, CARVING)["options"][0]["units"]
    assert [u["id"] for u in carving] == ["adult", "senior"], "no child price, no child unit"


def test_content_speaks_vietnamese_or_english(a):
    vi = octo.get_product(octo.Caller(a.agency_id, None, False, frozenset({shapes.CONTENT})), GROUP)
    en = octo.get_product(
        octo.Caller(a.agency_id, None, False, frozenset({shapes.CONTENT}), "en"), GROUP
    )
    assert (vi["title"], vi["locale"]) == ("Lớp làm gốm cho đoàn", "vi")
    assert (en["title"], en["locale"]) == ("Pottery class for groups", "en")
    assert "title" not in octo.get_product(a, GROUP), "content only with octo/content"


def test_unknown_product_and_option_are_their_own_errors(a):
    assert _error(octo.get_product, a, "nope").details == {"productId": "nope"}
    query = octo.AvailabilityQuery(GROUP, "OTHER", start=local_today(_now()))
    error = _error(octo.check_availability, a, query)
    assert (error.code, error.details) == ("INVALID_OPTION_ID", {"optionId": "OTHER"})


# --- availability ------------------------------------------------------------------------------


def test_availability_says_available_limited_sold_out_and_closed(a):
    first = _session(a, GROUP, days=6)
    _reserve(a, GROUP, units=["adult"] * 50, session=first)
    again = _session(a, GROUP, days=6)
    assert (again["status"], again["vacancies"], again["capacity"]) == ("LIMITED", 30, 80)
    other = _session(a, GROUP, days=6, n=1)
    assert (other["status"], other["available"]) == ("AVAILABLE", True)
    sold_out = [
        s
        for s in octo.check_availability(
            a,
            octo.AvailabilityQuery(
                GROUP, "DEFAULT", start=local_today(_now()), end=local_today(_now()) + timedelta(29)
            ),
        )
        if s["status"] == "SOLD_OUT"
    ]
    assert sold_out and sold_out[0]["available"] is False and sold_out[0]["vacancies"] == 0
    today = local_today(_now())
    calendar = octo.calendar(
        a,
        octo.AvailabilityQuery(
            VISIT, "DEFAULT", start=today - timedelta(1), end=today + timedelta(3)
        ),
    )
    assert calendar[0]["localDate"] == (today - timedelta(1)).isoformat()
    assert calendar[0]["status"] == "CLOSED" and calendar[0]["available"] is False
    assert calendar[-1]["status"] == "AVAILABLE" and calendar[-1]["vacancies"] == 150
    assert calendar[-1]["openingHours"] == [{"from": "08:00", "to": "17:00"}]


def test_a_visit_is_one_all_day_availability_a_day(a):
    day = _session(a, VISIT, days=4)
    assert day["allDay"] is True and day["id"].endswith("T00:00:00+07:00")
    assert day["localDateTimeEnd"][:10] > day["localDateTimeStart"][:10]
    reserved = _reserve(a, VISIT, units=["adult", "child"], session=day)
    assert reserved["status"] == "ON_HOLD"
    assert _session(a, VISIT, days=4)["vacancies"] == 148


def test_availability_takes_a_range_or_ids_never_both(a):
    session = _session(a, GROUP)
    by_id = octo.check_availability(
        a, octo.AvailabilityQuery(GROUP, "DEFAULT", availability_ids=(session["id"],))
    )
    assert [s["id"] for s in by_id] == [session["id"]]
    both = octo.AvailabilityQuery(
        GROUP, "DEFAULT", start=local_today(_now()), end=local_today(_now()), availability_ids=()
    )
    assert _error(octo.check_availability, a, both).code == "BAD_REQUEST"
    neither = octo.AvailabilityQuery(GROUP, "DEFAULT")
    assert _error(octo.check_availability, a, neither).code == "BAD_REQUEST"


# --- reservations and their expiry ------------------------------------------------------------


def test_a_reservation_holds_its_places_until_it_expires(a):
    session = _session(a, WHEEL)
    held = _reserve(a, WHEEL, units=["adult", "adult", "senior"], session=session)
    assert held["status"] == "ON_HOLD" and held["utcExpiresAt"].endswith("Z")
    assert _taken(a, WHEEL, session["id"]) == 3
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 1  # the sold-out one
    later = _now() + timedelta(minutes=31)
    assert octo.expire_reservations(now=later) == 1
    assert _taken(a, WHEEL, session["id"]) == 0
    assert octo.get_booking(a, held["uuid"], now=later)["status"] == "EXPIRED"


def test_the_maintenance_pass_expires_reseller_holds(a):
    held = _reserve(a, WHEEL)
    booking.expire_holds(now=_now() + timedelta(hours=2))
    row = db.session.scalars(select(OctoBooking).where(OctoBooking.uuid == held["uuid"])).one()
    assert (row.status, row.places) == ("expired", 0)
    assert _taken(a, WHEEL, held["availabilityId"]) == 0


def test_an_expired_hold_is_never_shown_on_hold(a):
    held = _reserve(a, WHEEL, expiration_minutes=5)
    later = _now() + timedelta(minutes=6)
    assert octo.get_booking(a, held["uuid"], now=later)["status"] == "EXPIRED"
    error = _error(octo.confirm, a, held["uuid"], octo.Confirmation(), now=later)
    assert error.code == "INVALID_BOOKING_UUID"


def test_a_full_session_is_unprocessable(a):
    session = _session(a, WHEEL)
    _reserve(a, WHEEL, units=["adult"] * 19, session=session)
    error = _error(_reserve, a, WHEEL, units=["adult"] * 2, session=session)
    assert error.code == "UNPROCESSABLE_ENTITY" and "1 place" in error.message
    assert _taken(a, WHEEL, session["id"]) == 19


def test_units_are_checked(a):
    assert _error(_reserve, a, CARVING, units=["child"]).code == "INVALID_UNIT_ID"
    assert _error(_reserve, a, GROUP, units=[]).code == "UNPROCESSABLE_ENTITY"
    missing = octo.Reservation(GROUP, "DEFAULT", _session(a, GROUP)["id"], None)
    assert _error(octo.reserve, a, missing).code == "UNPROCESSABLE_ENTITY"


def test_a_retried_uuid_answers_the_same_reservation_and_is_not_another_agencys(a, b):
    uid = "3b1bc2ee-3155-4738-9471-f49842a07327"
    first = _reserve(a, WHEEL, uuid=uid.upper())
    assert first["uuid"] == uid
    again = _reserve(a, WHEEL, uuid=uid)
    assert again["supplierReference"] == first["supplierReference"]
    assert _taken(a, WHEEL, first["availabilityId"]) == 2
    assert _error(_reserve, b, WHEEL, uuid=uid).code == "INVALID_BOOKING_UUID"


# --- confirmation and the village's answer ----------------------------------------------------


def _stored(held: dict) -> OctoBooking:
    return db.session.scalars(select(OctoBooking).where(OctoBooking.uuid == held["uuid"])).one()


def _village_rows(reference: str) -> list[Notification]:
    made = db.session.scalars(select(Booking).where(Booking.reference == reference)).one()
    return list(db.session.scalars(select(Notification).where(Notification.booking_id == made.id)))


def test_instant_confirmation_is_confirmed_at_once_with_a_voucher(a):
    held = _reserve(a, GROUP)
    contact = {"fullName": "John Doe", "emailAddress": "john@example.com", "locales": ["en"]}
    done = octo.confirm(a, held["uuid"], octo.Confirmation(contact, "VOUCHER-1"))
    assert (done["status"], done["resellerReference"]) == ("CONFIRMED", "VOUCHER-1")
    assert done["utcConfirmedAt"] and done["utcExpiresAt"] is None
    assert done["voucher"]["deliveryOptions"] == [
        {"deliveryFormat": "QRCODE", "deliveryValue": held["supplierReference"]}
    ]
    made = db.session.scalars(
        select(Booking).where(Booking.reference == held["supplierReference"])
    ).one()
    assert (made.source, made.status, made.contact_name) == ("octo", "confirmed", "John Doe")
    rows = _village_rows(held["supplierReference"])
    assert rows and all(r.event.startswith("village_") for r in rows), [r.event for r in rows]
    mail = next(r for r in rows if r.channel == "email")
    assert "token=" not in mail.body, "confirmed at once: nothing to answer"


def test_on_request_is_pending_until_the_village_accepts_or_declines(a):
    accepted, declined = _reserve(a, WHEEL), _reserve(a, WHEEL)
    for held in (accepted, declined):
        assert octo.confirm(a, held["uuid"], octo.Confirmation())["status"] == "PENDING"
    items = {h["uuid"]: _stored(h).booking.items[0].id for h in (accepted, declined)}
    booking.decide(items[accepted["uuid"]], accept=True, village_id=None)
    booking.decide(items[declined["uuid"]], accept=False, reason="closed", village_id=None)
    assert octo.get_booking(a, accepted["uuid"])["status"] == "CONFIRMED"
    assert octo.get_booking(a, declined["uuid"])["status"] == "REJECTED"
    assert _taken(a, WHEEL, declined["availabilityId"]) == 2, "the declined places are free"
    assert octo.get_booking(a, accepted["uuid"])["cancellable"] is True


def test_confirming_with_more_units_takes_the_difference(a):
    held = _reserve(a, WHEEL, units=["adult", "adult"])
    done = octo.confirm(
        a, held["uuid"], octo.Confirmation(unit_items=_units("adult", "child", "adult"))
    )
    assert len(done["unitItems"]) == 3
    assert _taken(a, WHEEL, held["availabilityId"]) == 3
    assert octo.confirm(a, held["uuid"], octo.Confirmation())["status"] == "PENDING", "again"


# --- changes and cancellation -----------------------------------------------------------------


def test_changing_a_reservation_moves_its_places(a):
    first, second = _session(a, WHEEL), _session(a, WHEEL, n=1)
    held = _reserve(a, WHEEL, session=first)
    moved = octo.update_booking(
        a, held["uuid"], octo.Change(availability_id=second["id"], unit_items=_units("adult"))
    )
    assert moved["availabilityId"] == second["id"] and len(moved["unitItems"]) == 1
    assert (_taken(a, WHEEL, first["id"]), _taken(a, WHEEL, second["id"])) == (0, 1)
    other = octo.update_booking(
        a,
        held["uuid"],
        octo.Change(product_id=GROUP, availability_id=_session(a, GROUP)["id"], notes="x"),
    )
    assert (other["productId"], other["notes"], other["status"]) == (GROUP, "x", "ON_HOLD")
    assert _taken(a, WHEEL, second["id"]) == 0


def test_a_confirmed_booking_changes_its_contact_but_not_its_session(a):
    held = _reserve(a, GROUP)
    octo.confirm(a, held["uuid"], octo.Confirmation({"fullName": "A"}))
    changed = octo.update_booking(a, held["uuid"], octo.Change(contact={"fullName": "B"}))
    assert changed["contact"]["fullName"] == "B"
    made = db.session.scalars(
        select(Booking).where(Booking.reference == held["supplierReference"])
    ).one()
    assert made.contact_name == "B", "the village sees the new contact"
    move = octo.Change(availability_id=_session(a, GROUP, n=1)["id"])
    assert _error(octo.update_booking, a, held["uuid"], move).code == "UNPROCESSABLE_ENTITY"


def test_a_confirmed_booking_names_its_guests_unit_by_unit(a):
    held = _reserve(a, GROUP, units=["adult", "child"])
    octo.confirm(a, held["uuid"], octo.Confirmation({"fullName": "A"}))
    first, second = (u["uuid"] for u in held["unitItems"])
    named = octo.update_booking(
        a,
        held["uuid"],
        octo.Change(
            unit_items=(
                octo.UnitItemInput("adult", first, "T-1", {"fullName": "Lan"}),
                octo.UnitItemInput("child", second, "T-2", {"fullName": "Minh"}),
            )
        ),
    )
    assert [
        (u["uuid"], u["resellerReference"], u["contact"]["fullName"]) for u in named["unitItems"]
    ] == [
        (first, "T-1", "Lan"),
        (second, "T-2", "Minh"),
    ]
    assert _taken(a, GROUP, held["availabilityId"]) == 2


def test_cancelling_gives_the_places_back_and_tells_the_village(a):
    held = _reserve(a, GROUP)
    octo.confirm(a, held["uuid"], octo.Confirmation({"fullName": "A"}))
    assert _taken(a, GROUP, held["availabilityId"]) == 2
    cancelled = octo.cancel(a, held["uuid"], "plans changed")
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["cancellation"]["reason"] == "plans changed"
    assert cancelled["cancellation"]["refund"] == "FULL"
    assert _taken(a, GROUP, held["availabilityId"]) == 0
    ref = held["supplierReference"]
    told = next(
        r for r in _village_rows(ref) if (r.event, r.channel) == ("village_cancelled", "email")
    )
    assert told.subject == f"Đại lý đã hủy đặt chỗ {ref}", "the reseller cancelled, not a tourist"
    assert "Đại lý đã hủy đặt chỗ" in told.body and "Khách" not in told.body
    assert octo.cancel(a, held["uuid"], None)["status"] == "CANCELLED", "twice: the same"
    reservation = _reserve(a, GROUP)
    assert octo.cancel(a, reservation["uuid"], None)["status"] == "CANCELLED"
    assert _taken(a, GROUP, reservation["availabilityId"]) == 0


def test_a_pending_booking_is_withdrawn_free_and_the_village_is_told(a):
    pending = _reserve(a, WHEEL)
    octo.confirm(a, pending["uuid"], octo.Confirmation())
    assert octo.get_booking(a, pending["uuid"])["cancellable"] is True
    assert _taken(a, WHEEL, pending["availabilityId"]) == 2
    cancelled = octo.cancel(a, pending["uuid"], "found another date")
    assert (cancelled["status"], cancelled["cancellation"]["refund"]) == ("CANCELLED", "FULL")
    assert _taken(a, WHEEL, pending["availabilityId"]) == 0
    item = _stored(pending).booking.items[0]
    assert (item.status, item.cancellation_fee_vnd) == ("cancelled", 0)
    assert any(r.event == "village_cancelled" for r in _village_rows(pending["supplierReference"]))
    with pytest.raises(Conflict):  # the village's answer comes too late
        booking.decide(item.id, accept=True, village_id=None)


def test_a_pending_booking_cannot_be_cancelled_once_its_session_started(a):
    pending = _reserve(a, WHEEL)
    octo.confirm(a, pending["uuid"], octo.Confirmation())
    at = datetime.fromisoformat(pending["availabilityId"]) + timedelta(minutes=1)
    assert octo.get_booking(a, pending["uuid"], now=at)["cancellable"] is False
    error = _error(octo.cancel, a, pending["uuid"], None, now=at)
    assert (error.code, error.message) == (
        "UNPROCESSABLE_ENTITY",
        "the session has already started",
    )
    assert _taken(a, WHEEL, pending["availabilityId"]) == 2


def test_a_late_confirmed_booking_cannot_be_cancelled(a):
    late = _reserve(a, GROUP)
    octo.confirm(a, late["uuid"], octo.Confirmation())
    start = datetime.fromisoformat(late["availabilityId"])
    at = start - timedelta(hours=23)
    assert octo.get_booking(a, late["uuid"], now=at)["cancellable"] is False
    assert _error(octo.cancel, a, late["uuid"], None, now=at).code == "UNPROCESSABLE_ENTITY"


def test_a_pending_test_booking_is_cancelled(a):
    test = octo.Caller(a.agency_id, None, True)
    pending = _reserve(test, WHEEL)
    octo.confirm(test, pending["uuid"], octo.Confirmation())
    assert octo.cancel(test, pending["uuid"], None)["status"] == "CANCELLED"


def test_the_village_desk_names_the_reseller_and_its_reference(a, client):
    held = _reserve(a, WHEEL)
    octo.confirm(a, held["uuid"], octo.Confirmation({"fullName": "Lan"}, "RES-77"))
    item = _stored(held).booking.items[0]
    card = village_desk.card(item.id, item.village_id, now=_now())
    agency = agencies.get_agency(a.agency_id)["name"]
    assert (card.sold_by, card.reseller_reference) == (agency, "RES-77")
    accounts.create_user("potter@bat-trang.example", "correct horse 1", "village", "bat-trang")
    form = {"email": "potter@bat-trang.example", "password": "correct horse 1"}
    assert client.post("/login", data=form).status_code == 302
    page = client.get("/village/?lang=vi").get_data(as_text=True)
    assert f"Bán qua {agency} · mã của đại lý RES-77" in page


# --- keys and modes ---------------------------------------------------------------------------


def test_another_agencys_booking_is_an_unknown_uuid(a, b):
    held = _reserve(a, WHEEL)
    for call in (
        lambda: octo.get_booking(b, held["uuid"]),
        lambda: octo.cancel(b, held["uuid"], None),
        lambda: octo.confirm(b, held["uuid"], octo.Confirmation()),
        lambda: octo.extend(b, held["uuid"], 10),
        lambda: octo.update_booking(b, held["uuid"], octo.Change(notes="x")),
    ):
        error = _error(call)
        assert (error.code, error.details) == ("INVALID_BOOKING_UUID", {"uuid": held["uuid"]})
    reference = held["supplierReference"]
    assert octo.list_bookings(b, reseller_reference=None, supplier_reference=reference) == []
    assert len(octo.list_bookings(a, reseller_reference=None, supplier_reference=reference)) == 1


def test_test_mode_holds_no_places_reaches_no_village_and_is_cleaned_up(a):
    test = octo.Caller(a.agency_id, None, True)
    held = _reserve(test, GROUP)
    assert held["testMode"] is True and _taken(a, GROUP, held["availabilityId"]) == 0
    done = octo.confirm(test, held["uuid"], octo.Confirmation({"fullName": "T"}))
    assert done["status"] == "CONFIRMED"
    pending = _reserve(test, WHEEL)
    assert octo.confirm(test, pending["uuid"], octo.Confirmation())["status"] == "PENDING"
    assert (
        db.session.scalars(
            select(Booking).where(Booking.reference == held["supplierReference"])
        ).first()
        is None
    )
    error = _error(octo.get_booking, a, held["uuid"])
    assert error.code == "INVALID_BOOKING_UUID", "a live key does not see test bookings"
    octo.expire_reservations(now=_now() + timedelta(hours=25))
    assert _error(octo.get_booking, test, held["uuid"]).code == "INVALID_BOOKING_UUID"


def test_a_test_booking_waiting_for_its_village_was_never_confirmed_even_once_cancelled(a):
    test = octo.Caller(a.agency_id, None, True)
    pending = octo.confirm(test, _reserve(test, WHEEL)["uuid"], octo.Confirmation())
    assert (pending["status"], pending["utcConfirmedAt"]) == ("PENDING", None)
    cancelled = octo.cancel(test, pending["uuid"], "plans changed")
    assert (cancelled["status"], cancelled["utcConfirmedAt"]) == ("CANCELLED", None)
    instant = octo.confirm(test, _reserve(test, GROUP)["uuid"], octo.Confirmation())
    cancelled = octo.cancel(test, instant["uuid"], None)
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["utcConfirmedAt"] == instant["utcConfirmedAt"] is not None


def test_a_test_booking_must_fit_like_a_real_one(a):
    test = octo.Caller(a.agency_id, None, True)
    error = _error(_reserve, test, WHEEL, units=["adult"] * 21)
    assert error.code == "UNPROCESSABLE_ENTITY"


def test_extending_keeps_the_hold_longer(a):
    held = _reserve(a, WHEEL)
    longer = octo.extend(a, held["uuid"], 120)
    assert longer["utcExpiresAt"] > held["utcExpiresAt"]
    octo.confirm(a, held["uuid"], octo.Confirmation())
    assert _error(octo.extend, a, held["uuid"], 10).code == "UNPROCESSABLE_ENTITY"


def test_listing_needs_a_reference(a):
    held = _reserve(a, WHEEL, reseller_reference="R-7")
    found = octo.list_bookings(a, reseller_reference="R-7", supplier_reference=None)
    assert [f["uuid"] for f in found] == [held["uuid"]]
    assert _error(octo.list_bookings, a, reseller_reference=None, supplier_reference=None).code == (
        "BAD_REQUEST"
    )


# --- webhooks ---------------------------------------------------------------------------------


class FakeWebhook:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict]] = []

    def post(self, url: str, secret: str, payload: dict, *, delivery_id: str) -> None:
        self.sent.append((url, secret, payload))


def test_the_agencys_webhook_hears_the_villages_answer(a, app, monkeypatch):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True  # the test's receiver address: loopback
    hook = octo.create_webhook(a, "http://127.0.0.1:9/octo", "booking_update")
    assert hook["secret"] and hook["event"] == "booking_update"
    assert [h["id"] for h in octo.list_webhooks(a)] == [hook["id"]]
    held = _reserve(a, WHEEL)
    octo.confirm(a, held["uuid"], octo.Confirmation())
    row = db.session.scalars(select(OctoBooking).where(OctoBooking.uuid == held["uuid"])).one()
    booking.decide(row.booking.items[0].id, accept=True, village_id=None)
    rows = db.session.scalars(
        select(Notification).where(Notification.channel == shapes.WEBHOOK_CHANNEL)
    ).all()
    assert [r.payload["body"]["booking"]["status"] for r in rows] == ["PENDING", "CONFIRMED"]
    fake = FakeWebhook()
    chosen = notifications.notifiers()
    monkeypatch.setattr(chosen, "webhook", fake)
    assert notifications.deliver(rows[-1].id).status == "sent"
    url, secret, body = fake.sent[0]
    assert (url, secret) == ("http://127.0.0.1:9/octo", hook["secret"])
    assert body["webhook"]["id"] == hook["id"] and body["booking"]["uuid"] == held["uuid"]
    octo.delete_webhook(a, hook["id"])
    assert notifications.deliver(rows[0].id).status == "failed", "a deleted hook gets nothing"


def test_a_webhook_url_must_be_allowed(a):
    error = _error(octo.create_webhook, a, "ftp://example.org/x", "booking_update")
    assert error.code == "BAD_REQUEST"
    assert _error(octo.create_webhook, a, "https://example.org/x", "other").code == "BAD_REQUEST"


# --- demo data --------------------------------------------------------------------------------


def test_the_demo_gives_a_reseller_a_whole_cycle(demo, a):
    today = local_today(_now())
    month = octo.AvailabilityQuery
    products = {p["id"]: p for p in octo.list_products(a)}
    for product in (GROUP, VISIT):
        sessions = octo.check_availability(
            a, month(product, "DEFAULT", start=today, end=today + timedelta(days=29))
        )
        assert len([s for s in sessions if s["available"]]) >= 2, product
    group = octo.check_availability(
        a, month(GROUP, "DEFAULT", start=today, end=today + timedelta(days=29))
    )
    assert any(s["status"] == "SOLD_OUT" for s in group)
    assert max(s["vacancies"] for s in group) >= 12 * 5, "a dozen reservations of 5 units"
    others = [p for p in products if p not in (GROUP, VISIT)]
    assert others, "a second bookable product"
    keys = agencies.list_api_keys(a.agency_id)
    assert {k["test_mode"] for k in keys if k["label"] == octo.DEMO_KEY_LABEL} == {True, False}
    before = db.session.scalar(select(func.count()).select_from(OctoBooking))
    assert "earlier seed" in octo.seed_demo(), "a second seed changes nothing"
    assert db.session.scalar(select(func.count()).select_from(OctoBooking)) == before
    full = db.session.scalars(select(Slot).where(Slot.taken == Slot.capacity)).all()
    assert len(full) == 1
