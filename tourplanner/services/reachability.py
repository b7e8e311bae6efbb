"""Reachable villages: only a village somebody can tell about a booking request is bookable.

Every booking waits for the village's yes, so a workshop of a village with no working channel
would hold a tourist's places until the hold expires, with nobody told. A village is
*reachable* while it has at least one channel:

* an active village staff account with an e-mail address (requests go to its inbox and its
  dashboard),
* a booking e-mail,
* an SMS number,
* or a webhook.

What this module gives the rest of the app:

* :func:`reachable_village_ids`: the reachable villages among some ids, in **one** query
  (availability and the planner call it once per request, never per slot or experience);
* :func:`refuse_unreachable`: the booking's check (409 ``village_unreachable``);
* :func:`unreachable_villages`: the admins' list of villages that publish bookable
  experiences but cannot be reached;
* :func:`on_given_up`: called when an outbox row has failed for good; once every channel of
  a village for a request has failed, the admins are alerted and the tourist is told, in the
  booking's language, instead of a silent expiry;
* :func:`seed_demo_channels`: a sample booking e-mail for the demo workshops' villages.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from tourplanner.adapters.orm import (
    Booking,
    BookingItem,
    Experience,
    Notification,
    Slot,
    User,
    Village,
)
from tourplanner.domain.availability import LOCAL_TZ
from tourplanner.domain.errors import Conflict
from tourplanner.extensions import db
from tourplanner.services.unit_of_work import unit_of_work

log = logging.getLogger(__name__)

#: The event of the outbox rows whose failure can leave a request unheard.
REQUEST_EVENT = "village_requested"
#: Events of the rows this module writes (the tourist's, the admins').
TOURIST_EVENT = "village_unreachable"
ADMIN_EVENT = "admin_village_unreachable"
#: Domain of the sample booking e-mails of the demo villages (RFC 2606: never delivered).
DEMO_DOMAIN = "example"


def _filled(column: Any) -> Any:
    return and_(column.is_not(None), func.trim(column) != "")


def channel_clause() -> Any:
    """SQL condition on ``villages``: the village has at least one working channel."""
    staff = exists().where(
        User.village_id == Village.id,
        User.role == "village",
        User.active.is_(True),
        _filled(User.email),
    )
    return or_(
        _filled(Village.booking_email),
        _filled(Village.notify_phone),
        _filled(Village.webhook_url),
        staff,
    )


def reachable_village_ids(
    village_ids: Collection[int] | None = None, *, session: Session | None = None
) -> set[int]:
    """The reachable villages among ``village_ids`` (every village when None), one query."""
    if village_ids is not None and not village_ids:
        return set()
    stmt = select(Village.id).where(channel_clause())
    if village_ids is not None:
        stmt = stmt.where(Village.id.in_(list(village_ids)))
    return set((session or db.session).scalars(stmt))


def reachable_experiences(experiences: Iterable[Experience]) -> list[Experience]:
    """The experiences whose village is reachable (one query for all of them)."""
    found = list(experiences)
    reachable = reachable_village_ids({e.village_id for e in found})
    return [e for e in found if e.village_id in reachable]


def refuse_unreachable(slots: Iterable[Slot], *, reachable: Collection[int] | None = None) -> None:
    """Raise 409 ``village_unreachable`` when a slot's village has no channel: its request
    could reach nobody. One query for every slot of the booking, or none when the caller has
    read :func:`channel_clause` with its slots already (``reachable``: those village ids)."""
    found = list(slots)
    if reachable is None:
        reachable = reachable_village_ids({s.experience.village_id for s in found})
    for slot in found:
        if slot.experience.village_id not in reachable:
            village = slot.experience.village
            raise Conflict(
                "this village cannot receive booking requests yet; please choose another "
                "session or workshop",
                code="village_unreachable",
                slot_id=slot.id,
                village=village.slug if village else None,
            )


# --- the admins' list ----------------------------------------------------------------------


@dataclass(frozen=True)
class UnreachableVillage:
    slug: str
    name_vi: str
    name_en: str
    experiences: tuple[str, ...]  # slugs of its bookable experiences

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_vi


def unreachable_villages() -> list[UnreachableVillage]:
    """Villages that publish a bookable experience but have no channel, by Vietnamese name.

    One query: the workshops of the villages without a channel (nothing per village)."""
    rows = db.session.execute(
        select(Experience, Village)
        .join(Village, Experience.village_id == Village.id)
        .where(Experience.kind == "workshop", ~channel_clause())
        .order_by(Village.name_vi, Experience.slug)
    ).all()
    found: dict[int, tuple[Village, list[str]]] = {}
    for experience, village in rows:
        if experience.bookable:
            found.setdefault(village.id, (village, []))[1].append(experience.slug)
    return [
        UnreachableVillage(v.slug, v.name_vi, v.name_en or v.name_vi, tuple(slugs))
        for v, slugs in found.values()
    ]


# --- when every channel of a request has failed --------------------------------------------


def _village_of(
    row: Notification, items: list[BookingItem], staff: dict[int, set[str]]
) -> int | None:
    """Which village an outbox row of the booking was for. A row of one item names it; a row
    for several items of one village is recognised by its recipient (or its payload)."""
    by_item = {i.id: i.village_id for i in items}
    if row.item_id is not None and row.item_id in by_item:
        return by_item[row.item_id]
    villages = {i.village_id: i.village for i in items}
    if len(villages) == 1:
        return next(iter(villages))
    for vid, village in villages.items():
        if (row.payload or {}).get("village") == village.slug:
            return vid
        if row.recipient in {village.booking_email, village.notify_phone, village.webhook_url}:
            return vid
        if row.recipient in staff.get(vid, set()):
            return vid
    return None


def on_given_up(nid: int, *, now: datetime) -> None:
    """Called once an outbox row is ``failed`` for good. When it was a village's request and
    every channel of that village for the request has now failed, alert the admins and tell
    the tourist. Never raises: the outbox must keep working whatever happens here."""
    try:
        _on_given_up(nid, now)
    except Exception:  # contained: a failure here must not break the delivery bookkeeping
        log.exception("notification %s: could not report an unreachable village", nid)
        db.session.rollback()


def _on_given_up(nid: int, now: datetime) -> None:
    session = db.session
    row = session.get(Notification, nid)
    if row is None or row.event != REQUEST_EVENT or row.booking_id is None:
        return
    session.refresh(row)
    booking = session.get(Booking, row.booking_id)
    items = list(booking.items)
    village_ids = {i.village_id for i in items}
    staff: dict[int, set[str]] = {}
    for vid, email in session.execute(
        select(User.village_id, User.email).where(User.village_id.in_(village_ids))
    ):
        staff.setdefault(vid, set()).add(email)
    village_id = _village_of(row, items, staff)
    if village_id is None:
        return
    rows = session.scalars(
        select(Notification).where(
            Notification.booking_id == booking.id,
            Notification.event.in_((REQUEST_EVENT, TOURIST_EVENT, ADMIN_EVENT)),
        )
    ).all()
    mine = [
        r for r in rows if r.event == REQUEST_EVENT and _village_of(r, items, staff) == village_id
    ]
    if any(r.status != "failed" for r in mine):
        return  # another channel may still reach the village
    village = session.get(Village, village_id)
    told = [
        r
        for r in rows
        if r.event != REQUEST_EVENT and (r.payload or {}).get("village") == village.slug
    ]
    if told:
        return  # already reported (another channel's give-up got here first)
    unheard = [i for i in items if i.village_id == village_id]
    new = _write_reports(session, booking, village, unheard, mine, now)
    from tourplanner.services import notifications

    notifications.dispatch_after_commit(new)


def _write_reports(
    session: Session,
    booking: Booking,
    village: Village,
    items: list[BookingItem],
    failed: list[Notification],
    now: datetime,
) -> list[Notification]:
    admins = session.scalars(
        select(User.email).where(User.role == "admin", User.active.is_(True)).order_by(User.id)
    ).all()
    payload = {"village": village.slug, "failed": [r.id for r in failed]}
    context = {
        "booking": booking,
        "village": village,
        "items": items,
        "failed": failed,
        "tz": LOCAL_TZ,
    }
    # The tourist hears about the parts still waiting for the village; an instantly confirmed
    # part stays confirmed (the admins, told below, make sure the village knows of it).
    waiting = [i for i in items if i.status == "pending"]
    with unit_of_work() as uow:
        new = []
        if waiting:
            new.append(
                _row(
                    booking,
                    waiting,
                    event=TOURIST_EVENT,
                    recipient=booking.contact_email,
                    subject=_tourist_subject(booking),
                    body=_render(
                        "unreachable_tourist", booking.lang, **{**context, "items": waiting}
                    ),
                    payload=payload,
                    now=now,
                )
            )
        if admins:
            subject = _admin_subject(booking, village)
            body = _render("unreachable_admin", "vi", **context)
            new += [
                _row(
                    booking,
                    items,
                    event=ADMIN_EVENT,
                    recipient=to,
                    subject=subject,
                    body=body,
                    payload=payload,
                    now=now,
                )
                for to in admins
            ]
        else:  # the delivery log still shows the failed rows; say so in the server log too
            log.error(
                "booking %s: village %s unreachable and no admin account",
                booking.reference,
                village.slug,
            )
        uow.add_all(new)
        uow.flush()
        ids = [(r.id, r.channel) for r in new]
    log.warning(
        "booking %s: every channel of village %s failed; admins and tourist told",
        booking.reference,
        village.slug,
    )
    return [session.get(Notification, nid) for nid, _channel in ids]


def _row(
    booking: Booking, items: list[BookingItem], *, now: datetime, **fields: Any
) -> Notification:
    return Notification(
        booking_id=booking.id,
        item_id=items[0].id if len(items) == 1 else None,
        channel="email",
        status="pending",
        attempts=0,
        created_at=now,
        **fields,
    )


def _render(template: str, lang: str, **context: Any) -> str:
    with force_locale(lang):
        return current_app.jinja_env.get_template(f"email/{template}.txt").render(
            lang=lang, **context
        )


def _tourist_subject(booking: Booking) -> str:
    with force_locale(booking.lang):
        return _("Your request %(ref)s could not reach the village", ref=booking.reference)


def _admin_subject(booking: Booking, village: Village) -> str:
    with force_locale("vi"):
        return _(
            "Village %(village)s cannot be reached: request %(ref)s",
            village=village.name_vi,
            ref=booking.reference,
        )


# --- demo data -----------------------------------------------------------------------------


def seed_demo_channels() -> list[str]:
    """Give each village of a sample (demo) workshop that has no channel a sample booking
    e-mail ``bookings@<slug>.example``, so that the demo can be booked end to end (the
    embedded set-up logs mail instead of sending it). Real villages set their own channels in
    the back-office. Returns the slugs of the villages changed."""
    changed = []
    with unit_of_work() as session:
        villages = session.scalars(
            select(Village)
            .where(
                Village.id.in_(select(Experience.village_id).where(Experience.is_sample.is_(True))),
                ~channel_clause(),
            )
            .order_by(Village.slug)
        ).all()
        for village in villages:
            village.booking_email = f"bookings@{village.slug}.{DEMO_DOMAIN}"
            changed.append(village.slug)
    return changed
