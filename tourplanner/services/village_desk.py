"""Read models of the village back-office: request cards, the week's sessions, counts, CSV.

Everything here reads; the changes (decisions, attendance, schedules) go through
:mod:`tourplanner.services.booking` and :mod:`tourplanner.services.availability`. A
``village_id`` of None means an admin looking at every village. Times come back aware in
Hanoi time (the columns' type does that); ``now`` is passed in.

Which requests each filter shows:

* ``pending``: waiting for the village's answer, the closest deadline first;
* ``confirmed``: accepted, the session not over yet, the soonest first;
* ``past``: everything else (sessions over, declined, expired, cancelled), the latest first.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, not_, or_, select
from sqlalchemy.orm import aliased

from tourplanner.adapters.orm import Agency, Booking, BookingItem, Experience, Village
from tourplanner.adapters.orm.octo import OctoBooking
from tourplanner.domain import booking as rules
from tourplanner.domain.availability import local_today
from tourplanner.extensions import db
from tourplanner.services import availability

FILTERS = ("pending", "confirmed", "past")
MAX_CARDS = 200
WEEK_DAYS = 7
#: Whose places count as "coming" to a session (and, after it, who came or did not).
COMING = (rules.PENDING, rules.CONFIRMED, rules.COMPLETED, rules.NO_SHOW)


# --- villages and their workshops ----------------------------------------------------------


def village_by_slug(slug: str | None) -> Village | None:
    if not slug:
        return None
    return db.session.scalars(select(Village).where(Village.slug == slug)).first()


def villages() -> list[Village]:
    """Every village, for an admin's picker (Vietnamese order of names)."""
    return sorted(db.session.scalars(select(Village)), key=lambda v: v.name_vi.casefold())


def workshops(village_id: int) -> list[Experience]:
    return list(
        db.session.scalars(
            select(Experience)
            .where(Experience.village_id == village_id, Experience.kind == "workshop")
            .order_by(Experience.slug)
        )
    )


def workshop(experience_id: int, village_id: int | None) -> Experience | None:
    """The village's workshop (admins: any), else None."""
    experience = db.session.get(Experience, experience_id)
    if experience is None or experience.kind != "workshop":
        return None
    if village_id is not None and experience.village_id != village_id:
        return None
    return experience


# --- request cards -------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    """One booking item as the village sees it."""

    item_id: int
    reference: str
    status: str
    experience_vi: str
    experience_en: str
    village_vi: str
    village_en: str
    start: datetime
    end: datetime
    adults: int
    children: int
    seniors: int
    contact_name: str
    contact_email: str
    contact_phone: str | None
    total_vnd: int
    deadline: datetime
    #: Whole minutes left to answer (pending only; 0 once the deadline passed).
    minutes_left: int | None
    decision_reason: str | None
    lang: str
    #: The agency that sold it (a reseller through OCTO, or an agency's own package), if any.
    sold_by: str | None = None
    #: The reseller's own reference, which its customer may quote.
    reseller_reference: str | None = None

    @property
    def tel(self) -> str | None:
        return tel_uri(self.contact_phone)

    def experience(self, lang: str) -> str:
        return self.experience_en if lang == "en" else self.experience_vi

    def village(self, lang: str) -> str:
        return self.village_en if lang == "en" else self.village_vi


def tel_uri(phone: str | None) -> str | None:
    """``"0912 345 678"`` → ``"tel:0912345678"`` (digits and a leading +); None without digits."""
    raw = (phone or "").strip()
    digits = "".join(c for c in raw if c.isdigit())
    if not digits:
        return None
    return "tel:" + ("+" if raw.startswith("+") else "") + digits


def _filter(show: str, now: datetime) -> Any:
    pending = BookingItem.status == rules.PENDING
    upcoming = and_(BookingItem.status == rules.CONFIRMED, BookingItem.end > now)
    if show == "pending":
        return pending
    if show == "confirmed":
        return upcoming
    return not_(or_(pending, upcoming))


