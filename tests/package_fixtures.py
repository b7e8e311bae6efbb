"""Agencies, a package and a booking plan over real slots, shared by the package booking tests
(SQLite in tests/unit, PostgreSQL in tests/integration)."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from demo_days import sessions_on
from sqlalchemy import select

from tourplanner.adapters.orm import Agency, Experience, Package, PackageDay, PackageStop, Slot
from tourplanner.extensions import db
from tourplanner.services import availability
from tourplanner.services.booking_request import ItemRequest

_counter = itertools.count()
# Day 1: two workshops, day 2: one; (experience slug, session index of the day).
STOPS = (
    (1, "bat-trang-workshop-pottery-wheel", 1),
    (1, "lang-chuong-workshop-conical-hat", 2),
    (2, "van-phuc-workshop-silk-weaving", 1),
)


@dataclass(frozen=True)
class FixedPlan:
    """A booking plan with the fields of ``packages.BookingPlan``, over chosen slots."""

    package_id: int
    agency_id: int
    slug: str
    first_date: date
    items: tuple[ItemRequest, ...]
    labels: dict[int, str] = field(default_factory=dict)
    retail_total_vnd: int = 0
    net_total_vnd: int = 0
    commission_vnd: int = 0


def agency(name: str, *, commission_bp: int = 1000) -> Agency:
    n = next(_counter)
    row = Agency(
        slug=f"{name.lower()}-{n}",
        name=name,
        contact_email=f"office{n}@{name.lower()}.example",
        commission_bp=commission_bp,
    )
    db.session.add(row)
    db.session.commit()
    return row


def first_day(days_ahead: int, stops=STOPS) -> date:
    """The first day at least ``days_ahead`` from today on which every one of ``stops``'s
    sessions exists: the demo workshops keep weekly hours and closed dates, so a fixed offset
    from today would land on a closed day on some dates and fail the tests that day."""

    def has_sessions(first: date) -> bool:
        return all(
            len(sessions_on(slug, first + timedelta(days=number - 1))) > index
            for number, slug, index in stops
        )

    day = date.today() + timedelta(days=days_ahead)
    while not has_sessions(day):
        day += timedelta(days=1)
    return day


def package(owner: Agency, first: date, *, status: str = "published", stops=STOPS) -> Package:
    """A package of ``owner`` whose stops start at the sessions :data:`STOPS` names on
    ``first`` and the day after (so the package service plans exactly those sessions)."""
    row = Package(
        agency_id=owner.id,
        slug=f"two-days-{next(_counter)}",
        status=status,
        name_vi="Hai ngày làng nghề",
        name_en="Two craft-village days",
        markup_kind="percent",
        markup_bp=2000,
        party={"adults": 2, "children": 1, "seniors": 0},
    )
    for number in sorted({n for n, _, _ in stops}):
        day = PackageDay(
            number=number,
            start_label="Hoàn Kiếm Lake",
            start_lat=21.0285,
            start_lon=105.8522,
            day_start="07:30",
            day_end="18:00",
            lunch=False,
        )
        row.days.append(day)
        for position, (_, slug, index) in enumerate(s for s in stops if s[0] == number):
            slot = slot_of(slug, first + timedelta(days=number - 1), index)
            day.stops.append(
                PackageStop(
                    position=position,
                    experience_id=slot.experience_id,
                    locked=True,
                    start_minute=slot.start.hour * 60 + slot.start.minute,
                )
            )
    db.session.add(row)
    db.session.commit()
    return row


def install_plans(monkeypatch, pkg: Package) -> None:
    """Until the package service's booking_plan is in: plans from :func:`plan_for`."""
    from tourplanner.domain.errors import NotFound
    from tourplanner.services import package_booking

    slug, owner_id, plans = pkg.slug, pkg.agency_id, {}

    def booking_plan(asked, first_date, party, *, agency_id=None, now=None):
        if asked != slug or (agency_id is not None and agency_id != owner_id):
            raise NotFound("no such package", code="package_not_found")
        if (first_date, party) not in plans:
            plans[first_date, party] = plan_for(db.session.get(Package, pkg.id), first_date, party)
        return plans[first_date, party]

    monkeypatch.setattr(package_booking, "_booking_plan", booking_plan)


