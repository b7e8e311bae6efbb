"""The tourist's booking, item by item, and the village cancelling for a schedule change.

:mod:`tourplanner.services.booking` takes capacity and moves whole bookings; this module works
on one item at a time, with the same helpers (the management token check, the conditional
state move that frees the places, the summary status, the outbox):

* :func:`manage_view`: the booking as its page shows it: each item's state and how it ended
  (declined, withdrawn by the tourist, cancelled by the tourist or by the village), what can be
  done with it now, the total of what is still live, the village's address, meeting point,
  phone and a directions link, and for a declined or expired item the experience's other
  sessions with room for the party;
* :func:`cancel_item` (a confirmed item, while others may still wait for their village) and
  :func:`withdraw_item` (a pending request: the places are free at once and the village is
  told); both replace the management token, like :func:`booking.cancel`, and e-mail the new
  link;
* :func:`rebook_item`: one of those other sessions in place of a declined item, asked of the
  village like any request (once per item);
* :func:`cancel_by_village`: a confirmed item cancelled because the village removed its
  session; free of charge, the tourist is told with the village's reason;
* :func:`terms` and :func:`request_sent`: the price breakdown and cancellation terms shown
  before booking, and what the answer to a request says (sent to N villages, answer by when);
* :func:`book_session`: one session booked from the village page.

A withdrawal moves a pending item to ``cancelled`` (the state machine has no separate state,
so the API's states stay as documented); the audit event says who ended it and how, and the
page reads it back to tell a withdrawal from a cancellation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from tourplanner.adapters.orm import AuditEvent, Booking, BookingItem, Slot, Village
from tourplanner.domain import booking as rules
from tourplanner.domain.availability import LOCAL_TZ, local_today
from tourplanner.domain.errors import Conflict, NotFound, ValidationError
from tourplanner.domain.inputs import free_text
from tourplanner.domain.pricing import Party, party_price
from tourplanner.extensions import db
from tourplanner.security import audit
from tourplanner.services import availability, notifications
from tourplanner.services import booking as core
from tourplanner.services import links as tokens
from tourplanner.services.availability import now_utc
from tourplanner.services.booking_request import BookingRequest, ItemRequest
from tourplanner.services.unit_of_work import unit_of_work

#: What the total counts: the items the tourist pays (or has paid) at the village.
COUNTED = (rules.PENDING, rules.CONFIRMED, rules.COMPLETED)
#: Items that can be booked again in another session.
REBOOKABLE = (rules.DECLINED, rules.EXPIRED)
#: Days of other sessions offered for a declined item, and how many at most.
OTHER_SESSION_DAYS = 14
MAX_OTHER_SESSIONS = 8
#: Audit event of a rebooked item (the same as an agency's replacement).
REBOOKED = "booking_item_replaced"
CANCELLED_EVENT = "booking_cancelled"


# --- reading -------------------------------------------------------------------------------


def manage_view(
    reference: str, token: str | None, *, now: datetime | None = None
) -> dict[str, Any]:
    """The booking behind a management link, with what its page needs (403 for a bad link)."""
    now = now or now_utc()
    booking = core._authorised(reference, token, now)
    view = core.view(booking, manage_token=token)
    endings = _endings(booking.reference)
    rebooked = _rebooked(booking.reference)
    by_id = {i.id: i for i in booking.items}
    view["items"] = [
        _item(by_id[i["id"]], i, endings, rebooked, booking, now) for i in view["items"]
    ]
    view["live_total_vnd"] = sum(i.total_vnd for i in booking.items if i.status in COUNTED)
    view["fees_vnd"] = sum(i.cancellation_fee_vnd or 0 for i in booking.items)
    view["request"] = request_sent(view["items"])
    return view


def _item(
    item: BookingItem,
    data: dict[str, Any],
    endings: Mapping[int, str],
    rebooked: Mapping[int, int],
    booking: Booking,
    now: datetime,
) -> dict[str, Any]:
    started = now >= item.start
    free_until = item.start - timedelta(hours=item.experience.free_cancellation_hours)
    extra = {
        "start_at": item.start.astimezone(LOCAL_TZ),
        "end_at": item.end.astimezone(LOCAL_TZ),
        "hold_expires_at_local": item.hold_expires_at.astimezone(LOCAL_TZ),
        "free_cancellation_until_at": free_until.astimezone(LOCAL_TZ),
        "ended_by": endings.get(item.id),
        "withdrawn": item.status == rules.CANCELLED and endings.get(item.id) == "withdrawn",
        "can_cancel": item.status == rules.CONFIRMED and not started,
        "can_withdraw": item.status == rules.PENDING and not started,
        "fee_if_cancelled_now": rules.cancellation_fee(
            item.start, now, item.experience.free_cancellation_hours, item.total_vnd
        ),
        "counted": item.status in COUNTED,
        "rebooked_as": rebooked.get(item.id),
        "place": village_place(item.village),
        "other_sessions": [],
    }
    if item.status in REBOOKABLE and item.id not in rebooked:
        taken = {i.slot_id for i in booking.items if i.status in core.LIVE}
        extra["other_sessions"] = other_sessions(item, taken, now)
    return {**data, **extra}


def _endings(reference: str) -> dict[int, str]:
    """How each cancelled item ended, from the audit log: ``withdrawn`` (a pending request
    the tourist withdrew), ``tourist`` (a confirmed item the tourist cancelled) or
    ``village`` (cancelled by the village, e.g. a schedule change)."""
    ended: dict[int, str] = {}
    for details in db.session.scalars(
        select(AuditEvent.details).where(
            AuditEvent.event == CANCELLED_EVENT, AuditEvent.subject == reference
        )
    ):
        via = details.get("via")
        for item_id in details.get("item_ids") or []:
            ended[int(item_id)] = "withdrawn" if via == "tourist_withdrawal" else str(via)
    return ended


def _rebooked(reference: str) -> dict[int, int]:
    return {
        int(d["item_id"]): int(d["replacement_id"])
        for d in db.session.scalars(
            select(AuditEvent.details).where(
                AuditEvent.event == REBOOKED, AuditEvent.subject == reference
            )
        )
        if d.get("item_id") is not None and d.get("replacement_id") is not None
    }


def village_place(village: Village) -> dict[str, Any]:
    """Where to go and whom to call: the village's address, its meeting point (the display
    space it recorded, when it has one), a phone number and directions to its position."""
    space = village.display_space or {}
    lat = space.get("lat") if space.get("lat") is not None else village.lat
    lon = space.get("lon") if space.get("lon") is not None else village.lon
    contact = village.contact or {}
    phone = contact.get("phone") or space.get("phone") or village.notify_phone
    formerly = ", ".join(p for p in (village.commune, village.district) if p)
    return {
        "slug": village.slug,
        "name_vi": village.name_vi,
        "name_en": village.name_en,
        "address": village.commune_2025 or formerly or None,
        "formerly": formerly if village.commune_2025 else None,
        "meeting_point": (
            {"name": space.get("name"), "address": space.get("address")}
            if space.get("name") or space.get("address")
            else None
        ),
        "phone": phone or None,
        "tel": _tel(phone),
        "email": contact.get("email") or village.booking_email,
        "directions_url": _directions(lat, lon),
        "map_url": (
            f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=16/{lat}/{lon}"
            if lat is not None and lon is not None
            else None
        ),
    }


def _tel(phone: str | None) -> str | None:
    raw = (phone or "").strip()
    digits = "".join(c for c in raw if c.isdigit())
    return ("tel:" + ("+" if raw.startswith("+") else "") + digits) if digits else None


def _directions(lat: float | None, lon: float | None) -> str | None:
    if lat is None or lon is None:
        return None
    return f"https://www.google.com/maps/dir/?api=1&destination={lat:.6f},{lon:.6f}"


def other_sessions(
    item: BookingItem, taken: Iterable[int] = (), now: datetime | None = None
) -> list[dict[str, Any]]:
    """The experience's other sessions with room for the item's party, from the item's day
    (or today) for :data:`OTHER_SESSION_DAYS` days, soonest first (at most
    :data:`MAX_OTHER_SESSIONS`)."""
    now = now or now_utc()
    first_day, last_day = availability.horizon(now)
    first = max(first_day, item.start.astimezone(LOCAL_TZ).date())
    last = min(last_day, first + timedelta(days=OTHER_SESSION_DAYS - 1))
    if last < first:
        return []
    party = Party(item.adults, item.children, item.seniors)
    if party_price(core.prices(item.experience), party) is None:
        return []
    skip = {item.slot_id, *taken}
    found = []
    for slot in availability.slots_between(item.experience_id, first, last, now=now):
        if slot.id in skip or slot.remaining < party.size:
            continue
        found.append(
            {
                **slot.as_dict(),
                "start_at": slot.start.astimezone(LOCAL_TZ),
                "end_at": slot.end.astimezone(LOCAL_TZ),
            }
        )
        if len(found) == MAX_OTHER_SESSIONS:
            break
    return found


def request_sent(items: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """What the answer to a request says: how many villages were asked (items still
    pending), and by when the last of them answers (the latest hold; Hanoi time)."""
    pending = [i for i in items if i["status"] == rules.PENDING]
    deadlines = [_local(i["hold_expires_at"]) for i in pending]
    return {
        "villages": len({i["village"]["slug"] for i in pending}),
        "answer_by": max(deadlines) if deadlines else None,
        "first_answer_by": min(deadlines) if deadlines else None,
    }


def _local(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(LOCAL_TZ)


# --- the tourist's changes -----------------------------------------------------------------


def _own_item(booking: Booking, item_id: int) -> BookingItem:
    item = next((i for i in booking.items if i.id == item_id), None)
    if item is None:
        raise NotFound("no such item in this booking", code="item_not_found", item_id=item_id)
    return item


def cancel_item(
    reference: str, token: str | None, item_id: int, *, now: datetime | None = None
) -> dict[str, Any]:
    """Cancel one confirmed item (free until the experience's free-cancellation hours before
    the start, then its price as a fee), whatever the other items' states. The management
    token is replaced; the village and the tourist are told."""
    now = now or now_utc()
    booking = core._authorised(reference, token, now)
    item = _own_item(booking, item_id)
    rules.check_cancellable(item.status, item.start, now)
    fee = rules.cancellation_fee(
        item.start, now, item.experience.free_cancellation_hours, item.total_vnd
    )
    return _end_item(
        booking,
        item,
        now,
        via="tourist",
        move=lambda session: core._move(
            session, item, rules.CANCELLED, cancelled_at=now, cancellation_fee_vnd=fee
        ),
    )


def withdraw_item(
    reference: str, token: str | None, item_id: int, *, now: datetime | None = None
) -> dict[str, Any]:
    """Withdraw a pending request before the village answers: its places are free at once,
    the village is told (its decision link stops working) and nothing is charged."""
    now = now or now_utc()
    booking = core._authorised(reference, token, now)
    item = _own_item(booking, item_id)
    rules.check_withdrawable(item.status, item.start, now)
    return _end_item(
        booking,
        item,
        now,
        via="tourist_withdrawal",
        move=lambda session: core.withdraw_pending(session, item, now),
    )


def _end_item(booking: Booking, item: BookingItem, now: datetime, *, via: str, move) -> dict:
    new_token, new_hash = tokens.new_manage_token()
    with unit_of_work() as session:
        booking.manage_token_hash = new_hash
        move(session)
        core._summarise(session, booking, now)
        queued = notifications.on_item_changed(session, item, rules.CANCELLED, new_token)
        audit.record(
            CANCELLED_EVENT,
            email=booking.contact_email,
            subject=booking.reference,
            session=session,
            item_ids=[item.id],
            fee_vnd=item.cancellation_fee_vnd or 0,
            via=via,
        )
    notifications.dispatch_after_commit(queued)
    return manage_view(booking.reference, new_token, now=now)


def rebook_item(
    reference: str,
    token: str | None,
    item_id: int,
    slot_id: int,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Ask for another session of a declined (or expired) item's experience, for the same
    party, in the same booking. Only one of :func:`other_sessions` is accepted and an item is
    rebooked once; the new item is pending and its village is asked like for any request.
    A session that filled meanwhile is 409 ``slot_full`` and nothing is added."""
    now = now or now_utc()
    booking = core._authorised(reference, token, now)
    item = _own_item(booking, item_id)
    if item.status not in REBOOKABLE:
        raise Conflict(
            f"this item is {item.status}; only a declined or expired item is booked again",
            code="invalid_transition",
            current_state=item.status,
        )
    taken = {i.slot_id for i in booking.items if i.status in core.LIVE}
    if slot_id not in {s["id"] for s in other_sessions(item, taken, now)}:
        raise Conflict(
            "this session cannot be booked instead (full, closed or another experience)",
            code="not_a_replacement",
            slot_id=slot_id,
        )
    slot = db.session.get(Slot, slot_id)
    party = Party(item.adults, item.children, item.seniors)
    with unit_of_work() as session:
        core.lock_booking(session, booking, now)  # two rebookings of one item queue here
        if item.id in _rebooked(booking.reference):
            raise Conflict(
                "this item has already been booked again", code="already_replaced", item_id=item.id
            )
        new = core.new_item(slot, party, now)
        booking.items.append(new)
        session.flush()
        booking.status = rules.summary_status(i.status for i in booking.items)
        rows = notifications.village_messages(session, booking, [new], "requested")
        handover = notifications.queued(rows)
        audit.record(
            REBOOKED,
            email=booking.contact_email,
            subject=booking.reference,
            session=session,
            item_id=item.id,
            replacement_id=new.id,
            slot_id=slot.id,
            via="tourist",
        )
        core.take(session, slot.id, party.size, _label(item, slot))
    notifications.dispatch_after_commit(handover)
    return manage_view(booking.reference, token, now=now)


