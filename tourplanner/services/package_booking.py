"""Booking a package: one booking over every workshop of every day, all or nothing.

The package's plan for a date and party (:func:`tourplanner.services.packages.booking_plan`)
names one session per workshop stop; the booking goes through the same capacity path as any
other (:func:`tourplanner.services.booking.hold`): conditional UPDATEs in one lock order inside
one transaction, idempotency keys, hold limits, outbox notifications to each village and one
decision per item. The booking's ``total_vnd`` is the package's retail price; each item keeps
the village's (net) prices, which is what the village is paid.

A signed-in agency (pages, or an API key) books for itself (``source`` "agency", its own drafts
too) and may name one of its clients; anyone else books a published package (``source``
"site"). An agency also follows its bookings here and replaces a declined item with another
session (same experience, same day) or a nearby experience with a session near that time.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from geopy.distance import geodesic
from sqlalchemy import select
from sqlalchemy.orm import Session

from tourplanner.adapters.orm import (
    Agency,
    AgencyClient,
    AuditEvent,
    Booking,
    BookingItem,
    Experience,
    Package,
    Slot,
    Village,
)
from tourplanner.domain import booking as rules
from tourplanner.domain.errors import Conflict, NotFound, ValidationError
from tourplanner.domain.pricing import Party, party_price
from tourplanner.extensions import db
from tourplanner.security import audit
from tourplanner.services import agencies, availability, notifications
from tourplanner.services import booking as core
from tourplanner.services.availability import now_utc
from tourplanner.services.booking_request import BookingRequest, PackageRequest
from tourplanner.services.unit_of_work import unit_of_work

if TYPE_CHECKING:  # annotations only (booking_plan itself is imported where it is called)
    from tourplanner.services.packages import BookingPlan

#: Replacement experiences: villages within this distance of the declined item's village,
#: sessions starting within this many minutes of the declined one.
NEARBY_KM = 15.0
NEAR_TIME_MINUTES = 120
MAX_OPTIONS = 12


def book_package(
    slug: str,
    first_date: date,
    party: Party,
    contact: dict[str, str | None] | None,
    *,
    lang: str,
    agency_id: int | None = None,
    client_id: int | None = None,
    notes: str | None = None,
    new_client: dict[str, str | None] | None = None,
    idempotency_key: str | None = None,
    client_ip: str | None = None,
    now: datetime | None = None,
) -> tuple[dict[str, Any], bool]:
    """Book the package ``slug`` from ``first_date`` for ``party``. Returns ``(view, replayed)``.

    ``agency_id``: the agency books its own package (drafts allowed), for ``client_id`` (one
    of its clients; the contact defaults to the client's) or ``new_client`` (name, email,
    phone: added with the booking, in its transaction) with ``notes``; the anti-hoarding
    hold limits (per contact, per address) do not apply: the agency is signed in and books
    groups. None: a public booking of a published package, with both limits. Not runnable
    that date: 409 ``package_not_runnable`` with the problems; a session full by the time
    capacity is taken: 409 ``slot_full`` naming the item (``details.item``), nothing
    reserved.
    """
    now = now or now_utc()
    if client_id is not None and agency_id is None:
        raise ValidationError("only an agency books for a client", code="invalid_client")
    if new_client is not None and (agency_id is None or client_id is not None):
        raise ValidationError("an agency adds a client or names one", code="invalid_client")
    # Another agency's client is 404, like a missing one.
    client = agencies.get_client(agency_id, client_id) if client_id is not None else None
    contact = contact or _client_contact(new_client or client, agency_id)
    request = PackageRequest(slug, first_date, party, contact, lang, client_id, notes)
    fingerprint = request.fingerprint(agency_id)
    # A retry replays before the plan is worked out: once the package is full, the plan
    # would refuse the date, but the booking this key made must still come back.
    if idempotency_key:
        existing = core.replay(idempotency_key, fingerprint, now)
        if existing is not None:
            return existing, True
    plan = _booking_plan(slug, first_date, party, agency_id=agency_id, now=now)
    if agency_id is not None and plan.agency_id != agency_id:
        # Another agency's published package: booked like anyone's, with the public limits.
        if client_id is not None or new_client is not None:
            raise ValidationError(
                "a client is booked only on the agency's own packages", code="invalid_client"
            )
        agency_id = None
    return book_plan(
        plan,
        request,
        agency_id=agency_id,
        fingerprint=fingerprint,
        idempotency_key=idempotency_key,
        client_ip=None if agency_id is not None else client_ip,
        now=now,
        new_client=new_client,
    )


def _booking_plan(
    slug: str, first_date: date, party: Party, *, agency_id: int | None, now: datetime
) -> BookingPlan:
    from tourplanner.services.packages import booking_plan

    return booking_plan(slug, first_date, party, agency_id=agency_id, now=now)


def book_plan(
    plan: BookingPlan,
    request: PackageRequest,
    *,
    agency_id: int | None,
    fingerprint: str,
    idempotency_key: str | None,
    client_ip: str | None,
    now: datetime,
    new_client: dict[str, str | None] | None = None,
) -> tuple[dict[str, Any], bool]:
    """Hold every item of ``plan`` or none, through the one capacity path."""
    if not plan.items:
        raise Conflict(
            "this package has no workshop to book on that date",
            code="package_not_runnable",
            problems=[],
        )
    items = BookingRequest(plan.items, request.contact, request.lang)
    terms = core.BookingTerms(
        source="agency" if agency_id is not None else "site",
        agency_id=plan.agency_id,
        client_id=request.client_id,
        package_id=plan.package_id,
        package_date=plan.first_date,
        notes=request.notes,
        retail_total_vnd=plan.retail_total_vnd,
        net_total_vnd=plan.net_total_vnd,
        commission_vnd=plan.commission_vnd,
        labels=dict(plan.labels),
        new_client=new_client,
        client_ip=client_ip,
        contact_limit=agency_id is None,
    )
    return core.hold(
        items, terms, fingerprint=fingerprint, idempotency_key=idempotency_key, now=now
    )


def _client_contact(client: Any, agency_id: int | None) -> dict[str, str | None]:
    """The client's contact (a stored client or a new one's fields); a client without an
    e-mail gets the agency's in its place (the villages' answers then reach the agency)."""
    if client is None:
        raise ValidationError("'contact' needs name and email", code="invalid_contact")

    def field(name: str) -> str | None:
        return client.get(name) if isinstance(client, dict) else getattr(client, name)

    agency = db.session.get(Agency, agency_id)
    email = field("email") or (agency.contact_email if agency else None)
    return {"name": field("name"), "email": email, "phone": field("phone")}


# --- the agency's bookings -----------------------------------------------------------------


def agency_view(booking: Booking) -> dict[str, Any]:
    """The booking as its agency sees it: with the client, notes, net and commission."""
    data = core.view(booking)
    client = db.session.get(AgencyClient, booking.client_id) if booking.client_id else None
    package = db.session.get(Package, booking.package_id) if booking.package_id else None
    data.update(
        client={"id": client.id, "name": client.name} if client else None,
        package_name={"vi": package.name_vi, "en": package.name_en} if package else None,
        notes=booking.notes,
        net_total_vnd=booking.net_total_vnd,
        commission_vnd=booking.commission_vnd,
    )
    return data


def list_for_agency(agency_id: int, *, limit: int = 300) -> list[dict[str, Any]]:
    """The agency's bookings, newest first."""
    bookings = db.session.scalars(
        select(Booking)
        .where(Booking.agency_id == agency_id)
        .order_by(Booking.created_at.desc(), Booking.id.desc())
        .limit(limit)
    )
    return [agency_view(b) for b in bookings]


