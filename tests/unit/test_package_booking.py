"""Booking a package: every item of every day in one booking, all or nothing; idempotent
retries; the 409 names the full item; another agency's booking is 404; 30 concurrent bookings
for 10 places make exactly 10 whole bookings."""

from __future__ import annotations

from datetime import date

import pytest
from package_fixtures import (
    agency,
    first_day,
    install_plans,
    leave_places,
    package,
    plan_for,
    thirty_race_for_ten_places,
)
from sqlalchemy import func, select

from tourplanner.adapters.orm import Booking, BookingItem, Notification, Slot
from tourplanner.domain.errors import Conflict, NotFound, Unprocessable
from tourplanner.domain.pricing import Party
from tourplanner.extensions import db
from tourplanner.services import package_booking

FIRST = first_day(30)
PARTY = Party(adults=2, children=1)
CONTACT = {"name": "Mai Trần", "email": "mai@example.org", "phone": "+84 91 111 2222"}


@pytest.fixture
def setup(app, monkeypatch):
    """Two agencies; a published 2-day package of the first over three workshops; the plan
    the package service gives for any party (its sessions on FIRST and the day after)."""
    owner, other = agency("Sen"), agency("Lotus")
    pkg = package(owner, FIRST)
    install_plans(monkeypatch, pkg)
    plan = package_booking._booking_plan(pkg.slug, FIRST, PARTY, agency_id=None, now=None)
    return {"owner": owner, "other": other, "package": pkg, "plan": plan}


def _taken(slot_ids) -> list[int]:
    db.session.expire_all()
    return [db.session.get(Slot, s).taken for s in slot_ids]


def _book(setup, **kw):
    kw.setdefault("agency_id", setup["owner"].id)
    return package_booking.book_package(
        setup["package"].slug, FIRST, PARTY, kw.pop("contact", CONTACT), lang="en", **kw
    )


def test_a_package_booking_reserves_every_item_of_every_day_in_one_booking(setup):
    plan = setup["plan"]
    ids = [i.slot_id for i in plan.items]
    for slot_id in ids:
        village = db.session.get(Slot, slot_id).experience.village
        village.booking_email = f"{village.slug}@example.org"
    db.session.commit()
    before = _taken(ids)
    view, replayed = _book(setup, notes="Vegetarian lunch")
    assert not replayed
    assert len(view["items"]) == 3 and {i["status"] for i in view["items"]} == {"pending"}
    assert {i["slot_id"] for i in view["items"]} == set(ids)
    assert _taken(ids) == [t + PARTY.size for t in before]
    stored = db.session.scalars(select(Booking).where(Booking.reference == view["reference"])).one()
    # 2 adults + 1 child: 400 000 (Bát Tràng) + 270 000 (Làng Chuông) + 320 000 (Vạn Phúc).
    assert stored.net_total_vnd == 990_000
    assert stored.total_vnd == 1_188_000  # retail: net + 20 %
    assert stored.commission_vnd == 118_800  # 10 % of retail
    assert sum(i.total_vnd for i in stored.items) == 990_000  # items keep the villages' prices
    assert (stored.source, stored.agency_id, stored.package_id) == (
        "agency",
        setup["owner"].id,
        setup["package"].id,
    )
    assert stored.package_date == FIRST and stored.notes == "Vegetarian lunch"
    assert view["package"] == setup["package"].slug and view["package_date"] == FIRST.isoformat()
    # Each village is asked for its own item (outbox rows in the same transaction).
    asked = db.session.scalars(
        select(Notification.recipient).where(
            Notification.booking_id == stored.id, Notification.event == "village_requested"
        )
    ).all()
    assert sorted(asked) == [
        "bat-trang@example.org",
        "lang-chuong@example.org",
        "van-phuc@example.org",
    ]


def test_one_full_session_reserves_nothing_and_the_409_names_that_item(setup):
    plan = setup["plan"]
    ids = [i.slot_id for i in plan.items]
    full = plan.items[2].slot_id  # day 2's workshop
    slot = db.session.get(Slot, full)
    slot.taken = slot.capacity - 1
    db.session.commit()
    before = _taken(ids)
    bookings = db.session.scalar(select(func.count()).select_from(Booking))
    with pytest.raises(Conflict) as caught:
        _book(setup)
    error = caught.value
    assert error.code == "slot_full"
    assert error.details["item"] == plan.labels[full]
    assert error.details["item"].startswith("Day 2 · ")
    assert (error.details["slot_id"], error.details["remaining"], error.details["requested"]) == (
        full,
        1,
        3,
    )
    assert error.details["item"] in error.message
    assert _taken(ids) == before
    assert db.session.scalar(select(func.count()).select_from(Booking)) == bookings
    assert (
        db.session.scalar(
            select(func.count()).select_from(BookingItem).where(BookingItem.slot_id.in_(ids))
        )
        == 0
    )


