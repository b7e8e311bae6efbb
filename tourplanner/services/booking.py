"""Booking use cases: atomic holds over one or many slots, idempotent requests, decisions,
cancellation, expiry and attendance.

Capacity is taken with one conditional write per slot, all inside one transaction::

    UPDATE slots SET taken = taken + :n WHERE id = :id AND taken + :n <= capacity

A zero row count means the slot is full: the whole transaction rolls back, so an itinerary
reserves every item or none. On PostgreSQL the UPDATE row lock serialises concurrent writers;
on SQLite writers wait on the database lock (busy timeout, see ``adapters/orm/booking.py``).
State changes are conditional too (``... WHERE status = :current``), so two staff members
clicking at once cannot both win. Notification rows join the same transaction (outbox) and are
handed to Celery only after the commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tourplanner.adapters.orm import Booking, BookingItem, Slot
from tourplanner.domain import booking as rules
from tourplanner.domain.availability import booking_open, local_datetime, local_today
from tourplanner.domain.errors import Conflict, NotFound, Unprocessable, ValidationError
from tourplanner.domain.pricing import Party, party_price
from tourplanner.extensions import db
from tourplanner.services import links as tokens
from tourplanner.services import notifications
from tourplanner.services.availability import now_utc
from tourplanner.services.booking_request import BookingRequest
from tourplanner.services.unit_of_work import unit_of_work

DEFAULT_HOLD_HOURS = 24


# --- creating ------------------------------------------------------------------------------


def create_booking(
    request: BookingRequest, *, idempotency_key: str | None = None, now: datetime | None = None
) -> tuple[dict[str, Any], bool]:
    """Hold every item or none. Returns ``(booking view, replayed)``.

    With an ``idempotency_key`` already used for the same request, the existing booking is
    returned (``replayed`` True) and nothing is reserved again; reusing a key for a different
    request is refused (422).
    """
    now = now or now_utc()
    if idempotency_key:
        existing = _by_key(idempotency_key, request)
        if existing is not None:
            return view(existing), True
    slots = _check_slots(request, now)
    try:
        with unit_of_work() as session:
            booking = _insert(session, request, slots, idempotency_key, now)
            queued = notifications.on_booking_requested(session, booking)
    except IntegrityError:
        existing = _by_key(idempotency_key, request) if idempotency_key else None
        if existing is None:
            raise
        return view(existing), True
    notifications.dispatch_after_commit(queued)
    return view(booking), False


def _by_key(key: str, request: BookingRequest) -> Booking | None:
    db.session.rollback()  # a fresh snapshot: see the winner of a concurrent retry
    booking = db.session.scalars(select(Booking).where(Booking.idempotency_key == key)).first()
    if booking is not None and booking.request_fingerprint != request.fingerprint():
        raise Unprocessable(
            "this Idempotency-Key was used for a different request", code="idempotency_key_reused"
        )
    return booking


def _check_slots(request: BookingRequest, now: datetime) -> dict[int, Slot]:
    """Every slot exists, is bookable, is open, and the party can be priced."""
    ids = [i.slot_id for i in request.items]
    slots = {s.id: s for s in db.session.scalars(select(Slot).where(Slot.id.in_(ids)))}
    for item in request.items:
        slot = slots.get(item.slot_id)
        if slot is None or not slot.experience.bookable:
            raise NotFound("no such bookable slot", code="slot_not_found", slot_id=item.slot_id)
        if not booking_open(slot.start, now, slot.experience.booking_cutoff_hours):
            raise Conflict(
                "booking for this session has closed",
                code="booking_closed",
                slot_id=slot.id,
                start=slot.start.isoformat(),
                cutoff_hours=slot.experience.booking_cutoff_hours,
            )
        if party_price(_prices(slot), item.party) is None:
            raise Unprocessable(
                "this session has no price for every person in the party",
                code="price_unavailable",
                slot_id=slot.id,
            )
    return slots


def _prices(slot: Slot) -> dict[str, int | None]:
    e = slot.experience
    return {"adult": e.price_adult_vnd, "child": e.price_child_vnd, "senior": e.price_senior_vnd}


def _insert(
    session: Session,
    request: BookingRequest,
    slots: dict[int, Slot],
    key: str | None,
    now: datetime,
) -> Booking:
    booking = Booking(
        reference=_unused_reference(session),
        status=rules.PENDING,
        contact_name=request.contact["name"],
        contact_email=request.contact["email"],
        contact_phone=request.contact["phone"],
        lang=request.lang,
        total_vnd=0,
        plan_id=request.plan_id,
        itinerary=request.itinerary,
        idempotency_key=key,
        request_fingerprint=request.fingerprint(),
        created_at=now,
        updated_at=now,
    )
    session.add(booking)
    session.flush()  # a concurrent retry with the same key fails here, before any capacity
    for item in sorted(request.items, key=lambda i: i.slot_id):  # one lock order: no deadlock
        _take(session, item.slot_id, item.party.size)
    for item in request.items:
        booking.items.append(_item(slots[item.slot_id], item.party, now))
    booking.total_vnd = sum(i.total_vnd for i in booking.items)
    session.flush()
    return booking


def _take(session: Session, slot_id: int, places: int) -> None:
    taken = session.execute(
        update(Slot)
        .where(Slot.id == slot_id, Slot.taken + places <= Slot.capacity)
        .values(taken=Slot.taken + places)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        row = session.execute(select(Slot.capacity, Slot.taken).where(Slot.id == slot_id)).one()
        remaining = max(0, row.capacity - row.taken)
        raise Conflict(
            f"only {remaining} place(s) left in this session",
            code="slot_full",
            slot_id=slot_id,
            remaining=remaining,
            requested=places,
        )


def _item(slot: Slot, party: Party, now: datetime) -> BookingItem:
    hours = slot.experience.village.hold_expiry_hours or current_app.config.get(
        "BOOKING_HOLD_HOURS", DEFAULT_HOLD_HOURS
    )
    prices = _prices(slot)
    return BookingItem(
        slot_id=slot.id,
        experience_id=slot.experience_id,
        village_id=slot.experience.village_id,
        start=slot.start,
        end=slot.end,
        adults=party.adults,
        children=party.children,
        seniors=party.seniors,
        prices_vnd=prices,
        total_vnd=party_price(prices, party) or 0,
        status=rules.PENDING,
        hold_expires_at=rules.hold_expires_at(now, slot.start, hours),
    )


def _unused_reference(session: Session) -> str:
    for _ in range(10):
        reference = rules.new_reference()
        if session.scalar(select(Booking.id).where(Booking.reference == reference)) is None:
            return reference
    raise RuntimeError("could not draw an unused booking reference")  # pragma: no cover


# --- reading -------------------------------------------------------------------------------


def get_for_tourist(reference: str, token: str | None) -> dict[str, Any]:
    """The booking behind a signed management link (403 for a forged or expired link)."""
    return view(_authorised(reference, token))


def _authorised(reference: str, token: str | None) -> Booking:
    reference = rules.normalise_reference(reference)
    tokens.check_manage_token(token, reference)
    booking = db.session.scalars(select(Booking).where(Booking.reference == reference)).first()
    if booking is None:
        raise NotFound("no such booking", code="booking_not_found", reference=reference)
    return booking


def view(booking: Booking) -> dict[str, Any]:
    """Plain data for the API, pages and e-mails."""
    return {
        "reference": booking.reference,
        "status": booking.status,
        "total_vnd": booking.total_vnd,
        "lang": booking.lang,
        "contact": {
            "name": booking.contact_name,
            "email": booking.contact_email,
            "phone": booking.contact_phone,
        },
        "created_at": booking.created_at.isoformat(),
        "plan_id": booking.plan_id,
        "itinerary": booking.itinerary,
        "items": [item_view(i) for i in booking.items],
        "manage_token": tokens.manage_token(booking.reference),
    }


def item_view(item: BookingItem) -> dict[str, Any]:
    exp = item.experience
    free_until = item.start - timedelta(hours=exp.free_cancellation_hours)
    return {
        "id": item.id,
        "slot_id": item.slot_id,
        "experience_id": item.experience_id,
        "experience": {
            "slug": exp.slug,
            "title_vi": exp.title_vi,
            "title_en": exp.title_en,
            "sample": exp.is_sample,
        },
        "village": {
            "slug": item.village.slug,
            "name_vi": item.village.name_vi,
            "name_en": item.village.name_en,
        },
        "start": item.start.isoformat(),
        "end": item.end.isoformat(),
        "party": {"adults": item.adults, "children": item.children, "seniors": item.seniors},
        "prices_vnd": item.prices_vnd,
        "total_vnd": item.total_vnd,
        "status": item.status,
        "hold_expires_at": item.hold_expires_at.isoformat(),
        "free_cancellation_until": free_until.isoformat(),
        "decision_reason": item.decision_reason,
        "cancellation_fee_vnd": item.cancellation_fee_vnd,
    }


# --- state changes -------------------------------------------------------------------------


def _move(session: Session, item: BookingItem, target: str, **fields: Any) -> None:
    """Conditionally move ``item`` to ``target``; release its places when the state says so."""
    rules.transition(item.status, target)
    moved = session.execute(
        update(BookingItem)
        .where(BookingItem.id == item.id, BookingItem.status == item.status)
        .values(status=target, **fields)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # someone else changed it first
        session.refresh(item)
        raise Conflict(
            f"this booking is {item.status}; it cannot become {target}",
            code="invalid_transition",
            current_state=item.status,
            requested=target,
        )
    if target in rules.RELEASES_CAPACITY:
        session.execute(
            update(Slot)
            .where(Slot.id == item.slot_id)
            .values(taken=Slot.taken - item.party_size)
            .execution_options(synchronize_session=False)
        )
    session.refresh(item)


def _summarise(session: Session, booking: Booking, now: datetime) -> None:
    session.refresh(booking)
    booking.status = rules.summary_status(i.status for i in booking.items)
    booking.updated_at = now


def _village_item(item_id: int, village_id: int | None) -> BookingItem:
    """An item of the staff member's village (admins: ``village_id`` None); else 404."""
    item = db.session.get(BookingItem, item_id)
    if item is None or (village_id is not None and item.village_id != village_id):
        raise NotFound(
            "no such booking for your village", code="booking_not_found", item_id=item_id
        )
    return item


