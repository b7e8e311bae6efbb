"""Published packages sold through the OCTO API (docs/octo.md, "Packages").

A published package with at least one workshop is the product ``package:<slug>``
(``START_TIME``); its availabilities are the first dates it runs
(:func:`tourplanner.services.packages.run_dates`), each named by the date and the first
stop's start. A reservation holds the places of **every** session of the package's booking
plan (:func:`tourplanner.services.packages.booking_plan`) at once, with the one conditional
UPDATE of every booking (``booking.take`` through ``booking.move_places``, slot-id order, one
transaction: all or nothing); expiry or cancellation gives all of them back. Confirming makes
one package booking (source ``octo``) whose items the villages answer one by one: the reseller
sees ``PENDING`` until every item is confirmed and ``REJECTED`` as soon as one is declined
(:func:`tourplanner.domain.octo_packages.package_status`).

The generic use cases of :mod:`tourplanner.services.octo` (scope, uuids, holds, webhooks)
call in here for package rows and product ids; this module reuses their helpers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tourplanner.adapters.orm import Experience, Package, Slot
from tourplanner.adapters.orm.octo import OctoBooking, OctoBookingSession
from tourplanner.domain import octo_packages as shapes
from tourplanner.domain.availability import LOCAL_TZ
from tourplanner.domain.errors import Conflict, NotFound, Unprocessable
from tourplanner.domain.octo import (
    MAX_CALENDAR_DAYS,
    MAX_CHECK_DAYS,
    OPTION_ID,
    AvailabilityQuery,
    Caller,
    Change,
    Confirmation,
    Reservation,
    UnitItemInput,
    bad_request,
    cancellable,
    check_option,
    check_range,
    check_unit_ids,
    contact_lang,
    days,
    invalid_availability,
    merge_contact,
    party_of,
    unit_items,
    unprocessable,
    village_contact,
)
from tourplanner.domain.octo_packages import PackageDate, PackageProduct
from tourplanner.domain.pricing import Party, share_bp
from tourplanner.extensions import db
from tourplanner.services import availability, booking, notifications, packages
from tourplanner.services import octo as core
from tourplanner.services.availability import horizon
from tourplanner.services.booking_request import BookingRequest, ItemRequest
from tourplanner.services.unit_of_work import unit_of_work

#: The party a date's availability is checked for (its vacancies say how many more fit).
ONE = Party(adults=1)
#: Most days :func:`packages.run_dates` is asked at once.
RUN_CHUNK = packages.MAX_RUN_DATE_RANGE


# --- products ----------------------------------------------------------------------------


def _hhmm(value: str) -> time:
    return time.fromisoformat(value)


def _product(view: dict[str, Any]) -> PackageProduct | None:
    """The product of a published package's public view; None without a workshop to hold."""
    stops = [(n, s) for n, d in enumerate(view["days"]) for s in d["stops"]]
    workshops = [s["experience"] for _n, s in stops if s["kind"] == "workshop"]
    if not stops or not workshops:
        return None
    rows = db.session.scalars(select(Experience).where(Experience.slug.in_(workshops))).all()
    first_n, first = stops[0]
    last_n, last = stops[-1]
    start = _hhmm(first["start"])
    end = last_n * 24 * 60 + _minutes(last["start"]) + int(last["duration_minutes"] or 0)
    return PackageProduct(
        slug=view["slug"],
        name=view["name"],
        description=view["description"],
        included=view["included"],
        day_count=len(view["days"]),
        retail=dict(view["prices"]["retail"]),
        first_start=start,
        duration_minutes=max(0, end - first_n * 24 * 60 - _minutes(first["start"])),
        min_age=max((e.min_age or 0 for e in rows), default=0),
        instant=all(e.instant_confirmation for e in rows),
        free_cancellation_hours=int(view["terms"]["free_cancellation_hours"]),
        booking_cutoff_hours=int(view["terms"]["booking_cutoff_hours"]),
    )


def _minutes(hhmm: str) -> int:
    at = _hhmm(hhmm)
    return at.hour * 60 + at.minute