def test_a_retry_with_the_same_key_replays_the_booking_and_reserves_nothing_twice(setup):
    ids = [i.slot_id for i in setup["plan"].items]
    first, replayed = _book(setup, idempotency_key="pkg-1")
    after = _taken(ids)
    again, replayed_again = _book(setup, idempotency_key="pkg-1")
    assert (replayed, replayed_again) == (False, True)
    assert again["reference"] == first["reference"] and again["manage_token"] is None
    assert _taken(ids) == after
    # The same key for another request (other notes) is refused, nothing reserved.
    with pytest.raises(Unprocessable) as caught:
        _book(setup, idempotency_key="pkg-1", notes="changed")
    assert caught.value.code == "idempotency_key_reused"
    assert _taken(ids) == after


def test_a_retry_replays_even_once_the_package_has_filled_up(setup):
    first, _ = _book(setup, idempotency_key="pkg-full")
    leave_places(setup["plan"], 0)
    again, replayed = _book(setup, idempotency_key="pkg-full")
    assert replayed and again["reference"] == first["reference"]


def test_a_client_of_another_agency_cannot_be_booked_for(setup):
    from tourplanner.adapters.orm import AgencyClient

    theirs = AgencyClient(agency_id=setup["other"].id, name="Not yours", email="x@example.org")
    db.session.add(theirs)
    db.session.commit()
    with pytest.raises(NotFound):
        _book(setup, client_id=theirs.id, contact=None)


def test_booking_for_a_client_uses_the_clients_contact(setup):
    from tourplanner.adapters.orm import AgencyClient

    mine = AgencyClient(agency_id=setup["owner"].id, name="Hùng Phạm", phone="0912")
    db.session.add(mine)
    db.session.commit()
    view, _ = _book(setup, client_id=mine.id, contact=None)
    # No e-mail on file: the agency's own address receives the villages' answers.
    assert view["contact"] == {
        "name": "Hùng Phạm",
        "email": setup["owner"].contact_email,
        "phone": "0912",
    }
    assert package_booking.get_for_agency(setup["owner"].id, view["reference"])["client"] == {
        "id": mine.id,
        "name": "Hùng Phạm",
    }


def test_another_agencys_booking_does_not_exist_for_it(setup):
    view, _ = _book(setup)
    assert package_booking.get_for_agency(setup["owner"].id, view["reference"])["reference"]
    with pytest.raises(NotFound):
        package_booking.get_for_agency(setup["other"].id, view["reference"])
    assert package_booking.list_for_agency(setup["other"].id) == []
    assert [b["reference"] for b in package_booking.list_for_agency(setup["owner"].id)] == [
        view["reference"]
    ]


# --- through the API -----------------------------------------------------------------------


def _body(setup, **extra):
    return {
        "package": setup["package"].slug,
        "date": FIRST.isoformat(),
        "party": PARTY.as_dict(),
        "contact": CONTACT,
        "lang": "en",
        **extra,
    }


def test_the_api_books_a_package_as_a_public_booking(setup, client):
    response = client.post("/api/v1/bookings", json=_body(setup))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["package"] == setup["package"].slug and len(body["items"]) == 3
    assert body["total_vnd"] == 1_188_000
    assert "net_total_vnd" not in body and "commission_vnd" not in body  # never to the client
    stored = db.session.scalars(select(Booking).where(Booking.reference == body["reference"])).one()
    assert stored.source == "site" and stored.agency_id == setup["owner"].id


def test_the_api_409_names_the_full_item(setup, client):
    plan = setup["plan"]
    full = plan.items[0].slot_id
    slot = db.session.get(Slot, full)
    slot.taken = slot.capacity
    db.session.commit()
    response = client.post("/api/v1/bookings", json=_body(setup))
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "slot_full" and error["details"]["item"] == plan.labels[full]
    assert error["details"]["remaining"] == 0 and error["details"]["requested"] == 3


def test_the_api_refuses_unknown_fields_and_bad_dates_of_a_package_booking(setup, client):
    bad = client.post("/api/v1/bookings", json=_body(setup, items=[]))
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "unknown_field"
    bad = client.post("/api/v1/bookings", json=_body(setup, date="2026-13-01"))
    assert bad.status_code == 400 and bad.get_json()["error"]["details"]["field"] == "date"
    bad = client.post("/api/v1/bookings", json=_body(setup, party={"adults": 0}))
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_party"
    missing = client.post("/api/v1/bookings", json=_body(setup, package="no-such-package"))
    assert missing.status_code == 404


# --- concurrency ---------------------------------------------------------------------------


