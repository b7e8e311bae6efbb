"""The OCTO reseller API's use cases: our catalogue, sessions and bookings in OCTO's terms.

Mapping (docs/octo.md has the whole table):

* A **product** is a sellable experience, its id the experience's slug, with one option
  ``DEFAULT``: a bookable workshop is ``START_TIME`` (its sessions are the availabilities), a
  visit a village sells tickets for (opening hours, a daily capacity and an adult price) is
  ``OPENING_HOURS`` (each open day is one availability, stored as one day-long slot).
* **Units** are our participant categories: ``adult`` (ADULT), ``child`` (CHILD, under 16,
  only where the village has a child price) and ``senior`` (SENIOR, 60 and over; the adult
  price when the village lists no concession). Prices are integer VND (``currencyPrecision``
  0): ``retail`` is the village's price, ``net`` that price less the agency's commission rate
  (``agencies.commission_bp``).
* A **reservation** (``ON_HOLD``) holds its places itself, taken with the one conditional
  UPDATE of every booking (:func:`tourplanner.services.booking.take`), until ``utcExpiresAt``;
  the maintenance pass (``booking.expire_holds``) gives expired ones back. Villages never see
  reservations. **Confirming** turns a reservation into a booking of source ``octo`` that the
  village answers (``PENDING`` until it accepts, ``CONFIRMED``, or ``REJECTED``), or that is
  ``CONFIRMED`` at once where the village switched instant confirmation on.
* **Keys and scope**: every call acts for one agency (the API key's); another agency's booking
  answers like an unknown uuid. Test-mode keys make test bookings: checked against the real
  vacancies but holding no places, never reaching a village, and deleted after
  ``OCTO_TEST_BOOKING_HOURS``.

Errors are :class:`OctoError` (HTTP 400 with OCTO's ``error`` code and the offending id).
Everything returns plain dicts in OCTO's field names; times are passed in as ``now``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tourplanner.adapters.orm import (
    Agency,
    ApiKey,
    Booking,
    Experience,
    Notification,
    Slot,
    Village,
)
from tourplanner.adapters.orm.octo import OctoBooking, OctoBookingSession, OctoWebhook
from tourplanner.domain import booking as rules
from tourplanner.domain.availability import LOCAL_TZ, booking_open, local_datetime, local_today
from tourplanner.domain.errors import Conflict, DomainError
from tourplanner.domain.octo import (
    CONTENT,
    DEFAULT_HOLD_MINUTES,
    DEFAULT_TEST_BOOKING_HOURS,
    MAX_CALENDAR_DAYS,
    MAX_CHECK_DAYS,
    MAX_HOLD_MINUTES,
    OPENING_HOURS,
    OPTION_ID,
    SUPPLIER_TEXT,
    WEBHOOK_CHANNEL,
    WEBHOOK_EVENTS,
    AvailabilityQuery,
    Caller,
    Change,
    Confirmation,
    OctoError,
    Reservation,
    UnitItemInput,
    availability_id,
    availability_type,
    availability_view,
    bad_request,
    booking_view,
    calendar_day,
    cancellable,
    capabilities,
    check_option,
    check_range,
    check_units,
    contact_lang,
    days,
    free_until,
    invalid_availability,
    invalid_uuid,
    local_iso,
    merge_contact,
    new_uuid,
    normal_uuid,
    octo_status,
    parse_availability_id,
    party_of,
    product_view,
    sellable,
    text_in,
    unit_items,
    unprocessable,
    village_contact,
    windows,
)
from tourplanner.domain.pricing import MAX_PER_CATEGORY, Party
from tourplanner.extensions import db
from tourplanner.services import availability, booking, notifications, reachability
from tourplanner.services.availability import horizon, now_utc
from tourplanner.services.unit_of_work import unit_of_work

log = logging.getLogger(__name__)

__all__ = [
    "AvailabilityQuery",
    "Caller",
    "Change",
    "Confirmation",
    "OctoError",
    "Reservation",
    "UnitItemInput",
    "capabilities",
]


def _config(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


def _view(row: OctoBooking, caller: Caller, now: datetime) -> dict[str, Any]:
    """The OCTO booking, with the prices for the booking's agency and its session's places as
    they are now (capacity moves with UPDATEs the session does not track)."""
    if row.package_id is not None:
        return _packages().view_of(row, caller, now)
    db.session.refresh(row.slot)
    return booking_view(row, caller, commission_bp(row.agency_id), now)


def _packages() -> Any:
    """Published packages as products (``package:<slug>``): services/octo_packages.py."""
    from tourplanner.services import octo_packages

    return octo_packages


def _is_package(product_id: object) -> bool:
    from tourplanner.domain.octo_packages import package_slug

    return package_slug(product_id) is not None


def commission_bp(agency_id: int) -> int:
    value = db.session.scalar(select(Agency.commission_bp).where(Agency.id == agency_id))
    return int(value or 0)


def list_products(caller: Caller) -> list[dict[str, Any]]:
    """Every sellable experience (by slug) and published package (``package:<slug>``), in
    the order of their ids."""
    rate = commission_bp(caller.agency_id)
    rows = db.session.scalars(select(Experience).order_by(Experience.slug))
    products = [product_view(e, caller, rate) for e in rows if sellable(e)]
    products += _packages().list_products(caller)
    return sorted(products, key=lambda p: p["id"])


def find_product(product_id: object) -> Experience:
    """The sellable experience ``product_id`` names; else INVALID_PRODUCT_ID."""
    e = None
    if isinstance(product_id, str) and 0 < len(product_id) <= 120:
        e = db.session.scalars(select(Experience).where(Experience.slug == product_id)).first()
    if e is None or not sellable(e):
        raise OctoError(
            "INVALID_PRODUCT_ID",
            "The productId was missing or invalid",
            productId=product_id if isinstance(product_id, str) else "",
        )
    return e


def get_product(caller: Caller, product_id: str) -> dict[str, Any]:
    if _is_package(product_id):
        return _packages().get_product(caller, product_id)
    return product_view(find_product(product_id), caller, commission_bp(caller.agency_id))


def supplier(caller: Caller) -> dict[str, Any]:
    config = current_app.config
    base = config.get("PUBLIC_BASE_URL", "").rstrip("/")
    view: dict[str, Any] = {
        "id": config.get("OCTO_SUPPLIER_ID", "tourplanner-hanoi"),
        "name": config.get("OCTO_SUPPLIER_NAME", "tourplanner · Làng nghề Hà Nội"),
        "endpoint": f"{base}/octo",
        "contact": {
            "website": base or None,
            "email": config.get("OCTO_SUPPLIER_EMAIL") or config.get("MAIL_SENDER"),
            "telephone": config.get("OCTO_SUPPLIER_TELEPHONE"),
            "address": "Hà Nội, Việt Nam",
        },
    }
    if caller.wants(CONTENT):
        view.update(shortDescription=text_in(SUPPLIER_TEXT, caller.lang), media=[])
    return view


def offered(e: Experience, first: date, last: date, now: datetime) -> list[availability.SlotView]:
    """The sessions (or, for a visit, the open days) of ``e`` from ``first`` to ``last`` still
    open to booking, clamped to the booking horizon; materialised like every slot."""
    today, final = horizon(now)
    first, last = max(first, today), min(last, final)
    if first > last:
        return []
    if availability_type(e) == OPENING_HOURS:
        return _day_slots(e, days(first, last), now)
    step = int(current_app.config.get("AVAILABILITY_MAX_DAYS", MAX_CHECK_DAYS))
    found: list[availability.SlotView] = []
    while first <= last:
        chunk_end = min(last, first + timedelta(days=step - 1))
        found += availability.slots_between(e.id, first, chunk_end, now=now)
        first = chunk_end + timedelta(days=1)
    return found


def _day_slots(e: Experience, dates: list[date], now: datetime) -> list[availability.SlotView]:
    """One slot per open day of a ticketed visit, from its first opening to its last closing
    time, with the visit's daily capacity (created once, like every slot)."""
    expected: dict[tuple[int, datetime], datetime] = {}
    for day in dates:
        hours = windows(e, day)
        if not hours:
            continue
        start = local_datetime(day, hours[0][0])
        if booking_open(start, now, e.booking_cutoff_hours):
            expected[(e.id, start)] = local_datetime(day, hours[-1][1])
    if not expected:
        return []
    # The availability service's own insert (ON CONFLICT DO NOTHING), capacity from e.capacity.
    availability.materialise([e], expected, now)
    starts = [start for _eid, start in expected]
    rows = db.session.scalars(
        select(Slot).where(Slot.experience_id == e.id, Slot.start.in_(starts)).order_by(Slot.start)
    )
    return [availability.view(slot) for slot in rows]