def _published(slug: str) -> tuple[PackageProduct, dict[str, Any]]:
    try:
        view = packages.get_published(slug)
    except NotFound:
        raise shapes.invalid_product(shapes.product_id(slug)) from None
    product = _product(view)
    if product is None:
        raise shapes.invalid_product(shapes.product_id(slug))
    return product, view


def find(product_id: object) -> PackageProduct:
    """The package product ``product_id`` names (published, with a workshop); else
    INVALID_PRODUCT_ID."""
    slug = shapes.package_slug(product_id)
    if slug is None:
        raise shapes.invalid_product(product_id)
    return _published(slug)[0]


def _sold() -> list[PackageProduct]:
    """Every published package with a workshop to hold."""
    found = (_product(packages.get_published(s["slug"])) for s in packages.list_published())
    return [p for p in found if p is not None]


def product_ids() -> list[str]:
    return [p.id for p in _sold()]


def list_products(caller: Caller) -> list[dict[str, Any]]:
    rate = core.commission_bp(caller.agency_id)
    return [shapes.product_view(p, caller, rate) for p in _sold()]


def get_product(caller: Caller, product_id: str) -> dict[str, Any]:
    return shapes.product_view(find(product_id), caller, core.commission_bp(caller.agency_id))


# --- availability ------------------------------------------------------------------------


def _workshops(view: dict[str, Any]) -> list[tuple[int, Experience, time]]:
    """(day offset, experience, planned start) of every workshop stop, in the package's order."""
    slugs = [s["experience"] for d in view["days"] for s in d["stops"] if s["kind"] == "workshop"]
    by_slug = {
        e.slug: e for e in db.session.scalars(select(Experience).where(Experience.slug.in_(slugs)))
    }
    return [
        (n, by_slug[s["experience"]], _hhmm(s["start"]))
        for n, d in enumerate(view["days"])
        for s in d["stops"]
        if s["kind"] == "workshop" and s["experience"] in by_slug
    ]


def dates(
    product: PackageProduct, view: dict[str, Any], first: date, last: date, now: datetime
) -> dict[date, PackageDate]:
    """The first dates in ``[first, last]`` the package runs (vacancies: the fewest places
    left over its sessions) or would run but for a full session (sold out)."""
    today, final = horizon(now)
    first, last = max(first, today), min(last, final - timedelta(days=product.day_count - 1))
    if first > last:
        return {}
    runs: dict[date, int | None] = {}
    chunk = first
    while chunk <= last:
        end = min(last, chunk + timedelta(days=RUN_CHUNK - 1))
        for found in packages.run_dates(product.slug, ONE, chunk, end, now=now):
            runs[date.fromisoformat(found["date"])] = found["places_left"]
        chunk = end + timedelta(days=1)
    workshops = _workshops(view)
    sessions = _sessions(workshops, first, last + timedelta(days=product.day_count - 1), now)
    out: dict[date, PackageDate] = {}
    for day in days(first, last):
        held = [
            (e, sessions.get((e.id, datetime.combine(day + timedelta(days=n), at))))
            for n, e, at in workshops
        ]
        slots = [s for _e, s in held if s is not None]
        complete = len(slots) == len(held) and bool(held)
        cutoff = (
            min(s.start - timedelta(hours=e.booking_cutoff_hours) for e, s in held if s)
            if slots
            else None
        )
        capacity = min((s.capacity for s in slots), default=None)
        if day in runs:
            out[day] = PackageDate(day, runs[day], capacity, False, cutoff)
        elif complete and min(s.remaining for s in slots) == 0:
            out[day] = PackageDate(day, 0, capacity, True, cutoff)
    return out


def _sessions(
    workshops: list[tuple[int, Experience, time]], first: date, last: date, now: datetime
) -> dict[tuple[int, datetime], availability.SlotView]:
    """The offered sessions of the package's workshops, by (experience, naive local start)."""
    found: dict[tuple[int, datetime], availability.SlotView] = {}
    step = MAX_CHECK_DAYS
    for e in {e.id: e for _n, e, _t in workshops}.values():
        chunk = first
        while chunk <= last:
            end = min(last, chunk + timedelta(days=step - 1))
            for slot in availability.slots_between(e.id, chunk, end, now=now):
                local = slot.start.astimezone(LOCAL_TZ).replace(tzinfo=None)
                found[(e.id, local)] = slot
            chunk = end + timedelta(days=1)
    return found