def _order(show: str) -> list[Any]:
    if show == "pending":
        return [BookingItem.hold_expires_at, BookingItem.id]
    if show == "confirmed":
        return [BookingItem.start, BookingItem.id]
    return [BookingItem.start.desc(), BookingItem.id.desc()]


def _cards_query() -> Any:
    # The seller: the reseller of an OCTO booking, else the booking's agency (its package).
    owner, reseller = aliased(Agency), aliased(Agency)
    return (
        select(
            BookingItem,
            Booking,
            Experience,
            Village,
            func.coalesce(reseller.name, owner.name),
            OctoBooking.reseller_reference,
        )
        .join(Booking, BookingItem.booking_id == Booking.id)
        .join(Experience, BookingItem.experience_id == Experience.id)
        .join(Village, BookingItem.village_id == Village.id)
        .outerjoin(owner, owner.id == Booking.agency_id)
        .outerjoin(OctoBooking, OctoBooking.booking_id == Booking.id)
        .outerjoin(reseller, reseller.id == OctoBooking.agency_id)
    )


def cards(village_id: int | None, show: str, *, now: datetime) -> list[Card]:
    """The village's items for one filter (``pending``, ``confirmed`` or ``past``)."""
    if show not in FILTERS:
        raise ValueError(f"unknown filter {show!r}")
    stmt = _cards_query().where(_filter(show, now)).order_by(*_order(show)).limit(MAX_CARDS)
    if village_id is not None:
        stmt = stmt.where(BookingItem.village_id == village_id)
    return [_card(*row, now=now) for row in db.session.execute(stmt)]


def card(item_id: int, village_id: int | None, *, now: datetime) -> Card | None:
    """One item of the village (admins: any), else None."""
    stmt = _cards_query().where(BookingItem.id == item_id)
    if village_id is not None:
        stmt = stmt.where(BookingItem.village_id == village_id)
    row = db.session.execute(stmt).first()
    return None if row is None else _card(*row, now=now)