def find_session(e: Experience, value: object, now: datetime) -> Slot:
    """The open session (or visit day) ``value`` names; else INVALID_AVAILABILITY_ID."""
    moment = parse_availability_id(value)
    if moment is None:
        raise invalid_availability(value)
    day = moment.astimezone(LOCAL_TZ).date()
    for view in offered(e, day, day, now):
        if availability_id(e, view.start) == local_iso(moment):
            return db.session.get(Slot, view.id)
    raise invalid_availability(value)


def check_availability(
    caller: Caller, query: AvailabilityQuery, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """``POST /availability``: sessions of a date range, or the ones ``availabilityIds`` name
    (exactly one of the two)."""
    now = now or now_utc()
    if _is_package(query.product_id):
        return _packages().check_availability(caller, query, now)
    e = find_product(query.product_id)
    check_option(query.option_id)
    units = check_units(e, query.units)
    by_range = query.start is not None or query.end is not None
    if by_range == (query.availability_ids is not None):
        raise bad_request(
            "either localDate, localDateStart/localDateEnd or availabilityIds is required"
        )
    rate = commission_bp(caller.agency_id)
    if by_range:
        if query.start is None or query.end is None:
            raise bad_request("localDateStart and localDateEnd go together")
        check_range(query.start, query.end, MAX_CHECK_DAYS)
        views = offered(e, query.start, query.end, now)
    else:
        views = _by_ids(e, query.availability_ids or (), now)
    return [availability_view(e, v, caller, rate, units) for v in views]


def _by_ids(e: Experience, ids: Sequence[str], now: datetime) -> list[availability.SlotView]:
    wanted = {}
    for value in ids:
        moment = parse_availability_id(value)
        if moment is not None:
            wanted[local_iso(moment)] = moment.astimezone(LOCAL_TZ).date()
    found = []
    for day in sorted(set(wanted.values())):
        found += [v for v in offered(e, day, day, now) if availability_id(e, v.start) in wanted]
    return found


def calendar(
    caller: Caller, query: AvailabilityQuery, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """``POST /availability/calendar``: one entry per day of the range."""
    now = now or now_utc()
    if _is_package(query.product_id):
        return _packages().calendar(caller, query, now)
    e = find_product(query.product_id)
    check_option(query.option_id)
    units = check_units(e, query.units)
    if query.start is None or query.end is None:
        raise bad_request("localDateStart and localDateEnd are required")
    check_range(query.start, query.end, MAX_CALENDAR_DAYS)
    by_day: dict[date, list[availability.SlotView]] = {}
    for view in offered(e, query.start, query.end, now):
        by_day.setdefault(view.start.astimezone(LOCAL_TZ).date(), []).append(view)
    rate = commission_bp(caller.agency_id)
    return [
        calendar_day(e, day, by_day.get(day, []), caller, rate, units)
        for day in days(query.start, query.end)
    ]


def _own(caller: Caller, value: object) -> OctoBooking:
    """The caller's booking ``value`` names: same agency, same mode; else INVALID_BOOKING_UUID
    (another agency's booking answers exactly like an unknown one)."""
    uid = normal_uuid(value)
    row = None
    if uid is not None:
        row = db.session.scalars(
            select(OctoBooking).where(
                OctoBooking.uuid == uid,
                OctoBooking.agency_id == caller.agency_id,
                OctoBooking.test_mode.is_(caller.test_mode),
            )
        ).first()
    if row is None:
        raise invalid_uuid(value if isinstance(value, str) else "")
    return row


def get_booking(caller: Caller, value: str, *, now: datetime | None = None) -> dict[str, Any]:
    now = now or now_utc()
    row = _own(caller, value)
    _expire_if_due(row, now)
    return _view(row, caller, now)


def list_bookings(
    caller: Caller,
    *,
    reseller_reference: str | None,
    supplier_reference: str | None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """The caller's bookings with this reseller and/or supplier reference (one is required)."""
    if not reseller_reference and not supplier_reference:
        raise bad_request("resellerReference or supplierReference is required")
    now = now or now_utc()
    stmt = select(OctoBooking).where(
        OctoBooking.agency_id == caller.agency_id,
        OctoBooking.test_mode.is_(caller.test_mode),
    )
    if reseller_reference:
        stmt = stmt.where(OctoBooking.reseller_reference == reseller_reference)
    if supplier_reference:
        stmt = stmt.where(
            OctoBooking.supplier_reference == rules.normalise_reference(supplier_reference)
        )
    rows = list(db.session.scalars(stmt.order_by(OctoBooking.created_at, OctoBooking.id)))
    for row in rows:
        _expire_if_due(row, now)
    return [_view(row, caller, now) for row in rows]


def _unused_reference(session: Session) -> str:
    """A reference no booking or reservation carries (``TP-7K3Q9M``)."""
    for _ in range(10):
        reference = rules.new_reference()
        taken = session.scalar(
            select(OctoBooking.id).where(OctoBooking.supplier_reference == reference)
        ) or session.scalar(select(Booking.id).where(Booking.reference == reference))
        if taken is None:
            return reference
    raise RuntimeError("could not draw an unused reference")  # pragma: no cover


def _hold_limit(e: Experience, slot: Slot) -> datetime:
    """A hold never outlives the session's booking cut-off: it could not be confirmed then."""
    return slot.start - timedelta(hours=e.booking_cutoff_hours)


def _expiry(e: Experience, slot: Slot, minutes: int | None, now: datetime) -> datetime:
    minutes = minutes or _config("OCTO_HOLD_MINUTES", DEFAULT_HOLD_MINUTES)
    if not 1 <= minutes <= MAX_HOLD_MINUTES:
        raise bad_request(f"expirationMinutes must be 1 to {MAX_HOLD_MINUTES}")
    return min(now + timedelta(minutes=minutes), _hold_limit(e, slot))


def _open(slot: Slot, party: Party, now: datetime) -> None:
    """The session still takes bookings, the party can be priced and the village can receive
    the request (an availability id kept from before it lost its channels):
    UNPROCESSABLE_ENTITY."""
    try:
        booking.check_open(slot, party, now)
        reachability.refuse_unreachable([slot])
    except DomainError as exc:
        raise unprocessable(exc.message) from None


def _fits(slot: Slot, places: int) -> None:
    """A test booking takes no places but must fit in what is left, like a real one."""
    db.session.refresh(slot)
    if slot.remaining < places:
        raise unprocessable(f"only {slot.remaining} place(s) left in this session")


def _taking(session: Session, changes: Mapping[int, int]) -> None:
    """Move places (booking.move_places); a session that is full is UNPROCESSABLE_ENTITY."""
    try:
        booking.move_places(session, changes)
    except Conflict as exc:
        raise unprocessable(exc.message) from None


def _by_uuid(uid: str) -> OctoBooking | None:
    return db.session.scalars(select(OctoBooking).where(OctoBooking.uuid == uid)).first()


def _replay(caller: Caller, row: OctoBooking, now: datetime) -> dict[str, Any]:
    """A reservation retried with the same uuid is answered, not made twice; a uuid another
    agency (or the other mode) used is INVALID_BOOKING_UUID."""
    if row.agency_id != caller.agency_id or bool(row.test_mode) != caller.test_mode:
        raise invalid_uuid(row.uuid)
    _expire_if_due(row, now)
    return _view(row, caller, now)


def hold_row(
    caller: Caller,
    data: Reservation,
    uid: str | None,
    slot: Slot,
    party: Party,
    items: list[dict[str, Any]],
    *,
    expires_at: datetime,
    now: datetime,
    **package: Any,
) -> OctoBooking:
    """A new reservation's row on ``slot`` (a package's: its first session, and the
    ``package`` columns); a test key's holds no places."""
    return OctoBooking(
        uuid=uid or new_uuid(),
        agency_id=caller.agency_id,
        api_key_id=caller.key_id,
        test_mode=caller.test_mode,
        experience_id=slot.experience_id,
        slot_id=slot.id,
        status="on_hold",
        places=0 if caller.test_mode else party.size,
        unit_items=items,
        contact=dict(data.contact or {}),
        notes=data.notes,
        reseller_reference=data.reseller_reference,
        expires_at=expires_at,
        created_at=now,
        updated_at=now,
        **package,
    )


def reserve(caller: Caller, data: Reservation, *, now: datetime | None = None) -> dict[str, Any]:
    """``POST /bookings``: hold the places of ``data`` until ``utcExpiresAt`` (ON_HOLD)."""
    now = now or now_utc()
    uid = None
    if data.uuid is not None:
        uid = normal_uuid(data.uuid)
        if uid is None:
            raise bad_request("uuid must be a UUID")
        existing = _by_uuid(uid)
        if existing is not None:
            return _replay(caller, existing, now)
    if _is_package(data.product_id):
        return _packages().reserve(caller, data, uid, now)
    e = find_product(data.product_id)
    check_option(data.option_id)
    items, party = unit_items(e, data.unit_items)
    if data.availability_id is None:
        raise invalid_availability("")
    slot = find_session(e, data.availability_id, now)
    _open(slot, party, now)
    row = hold_row(
        caller,
        data,
        uid,
        slot,
        party,
        items,
        expires_at=_expiry(e, slot, data.expiration_minutes, now),
        now=now,
    )
    try:
        with unit_of_work() as session:
            row.supplier_reference = _unused_reference(session)
            session.add(row)
            session.flush()  # a concurrent retry with the same uuid fails here
            if caller.test_mode:
                _fits(slot, party.size)
            else:
                _taking(session, {slot.id: party.size})
            answer = _view(row, caller, now)
    except IntegrityError:
        existing = _by_uuid(row.uuid)
        if existing is None:
            raise
        return _replay(caller, existing, now)
    return answer


def _claim(session: Session, row: OctoBooking, now: datetime, **values: Any) -> None:
    """Move a reservation still on hold, holding what it held when read; else the reseller
    (or the expiry) changed it meanwhile: INVALID_BOOKING_UUID."""
    moved = session.execute(
        update(OctoBooking)
        .where(
            OctoBooking.id == row.id,
            OctoBooking.status == "on_hold",
            OctoBooking.places == row.places,
        )
        .values(updated_at=now, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        raise invalid_uuid(row.uuid)
    session.refresh(row)


def _expire(row: OctoBooking, now: datetime) -> bool:
    """Expire one reservation and give its places back (safe against a concurrent confirm)."""
    held, slot_id = row.places, row.slot_id
    try:
        with unit_of_work() as session:
            _claim(session, row, now, status="expired", places=0)
            _give_back(session, row, slot_id, held)
            handover = notifications.queued(_webhook_rows(session, row, now))
    except OctoError:
        db.session.refresh(row)
        return False
    notifications.dispatch_after_commit(handover)
    return True


def _give_back(session: Session, row: OctoBooking, slot_id: int, held: int) -> None:
    """The places a reservation held: its session's, or every session of a package."""
    if row.package_id is not None:
        _packages().release(session, row)
    else:
        booking.release(session, slot_id, held)


def _expire_if_due(row: OctoBooking, now: datetime) -> None:
    """No answer shows a reservation ON_HOLD after its hold ran out (the sweep may be late)."""
    if row.status == "on_hold" and row.expires_at <= now:
        _expire(row, now)


def expire_reservations(*, now: datetime | None = None) -> int:
    """Expire every reservation past its hold (their places go back) and delete old test
    bookings; run by the maintenance pass (``booking.expire_holds``). Returns how many
    reservations expired."""
    now = now or now_utc()
    due = db.session.scalars(
        select(OctoBooking).where(OctoBooking.status == "on_hold", OctoBooking.expires_at <= now)
    ).all()
    expired = sum(1 for row in due if _expire(row, now))
    clean_test_bookings(now=now)
    return expired


def clean_test_bookings(*, now: datetime | None = None) -> int:
    """Delete test-mode bookings made more than ``OCTO_TEST_BOOKING_HOURS`` ago (they hold
    no places and never reached a village)."""
    now = now or now_utc()
    cutoff = now - timedelta(hours=_config("OCTO_TEST_BOOKING_HOURS", DEFAULT_TEST_BOOKING_HOURS))
    with unit_of_work() as session:
        old = select(OctoBooking.id).where(
            OctoBooking.test_mode.is_(True), OctoBooking.created_at < cutoff
        )
        session.execute(
            delete(OctoBookingSession)
            .where(OctoBookingSession.octo_booking_id.in_(old))
            .execution_options(synchronize_session=False)
        )
        gone = session.execute(
            delete(OctoBooking)
            .where(OctoBooking.test_mode.is_(True), OctoBooking.created_at < cutoff)
            .execution_options(synchronize_session=False)
        ).rowcount
    return gone or 0


def extend(
    caller: Caller, value: str, minutes: int | None, *, now: datetime | None = None
) -> dict[str, Any]:
    """``POST /bookings/{uuid}/extend``: the hold lasts ``minutes`` more from now."""
    now = now or now_utc()
    row = _own(caller, value)
    _expire_if_due(row, now)
    if row.status in ("expired", "cancelled"):
        raise invalid_uuid(row.uuid)
    if row.status != "on_hold":
        raise unprocessable("only a reservation ON_HOLD can be extended")
    if row.package_id is not None:
        new = max(row.expires_at, _packages().expiry(row, minutes, now))
    else:
        new = max(row.expires_at, _expiry(row.experience, row.slot, minutes, now))
    with unit_of_work() as session:
        _claim(session, row, now, expires_at=new)
        answer = _view(row, caller, now)
    return answer


def confirm(
    caller: Caller, value: str, data: Confirmation, *, now: datetime | None = None
) -> dict[str, Any]:
    """``POST /bookings/{uuid}/confirm``: the reservation becomes a booking the village
    answers (PENDING), or CONFIRMED at once where the village confirms instantly. Optional
    new ``unitItems`` change the places in the same transaction. Confirming again answers the
    booking as it is; an expired or cancelled reservation is INVALID_BOOKING_UUID."""
    now = now or now_utc()
    row = _own(caller, value)
    _expire_if_due(row, now)
    if row.status in ("confirmed", "pending"):
        return _view(row, caller, now)
    if row.status != "on_hold":
        raise invalid_uuid(row.uuid)
    if row.package_id is not None:
        return _packages().confirm(caller, row, data, now)
    e, slot = row.experience, row.slot
    if data.unit_items is not None:
        items, party = unit_items(e, data.unit_items, row.unit_items)
    else:
        items, party = list(row.unit_items), party_of(row.unit_items)
    contact = merge_contact(row.contact, data.contact)
    _open(slot, party, now)
    held, instant = row.places, bool(e.instant_confirmation)
    rows: list[Any] = []
    with unit_of_work() as session:
        status = "confirmed" if instant or not caller.test_mode else "pending"
        _claim(
            session,
            row,
            now,
            status=status,
            places=0,
            confirmed_at=confirmed_at(status, now),
            unit_items=items,
            contact=contact,
            reseller_reference=data.reseller_reference or row.reseller_reference,
        )
        if caller.test_mode:
            _fits(slot, party.size)
        else:
            rows += _village_booking(session, row, slot, party, caller, now)
            _taking(session, {slot.id: party.size - held})
        rows += _webhook_rows(session, row, now)
        handover = notifications.queued(rows)
        answer = _view(row, caller, now)
    notifications.dispatch_after_commit(handover)
    return answer


def _village_booking(
    session: Session, row: OctoBooking, slot: Slot, party: Party, caller: Caller, now: datetime
) -> list[Any]:
    """The booking of source ``octo`` the village answers, linked to the reservation."""
    terms = booking.BookingTerms(
        source=booking.RESELLER_SOURCE,
        agency_id=row.agency_id,
        notes=row.notes,
        contact_limit=False,
        reference=row.supplier_reference,
    )
    made, rows = booking.reseller_booking(
        session,
        slot,
        party,
        village_contact(row.contact),
        terms,
        lang=contact_lang(row.contact, caller.lang),
        instant=bool(row.experience.instant_confirmation),
        notify=True,
        now=now,
    )
    row.booking_id = made.id
    session.flush()
    session.refresh(row)
    return rows


def update_booking(
    caller: Caller, value: str, change: Change, *, now: datetime | None = None
) -> dict[str, Any]:
    """``PATCH /bookings/{uuid}``: a reservation can change everything (product, option,
    session, units, hold, contact, notes, reference; places move in one transaction); a
    confirmed or pending booking only its contact, notes and reseller reference."""
    now = now or now_utc()
    row = _own(caller, value)
    _expire_if_due(row, now)
    status = _status(row)
    if row.package_id is not None:
        return _packages().update_booking(caller, row, change, status, now)
    if status == "ON_HOLD":
        return _change_hold(caller, row, change, now)
    if status not in ("CONFIRMED", "PENDING"):
        raise unprocessable(f"this booking is {status}; it cannot change")
    if _moves(row, change):
        raise unprocessable(
            "the product, session and units of a confirmed booking cannot change; "
            "cancel it and book again"
        )
    return _change_details(caller, row, change, now)


def _same_session(row: OctoBooking, value: str) -> bool:
    moment = parse_availability_id(value)
    return moment is not None and local_iso(moment) == availability_id(
        row.experience, row.slot.start
    )


def _moves(row: OctoBooking, change: Change) -> bool:
    """Whether a change asks for something other than what the booking already has."""
    if not change.moves:
        return False
    return (
        (change.product_id is not None and change.product_id != row.experience.slug)
        or (change.option_id is not None and change.option_id != OPTION_ID)
        or (change.availability_id is not None and not _same_session(row, change.availability_id))
        or (
            change.unit_items is not None
            and sorted(u.unit_id for u in change.unit_items)
            != sorted(u["unitId"] for u in row.unit_items)
        )
        or change.expiration_minutes is not None
    )


def _change_details(
    caller: Caller, row: OctoBooking, change: Change, now: datetime
) -> dict[str, Any]:
    if change.unit_items is not None:  # the same units: their references and contacts
        row.unit_items, _party = unit_items(row.experience, change.unit_items, row.unit_items)
    with unit_of_work() as session:
        row.contact = merge_contact(row.contact, change.contact)
        if change.notes is not None:
            row.notes = change.notes or None
        if change.reseller_reference is not None:
            row.reseller_reference = change.reseller_reference or None
        row.updated_at = now
        if row.booking is not None:  # what the village sees
            contact = village_contact(row.contact)
            row.booking.contact_name, row.booking.contact_email = contact["name"], contact["email"]
            row.booking.contact_phone, row.booking.notes = contact["phone"], row.notes
            row.booking.updated_at = now
        session.flush()
        handover = notifications.queued(_webhook_rows(session, row, now))
        answer = _view(row, caller, now)
    notifications.dispatch_after_commit(handover)
    return answer


def _change_hold(caller: Caller, row: OctoBooking, change: Change, now: datetime) -> dict:
    """A reservation on hold moves to another product, session or units in one transaction;
    a package's reservation to an experience gives back every session of the package (a move
    to a package: ``octo_packages.move_hold``)."""
    if _is_package(change.product_id):
        return _packages().move_hold(caller, row, change, now)
    was_package = row.package_id is not None
    e = find_product(change.product_id) if change.product_id is not None else row.experience
    check_option(change.option_id if change.option_id is not None else OPTION_ID)
    if change.unit_items is not None:
        items, party = unit_items(e, change.unit_items, row.unit_items)
    else:
        check_units(e, [UnitItemInput(u["unitId"]) for u in row.unit_items])
        items, party = list(row.unit_items), party_of(row.unit_items)
    if change.availability_id is not None:
        slot = find_session(e, change.availability_id, now)
    elif e.id != row.experience_id or was_package:
        raise invalid_availability("")
    else:
        slot = row.slot
    _open(slot, party, now)
    if change.expiration_minutes is not None:
        expires = _expiry(e, slot, change.expiration_minutes, now)
    else:
        expires = min(row.expires_at, _hold_limit(e, slot))
    held, old_slot = row.places, row.slot_id
    unpackaged = {"package_id": None, "package_date": None, "package_terms": None}
    with unit_of_work() as session:
        _claim(
            session,
            row,
            now,
            experience_id=e.id,
            slot_id=slot.id,
            places=0 if caller.test_mode else party.size,
            unit_items=items,
            contact=merge_contact(row.contact, change.contact),
            notes=row.notes if change.notes is None else (change.notes or None),
            reseller_reference=(
                row.reseller_reference
                if change.reseller_reference is None
                else (change.reseller_reference or None)
            ),
            expires_at=expires,
            **(unpackaged if was_package else {}),
        )
        if was_package:
            _packages().drop_sessions(session, row, give_back=not caller.test_mode)
        if caller.test_mode:
            _fits(slot, party.size)
        else:
            changes = {} if was_package else {old_slot: -held}
            changes[slot.id] = changes.get(slot.id, 0) + party.size
            _taking(session, changes)
        answer = _view(row, caller, now)
    return answer


def cancel(
    caller: Caller, value: str, reason: str | None, *, now: datetime | None = None
) -> dict[str, Any]:
    """``POST /bookings/{uuid}/cancel``: a reservation gives its places back; a confirmed
    booking is cancelled until its free-cancellation cut-off, a PENDING one (withdrawn, free)
    until its session starts; the village is told. Cancelling twice answers the same."""
    now = now or now_utc()
    row = _own(caller, value)
    _expire_if_due(row, now)
    status = _status(row)
    if status == "CANCELLED":
        return _view(row, caller, now)
    if not _cancellable(row, status, now):
        raise unprocessable(
            {
                "CONFIRMED": "the cancellation cut-off of this booking has passed",
                "PENDING": "the session has already started",
            }.get(status, f"a {status} booking cannot be cancelled")
        )
    held, slot_id = row.places, row.slot_id
    rows: list[Any] = []
    with unit_of_work() as session:
        if row.booking is not None:
            rows += _cancel_booking(session, row, reason, now)
            row.cancelled_at, row.cancellation_reason, row.updated_at = now, reason, now
        elif row.status == "on_hold":
            _claim(
                session,
                row,
                now,
                status="cancelled",
                places=0,
                cancelled_at=now,
                cancellation_reason=reason,
            )
            _give_back(session, row, slot_id, held)
        else:  # a test booking, confirmed or pending
            _cancel_test(session, row, reason, now)
        session.flush()
        rows += _webhook_rows(session, row, now)
        handover = notifications.queued(rows)
        answer = _view(row, caller, now)
    notifications.dispatch_after_commit(handover)
    return answer


def _status(row: OctoBooking) -> str:
    return _packages().status(row) if row.package_id is not None else octo_status(row)


def _cancellable(row: OctoBooking, status: str, now: datetime) -> bool:
    if row.package_id is not None:
        starts, until = _packages().first_start(row), _packages().free_until(row)
    else:
        starts, until = row.slot.start, free_until(row)
    return cancellable(status, now, starts=starts, free_until=until)


def confirmed_at(status: str, now: datetime) -> datetime | None:
    """``confirmed_at`` of a reservation the reseller confirms now, going to ``status``: a test
    booking left waiting for a village is never confirmed (its ``utcConfirmedAt`` stays null,
    cancelled too, as a live one's does until its village accepts)."""
    return None if status == "pending" else now


def _cancel_test(session: Session, row: OctoBooking, reason: str | None, now: datetime) -> None:
    moved = session.execute(
        update(OctoBooking)
        .where(OctoBooking.id == row.id, OctoBooking.status.in_(("confirmed", "pending")))
        .values(status="cancelled", cancelled_at=now, cancellation_reason=reason, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        raise unprocessable("this booking changed meanwhile; read it again")
    session.refresh(row)


def _cancel_booking(
    session: Session, row: OctoBooking, reason: str | None, now: datetime
) -> list[Any]:
    try:
        return booking.cancel_for_reseller(
            session, row.booking, reason=reason, notify=True, now=now
        )
    except Conflict as exc:
        raise unprocessable(exc.message) from None


def webhook_view(hook: OctoWebhook) -> dict[str, Any]:
    return {
        "id": hook.uuid,
        "event": hook.event,
        "url": hook.url,
        "capabilities": list(hook.capabilities or []),
    }


def create_webhook(caller: Caller, url: str, event: str) -> dict[str, Any]:
    """Register ``url`` for the agency's booking updates (of the key's mode). The answer has
    the signing ``secret``, shown this once; deliveries are signed like the village webhooks
    (``X-Tourplanner-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">``)."""
    from tourplanner.services.links import new_webhook_secret

    if event not in WEBHOOK_EVENTS:
        raise bad_request(f"event must be one of {', '.join(WEBHOOK_EVENTS)}")
    try:
        notifications.check_webhook_url(url)
    except DomainError as exc:  # its message is for the village's page; ours is plain
        reason = exc.details.get("reason", "invalid")
        raise bad_request(
            f"url is not allowed ({reason}): webhooks go to https addresses on public hosts"
        ) from None
    hook = OctoWebhook(
        uuid=new_uuid(),
        agency_id=caller.agency_id,
        api_key_id=caller.key_id,
        test_mode=caller.test_mode,
        event=event,
        url=url,
        secret=new_webhook_secret(),
        capabilities=sorted(caller.capabilities),
        lang=caller.lang,
        created_at=now_utc(),
    )
    with unit_of_work() as session:
        session.add(hook)
        session.flush()
        answer = {**webhook_view(hook), "secret": hook.secret}
    return answer


def _hooks(caller: Caller) -> Any:
    return select(OctoWebhook).where(
        OctoWebhook.agency_id == caller.agency_id,
        OctoWebhook.test_mode.is_(caller.test_mode),
    )


def list_webhooks(caller: Caller) -> list[dict[str, Any]]:
    rows = db.session.scalars(_hooks(caller).order_by(OctoWebhook.created_at, OctoWebhook.id))
    return [webhook_view(hook) for hook in rows]


def delete_webhook(caller: Caller, webhook_id: str) -> dict[str, Any]:
    """Delete one of the agency's webhooks (deliveries not yet sent are dropped)."""
    hook = db.session.scalars(_hooks(caller).where(OctoWebhook.uuid == webhook_id)).first()
    if hook is None:
        raise OctoError("BAD_REQUEST", "no such webhook", webhookId=webhook_id)
    view = webhook_view(hook)
    with unit_of_work() as session:
        session.delete(hook)
    return view


def _webhook_rows(session: Session, row: OctoBooking, now: datetime) -> list[Notification]:
    """Outbox rows, in the caller's transaction: the booking as it now is, for each webhook of
    its agency and mode, rendered with that webhook's capabilities and language."""
    hooks = session.scalars(
        select(OctoWebhook).where(
            OctoWebhook.agency_id == row.agency_id,
            OctoWebhook.test_mode.is_(bool(row.test_mode)),
            OctoWebhook.event == "booking_update",
        )
    ).all()
    rows = []
    for hook in hooks:
        caller = Caller(
            row.agency_id,
            hook.api_key_id,
            bool(row.test_mode),
            frozenset(hook.capabilities),
            hook.lang,
        )
        body = {"webhook": webhook_view(hook), "booking": _view(row, caller, now)}
        note = Notification(
            status="pending",
            attempts=0,
            created_at=now_utc(),
            booking_id=row.booking_id,
            event="octo_booking_update",
            channel=WEBHOOK_CHANNEL,
            recipient=hook.url,
            subject=f"booking_update {row.uuid}",
            payload={"webhook": hook.uuid, "body": body},
        )
        session.add(note)
        rows.append(note)
    session.flush()
    return rows


def booking_update_rows(session: Session, made: Booking) -> list[Notification]:
    """Webhook rows for a village's decision on (or the expiry of) a reseller's booking."""
    row = session.scalars(select(OctoBooking).where(OctoBooking.booking_id == made.id)).first()
    if row is None:
        return []
    session.refresh(row)
    return _webhook_rows(session, row, now_utc())


def send_webhook(row: Notification, chosen: Any) -> None:
    """Deliver one outbox row to its webhook's current URL, signed with its secret."""
    from tourplanner.adapters.notifiers import PermanentDeliveryError

    payload = row.payload or {}
    hook = db.session.scalars(
        select(OctoWebhook).where(OctoWebhook.uuid == payload.get("webhook"))
    ).first()
    if hook is None:
        raise PermanentDeliveryError("the agency deleted this webhook")
    chosen.webhook.post(hook.url, hook.secret, payload.get("body") or {}, delivery_id=str(row.id))


notifications.CHANNELS[WEBHOOK_CHANNEL] = send_webhook


DAILY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


TET = ["2027-02-06", "2027-02-07", "2027-02-08"]


DEMO_EXPERIENCES: tuple[dict[str, Any], ...] = (
    {
        "slug": "bat-trang-workshop-group-pottery",
        "kind": "workshop",
        "title_vi": "Lớp làm gốm cho đoàn",
        "title_en": "Pottery class for groups",
        "description_vi": "Một lớp gốm rộng cho các đoàn khách: nặn, vuốt và tô men một sản "
        "phẩm nhỏ với thợ gốm Bát Tràng. Được xác nhận ngay khi còn chỗ.",
        "description_en": "A large pottery class for groups: shape, throw and glaze a small "
        "piece with a Bát Tràng potter. Confirmed at once while places are left.",
        "duration_minutes": 120,
        "capacity": 80,
        "price_adult_vnd": 180_000,
        "price_child_vnd": 120_000,
        "price_senior_vnd": 150_000,
        "min_age": 6,
        "weekly_hours": {d: [["08:00", "12:00"], ["13:30", "17:30"]] for d in DAILY},
        "instant_confirmation": True,
    },
    {
        "slug": "bat-trang-visit-ceramics-market",
        "kind": "visit",
        "title_vi": "Vé tham quan chợ gốm có người dẫn",
        "title_en": "Guided ceramics market visit",
        "description_vi": "Vé vào cửa trong ngày: dạo chợ gốm Bát Tràng cùng người dẫn của "
        "làng, vào lúc nào cũng được trong giờ mở cửa.",
        "description_en": "A day ticket: walk the Bát Tràng ceramics market with a village "
        "guide, any time during opening hours.",
        "duration_minutes": 90,
        "capacity": 150,
        "price_adult_vnd": 50_000,
        "price_child_vnd": 30_000,
        "price_senior_vnd": 40_000,
        "min_age": None,
        "weekly_hours": {d: [["08:00", "17:00"]] for d in DAILY},
        "instant_confirmation": True,
        "price_fact": {"min": 50_000, "max": 50_000, "unit": "VND per person", "source": "sample"},
    },
)


DEMO_KEY_LABEL = "OCTO demo"


def _demo_experience(spec: Mapping[str, Any], village: Village) -> Experience:
    e = db.session.scalars(select(Experience).where(Experience.slug == spec["slug"])).first()
    if e is not None:
        return e  # a village may have edited it since: leave it as it is
    e = Experience(
        village_id=village.id,
        duration_is_default=False,
        hours_are_default=False,
        languages=["vi", "en"],
        closed_dates=list(TET),
        booking_cutoff_hours=12,
        free_cancellation_hours=24,
        is_sample=True,
        **spec,
    )
    db.session.add(e)
    db.session.flush()
    return e


def _sold_out_session(e: Experience, agency_id: int, now: datetime) -> datetime | None:
    """A session of ``e`` within 30 days that is full: one exists, or the first session three
    days on is filled by a confirmed sample reseller booking (no village is told)."""
    today = local_today(now)
    sessions = offered(e, today, today + timedelta(days=30), now)
    for view in sessions:
        if view.remaining == 0:
            return view.start
    later = [v for v in sessions if v.start.date() >= today + timedelta(days=3)]
    if not later:
        return None
    slot = db.session.get(Slot, later[0].id)
    places = slot.remaining
    party = Party(adults=min(places, MAX_PER_CATEGORY), seniors=max(0, places - MAX_PER_CATEGORY))
    items = [{"uuid": new_uuid(), "unitId": "adult", "contact": {}} for _ in range(party.adults)]
    items += [{"uuid": new_uuid(), "unitId": "senior", "contact": {}} for _ in range(party.seniors)]
    contact = {"fullName": "Đoàn mẫu (sample group)", "locales": ["vi"]}
    row = OctoBooking(
        uuid=new_uuid(),
        agency_id=agency_id,
        test_mode=False,
        experience_id=e.id,
        slot_id=slot.id,
        status="confirmed",
        places=0,
        unit_items=items,
        contact=contact,
        reseller_reference="DEMO-SOLD-OUT",
        expires_at=now,
        created_at=now,
        updated_at=now,
        confirmed_at=now,
    )
    with unit_of_work() as session:
        row.supplier_reference = _unused_reference(session)
        session.add(row)
        session.flush()
        terms = booking.BookingTerms(
            source=booking.RESELLER_SOURCE,
            agency_id=agency_id,
            contact_limit=False,
            reference=row.supplier_reference,
        )
        made, _ = booking.reseller_booking(
            session,
            slot,
            party,
            village_contact(contact),
            terms,
            lang="vi",
            instant=True,
            notify=False,
            now=now,
        )
        row.booking_id = made.id
        booking.take(session, slot.id, places)
    return slot.start


def _demo_keys(agency_id: int) -> list[str]:
    """A live and a test key for the sample agency, made once (shown once: these lines)."""
    from tourplanner.services import agencies

    exists = db.session.scalar(
        select(ApiKey.id).where(ApiKey.agency_id == agency_id, ApiKey.label == DEMO_KEY_LABEL)
    )
    if exists is not None:
        return ["  API keys: made by an earlier seed (flask agencies api-key sample-agency)"]
    lines = []
    for test in (False, True):
        _key_id, raw = agencies.create_api_key(agency_id, DEMO_KEY_LABEL, test_mode=test)
        lines.append(f"  {'test' if test else 'live'} API key (shown only this once): {raw}")
    return lines


def seed_demo(*, now: datetime | None = None) -> str:
    """Make the demo catalogue a reseller can try a whole OCTO cycle on (idempotent).

    Two sample products at Bát Tràng (a START_TIME group class with 80 places a session,
    confirmed at once, and an OPENING_HOURS visit ticket), next to the demo workshops the
    villages answer; a sold-out session of the group class within 30 days; a live and a test
    API key for the sample agency. Returns what to print.
    """
    from tourplanner.services import agencies

    now = now or now_utc()
    agency = agencies.seed_demo_agency()
    village = db.session.scalars(select(Village).where(Village.slug == "bat-trang")).first()
    if village is None:
        return "OCTO demo: skipped (load the catalogue first: flask seed)"
    made = [_demo_experience(spec, village) for spec in DEMO_EXPERIENCES]
    db.session.commit()
    full = _sold_out_session(made[0], agency["id"], now)
    products = [e.slug for e in db.session.scalars(select(Experience)) if sellable(e)]
    products += _packages().product_ids()  # the sample package, published by the seed
    lines = [
        f"OCTO demo: {len(products)} products at /octo/products "
        f"({made[0].slug}: START_TIME, {made[1].slug}: OPENING_HOURS)",
        "  sold-out session: "
        + (full.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M") if full else "none"),
        *_demo_keys(agency["id"]),
    ]
    return "\n".join(lines)