def check_availability(caller: Caller, query: AvailabilityQuery, now: datetime) -> list[dict]:
    product, view = _published(shapes.package_slug(query.product_id) or "")
    check_option(query.option_id)
    units = check_unit_ids(product.units(), query.units)
    by_range = query.start is not None or query.end is not None
    if by_range == (query.availability_ids is not None):
        raise bad_request(
            "either localDate, localDateStart/localDateEnd or availabilityIds is required"
        )
    if by_range:
        if query.start is None or query.end is None:
            raise bad_request("localDateStart and localDateEnd go together")
        check_range(query.start, query.end, MAX_CHECK_DAYS)
        found = dates(product, view, query.start, query.end, now)
    else:
        found = {}
        wanted = {product.first_date_of(v) for v in query.availability_ids or ()}
        for day in sorted(d for d in wanted if d is not None):
            found.update(dates(product, view, day, day, now))
    rate = core.commission_bp(caller.agency_id)
    return [shapes.availability_view(product, found[d], caller, rate, units) for d in sorted(found)]


def calendar(caller: Caller, query: AvailabilityQuery, now: datetime) -> list[dict]:
    product, view = _published(shapes.package_slug(query.product_id) or "")
    check_option(query.option_id)
    units = check_unit_ids(product.units(), query.units)
    if query.start is None or query.end is None:
        raise bad_request("localDateStart and localDateEnd are required")
    check_range(query.start, query.end, MAX_CALENDAR_DAYS)
    found = dates(product, view, query.start, query.end, now)
    rate = core.commission_bp(caller.agency_id)
    return [
        shapes.calendar_day(product, day, found.get(day), caller, rate, units)
        for day in days(query.start, query.end)
    ]


# --- reservations ------------------------------------------------------------------------


def _terms(product: PackageProduct, plan: packages.BookingPlan, rate: int) -> dict[str, Any]:
    """What the booking keeps of the package as reserved (prices, the reseller's commission
    rate ``rate`` for its net prices, terms, how it is shown). The commission is the
    reseller's: what the platform keeps is retail less the net the reseller was quoted and
    owes, whichever agency's package it resells (the owner's own sale: the same figure)."""
    return {
        "owner": plan.agency_id,
        "retail": dict(product.retail),
        "commission_bp": rate,
        "retail_total_vnd": plan.retail_total_vnd,
        "net_total_vnd": plan.net_total_vnd,
        "commission_vnd": share_bp(plan.retail_total_vnd, rate),
        "labels": {str(k): v for k, v in plan.labels.items()},
        "first_start": product.first_start.strftime("%H:%M"),
        "duration_minutes": product.duration_minutes,
        "day_count": product.day_count,
        "min_age": product.min_age,
        "instant": product.instant,
        "free_cancellation_hours": product.free_cancellation_hours,
        "booking_cutoff_hours": product.booking_cutoff_hours,
    }


def _plan(product: PackageProduct, first: date, party: Party, now: datetime):
    """The package's booking plan for the party (its sessions), or why it cannot run."""
    try:
        return packages.booking_plan(product.slug, first, party, now=now)
    except NotFound:
        raise shapes.invalid_product(product.id) from None
    except (Conflict, Unprocessable) as exc:
        problems = exc.details.get("problems") or []
        said = "; ".join(
            f"{p.get('experience', '')} {p.get('code', p.get('problem', ''))}".strip()
            for p in problems
            if isinstance(p, dict)
        )
        raise unprocessable(
            "the package cannot be reserved on that date for these units"
            + (f" ({said})" if said else "")
        ) from None