def _agency_booking(agency_id: int, reference: str) -> Booking:
    """The agency's booking; another agency's (or none) is 404, not 403: it does not exist
    for them."""
    booking = db.session.scalars(
        select(Booking).where(Booking.reference == rules.normalise_reference(reference))
    ).first()
    if booking is None or booking.agency_id != agency_id:
        raise NotFound("no such booking", code="booking_not_found", reference=reference)
    return booking


def get_for_agency(agency_id: int, reference: str) -> dict[str, Any]:
    return agency_view(_agency_booking(agency_id, reference))


# --- replacing a declined item -------------------------------------------------------------

REPLACEABLE = (rules.DECLINED, rules.EXPIRED)
REPLACED = "booking_item_replaced"


def _declined_item(booking: Booking, item_id: int) -> BookingItem:
    item = next((i for i in booking.items if i.id == item_id), None)
    if item is None:
        raise NotFound("no such item in this booking", code="item_not_found", item_id=item_id)
    if item.status not in REPLACEABLE or _replacement_of(db.session, booking.reference, item_id):
        raise Conflict(
            f"this item is {item.status}; only a declined or expired item, once, is replaced",
            code="invalid_transition",
            current_state=item.status,
        )
    return item


def replacement_options(
    agency_id: int, reference: str, item_id: int, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Sessions that could stand in for a declined item, best first: the same experience's
    other sessions that day with places for the party, then bookable experiences of villages
    within ``NEARBY_KM`` with a session within ``NEAR_TIME_MINUTES`` of the declined one."""
    now = now or now_utc()
    booking = _agency_booking(agency_id, reference)
    item = _declined_item(booking, item_id)
    size = item.party_size
    day = item.start.date()
    booked = {i.slot_id for i in booking.items if i.status in core.LIVE}
    village = item.village
    candidates = [item.experience_id]
    if village.lat is not None and village.lon is not None:
        for other, lat, lon in db.session.execute(
            select(Experience.id, Village.lat, Village.lon)
            .join(Village, Experience.village_id == Village.id)
            .where(Experience.id != item.experience_id, Village.lat.is_not(None))
        ):
            if geodesic((village.lat, village.lon), (lat, lon)).km <= NEARBY_KM:
                candidates.append(other)
    offered = availability.slots_for_day(candidates, day, now=now)
    window = timedelta(minutes=NEAR_TIME_MINUTES)
    party = Party(item.adults, item.children, item.seniors)
    options = []
    for experience_id in candidates:
        exp = db.session.get(Experience, experience_id)
        if exp is None or party_price(core.prices(exp), party) is None:
            continue  # no price for someone in the party (e.g. no child price)
        for slot in offered.get(experience_id, []):
            if slot.remaining < size or slot.id == item.slot_id or slot.id in booked:
                continue
            same = experience_id == item.experience_id
            if not same and abs(slot.start - item.start) > window:
                continue
            options.append(_option(slot, same, item.start))
    options.sort(key=lambda o: (not o["same_experience"], o["minutes_from_declined"]))
    return options[:MAX_OPTIONS]


def _option(slot: availability.SlotView, same: bool, declined_start: datetime) -> dict[str, Any]:
    exp = db.session.get(Experience, slot.experience_id)
    return {
        **slot.as_dict(),
        "same_experience": same,
        "minutes_from_declined": int(abs((slot.start - declined_start).total_seconds()) // 60),
        "experience": {"slug": exp.slug, "title_vi": exp.title_vi, "title_en": exp.title_en},
        "village": {
            "slug": exp.village.slug,
            "name_vi": exp.village.name_vi,
            "name_en": exp.village.name_en,
        },
        "prices_vnd": core.prices(exp),
    }


def replace_item(
    agency_id: int,
    reference: str,
    item_id: int,
    slot_id: int,
    *,
    user_id: int | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Add ``slot_id`` to the booking in place of the declined item ``item_id``.

    Only one of :func:`replacement_options` is accepted. The new item is pending (its village
    is asked, like any item) and its places are taken by the same conditional UPDATE as every
    booking, in the same transaction as the item and the village's notification: a slot that
    filled meanwhile is 409 ``slot_full`` and nothing is added. The booking's prices stay as
    sold; the new item records the village's (net) price, and ``net_total_vnd`` follows it.
    An item is replaced once (409 ``already_replaced``); the audit log records which item
    replaced which, in the same transaction.
    """
    now = now or now_utc()
    booking = _agency_booking(agency_id, reference)
    item = _declined_item(booking, item_id)
    allowed = {o["id"] for o in replacement_options(agency_id, reference, item_id, now=now)}
    if slot_id not in allowed:
        raise Conflict(
            "this session cannot replace the item (none left, too far or not that day)",
            code="not_a_replacement",
            slot_id=slot_id,
        )
    slot = db.session.get(Slot, slot_id)
    party = Party(item.adults, item.children, item.seniors)
    with unit_of_work() as session:
        core.lock_booking(session, booking, now)  # two replacements of one item queue here
        if _replacement_of(session, booking.reference, item.id) is not None:
            raise Conflict(
                "this item has already been replaced", code="already_replaced", item_id=item.id
            )
        new = core.new_item(slot, party, now)
        booking.items.append(new)
        session.flush()
        booking.net_total_vnd = (booking.net_total_vnd or 0) - item.total_vnd + new.total_vnd
        booking.status = rules.summary_status(i.status for i in booking.items)
        rows = _ask_village(session, booking, new)
        handover = notifications.queued(rows)
        audit.record(
            REPLACED,
            user_id=user_id,
            subject=booking.reference,
            session=session,
            item_id=item.id,
            replacement_id=new.id,
            slot_id=slot.id,
        )
        core.take(session, slot.id, party.size)  # capacity last, as for every booking
    notifications.dispatch_after_commit(handover)
    return get_for_agency(agency_id, reference)


def _ask_village(session: Session, booking: Booking, item: BookingItem) -> list:
    """The new item's village is asked like for any booking (e-mail, webhook, SMS, with its
    decision link). The tourist is not mailed again: the agency follows its booking here."""
    # notifications has no public "items added" hook yet; its village messages are the ones
    # every new booking writes.
    return notifications.village_messages(session, booking, [item], "requested")


def _replacement_of(session: Session, reference: str, item_id: int) -> int | None:
    """The id of the item that replaced ``item_id``, from the audit log (None: not replaced)."""
    for details in session.scalars(
        select(AuditEvent.details).where(
            AuditEvent.event == REPLACED, AuditEvent.subject == reference
        )
    ):
        if details.get("item_id") == item_id:
            return details.get("replacement_id")
    return None


def replaced_items(reference: str) -> dict[int, int]:
    """``{declined item id: replacement item id}`` for one booking."""
    return {
        d["item_id"]: d["replacement_id"]
        for d in db.session.scalars(
            select(AuditEvent.details).where(
                AuditEvent.event == REPLACED, AuditEvent.subject == reference
            )
        )
    }