def test_thirty_concurrent_package_bookings_for_ten_places_make_exactly_ten_whole_bookings(
    setup, app
):
    """The must-show on SQLite: each request is its own app context, session and connection."""
    app.config["RATE_LIMITS"] = False
    plan = plan_for(setup["package"], FIRST, Party(adults=1))
    leave_places(plan, 10)
    # The plan worked out once, before the threads.
    package_booking._booking_plan(plan.slug, FIRST, Party(adults=1), agency_id=None, now=None)
    thirty_race_for_ten_places(app, setup["package"], FIRST, plan)


# --- reports -------------------------------------------------------------------------------


def _sold(pkg, first, party, agency_id):
    from package_fixtures import plan_for as plan

    from tourplanner.services.availability import now_utc
    from tourplanner.services.booking_request import PackageRequest

    request = PackageRequest(pkg.slug, first, party, CONTACT, "en")
    view, _ = package_booking.book_plan(
        plan(pkg, first, party),
        request,
        agency_id=agency_id,
        fingerprint=request.fingerprint(agency_id),
        idempotency_key=None,
        client_ip=None,
        now=now_utc(),
    )
    return view


@pytest.fixture
def sales(setup, monkeypatch):
    """Two bookings of the first agency's package on FIRST (one with a declined item), one of
    the second agency's package some 40 days later."""
    from tourplanner.services import booking

    owner, other = setup["owner"], setup["other"]
    # Some 40 days later, on a day every stop has its session (not a fixed offset).
    theirs_first = first_day((FIRST - date.today()).days + 40)
    theirs = package(other, theirs_first)
    a = _sold(setup["package"], FIRST, Party(adults=2, children=1), owner.id)
    b = _sold(setup["package"], FIRST, Party(adults=1), owner.id)
    c = _sold(theirs, theirs_first, Party(adults=1), other.id)
    declined = next(i for i in b["items"] if i["village"]["slug"] == "van-phuc")
    booking.decide(declined["id"], accept=False, reason="Loom broken", village_id=None)
    return {"a": a, "b": b, "c": c, "theirs_month": f"{theirs_first:%Y-%m}"}


def test_reports_figures_equal_the_hand_computed_sums(setup, sales):
    from tourplanner.services import reports

    owner = setup["owner"].id
    # A: 2 adults + 1 child, net 990 000, retail 1 188 000, commission 118 800.
    # B: 1 adult, net 370 000, retail 444 000, commission 44 400 (its Vạn Phúc item declined).
    assert reports.totals(owner) == {
        "bookings": 2,
        "participants": 4,
        "retail_vnd": 1_632_000,
        "net_vnd": 1_360_000,
        "commission_vnd": 163_200,
    }
    (row,) = reports.by_package(owner)
    assert row["key"] == setup["package"].slug and row["retail_vnd"] == 1_632_000
    assert reports.by_month(owner) == [{"key": f"{FIRST:%Y-%m}", **reports.totals(owner)}]
    villages = {r["key"]: r for r in reports.by_village(owner)}
    # Bát Tràng: A 400 000 + B 150 000 net; retail and commission in proportion to net.
    assert villages["bat-trang"] == {
        **villages["bat-trang"],
        "bookings": 2,
        "participants": 4,
        "net_vnd": 550_000,
        "retail_vnd": 480_000 + 180_000,
        "commission_vnd": 48_000 + 18_000,
    }
    # Vạn Phúc: B's item was declined, only A's counts.
    assert {k: villages["van-phuc"][k] for k in ("bookings", "participants", "net_vnd")} == {
        "bookings": 1,
        "participants": 3,
        "net_vnd": 320_000,
    }
    assert villages["van-phuc"]["retail_vnd"] == 384_000


def test_the_admin_report_has_every_agency_and_an_agency_only_its_own(setup, sales):
    from tourplanner.services import reports

    everyone = reports.totals()
    assert everyone["bookings"] == 3 and everyone["net_vnd"] == 1_360_000 + 370_000
    theirs = reports.report(setup["other"].id)
    assert theirs["totals"]["bookings"] == 1
    assert [r["key"] for r in theirs["month"]] == [sales["theirs_month"]]
    assert {r["agency"] for r in reports.by_package()} == {"Sen", "Lotus"}


def test_report_csv_has_one_row_per_group_and_defuses_formulas(setup, sales):
    import csv
    import io

    from tourplanner.services import reports

    setup["package"].name_en = "=HYPERLINK(1)"
    db.session.commit()
    rows = list(csv.reader(io.StringIO(reports.to_csv("package", setup["owner"].id))))
    assert rows[0] == ["package", "name_vi", "name_en", *reports.FIGURES]
    assert rows[1][2] == "'=HYPERLINK(1)"
    assert rows[1][3:] == ["2", "4", "1632000", "1360000", "163200"]
    months = list(csv.reader(io.StringIO(reports.to_csv("month"))))
    assert len(months) == 3  # header + two months