def reserve(caller: Caller, data: Reservation, uid: str | None, now: datetime) -> dict[str, Any]:
    """Hold every session of the package from the availability's date, or none."""
    product, view = _published(shapes.package_slug(data.product_id) or "")
    check_option(data.option_id)
    items, party = unit_items(None, data.unit_items, allowed=product.units())
    first = product.first_date_of(data.availability_id)
    if first is None or first not in dates(product, view, first, first, now):
        raise invalid_availability(data.availability_id or "")
    plan = _plan(product, first, party, now)
    wanted = Counter()
    for item in plan.items:
        wanted[item.slot_id] += item.party.size
    if not wanted:
        raise unprocessable("this package has no workshop to hold on that date")
    slots = {s.id: s for s in db.session.scalars(select(Slot).where(Slot.id.in_(list(wanted))))}
    for slot in slots.values():
        core._open(slot, party, now)
    first_slot = slots[plan.items[0].slot_id]
    row = core.hold_row(
        caller,
        data,
        uid,
        first_slot,
        party,
        items,
        expires_at=min(
            core._expiry(s.experience, s, data.expiration_minutes, now) for s in slots.values()
        ),
        now=now,
        package_id=plan.package_id,
        package_date=first,
        package_terms=_terms(product, plan, core.commission_bp(caller.agency_id)),
    )
    row.sessions = [
        OctoBookingSession(slot_id=sid, places=0 if caller.test_mode else wanted[sid])
        for sid in sorted(wanted)
    ]
    try:
        with unit_of_work() as session:
            row.supplier_reference = core._unused_reference(session)
            session.add(row)
            session.flush()  # a concurrent retry with the same uuid fails here
            if caller.test_mode:
                for sid in sorted(wanted):
                    core._fits(slots[sid], wanted[sid])
            else:
                core._taking(session, dict(wanted))  # slot-id order; a full one: nothing held
            answer = view_of(row, caller, now)
    except IntegrityError:
        existing = core._by_uuid(row.uuid)
        if existing is None:
            raise
        return core._replay(caller, existing, now)
    return answer


def release(session: Session, row: OctoBooking) -> None:
    """Give back every session the reservation still holds (slot-id order), in the caller's
    transaction."""
    held = session.execute(
        select(OctoBookingSession.id, OctoBookingSession.slot_id, OctoBookingSession.places)
        .where(OctoBookingSession.octo_booking_id == row.id, OctoBookingSession.places > 0)
        .order_by(OctoBookingSession.slot_id)
    ).all()
    for _id, slot_id, places in held:
        booking.release(session, slot_id, places)
    _zero(session, row)


def drop_sessions(session: Session, row: OctoBooking, *, give_back: bool = True) -> None:
    """The reservation holds no package any more: give its sessions' places back (unless a
    test reservation, which held none) and delete their rows, in the caller's transaction."""
    if give_back:
        release(session, row)
    session.execute(
        delete(OctoBookingSession)
        .where(OctoBookingSession.octo_booking_id == row.id)
        .execution_options(synchronize_session=False)
    )
    session.expire(row, ["sessions"])


def _zero(session: Session, row: OctoBooking) -> None:
    session.execute(
        update(OctoBookingSession)
        .where(OctoBookingSession.octo_booking_id == row.id)
        .values(places=0)
        .execution_options(synchronize_session=False)
    )


def expiry(row: OctoBooking, minutes: int | None, now: datetime) -> datetime:
    """A package hold lasts ``minutes`` but never past the first booking cut-off of its
    sessions."""
    return min(core._expiry(s.slot.experience, s.slot, minutes, now) for s in row.sessions)


def free_until(row: OctoBooking) -> datetime:
    """Cancellation is free (and allowed through OCTO) until the earliest of its sessions'
    free-cancellation cut-offs."""
    return min(
        s.slot.start - timedelta(hours=s.slot.experience.free_cancellation_hours)
        for s in row.sessions
    )


def first_start(row: OctoBooking) -> datetime:
    return min(s.slot.start for s in row.sessions)


# --- views -------------------------------------------------------------------------------


def _stored_product(row: OctoBooking) -> PackageProduct:
    """The package as it was reserved (its texts as they are now)."""
    package = db.session.get(Package, row.package_id)
    terms = row.package_terms or {}
    return PackageProduct(
        slug=package.slug,
        name={"vi": package.name_vi, "en": package.name_en},
        description={"vi": package.description_vi, "en": package.description_en},
        included={"vi": package.included_vi, "en": package.included_en},
        day_count=int(terms.get("day_count", 1)),
        retail=dict(terms.get("retail") or {}),
        first_start=_hhmm(terms.get("first_start", "00:00")),
        duration_minutes=int(terms.get("duration_minutes", 0)),
        min_age=int(terms.get("min_age", 0)),
        instant=bool(terms.get("instant")),
        free_cancellation_hours=int(terms.get("free_cancellation_hours", 0)),
        booking_cutoff_hours=int(terms.get("booking_cutoff_hours", 0)),
    )