def _card(
    item: BookingItem,
    booking: Booking,
    exp: Experience,
    village: Village,
    sold_by: str | None,
    reseller_reference: str | None,
    *,
    now: datetime,
) -> Card:
    left = None
    if item.status == rules.PENDING:
        left = max(0, int((item.hold_expires_at - now).total_seconds() // 60))
    return Card(
        item_id=item.id,
        reference=booking.reference,
        status=item.status,
        experience_vi=exp.title_vi,
        experience_en=exp.title_en,
        village_vi=village.name_vi,
        village_en=village.name_en,
        start=item.start,
        end=item.end,
        adults=item.adults,
        children=item.children,
        seniors=item.seniors,
        contact_name=booking.contact_name,
        contact_email=booking.contact_email,
        contact_phone=booking.contact_phone,
        total_vnd=item.total_vnd,
        deadline=item.hold_expires_at,
        minutes_left=left,
        decision_reason=item.decision_reason,
        lang=booking.lang or "vi",
        sold_by=sold_by,
        reseller_reference=reseller_reference,
    )


def counts(village_id: int | None, *, now: datetime) -> dict[str, int]:
    """How many items each filter holds (one query per filter, counted by the database)."""
    result = {}
    for show in FILTERS:
        stmt = select(func.count(BookingItem.id)).where(_filter(show, now))
        if village_id is not None:
            stmt = stmt.where(BookingItem.village_id == village_id)
        result[show] = int(db.session.scalar(stmt) or 0)
    return result


def pending_count(village_id: int | None) -> int:
    """New requests waiting for an answer: the number in the back-office's menu."""
    stmt = select(func.count(BookingItem.id)).where(BookingItem.status == rules.PENDING)
    if village_id is not None:
        stmt = stmt.where(BookingItem.village_id == village_id)
    return int(db.session.scalar(stmt) or 0)


# --- today and this week -------------------------------------------------------------------


@dataclass(frozen=True)
class Guest:
    """Someone coming to a session (one booking item)."""

    item_id: int
    reference: str
    status: str
    name: str
    phone: str | None
    adults: int
    children: int
    seniors: int
    #: Attendance can be recorded: confirmed, and the session has started.
    can_check_in: bool

    @property
    def tel(self) -> str | None:
        return tel_uri(self.phone)


@dataclass(frozen=True)
class WorkshopSession:
    experience_vi: str
    experience_en: str
    start: datetime
    end: datetime
    capacity: int
    remaining: int
    guests: list[Guest] = field(default_factory=list)

    def experience(self, lang: str) -> str:
        return self.experience_en if lang == "en" else self.experience_vi


@dataclass(frozen=True)
class Day:
    day: date
    sessions: list[WorkshopSession]


def week(village_id: int, *, now: datetime, days: int = WEEK_DAYS) -> list[Day]:
    """Today and the next days in Hanoi: each session with its places left and its guests."""
    today = local_today(now)
    dates = [today + timedelta(days=n) for n in range(days)]
    exps = {e.id: e for e in workshops(village_id)}
    slots = availability.sessions_on_days(list(exps.values()), dates, now=now)
    slot_ids = [s.id for views in slots.values() for s in views]
    guests: dict[int, list[Guest]] = {}
    if slot_ids:
        rows = db.session.execute(
            select(BookingItem, Booking)
            .join(Booking, BookingItem.booking_id == Booking.id)
            .where(BookingItem.slot_id.in_(slot_ids), BookingItem.status.in_(COMING))
            .order_by(BookingItem.id)
        )
        for item, booking in rows:
            guests.setdefault(item.slot_id, []).append(
                Guest(
                    item.id,
                    booking.reference,
                    item.status,
                    booking.contact_name,
                    booking.contact_phone,
                    item.adults,
                    item.children,
                    item.seniors,
                    item.status == rules.CONFIRMED and item.start <= now,
                )
            )
    by_day: dict[date, list[WorkshopSession]] = {d: [] for d in dates}
    for exp_id, views in slots.items():
        exp = exps[exp_id]
        for s in views:
            by_day.setdefault(s.start.date(), []).append(
                WorkshopSession(
                    exp.title_vi,
                    exp.title_en,
                    s.start,
                    s.end,
                    s.capacity,
                    s.remaining,
                    guests.get(s.id, []),
                )
            )
    return [Day(d, sorted(by_day[d], key=lambda s: s.start)) for d in dates]


# --- CSV -----------------------------------------------------------------------------------

CSV_COLUMNS = (
    "reference",
    "status",
    "experience",
    "village",
    "date",
    "start",
    "end",
    "adults",
    "children",
    "seniors",
    "total_vnd",
    "contact_name",
    "contact_email",
    "contact_phone",
    "requested_at",
    "answer_deadline",
    "decision_reason",
)


def _cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula (= + - @, tab, CR) is quoted with '."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def bookings_csv(village_id: int | None) -> str:
    """Every item of the village (admins with None: all), by session start, as CSV.

    Names are Vietnamese (the back-office's language); times are Hanoi time.
    """
    stmt = (
        select(BookingItem, Booking, Experience, Village)
        .join(Booking, BookingItem.booking_id == Booking.id)
        .join(Experience, BookingItem.experience_id == Experience.id)
        .join(Village, BookingItem.village_id == Village.id)
        .order_by(BookingItem.start, BookingItem.id)
    )
    if village_id is not None:
        stmt = stmt.where(BookingItem.village_id == village_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for item, booking, exp, village in db.session.execute(stmt):
        writer.writerow(
            [
                _cell(v)
                for v in (
                    booking.reference,
                    item.status,
                    exp.title_vi,
                    village.name_vi,
                    item.start.date().isoformat(),
                    item.start.strftime("%H:%M"),
                    item.end.strftime("%H:%M"),
                    item.adults,
                    item.children,
                    item.seniors,
                    item.total_vnd,
                    booking.contact_name,
                    booking.contact_email,
                    booking.contact_phone or "",
                    booking.created_at.isoformat(timespec="minutes"),
                    item.hold_expires_at.isoformat(timespec="minutes"),
                    item.decision_reason or "",
                )
            ]
        )
    return out.getvalue()