def _label(item: BookingItem, slot: Slot) -> str:
    start = slot.start.astimezone(LOCAL_TZ)
    return f"{item.experience.title_vi} · {item.village.name_vi} · {start:%d/%m/%Y %H:%M}"


# --- the village's side --------------------------------------------------------------------


def cancel_by_village(
    item_id: int,
    *,
    reason: str,
    village_id: int | None,
    user_id: int | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The village cancels a confirmed item (e.g. it removed the session from its schedule):
    free of charge, the places go back, the tourist is e-mailed with ``reason``. Another
    village's item is 404; a reason is required (the tourist reads it)."""
    now = now or now_utc()
    reason = free_text(reason or "", max_length=core.MAX_REASON_LENGTH) or ""
    if not reason:
        raise ValidationError(
            "give the tourist a reason for cancelling", code="reason_required", field="reason"
        )
    item = core._village_item(item_id, village_id)
    rules.check_cancellable(item.status, item.start, now)
    booking = item.booking
    with unit_of_work() as session:
        core._move(
            session,
            item,
            rules.CANCELLED,
            cancelled_at=now,
            cancellation_fee_vnd=0,
            decision_reason=reason,
        )
        core._summarise(session, booking, now)
        queued = [notifications.tourist_mail(session, booking, rules.CANCELLED, [item])]
        audit.record(
            CANCELLED_EVENT,
            user_id=user_id,
            subject=booking.reference,
            session=session,
            item_ids=[item.id],
            village_id=item.village_id,
            fee_vnd=0,
            via="village",
        )
    notifications.dispatch_after_commit(queued)
    return core.view(booking)


# --- before booking ------------------------------------------------------------------------


def terms(slot_ids: Iterable[int], party: Party) -> list[dict[str, Any]]:
    """For each slot: the experience, its village, the time, the price per person and per
    category for ``party``, the total, and the cancellation terms (free until so many hours
    before; booking closes so many hours before). Unknown slots are left out."""
    ids = list(dict.fromkeys(int(s) for s in slot_ids))
    if not ids:
        return []
    slots = {s.id: s for s in db.session.scalars(select(Slot).where(Slot.id.in_(ids)))}
    result = []
    for slot_id in ids:
        slot = slots.get(slot_id)
        if slot is None:
            continue
        exp = slot.experience
        prices = core.prices(exp)
        lines = _price_lines(prices, party)
        start = slot.start.astimezone(LOCAL_TZ)
        result.append(
            {
                "slot_id": slot.id,
                "experience": {"title_vi": exp.title_vi, "title_en": exp.title_en},
                "village": {"name_vi": exp.village.name_vi, "name_en": exp.village.name_en},
                "start_at": start,
                "end_at": slot.end.astimezone(LOCAL_TZ),
                "lines": lines,
                "total_vnd": party_price(prices, party),
                "free_cancellation_hours": exp.free_cancellation_hours,
                "free_until": start - timedelta(hours=exp.free_cancellation_hours),
                "cutoff_hours": exp.booking_cutoff_hours,
                "remaining": slot.remaining,
                "instant": bool(exp.instant_confirmation),
            }
        )
    return result


def _price_lines(prices: Mapping[str, int | None], party: Party) -> list[dict[str, Any]]:
    """``[{"category", "count", "each_vnd", "amount_vnd"}]`` as :func:`party_price` counts
    them (seniors without their own price pay the adult price)."""
    lines = []
    for category, count in (
        ("adult", party.adults),
        ("child", party.children),
        ("senior", party.seniors),
    ):
        if not count:
            continue
        each = prices.get(category)
        if each is None and category == "senior":
            each = prices.get("adult")
        lines.append(
            {
                "category": category,
                "count": count,
                "each_vnd": each,
                "amount_vnd": None if each is None else each * count,
            }
        )
    return lines


def book_session(
    slot_id: int,
    party: Party,
    contact: dict[str, str | None],
    lang: str,
    *,
    idempotency_key: str | None = None,
    client_ip: str | None = None,
    now: datetime | None = None,
) -> tuple[dict[str, Any], bool]:
    """One session booked from the village page, through the one booking path (limits,
    idempotency, outbox). Returns ``(booking view, replayed)`` like ``create_booking``."""
    request = BookingRequest((ItemRequest(int(slot_id), party),), contact, lang)
    return core.create_booking(
        request, idempotency_key=idempotency_key, client_ip=client_ip, now=now
    )


def calendar(experience_id: int, *, now: datetime | None = None, days: int = 30) -> list[dict]:
    """The next ``days`` days of one bookable experience: ``[{"day", "sessions": [slot
    dicts with start_at, end_at, remaining]}]`` (days without sessions included, so a month
    reads as a calendar). Empty for an experience that is not bookable."""
    now = now or now_utc()
    first, last = availability.horizon(now)
    today = local_today(now)
    end = min(last, today + timedelta(days=days - 1))
    slots = availability.slots_between(experience_id, max(first, today), end, now=now)
    by_day: dict[Any, list[dict[str, Any]]] = {}
    for slot in slots:
        start = slot.start.astimezone(LOCAL_TZ)
        by_day.setdefault(start.date(), []).append(
            {**slot.as_dict(), "start_at": start, "end_at": slot.end.astimezone(LOCAL_TZ)}
        )
    if not slots:
        return []
    return [
        {"day": today + timedelta(days=n), "sessions": by_day.get(today + timedelta(days=n), [])}
        for n in range((end - today).days + 1)
    ]