def _held_date(row: OctoBooking) -> PackageDate:
    slots = [s.slot for s in row.sessions]
    for slot in slots:
        db.session.refresh(slot)
    return PackageDate(
        first_date=row.package_date,
        vacancies=min(s.remaining for s in slots),
        capacity=min(s.capacity for s in slots),
        sold_out=any(s.remaining <= 0 for s in slots),
        cutoff=min(s.start - timedelta(hours=s.experience.booking_cutoff_hours) for s in slots),
    )


def status(row: OctoBooking) -> str:
    replaced: list[int] = []
    if row.booking is not None:
        from tourplanner.services.package_booking import replaced_items

        replaced = list(replaced_items(row.booking.reference))
    return shapes.reservation_status(row, replaced)


def rate_of(row: OctoBooking) -> int:
    """The commission rate of a package reservation's net prices: the agency's when it
    reserved (a later change of its terms does not reprice it), else its rate today."""
    stored = (row.package_terms or {}).get("commission_bp")
    return int(stored) if stored is not None else core.commission_bp(row.agency_id)


def view_of(row: OctoBooking, caller: Caller, now: datetime) -> dict[str, Any]:
    state = status(row)
    is_cancellable = cancellable(state, now, starts=first_start(row), free_until=free_until(row))
    return shapes.booking_view(
        row,
        _stored_product(row),
        _held_date(row),
        state,
        caller,
        rate_of(row),
        cancellable=is_cancellable,
    )


# --- confirming and changing -------------------------------------------------------------


def confirm(caller: Caller, row: OctoBooking, data: Confirmation, now: datetime) -> dict[str, Any]:
    """The reservation becomes one package booking (source ``octo``) over every session; its
    villages are asked (or confirm at once). Other units first move the hold to the package's
    plan for them (:func:`_rehold`), in the same transaction."""
    product = _stored_product(row)
    party = party_of(row.unit_items)
    items = list(row.unit_items)
    moved = None
    if data.unit_items is not None:
        items, new = unit_items(None, data.unit_items, row.unit_items, allowed=product.units())
        if new != party:
            today = _published(product.slug)[0]
            moved, party = (today, _replan(row, today, row.package_date, new, now)), new
    rows: list[Any] = []
    with unit_of_work() as session:
        if moved is not None:
            _rehold(session, row, caller, moved[0], moved[1], items, party, now)
        slots = [s.slot for s in row.sessions]
        for slot in slots:
            core._open(slot, party, now)
        instant = all(slot.experience.instant_confirmation for slot in slots)
        status = "confirmed" if instant or not caller.test_mode else "pending"
        core._claim(
            session,
            row,
            now,
            status=status,
            places=0,
            confirmed_at=core.confirmed_at(status, now),
            unit_items=items,
            contact=merge_contact(row.contact, data.contact),
            reseller_reference=data.reseller_reference or row.reseller_reference,
        )
        _zero(session, row)  # the booking's items hold the places now
        if caller.test_mode:
            for slot in slots:
                core._fits(slot, party.size)
        else:
            rows += _package_booking(session, row, party, caller, now)
        rows += core._webhook_rows(session, row, now)
        handover = notifications.queued(rows)
        answer = view_of(row, caller, now)
    notifications.dispatch_after_commit(handover)
    return answer