def decide(
    item_id: int,
    *,
    accept: bool,
    reason: str | None = None,
    village_id: int | None,
    user_id: int | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The village accepts or declines a pending item; the tourist is told."""
    now = now or now_utc()
    reason = (reason or "").strip() or None
    if not accept and not reason:
        raise ValidationError(
            "give the tourist a reason for declining", code="reason_required", field="reason"
        )
    item = _village_item(item_id, village_id)
    target = rules.CONFIRMED if accept else rules.DECLINED
    with unit_of_work() as session:
        _move(session, item, target, decided_at=now, decided_by=user_id, decision_reason=reason)
        _summarise(session, item.booking, now)
        queued = notifications.on_item_changed(session, item, target)
    notifications.dispatch_after_commit(queued)
    return view(item.booking)


def record_attendance(
    item_id: int, *, attended: bool, village_id: int | None, now: datetime | None = None
) -> dict[str, Any]:
    """After the session started: completed or no_show (confirmed items only)."""
    now = now or now_utc()
    item = _village_item(item_id, village_id)
    if now < item.start:
        raise Conflict(
            "the session has not started yet", code="not_started", current_state=item.status
        )
    with unit_of_work() as session:
        _move(session, item, rules.COMPLETED if attended else rules.NO_SHOW)
        _summarise(session, item.booking, now)
    return view(item.booking)


def cancel(reference: str, token: str | None, *, now: datetime | None = None) -> dict[str, Any]:
    """The tourist cancels every confirmed item (free until N hours before, else the price)."""
    now = now or now_utc()
    booking = _authorised(reference, token)
    live = [i for i in booking.items if i.status in (rules.PENDING, rules.CONFIRMED)]
    if not live:
        raise Conflict(
            f"this booking is {booking.status}; it cannot be cancelled",
            code="invalid_transition",
            current_state=booking.status,
            requested=rules.CANCELLED,
        )
    for item in live:
        rules.check_cancellable(item.status, item.start, now)
    with unit_of_work() as session:
        queued = []
        for item in live:
            fee = rules.cancellation_fee(
                item.start, now, item.experience.free_cancellation_hours, item.total_vnd
            )
            _move(session, item, rules.CANCELLED, cancelled_at=now, cancellation_fee_vnd=fee)
            queued += notifications.on_item_changed(session, item, rules.CANCELLED)
        _summarise(session, booking, now)
    notifications.dispatch_after_commit(queued)
    return view(booking)


def expire_holds(now: datetime | None = None) -> list[int]:
    """Expire pending items whose hold ran out, free their places, tell the tourist.

    Safe to run concurrently (each item moves with a conditional update). Returns item ids.
    """
    now = now or now_utc()
    due = db.session.scalars(
        select(BookingItem.id).where(
            BookingItem.status == rules.PENDING, BookingItem.hold_expires_at <= now
        )
    ).all()
    expired = []
    for item_id in due:
        item = db.session.get(BookingItem, item_id)
        try:
            with unit_of_work() as session:
                _move(session, item, rules.EXPIRED, decided_at=now)
                _summarise(session, item.booking, now)
                queued = notifications.on_item_changed(session, item, rules.EXPIRED)
        except Conflict:
            continue  # answered meanwhile
        notifications.dispatch_after_commit(queued)
        expired.append(item_id)
    return expired


def queue_reminders(now: datetime | None = None) -> list[int]:
    """Queue the day-before reminder for confirmed items starting tomorrow (Hanoi), once."""
    now = now or now_utc()
    tomorrow = local_today(now) + timedelta(days=1)
    first = local_datetime(tomorrow, datetime.min.time())
    due = db.session.scalars(
        select(BookingItem.id).where(
            BookingItem.status == rules.CONFIRMED,
            BookingItem.reminder_queued_at.is_(None),
            BookingItem.start >= first,
            BookingItem.start < first + timedelta(days=1),
        )
    ).all()
    reminded = []
    for item_id in due:
        with unit_of_work() as session:
            claimed = session.execute(
                update(BookingItem)
                .where(BookingItem.id == item_id, BookingItem.reminder_queued_at.is_(None))
                .values(reminder_queued_at=now)
                .execution_options(synchronize_session=False)
            )
            queued = []
            if claimed.rowcount == 1:
                item = session.get(BookingItem, item_id)
                queued = notifications.on_reminder(session, item)
                reminded.append(item_id)
        notifications.dispatch_after_commit(queued)
    return reminded


# --- the village's view --------------------------------------------------------------------


def village_items(
    village_id: int | None, *, status: str | None = None, limit: int = 300
) -> list[dict[str, Any]]:
    """Items of one village (admins: ``None`` = every village), pending first, by start."""
    stmt = select(BookingItem).order_by(BookingItem.start).limit(limit)
    if village_id is not None:
        stmt = stmt.where(BookingItem.village_id == village_id)
    if status:
        stmt = stmt.where(BookingItem.status == status)
    items = list(db.session.scalars(stmt))
    items.sort(key=lambda i: (i.status != rules.PENDING, i.start))
    return [
        {
            **item_view(i),
            "reference": i.booking.reference,
            "contact": {
                "name": i.booking.contact_name,
                "email": i.booking.contact_email,
                "phone": i.booking.contact_phone,
            },
            "village_id": i.village_id,
        }
        for i in items
    ]


def village_item(item_id: int, village_id: int | None) -> dict[str, Any]:
    """One item for the village that owns it (404 for anyone else's)."""
    item = _village_item(item_id, village_id)
    return {
        **item_view(item),
        "reference": item.booking.reference,
        "contact": {
            "name": item.booking.contact_name,
            "email": item.booking.contact_email,
            "phone": item.booking.contact_phone,
        },
        "village_id": item.village_id,
    }