def slot_of(slug: str, day: date, index: int) -> Slot:
    exp = db.session.scalars(select(Experience).where(Experience.slug == slug)).one()
    view = availability.slots_for_day([exp.id], day)[exp.id][index]
    return db.session.get(Slot, view.id)


def plan_for(pkg: Package, first: date, party, *, stops=STOPS) -> FixedPlan:
    """The plan ``packages.booking_plan`` would give: one session per workshop stop, priced
    at the villages' prices (net), 20 % markup (retail), the agency's commission on retail."""
    items, labels, net = [], {}, 0
    for number, slug, index in stops:
        slot = slot_of(slug, first + timedelta(days=number - 1), index)
        items.append(ItemRequest(slot.id, party))
        labels[slot.id] = f"Day {number} · {slot.experience.title_en} · {slot.start:%H:%M}"
        e = slot.experience
        net += (
            party.adults * e.price_adult_vnd
            + party.children * e.price_child_vnd
            + party.seniors * e.price_senior_vnd
        )
    retail = net * 12 // 10
    commission = retail * pkg.agency.commission_bp // 10_000
    return FixedPlan(
        pkg.id, pkg.agency_id, pkg.slug, first, tuple(items), labels, retail, net, commission
    )


def leave_places(plan: FixedPlan, places: int) -> None:
    """Every session of the plan has exactly ``places`` left."""
    for item in plan.items:
        slot = db.session.get(Slot, item.slot_id)
        slot.taken = slot.capacity - places
    db.session.commit()


def race(app, n: int, body_for) -> list:
    """``n`` package bookings at once through the API, each in its own app context and
    database session; ``body_for(k)`` is the k-th JSON body. ``(status, json)`` in order."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def one(k: int) -> None:
        client = app.test_client()
        body = body_for(k)
        barrier.wait()
        response = client.post("/api/v1/bookings", json=body)
        results[k] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=one, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def thirty_race_for_ten_places(app, pkg: Package, first: date, plan) -> None:
    """30 one-adult bookings of ``pkg`` on ``first`` at once, 10 places left in each of
    ``plan``'s sessions (:func:`leave_places`): exactly 10 whole bookings (every item), 20
    refusals (409), every session full and held by exactly 10 items."""
    from sqlalchemy import func

    from tourplanner.adapters.orm import Booking, BookingItem

    ids = [i.slot_id for i in plan.items]
    slug = pkg.slug

    def body(k: int) -> dict:
        return {
            "package": slug,
            "date": first.isoformat(),
            "party": {"adults": 1},
            "contact": {"name": f"Guest {k}", "email": f"guest{k}-{slug}@example.org"},
        }

    results = race(app, 30, body)
    statuses = [status for status, _ in results]
    assert statuses.count(201) == 10 and statuses.count(409) == 20, sorted(statuses)
    assert all(
        b["error"]["code"] in ("slot_full", "package_not_runnable")
        for status, b in results
        if status == 409
    )
    db.session.expire_all()
    assert all(db.session.get(Slot, s).taken == db.session.get(Slot, s).capacity for s in ids)
    made = db.session.scalars(select(Booking).where(Booking.package_id == pkg.id)).all()
    assert len(made) == 10 and all(len(b.items) == len(ids) for b in made)  # whole only
    for slot_id in ids:
        held = db.session.scalar(
            select(func.count()).select_from(BookingItem).where(BookingItem.slot_id == slot_id)
        )
        assert held == 10


def start_of(slot_id: int) -> datetime:
    return db.session.get(Slot, slot_id).start