def _package_booking(
    session: Session, row: OctoBooking, party: Party, caller: Caller, now: datetime
) -> list[Any]:
    terms = row.package_terms or {}
    request = BookingRequest(
        tuple(ItemRequest(s.slot_id, party) for s in row.sessions),
        village_contact(row.contact),
        contact_lang(row.contact, caller.lang),
    )
    made, rows = booking.reseller_package_booking(
        session,
        request,
        booking.BookingTerms(
            source=booking.RESELLER_SOURCE,
            agency_id=terms.get("owner", row.agency_id),
            package_id=row.package_id,
            package_date=row.package_date,
            notes=row.notes,
            retail_total_vnd=terms.get("retail_total_vnd"),
            net_total_vnd=terms.get("net_total_vnd"),
            commission_vnd=terms.get("commission_vnd"),
            labels={int(k): v for k, v in (terms.get("labels") or {}).items()},
            contact_limit=False,
            reference=row.supplier_reference,
        ),
        notify=True,
        now=now,
    )
    row.booking_id = made.id
    session.flush()
    session.refresh(row)
    return rows


def update_booking(
    caller: Caller, row: OctoBooking, change: Change, state: str, now: datetime
) -> dict[str, Any]:
    """A package reservation ON_HOLD can change everything (another first date, other units,
    another product: :func:`move_hold`, or an experience: ``octo._change_hold``); a pending or
    confirmed package booking only its contact, notes and references (cancel and reserve
    again for the rest)."""
    if state not in ("ON_HOLD", "CONFIRMED", "PENDING"):
        raise unprocessable(f"this booking is {state}; it cannot change")
    product = _stored_product(row)
    moves = (
        (change.product_id is not None and change.product_id != product.id)
        or (change.option_id is not None and change.option_id != OPTION_ID)
        or (
            change.availability_id is not None
            and product.first_date_of(change.availability_id) != row.package_date
        )
        or (
            change.unit_items is not None
            and sorted(u.unit_id for u in change.unit_items)
            != sorted(u["unitId"] for u in row.unit_items)
        )
    )
    if moves and state == "ON_HOLD":
        if change.product_id is not None and shapes.package_slug(change.product_id) is None:
            return core._change_hold(caller, row, change, now)  # to an experience
        return move_hold(caller, row, change, now)
    if moves:
        raise unprocessable(
            "the product, date and units of a confirmed package booking cannot change; "
            "cancel it and reserve again"
        )
    if change.expiration_minutes is not None:
        if state != "ON_HOLD":
            raise unprocessable("only a reservation ON_HOLD can be extended")
        new = expiry(row, change.expiration_minutes, now)
        with unit_of_work() as session:
            core._claim(session, row, now, expires_at=new)
    if change.unit_items is not None:  # the same units: their references and contacts
        row.unit_items = unit_items(
            None, change.unit_items, row.unit_items, allowed=product.units()
        )[0]
    return core._change_details(caller, row, replace(change, unit_items=None), now)


def move_hold(caller: Caller, row: OctoBooking, change: Change, now: datetime) -> dict[str, Any]:
    """A reservation on hold (of a package or of an experience) moves to a package: the
    package of ``change.product_id`` (else its own), the first date of
    ``change.availability_id`` (else its own) and ``change.unit_items`` (else its own), with
    every other field of the change, in one transaction (:func:`_rehold`)."""
    own = shapes.product_id(_stored_product(row).slug) if row.package_id is not None else None
    target = change.product_id if change.product_id is not None else own
    product, view = _published(shapes.package_slug(target) or "")
    check_option(change.option_id if change.option_id is not None else OPTION_ID)
    if change.unit_items is not None:
        items, party = unit_items(None, change.unit_items, row.unit_items, allowed=product.units())
    else:
        check_unit_ids(product.units(), [UnitItemInput(u["unitId"]) for u in row.unit_items])
        items, party = list(row.unit_items), party_of(row.unit_items)
    if change.availability_id is not None:
        first = product.first_date_of(change.availability_id)
        if first is None or first not in dates(product, view, first, first, now):
            raise invalid_availability(change.availability_id)
    elif target == own:
        first = row.package_date
    else:
        raise invalid_availability("")
    plan = _replan(row, product, first, party, now)
    with unit_of_work() as session:
        _rehold(
            session,
            row,
            caller,
            product,
            plan,
            items,
            party,
            now,
            minutes=change.expiration_minutes,
            contact=merge_contact(row.contact, change.contact),
            notes=row.notes if change.notes is None else (change.notes or None),
            reseller_reference=(
                row.reseller_reference
                if change.reseller_reference is None
                else (change.reseller_reference or None)
            ),
        )
        answer = view_of(row, caller, now)
    return answer


