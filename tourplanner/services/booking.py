"""Booking use cases: atomic holds over one or many slots, idempotent requests, decisions,
cancellation, expiry and attendance.

Capacity is taken with one conditional write per slot, all inside one transaction::

    UPDATE slots SET taken = taken + :n WHERE id = :id AND taken + :n <= capacity

A zero row count means the slot is full: the whole transaction rolls back, so an itinerary
reserves every item or none. On PostgreSQL the UPDATE row lock serialises concurrent writers;
on SQLite writers wait on the database lock (busy timeout, see ``adapters/orm/booking.py``).
State changes are conditional too (``... WHERE status = :current``), so two staff members
clicking at once cannot both win. Notification rows and audit events join the same transaction
(outbox) and are handed to Celery only after the commit; a notification problem after the
commit never turns the answer into an error.

Holds cannot be hoarded: a contact (e-mail or phone) may hold at most ``HOLD_PLACES_PER_CONTACT``
places in live items with sessions to come, and one client address may reserve at most
``HOLD_PLACES_PER_IP`` places a day (skipped with ``RATE_LIMITS=off``). The tourist manages the
booking with a random token stored hashed (:mod:`tourplanner.services.links`), replaced on
cancellation. An ``Idempotency-Key`` replays its booking for ``IDEMPOTENCY_KEY_HOURS``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from flask import current_app
from limits import RateLimitItemPerDay
from sqlalchemy import String, bindparam, event, func, literal_column, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from tourplanner.adapters.orm import (
    AgencyClient,
    Booking,
    BookingItem,
    Experience,
    Package,
    Slot,
    User,
    Village,
    booking_writes,
)
from tourplanner.adapters.orm.catalogue import LONG_EXPERIENCE_FIELDS, LONG_VILLAGE_FIELDS
from tourplanner.domain import booking as rules
from tourplanner.domain.availability import booking_open, local_datetime, local_today
from tourplanner.domain.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Unprocessable,
    ValidationError,
)
from tourplanner.domain.inputs import free_text
from tourplanner.domain.pricing import Party, party_price
from tourplanner.extensions import db
from tourplanner.security import audit
from tourplanner.services import links as tokens
from tourplanner.services import notifications, reachability
from tourplanner.services.availability import now_utc
from tourplanner.services.booking_request import BookingRequest, ItemRequest
from tourplanner.services.unit_of_work import unit_of_work

log = logging.getLogger(__name__)
DEFAULT_HOLD_HOURS = 24
MAX_REASON_LENGTH = 1000
LIVE = (rules.PENDING, rules.CONFIRMED)
#: ``bookings.source`` of a reseller's booking made through the OCTO API.
RESELLER_SOURCE = "octo"
#: Bookings written with a newly drawn reference before giving up on clashes (each clash is a
#: 1-in-10^9 draw; the second attempt is already a test's business).
REFERENCE_ATTEMPTS = 3


# --- creating ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookingTerms:
    """What a booking records besides its items: where it came from and, for a package, the
    package, its first date and its prices (``retail_total_vnd`` None: the items' sum).

    ``labels`` name items in a 409 (slot id -> e.g. "Day 2 · Bát Tràng pottery · 10:00").
    """

    source: str = "site"
    agency_id: int | None = None
    client_id: int | None = None
    package_id: int | None = None
    package_date: date | None = None
    notes: str | None = None
    retail_total_vnd: int | None = None
    net_total_vnd: int | None = None
    commission_vnd: int | None = None
    labels: Mapping[int, str] = field(default_factory=dict)
    #: A client the agency adds with this booking ({name, email, phone}), in its transaction.
    new_client: Mapping[str, str | None] | None = None
    #: Checked against the per-address limit (None: not counted, e.g. a signed-in agency).
    client_ip: str | None = None
    #: The per-contact hold limit applies (anonymous bookings). A signed-in agency books
    #: groups for its clients (20 people over 5 workshops hold 100 places) and answers for
    #: them: its bookings are not held to the anti-hoarding limit.
    contact_limit: bool = True
    #: The booking's reference when the caller already has one (a reseller's reservation
    #: keeps its ``supplierReference``); None draws a new one.
    reference: str | None = None


def create_booking(
    request: BookingRequest,
    *,
    idempotency_key: str | None = None,
    client_ip: str | None = None,
    now: datetime | None = None,
) -> tuple[dict[str, Any], bool]:
    """Hold every item or none. Returns ``(booking view, replayed)``.

    With an ``idempotency_key`` used for the same request in the last ``IDEMPOTENCY_KEY_HOURS``,
    the existing booking is returned (``replayed`` True) and nothing is reserved again; reusing
    a key for a different request is refused (422). An older key is free again. The view of a
    new booking carries its management token (the only time it exists in clear); a replay's
    view has none (``manage_token`` None): the token went to the first answer and e-mail.
    ``client_ip`` counts the places against the per-address limit. Over a hold limit: 409
    ``too_many_held_places``.
    """
    now = now or now_utc()
    fingerprint = request.fingerprint()
    if idempotency_key:
        existing = replay(idempotency_key, fingerprint, now)
        if existing is not None:
            return existing, True
    return hold(
        request,
        BookingTerms(client_ip=client_ip),
        fingerprint=fingerprint,
        idempotency_key=idempotency_key,
        now=now,
    )


def replay(key: str, fingerprint: str, now: datetime) -> dict[str, Any] | None:
    """The view of the booking a still-valid ``key`` made for the same request, if any.

    Callers check it before any other work: a package that has since filled up must still
    replay the booking it made, not answer 409.
    """
    existing = _by_key(key, fingerprint, now)
    return None if existing is None else view(existing)


def hold(
    request: BookingRequest,
    terms: BookingTerms,
    *,
    fingerprint: str,
    idempotency_key: str | None,
    now: datetime,
) -> tuple[dict[str, Any], bool]:
    """The one capacity path of every booking (items, a saved itinerary, a package): check the
    slots and the hold limits, write the booking, its items and the outbox rows, then take
    every slot's places with the conditional UPDATE in one lock order, and commit; a full slot
    rolls everything back. ``fingerprint`` identifies the request behind ``idempotency_key``.
    """
    contact = request.contact if terms.contact_limit else None
    checked = _check_slots(request, now, contact=contact)
    slots = checked.slots
    places = sum(i.party.size for i in request.items)
    if terms.contact_limit:
        _check_contact_holds(request, places, now, held=checked.held)
    client_ip = terms.client_ip
    ip_limit = _ip_limit(client_ip, places)
    for attempt in range(REFERENCE_ATTEMPTS):
        # No SELECT for an unused reference: the unique index refuses the 1-in-10^9 clash and
        # the booking is written again with another one (below).
        reference = terms.reference or rules.new_reference()
        # Derived from the reference, so that the worker writing the tourist's e-mail can put
        # the same link in it (docs/security.md); only its hash is stored, as before.
        token = tokens.first_manage_token(reference)
        try:
            with unit_of_work() as session:
                if idempotency_key:
                    _release_expired_key(session, idempotency_key, now)
                booking = _insert(
                    session,
                    request,
                    terms,
                    slots,
                    idempotency_key,
                    fingerprint,
                    now,
                    manage_token_hash=tokens.manage_token_hash(token),
                    reference=reference,
                    drawn=checked.drawn,
                )
                # The outbox rows name what to write; the worker renders them.
                rows, marked = notifications.requested_rows(
                    session, booking, recipients=checked.staff
                )
                # The answer is read before the commit: if the database goes away right after
                # it, the tourist still learns the booking exists (a 503 then would invite a
                # retry that books twice).
                answer = view(booking, manage_token=token)
                handover = _write_and_take(
                    session, request, terms, booking, rows, marked, drawn=checked.drawn is not None
                )
        except IntegrityError:
            existing = _by_key(idempotency_key, fingerprint, now) if idempotency_key else None
            if existing is not None:
                return view(existing), True
            if (
                terms.reference
                or attempt + 1 == REFERENCE_ATTEMPTS
                or not _reference_used(reference)
            ):
                raise
            continue  # the drawn reference was taken: draw another
        break
    _count_ip_places(ip_limit, client_ip, places)
    notifications.dispatch_after_commit(handover)
    return answer, False


def _write_and_take(
    session: Session,
    request: BookingRequest,
    terms: BookingTerms,
    booking: Booking,
    rows: list[dict[str, Any]],
    marked: bool,
    *,
    drawn: bool,
) -> list[notifications.Queued]:
    """Write the outbox ``rows`` (and, with ``drawn`` ids, the booking and its items too, in one
    statement), then take every slot's places.

    Capacity last, right before the commit: each slot's row lock is held for the UPDATEs and
    the COMMIT only, not while the rows were built (bookings of one slot queue on that lock).
    A full slot still rolls everything back. A booking of one slot on PostgreSQL takes its
    places in the same statement as its rows (:mod:`tourplanner.adapters.orm.booking_writes`).
    """
    takes = sorted(request.items, key=lambda i: i.slot_id)  # one lock order
    if not drawn:
        handover = notifications.insert_rows(session, rows, marked)
    else:
        one_slot = len(takes) == 1
        values = booking_writes.parameters(booking, booking.items, rows)
        if one_slot:
            values.update(slot_id=takes[0].slot_id, places=takes[0].party.size)
        written = session.execute(booking_writes.statement(one_slot), values).all()
        if one_slot and not written:  # the slot was full: nothing was written
            slot_id = takes[0].slot_id
            raise _slot_full(session, slot_id, takes[0].party.size, terms.labels.get(slot_id))
        handover = [notifications.Queued(row.id, row.channel, marked) for row in written]
        if one_slot:
            return handover
    for item in takes:
        take(session, item.slot_id, item.party.size, terms.labels.get(item.slot_id))
    return handover


def _key_cutoff(now: datetime) -> datetime:
    return now - timedelta(hours=int(current_app.config["IDEMPOTENCY_KEY_HOURS"]))


def _by_key(key: str, fingerprint: str, now: datetime) -> Booking | None:
    """The booking a still-valid ``key`` made, if any (an expired key is a new request)."""
    db.session.rollback()  # a fresh snapshot: see the winner of a concurrent retry
    booking = db.session.scalars(
        select(Booking).where(
            Booking.idempotency_key == key, Booking.created_at >= _key_cutoff(now)
        )
    ).first()
    if booking is not None and booking.request_fingerprint != fingerprint:
        raise Unprocessable(
            "this Idempotency-Key was used for a different request", code="idempotency_key_reused"
        )
    return booking


def _release_expired_key(session: Session, key: str, now: datetime) -> None:
    """Free an expired key for the new booking, in its transaction (the column is unique)."""
    session.execute(
        update(Booking)
        .where(Booking.idempotency_key == key, Booking.created_at < _key_cutoff(now))
        .values(idempotency_key=None)
        .execution_options(synchronize_session=False)
    )


# --- hold limits ---------------------------------------------------------------------------


def _digits(column: Any) -> Any:
    """The phone number without the separators people type (spaces, dots, dashes, brackets).
    Written with literal marks, not parameters: the expression is the one migration 0010
    indexes, and a planner matches an index expression only to the same constants."""
    for mark in (" ", ".", "-", "(", ")", "+"):
        column = func.replace(column, literal_column(f"'{mark}'"), literal_column("''"))
    return column


def _plain_phone(phone: str | None) -> str:
    return "".join(c for c in phone or "" if c.isdigit())


@cache
def _held_by_contact(phone: bool) -> Any:
    """The SELECT of :func:`places_held_by_contact` (also a column of the slot query), made
    once per process: parameters ``held_email``, ``held_now`` and, with ``phone``,
    ``held_digits`` (see :func:`_held_parameters`). Building the expression each time cost
    more than running it."""
    same = [func.lower(Booking.contact_email) == bindparam("held_email", type_=String())]
    if phone:
        same.append(_digits(Booking.contact_phone) == bindparam("held_digits", type_=String()))
    return (
        select(
            func.coalesce(
                func.sum(BookingItem.adults + BookingItem.children + BookingItem.seniors), 0
            )
        )
        .join(Booking, BookingItem.booking_id == Booking.id)
        .where(
            # Not IN (...): an IN of values is rendered anew at every execution.
            or_(*(BookingItem.status == state for state in LIVE)),
            BookingItem.start > bindparam("held_now", type_=BookingItem.__table__.c.start.type),
            or_(*same),
        )
    )


def _held_parameters(email: str, phone: str | None, now: datetime) -> tuple[bool, dict]:
    """Whether the phone counts, and the parameters of :func:`_held_by_contact`."""
    digits = _plain_phone(phone)
    values = {"held_email": email.strip().lower(), "held_now": now}
    if digits:
        values["held_digits"] = digits
    return bool(digits), values


def places_held_by_contact(email: str, phone: str | None, now: datetime) -> int:
    """Places the contact (same e-mail, any case, or same phone number) holds in pending or
    confirmed items whose session is still to come."""
    phone_counts, values = _held_parameters(email, phone, now)
    held = db.session.scalar(_held_by_contact(phone_counts), values)
    return int(held or 0)


def _check_contact_holds(
    request: BookingRequest, places: int, now: datetime, *, held: int | None = None
) -> None:
    """One contact cannot hold a day's places: the limit holds even with ``RATE_LIMITS=off``.
    ``held``: the contact's places when the caller has read them already (the slot query).

    Checked before the transaction, so two simultaneous requests by one contact may both pass
    once; the request-rate limit keeps that small.
    """
    limit = int(current_app.config["HOLD_PLACES_PER_CONTACT"])
    if held is None:
        held = places_held_by_contact(request.contact["email"] or "", request.contact["phone"], now)
    if held + places > limit:
        raise Conflict(
            f"this contact may hold at most {limit} places at once "
            f"({held} held, {places} requested)",
            code="too_many_held_places",
            limit=limit,
            held=held,
            requested=places,
            per="contact",
        )


def _ip_limit(client_ip: str | None, places: int) -> Any:
    """The per-address window, after checking it has room for ``places`` (409 when not).

    Places reserved from one address are counted over 24 hours in the rate-limit storage
    (Redis in production), which every web process shares; there is no column for the address.
    A booking later cancelled or declined still counts for the rest of the day: the limit is
    generous (mobile carriers put many phones behind one address). Skipped with
    ``RATE_LIMITS=off``; if the storage is unreachable the booking goes ahead (the per-contact
    limit, in the database, still applies).
    """
    if not client_ip or not current_app.config.get("RATE_LIMITS", True):
        return None
    limit = int(current_app.config["HOLD_PLACES_PER_IP"])
    window = RateLimitItemPerDay(limit)
    if places > limit:
        _too_many_from_ip(limit, places)
    try:
        room = _limits_strategy().test(window, "hold-places-ip", client_ip, cost=places)
    except Exception:  # storage down: fail open, see the docstring
        log.warning("per-address hold limit skipped: rate-limit storage unavailable", exc_info=True)
        return None
    if not room:
        _too_many_from_ip(limit, places)
    return window


def _too_many_from_ip(limit: int, places: int) -> None:
    raise Conflict(
        f"too many places were reserved from your network today (at most {limit})",
        code="too_many_held_places",
        limit=limit,
        requested=places,
        per="ip",
    )


def _count_ip_places(window: Any, client_ip: str | None, places: int) -> None:
    if window is None or not client_ip:
        return
    try:
        _limits_strategy().hit(window, "hold-places-ip", client_ip, cost=places)
    except Exception:  # the booking is committed; a missed count is not worth an error
        log.warning("per-address hold count not recorded", exc_info=True)


def _limits_strategy() -> Any:
    from tourplanner.security.limits import limiter

    return limiter.limiter


@cache
def _slot_query(contact: bool | None, many: bool, draw: bool) -> Any:
    """The one SELECT of :func:`_check_slots`, made once per process (parameter ``slot_ids``
    when ``many``, else ``slot_id``: an expanding ``IN`` is rendered anew at every execution,
    3 % of the web's CPU for the one-slot bookings that most are; with ``contact`` not None
    the contact's held places too, by e-mail and, when True, by phone: the parameters of
    :func:`_held_by_contact`). With ``draw`` (PostgreSQL), each row also draws the ids of a new
    booking and item from their sequences (:class:`DrawnIds`)."""
    staff = (
        # The separator as SQL text: given as a string, it is rendered into the statement anew
        # at every execution (a "literal execute" parameter).
        select(func.aggregate_strings(User.email, literal_column(f"'{_STAFF_SEPARATOR}'")))
        .where(User.village_id == Village.id, User.active.is_(True), User.role == "village")
        .scalar_subquery()
    )
    columns: list[Any] = [
        Slot,
        reachability.channel_clause().label("reachable"),
        staff.label("staff"),
    ]
    if contact is not None:
        columns.append(_held_by_contact(contact).scalar_subquery().label("held"))
    if draw:
        columns += [
            func.nextval(func.pg_get_serial_sequence(table, "id")).label(f"new_{table}_id")
            for table in ("bookings", "booking_items")
        ]
    return (
        select(*columns)
        .join(Slot.experience)
        .join(Experience.village)
        .where(
            Slot.id.in_(bindparam("slot_ids", expanding=True))
            if many
            else Slot.id == bindparam("slot_id")
        )
        .options(
            contains_eager(Slot.experience)
            .options(*LONG_EXPERIENCE_FIELDS)
            .contains_eager(Experience.village)
            .options(*LONG_VILLAGE_FIELDS)
        )
    )


@dataclass(frozen=True)
class DrawnIds:
    """Ids of a new booking and of its items (by slot id), drawn before they are written, so
    that all of its rows can go in one statement (PostgreSQL; ids a refused booking drew are
    left unused, as sequences do)."""

    booking: int
    items: dict[int, int]


@dataclass(frozen=True)
class CheckedSlots:
    """What the one query of a booking read: the slots (with experience and village), the
    places the contact holds (None when not asked), per village without a booking e-mail, its
    active staff's addresses (where its request goes), and on PostgreSQL the new rows' ids."""

    slots: dict[int, Slot]
    held: int | None
    staff: dict[int, list[str]]
    drawn: DrawnIds | None = None


#: One line per address in the staff column (an address cannot hold a line break).
_STAFF_SEPARATOR = "\n"


def _check_slots(
    request: BookingRequest, now: datetime, *, contact: Mapping[str, str | None] | None = None
) -> CheckedSlots:
    """Every slot exists, is bookable, is open, its village can be reached, and the party can
    be priced; with ``contact``, the places that contact already holds.

    One query for all of it: slot, experience and village, whether the village has a channel
    (the reachable-village check), its staff's addresses and the contact's held places, as
    columns of the same SELECT (each was a round trip of its own, ~1 ms of the web's CPU).
    """
    ids = [i.slot_id for i in request.items]
    many = len(ids) > 1
    values: dict[str, Any] = {"slot_ids": ids} if many else {"slot_id": ids[0]}
    phone_counts = None
    if contact is not None:
        phone_counts, held = _held_parameters(contact.get("email") or "", contact.get("phone"), now)
        values.update(held)
    draw = db.session.get_bind().dialect.name == "postgresql"
    found = db.session.execute(_slot_query(phone_counts, many, draw), values).all()
    slots = {row.Slot.id: row.Slot for row in found}
    for item in request.items:
        slot = slots.get(item.slot_id)
        if slot is None or not slot.experience.bookable:
            raise NotFound("no such bookable slot", code="slot_not_found", slot_id=item.slot_id)
        check_open(slot, item.party, now)
    # A request its village could never receive is refused (409), not held until it expires.
    reachable = {row.Slot.experience.village_id for row in found if row.reachable}
    reachability.refuse_unreachable(slots.values(), reachable=reachable)
    return CheckedSlots(
        slots=slots,
        held=int(found[0].held or 0) if contact is not None and found else None,
        staff={
            row.Slot.experience.village_id: [
                e for e in (row.staff or "").split(_STAFF_SEPARATOR) if e
            ]
            for row in found
        },
        drawn=DrawnIds(
            booking=found[0].new_bookings_id,
            items={row.Slot.id: row.new_booking_items_id for row in found},
        )
        if draw
        else None,
    )


def check_open(slot: Slot, party: Party, now: datetime) -> None:
    """The session is still open to booking (409 ``booking_closed``) and every person in the
    party has a price (422 ``price_unavailable``)."""
    if not booking_open(slot.start, now, slot.experience.booking_cutoff_hours):
        raise Conflict(
            "booking for this session has closed",
            code="booking_closed",
            slot_id=slot.id,
            start=slot.start.isoformat(),
            cutoff_hours=slot.experience.booking_cutoff_hours,
        )
    if party_price(_prices(slot), party) is None:
        raise Unprocessable(
            "this session has no price for every person in the party",
            code="price_unavailable",
            slot_id=slot.id,
        )


def _prices(slot: Slot) -> dict[str, int | None]:
    return prices(slot.experience)


def prices(e: Any) -> dict[str, int | None]:
    """The experience's (village, net) prices per category."""
    return {"adult": e.price_adult_vnd, "child": e.price_child_vnd, "senior": e.price_senior_vnd}


def _insert(
    session: Session,
    request: BookingRequest,
    terms: BookingTerms,
    slots: dict[int, Slot],
    key: str | None,
    fingerprint: str,
    now: datetime,
    *,
    manage_token_hash: str | None = None,
    reference: str | None = None,
    instant: bool | None = None,
    drawn: DrawnIds | None = None,
) -> Booking:
    """The booking and its items (capacity not taken here), inserted now or, with ``drawn``
    ids, only put in the session for :func:`_write_and_take` to write. Items confirm at once
    when ``instant`` (None: when their experience confirms instantly), in the audit log like a
    decision. Every value is known before the INSERT, so nothing is updated after it."""
    client_id = terms.client_id
    if terms.new_client is not None:
        # Added with the booking: a booking refused (a full session) leaves no client behind.
        client = AgencyClient(agency_id=terms.agency_id, created_at=now, **terms.new_client)
        session.add(client)
        session.flush()
        client_id = client.id
        audit.record(
            "agency_client_created",
            subject=str(client_id),
            session=session,
            agency_id=terms.agency_id,
            via="booking",
        )
    items = [new_item(slots[i.slot_id], i.party, now) for i in request.items]
    confirmed = [
        item
        for item in items
        if (slots[item.slot_id].experience.instant_confirmation if instant is None else instant)
    ]
    for item in confirmed:
        rules.transition(item.status, rules.CONFIRMED)
        item.status, item.decided_at = rules.CONFIRMED, now
    items_total = sum(i.total_vnd for i in items)
    booking = Booking(
        reference=reference or terms.reference or _unused_reference(session),
        status=rules.summary_status(i.status for i in items),
        contact_name=request.contact["name"],
        contact_email=request.contact["email"],
        contact_phone=request.contact["phone"],
        lang=request.lang,
        # A package sells at its retail price; the items keep the villages' (net) prices.
        total_vnd=items_total if terms.retail_total_vnd is None else terms.retail_total_vnd,
        manage_token_hash=manage_token_hash,
        plan_id=request.plan_id,
        itinerary=request.itinerary,
        idempotency_key=key,
        request_fingerprint=fingerprint,
        source=terms.source,
        agency_id=terms.agency_id,
        client_id=client_id,
        package_id=terms.package_id,
        package_date=terms.package_date,
        notes=terms.notes,
        net_total_vnd=terms.net_total_vnd,
        commission_vnd=terms.commission_vnd,
        created_at=now,
        updated_at=now,
        # Given as a list before the booking is in the session: appending to a stored
        # booking's collection would first load it (one SELECT of nothing).
        items=items,
    )
    if drawn is None:
        # A concurrent retry with the same key fails here, before any capacity.
        _write_rows(session, booking, items)
    else:
        _identify(booking, items, drawn, slots)
    for item in confirmed:
        audit.record(
            "booking_decided",
            subject=booking.reference,
            session=session,
            item_id=item.id,
            village_id=item.village_id,
            decision="accept",
            via="instant_confirmation",
        )
    return booking


_BOOKINGS = Booking.__table__
_ITEMS = BookingItem.__table__
_INSERT_BOOKING = _BOOKINGS.insert().returning(_BOOKINGS.c.id)
_INSERT_ITEMS = _ITEMS.insert().returning(_ITEMS.c.id, sort_by_parameter_order=True)


def _write_rows(session: Session, booking: Booking, items: list[BookingItem]) -> None:
    """INSERT the new booking and its items with two Core statements, then put the objects in
    the session as the stored rows they now are (no unit-of-work flush: it was a sixth of the
    web's CPU per booking). Every column is given, so nothing is left to load back."""
    values = _column_values(booking, _BOOKINGS)
    booking_id = session.execute(_INSERT_BOOKING, values).scalar_one()
    rows = [{**_column_values(i, _ITEMS), "booking_id": booking_id} for i in items]
    ids = session.execute(_INSERT_ITEMS, rows).scalars().all()
    _attach(session, booking, items, booking_id, ids, (values, rows))


def _attach(
    session: Session,
    booking: Booking,
    items: list[BookingItem],
    booking_id: int,
    item_ids: Sequence[int],
    values: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    """Put the new booking and its items, just written with these column ``values``, in the
    session as the stored rows they are: no flush, nothing to load back."""
    booking_values, item_values = values
    for item, item_id, row in zip(items, item_ids, item_values, strict=True):
        _stored(item, {**row, "id": item_id})
    _stored(booking, {**booking_values, "id": booking_id})
    session.add(booking)  # persistent, with its items (cascade): nothing to flush
    # Rolled back (a full slot), these objects must leave the session with their rows.
    session.info.setdefault(_WRITTEN, []).extend([booking, *items])


def _identify(
    booking: Booking, items: list[BookingItem], drawn: DrawnIds, slots: Mapping[int, Slot]
) -> None:
    """Give the booking and its items their ``drawn`` ids, and each item its experience and
    village, as objects that stay out of the session: :func:`_write_and_take` writes their
    rows in one statement, and only the outbox rows and the answer's view read them. Putting
    them in the session as stored rows, and expiring them at the commit, was a tenth of the
    web's CPU per booking."""
    booking.id = drawn.booking
    for item in items:
        item.id, item.booking_id = drawn.items[item.slot_id], drawn.booking
        experience = slots[item.slot_id].experience
        # As loaded (no change to write, no lazy load outside a session).
        set_committed_value(item, "experience", experience)
        set_committed_value(item, "village", experience.village)


#: ``session.info`` key of the objects :func:`_write_rows` put in the session.
_WRITTEN = "tourplanner.booking.written"


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    """Objects written by :func:`_write_rows` whose transaction rolled back leave the session:
    their rows are gone, and a later row may take their ids (SQLite reuses them)."""
    for obj in session.info.pop(_WRITTEN, ()):
        if obj in session:
            session.expunge(obj)


@event.listens_for(Session, "after_commit")
def _keep_committed(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


def _column_values(obj: Any, table: Any) -> dict[str, Any]:
    """Every column of ``obj``'s new row but its id (:func:`booking_writes.column_values`)."""
    return booking_writes.column_values(table, obj.__dict__)


def _stored(obj: Any, row: dict[str, Any]) -> None:
    for key, value in row.items():
        set_committed_value(obj, key, value)
    make_transient_to_detached(obj)


_SLOTS = Slot.__table__
#: The conditional capacity UPDATE, as one Core statement made once (parameters ``slot_id``,
#: ``places``): no ORM bulk-update machinery, no expression built per booking.
_TAKE = (
    _SLOTS.update()
    .where(
        _SLOTS.c.id == bindparam("slot_id"),
        _SLOTS.c.taken + bindparam("places") <= _SLOTS.c.capacity,
    )
    .values(taken=_SLOTS.c.taken + bindparam("places"))
)


def take(session: Session, slot_id: int, places: int, label: str | None = None) -> None:
    """Take ``places`` in the slot if they are left (one conditional UPDATE); else 409 naming
    the slot (and the package item's ``label``), what remains and what was asked."""
    taken = session.execute(_TAKE, {"slot_id": slot_id, "places": places})
    if taken.rowcount != 1:
        raise _slot_full(session, slot_id, places, label)


def _slot_full(session: Session, slot_id: int, places: int, label: str | None) -> Conflict:
    """The 409 of a slot without ``places`` left: what remains and what was asked."""
    row = session.execute(select(Slot.capacity, Slot.taken).where(Slot.id == slot_id)).one()
    remaining = max(0, row.capacity - row.taken)
    named = {"item": label} if label else {}
    where = f"{label}: " if label else ""
    return Conflict(
        f"{where}only {remaining} place(s) left in this session",
        code="slot_full",
        slot_id=slot_id,
        remaining=remaining,
        requested=places,
        **named,
    )


def release(session: Session, slot_id: int, places: int) -> None:
    """Give ``places`` back to the slot: one conditional UPDATE that never goes below zero."""
    if places <= 0:
        return
    session.execute(
        update(Slot)
        .where(Slot.id == slot_id, Slot.taken >= places)
        .values(taken=Slot.taken - places)
        .execution_options(synchronize_session=False)
    )


def lock_booking(session: Session, booking: Booking, now: datetime) -> None:
    """Write the booking's row first (its ``updated_at``): PostgreSQL's row lock, SQLite's
    write lock, so that two changes of one booking at once queue here and the second sees
    what the first wrote."""
    session.execute(
        update(Booking)
        .where(Booking.id == booking.id)
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )


def move_places(session: Session, changes: Mapping[int, int]) -> None:
    """Apply ``{slot_id: places}`` (positive: take, negative: give back) in slot-id order, the
    one lock order of every booking, so that two moves between the same slots cannot
    deadlock. A take that does not fit raises 409 ``slot_full``: the caller's transaction,
    releases included, rolls back."""
    for slot_id in sorted(changes):
        if changes[slot_id] > 0:
            take(session, slot_id, changes[slot_id])
        else:
            release(session, slot_id, -changes[slot_id])


def new_item(slot: Slot, party: Party, now: datetime) -> BookingItem:
    """A pending item for ``party`` in ``slot`` at the village's prices (capacity not taken)."""
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


def _reference_used(reference: str) -> bool:
    """Whether a booking has ``reference`` (after an IntegrityError: was it the clash?)."""
    db.session.rollback()
    return db.session.scalar(select(Booking.id).where(Booking.reference == reference)) is not None


def _unused_reference(session: Session) -> str:
    for _ in range(10):
        reference = rules.new_reference()
        if session.scalar(select(Booking.id).where(Booking.reference == reference)) is None:
            return reference
    raise RuntimeError("could not draw an unused booking reference")  # pragma: no cover


# --- reading -------------------------------------------------------------------------------


def get_for_tourist(
    reference: str, token: str | None, *, now: datetime | None = None
) -> dict[str, Any]:
    """The booking behind a management link (403 for a wrong, revoked or expired token); the
    view carries the token presented, for the links the caller builds."""
    return view(_authorised(reference, token, now or now_utc()), manage_token=token)


def _authorised(reference: str, token: str | None, now: datetime) -> Booking:
    """The booking, if ``token`` is its current management token and has not expired.

    An unknown reference answers like a wrong token (403): a link cannot be used to find out
    which references exist.
    """
    if not token:
        raise Forbidden("this link needs its token", code="missing_token")
    booking = db.session.scalars(
        select(Booking).where(Booking.reference == rules.normalise_reference(reference))
    ).first()
    if booking is None or not booking.manage_token_hash:
        raise Forbidden("this link is not valid", code="invalid_token")
    tokens.check_manage_token(
        token, booking.manage_token_hash, expires_at=_manage_link_expiry(booking), now=now
    )
    return booking


def _manage_link_expiry(booking: Booking) -> datetime | None:
    days = int(current_app.config["MANAGE_LINK_DAYS_AFTER_VISIT"])
    return tokens.manage_link_expires_at((i.end for i in booking.items), days)


def view(booking: Booking, *, manage_token: str | None = None) -> dict[str, Any]:
    """Plain data for the API, pages and e-mails. ``manage_token``: the tourist's token when
    the caller has it in clear (just made, just replaced, or presented); never read back."""
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
        "source": booking.source,
        "package": _package_slug(booking.package_id),
        "package_date": booking.package_date.isoformat() if booking.package_date else None,
        "items": [item_view(i) for i in booking.items],
        "manage_token": manage_token,
    }


def _package_slug(package_id: int | None) -> str | None:
    if package_id is None:
        return None
    return db.session.scalar(select(Package.slug).where(Package.id == package_id))


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
        release(session, item.slot_id, item.party_size)
    session.refresh(item)


def withdraw_pending(
    session: Session, item: BookingItem, now: datetime, *, reason: str | None = None
) -> None:
    """pending -> cancelled with no fee, conditionally (a village's decision racing the
    withdrawal cannot both win), giving the places back in the same transaction."""
    moved = session.execute(
        update(BookingItem)
        .where(BookingItem.id == item.id, BookingItem.status == rules.PENDING)
        .values(
            status=rules.CANCELLED,
            cancelled_at=now,
            cancellation_fee_vnd=0,
            decision_reason=reason,
        )
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        session.refresh(item)
        raise Conflict(
            f"this request is {item.status}; it can no longer be withdrawn",
            code="invalid_transition",
            current_state=item.status,
            requested="withdrawn",
        )
    release(session, item.slot_id, item.party_size)
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
    """The village accepts or declines a pending item; the tourist is told.

    ``user_id`` is the staff member who decided; None means the signed decision link from the
    village's e-mail. Either way the decision is in the audit log, committed with it.
    """
    now = now or now_utc()
    # The reason reaches the tourist's e-mail: no control characters, bounded.
    reason = free_text(reason or "", max_length=MAX_REASON_LENGTH) or None
    if not accept and not reason:
        raise ValidationError(
            "give the tourist a reason for declining", code="reason_required", field="reason"
        )
    item = _village_item(item_id, village_id)
    target = rules.CONFIRMED if accept else rules.DECLINED
    with unit_of_work() as session:
        _move(session, item, target, decided_at=now, decided_by=user_id, decision_reason=reason)
        _summarise(session, item.booking, now)
        queued = _changed(session, item, target)
        audit.record(
            "booking_decided",
            user_id=user_id,
            subject=item.booking.reference,
            session=session,
            item_id=item.id,
            village_id=item.village_id,
            decision="accept" if accept else "decline",
            via="user" if user_id is not None else "decision_link",
        )
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
    """The tourist cancels every live item (free until N hours before, else the price).

    The management token is replaced in the same transaction: the link used (perhaps a
    forwarded or leaked one) stops working, and the new one is in the answer (``manage_token``)
    and in the cancellation e-mail.
    """
    now = now or now_utc()
    booking = _authorised(reference, token, now)
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
    new_token, new_hash = tokens.new_manage_token()
    with unit_of_work() as session:
        booking.manage_token_hash = new_hash
        queued = []
        for item in live:
            fee = rules.cancellation_fee(
                item.start, now, item.experience.free_cancellation_hours, item.total_vnd
            )
            _move(session, item, rules.CANCELLED, cancelled_at=now, cancellation_fee_vnd=fee)
            queued += notifications.on_item_changed(session, item, rules.CANCELLED, new_token)
        _summarise(session, booking, now)
        audit.record(
            "booking_cancelled",
            email=booking.contact_email,
            subject=booking.reference,
            session=session,
            item_ids=[i.id for i in live],
            fee_vnd=sum(i.cancellation_fee_vnd or 0 for i in live),
            via="tourist",
        )
    notifications.dispatch_after_commit(queued)
    return view(booking, manage_token=new_token)


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
                queued = _changed(session, item, rules.EXPIRED)
        except Conflict:
            continue  # answered meanwhile
        notifications.dispatch_after_commit(queued)
        expired.append(item_id)
    _expire_reseller_holds(now)
    return expired


def _expire_reseller_holds(now: datetime) -> None:
    """Resellers' reservations past their hold give their places back too (the OCTO service
    owns them); a failure there never stops the items' expiry above."""
    from tourplanner.services import octo

    try:
        octo.expire_reservations(now=now)
    except Exception:  # the next maintenance pass tries again
        log.exception("expiring reseller reservations failed")
        db.session.rollback()


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
                # A reseller's customer hears from the reseller, not from us.
                if item.booking.source != RESELLER_SOURCE:
                    queued = notifications.on_reminder(session, item)
                reminded.append(item_id)
        notifications.dispatch_after_commit(queued)
    return reminded


# --- reseller (OCTO) bookings --------------------------------------------------------------
#
# A reseller's reservation holds its places itself (services/octo.py, with take/release above);
# when the reseller confirms, it becomes a booking of source "octo" that the village answers,
# its item pending or, for an experience with instant confirmation, confirmed at once. The
# reseller's customer hears from the reseller: decisions, expiry and cancellations of these
# bookings send the agency's webhooks instead of our e-mails to the tourist.


def _changed(session: Session, item: BookingItem, state: str) -> list[Any]:
    """The outbox rows for a decision or an expiry: the tourist's e-mail, or for a reseller's
    booking the agency's webhooks (rendered by the OCTO service)."""
    if item.booking.source == RESELLER_SOURCE:
        from tourplanner.services import octo

        return octo.booking_update_rows(session, item.booking)
    return notifications.on_item_changed(session, item, state)


def reseller_booking(
    session: Session,
    slot: Slot,
    party: Party,
    contact: dict[str, str | None],
    terms: BookingTerms,
    *,
    lang: str,
    instant: bool,
    notify: bool,
    now: datetime,
) -> tuple[Booking, list[Any]]:
    """Inside the caller's transaction: the booking a reseller confirmed, for ``party`` in
    ``slot``, and its village's messages (``notify``; never for test mode).

    Capacity is not taken here: the reseller's reservation holds the places already and the
    caller moves any difference with :func:`move_places`. With ``instant`` (the experience's
    instant confirmation) the item is confirmed at once, in the audit log like a decision.
    """
    request = BookingRequest((ItemRequest(slot.id, party),), contact, lang)
    fingerprint = request.fingerprint()
    slots = {slot.id: slot}
    booking = _insert(session, request, terms, slots, None, fingerprint, now, instant=instant)
    rows = _village_rows(session, booking, list(booking.items), "requested") if notify else []
    return booking, rows


def reseller_package_booking(
    session: Session,
    request: BookingRequest,
    terms: BookingTerms,
    *,
    notify: bool,
    now: datetime,
) -> tuple[Booking, list[Any]]:
    """Inside the caller's transaction: the booking a reseller confirmed for a package, one
    item per session of ``request``, and its villages' messages (``notify``).

    Like :func:`reseller_booking`, capacity is not taken here (the reservation holds every
    session already). Items whose experience confirms instantly are confirmed at once, the
    others wait for their village, as in :func:`hold`.
    """
    ids = [i.slot_id for i in request.items]
    slots = {s.id: s for s in session.scalars(select(Slot).where(Slot.id.in_(ids)))}
    booking = _insert(session, request, terms, slots, None, request.fingerprint(), now)
    rows = _village_rows(session, booking, list(booking.items), "requested") if notify else []
    return booking, rows


def _village_rows(
    session: Session, booking: Booking, items: list[BookingItem], event: str
) -> list[Any]:
    """Each village's e-mail, webhook and SMS about its ``items`` of a reseller's booking (a
    package's reach several villages), without the tourist's e-mail (the reseller tells its
    customer)."""
    by_village: dict[int, list[BookingItem]] = {}
    for item in items:
        by_village.setdefault(item.village_id, []).append(item)
    return [
        row
        for own in by_village.values()
        for row in notifications.village_messages(session, booking, own, event)
    ]


def cancel_for_reseller(
    session: Session, booking: Booking, *, reason: str | None, notify: bool, now: datetime
) -> list[Any]:
    """Inside the caller's transaction: end a reseller's booking (the places go back), tell
    the village (``notify``) and record it in the audit log. A confirmed item is cancelled
    (free until its free-cancellation cut-off, then its price as the fee); a request the
    village has not answered yet is withdrawn (free). Nothing moves unless every live item
    can: 409 ``invalid_transition`` or ``already_started``."""
    reason = free_text(reason or "", max_length=MAX_REASON_LENGTH) or None
    live = [i for i in booking.items if i.status in LIVE]
    if not live:
        raise Conflict(
            f"this booking is {booking.status}; it cannot be cancelled",
            code="invalid_transition",
            current_state=booking.status,
            requested=rules.CANCELLED,
        )
    for item in live:  # nothing moves unless every item can
        pending = item.status == rules.PENDING
        check = rules.check_withdrawable if pending else rules.check_cancellable
        check(item.status, item.start, now)
    for item in live:
        if item.status == rules.PENDING:
            withdraw_pending(session, item, now, reason=reason)
            continue
        fee = rules.cancellation_fee(
            item.start, now, item.experience.free_cancellation_hours, item.total_vnd
        )
        _move(
            session,
            item,
            rules.CANCELLED,
            cancelled_at=now,
            cancellation_fee_vnd=fee,
            decision_reason=reason,
        )
    _summarise(session, booking, now)
    audit.record(
        "booking_cancelled",
        subject=booking.reference,
        session=session,
        item_ids=[i.id for i in live],
        fee_vnd=sum(i.cancellation_fee_vnd or 0 for i in live),
        via="reseller",
        agency_id=booking.agency_id,
    )
    return _village_rows(session, booking, live, "cancelled") if notify else []


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