# --- replacing a declined item -------------------------------------------------------------


def _declined(setup, village="bat-trang"):
    from tourplanner.services import booking

    view, _ = _book(setup)
    item = next(i for i in view["items"] if i["village"]["slug"] == village)
    booking.decide(item["id"], accept=False, reason="Kiln repairs", village_id=None)
    return view["reference"], item


def test_a_declined_item_is_offered_the_same_workshops_other_sessions_first(setup):
    reference, item = _declined(setup)
    options = package_booking.replacement_options(setup["owner"].id, reference, item["id"])
    assert options and options[0]["same_experience"]
    same = [o for o in options if o["same_experience"]]
    assert item["slot_id"] not in {o["id"] for o in options}
    assert all(o["start"][:10] == item["start"][:10] and o["remaining"] >= 3 for o in same)
    others = [o for o in options if not o["same_experience"]]
    assert all(o["minutes_from_declined"] <= package_booking.NEAR_TIME_MINUTES for o in others)


def test_replacing_a_declined_item_adds_it_with_capacity_taken_once(setup):
    owner = setup["owner"].id
    reference, item = _declined(setup)
    option = package_booking.replacement_options(owner, reference, item["id"])[0]
    before = _taken([option["id"]])[0]
    view = package_booking.replace_item(owner, reference, item["id"], option["id"])
    added = next(i for i in view["items"] if i["slot_id"] == option["id"])
    assert added["status"] == "pending" and added["total_vnd"] == item["total_vnd"]
    assert _taken([option["id"]]) == [before + 3]
    assert view["net_total_vnd"] == 990_000 and view["status"] == "pending"
    assert package_booking.replaced_items(reference) == {item["id"]: added["id"]}
    with pytest.raises(Conflict) as caught:
        package_booking.replace_item(owner, reference, item["id"], option["id"])
    assert caught.value.code == "invalid_transition"
    assert _taken([option["id"]]) == [before + 3]


def test_a_replacement_that_filled_meanwhile_adds_nothing(setup, monkeypatch):
    owner = setup["owner"].id
    reference, item = _declined(setup)
    option = package_booking.replacement_options(owner, reference, item["id"])[0]
    # Offered when the page was drawn; full by the time the agency clicks.
    offered = package_booking.replacement_options
    monkeypatch.setattr(package_booking, "replacement_options", lambda *a, **k: [option])
    slot = db.session.get(Slot, option["id"])
    slot.taken = slot.capacity - 1
    db.session.commit()
    with pytest.raises(Conflict) as caught:
        package_booking.replace_item(owner, reference, item["id"], option["id"])
    assert caught.value.code == "slot_full"
    monkeypatch.setattr(package_booking, "replacement_options", offered)
    db.session.expire_all()
    stored = db.session.scalars(select(Booking).where(Booking.reference == reference)).one()
    assert len(stored.items) == 3 and package_booking.replaced_items(reference) == {}


def test_another_agency_cannot_see_or_replace_items_of_a_booking(setup):
    reference, item = _declined(setup)
    with pytest.raises(NotFound):
        package_booking.replacement_options(setup["other"].id, reference, item["id"])
    with pytest.raises(NotFound):
        package_booking.replace_item(setup["other"].id, reference, item["id"], 1)


def test_with_an_agencys_api_key_the_booking_is_the_agencys_and_others_packages_are_404(
    setup, app, client
):
    from tourplanner.services import agencies

    _, mine = agencies.create_api_key(setup["owner"].id, "booking desk")
    _, theirs = agencies.create_api_key(setup["other"].id, "theirs")

    def post(key: str):
        # Each request in its own app context, as in a server (flask.g is per app context).
        with app.app_context():
            return client.post(
                "/api/v1/bookings", json=_body(setup), headers={"Authorization": f"Bearer {key}"}
            )

    response = post(mine)
    assert response.status_code == 201, response.get_json()
    stored = db.session.scalars(
        select(Booking).where(Booking.reference == response.get_json()["reference"])
    ).one()
    assert (stored.source, stored.agency_id) == ("agency", setup["owner"].id)
    assert post(theirs).status_code == 404
    forged = post("tp_nope")
    assert forged.status_code == 401 and forged.get_json()["error"]["code"] == "unauthorized"
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 1


def test_hold_limits_count_every_item_of_a_public_package_but_not_an_agencys_group(setup, app):
    app.config["HOLD_PLACES_PER_CONTACT"] = 8  # the party of 3 holds 9 places over 3 items
    with pytest.raises(Conflict) as caught:
        _book(setup, agency_id=None)
    assert caught.value.code == "too_many_held_places"
    assert caught.value.details["requested"] == 9
    view, _ = _book(setup)  # the agency, signed in, books the group
    assert len(view["items"]) == 3