def _replan(
    row: OctoBooking, product: PackageProduct, first: date, party: Party, now: datetime
) -> packages.BookingPlan:
    """The plan a reservation moves to, worked out before its transaction (a check of
    availability commits the slots it creates). On its own package and date the sessions are
    the ones it holds: its own places must not count against it, so the places are checked by
    the move's conditional UPDATEs alone; elsewhere the package's check for ``party``."""
    same = row.package_id is not None and first == row.package_date
    if not same or _stored_product(row).slug != product.slug:
        return _plan(product, first, party, now)
    try:
        package, totals = packages.priced_package(product.slug, party)
    except NotFound:
        raise shapes.invalid_product(product.id) from None
    except Unprocessable:
        raise unprocessable("the package has no price for every unit of the party") from None
    labels = (row.package_terms or {}).get("labels") or {}
    return packages.BookingPlan(
        package_id=package.id,
        agency_id=package.agency_id,
        slug=package.slug,
        first_date=first,
        items=tuple(ItemRequest(s.slot_id, party) for s in row.sessions),
        labels={int(k): v for k, v in labels.items()},
        retail_total_vnd=totals["retail_vnd"],
        net_total_vnd=totals["net_vnd"],
        commission_vnd=totals["commission_vnd"],
    )


def _rehold(
    session: Session,
    row: OctoBooking,
    caller: Caller,
    product: PackageProduct,
    plan: packages.BookingPlan,
    items: list[dict[str, Any]],
    party: Party,
    now: datetime,
    *,
    minutes: int | None = None,
    **values: Any,
) -> None:
    """In the caller's transaction: the reservation (of a package or an experience) holds
    ``plan``'s sessions instead of what it held. The differences per session are taken and
    given back in slot-id order by conditional UPDATEs; one that does not fit is
    UNPROCESSABLE_ENTITY and the whole transaction rolls back: the reservation keeps what it
    held."""
    if row.package_id is not None:
        old = {s.slot_id: s.places for s in row.sessions}
    else:
        old = {row.slot_id: row.places}
    wanted: Counter[int] = Counter()
    for item in plan.items:
        wanted[item.slot_id] += item.party.size
    if not wanted:
        raise unprocessable("this package has no workshop to hold on that date")
    # First, so that an expiry or a confirmation meanwhile refuses the move (INVALID_BOOKING_UUID).
    core._claim(
        session, row, now, places=0 if caller.test_mode else party.size, unit_items=items, **values
    )
    slots = {s.id: s for s in session.scalars(select(Slot).where(Slot.id.in_(list(wanted))))}
    for slot in slots.values():
        core._open(slot, party, now)
    if caller.test_mode:
        for sid in sorted(wanted):
            core._fits(slots[sid], wanted[sid])
    else:
        changes = {sid: wanted.get(sid, 0) - old.get(sid, 0) for sid in set(wanted) | set(old)}
        core._taking(session, {sid: n for sid, n in changes.items() if n})
    if minutes is not None:
        expires = min(core._expiry(s.experience, s, minutes, now) for s in slots.values())
    else:
        limits = [core._hold_limit(s.experience, s) for s in slots.values()]
        expires = min([row.expires_at, *limits])
    first_slot = slots[plan.items[0].slot_id]
    session.execute(
        delete(OctoBookingSession)
        .where(OctoBookingSession.octo_booking_id == row.id)
        .execution_options(synchronize_session=False)
    )
    session.add_all(
        OctoBookingSession(
            octo_booking_id=row.id, slot_id=sid, places=0 if caller.test_mode else wanted[sid]
        )
        for sid in sorted(wanted)
    )
    session.execute(
        update(OctoBooking)
        .where(OctoBooking.id == row.id)
        .values(
            experience_id=first_slot.experience_id,
            slot_id=first_slot.id,
            package_id=plan.package_id,
            package_date=plan.first_date,
            package_terms=_terms(product, plan, core.commission_bp(caller.agency_id)),
            expires_at=expires,
        )
        .execution_options(synchronize_session=False)
    )
    session.flush()
    session.expire(row)
