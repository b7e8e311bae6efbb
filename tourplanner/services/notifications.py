"""Notifications through a transactional outbox, delivered once.

1. *Write*: the booking service calls ``on_*`` inside its own transaction; they add
   :class:`~tourplanner.adapters.orm.Notification` rows (e-mail, webhook, SMS), so the booking
   and its notifications commit together or not at all. Most carry the message rendered; a new
   booking's rows (the busiest path) carry references that the worker renders when it claims
   them (:func:`requested_rows`, :func:`_rendered`).
2. *Hand over* to Celery (``tasks.notifications.deliver``). On PostgreSQL the request does
   nothing more: a trigger notifies the outbox relay when the rows commit (``LISTEN/NOTIFY``),
   and the relay in the beat process (``tasks/relay.py``) hands every new row over at once,
   a few bookings' rows per task (:func:`hand_over_new`). Elsewhere (``OUTBOX_RELAY=direct``)
   :func:`dispatch_after_commit` hands the request's rows over after its commit. If the broker
   (Redis) is down the booking has already succeeded; the rows stay ``pending`` and the
   periodic :func:`dispatch_due` (Celery beat) hands them over once Redis is back. With no
   broker configured (eager mode) they are delivered in-process.
3. *Deliver once*: :func:`deliver` first *claims* the row with a conditional update
   (``pending|queued → sending``); a worker that loses the claim, or receives a duplicate
   message, does nothing. A failed send goes back to ``pending`` with an exponential backoff
   (``NOTIFY_RETRY_BASE_SECONDS`` × 2ⁿ) until ``NOTIFY_MAX_ATTEMPTS``, then ``failed``; a
   message that can never be sent (bad address, recipient refused, webhook URL not allowed) is
   ``failed`` at once. Whatever an adapter raises, the row leaves ``sending`` and the next row
   is still delivered: one bad message never blocks the outbox nor the request that wrote it.

Webhooks are only ever sent by a worker: with a broker, the Celery workers; in the embedded
set-up (Celery eager) the background maintenance thread, woken right after the commit. The web
request never waits on a village's (possibly slow) endpoint.
"""

from __future__ import annotations

import hmac
import logging
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session, joinedload

from tourplanner.adapters import notifiers as channels
from tourplanner.adapters.orm import Booking, BookingItem, Notification, User, Village
from tourplanner.adapters.orm.catalogue import LONG_EXPERIENCE_FIELDS, LONG_VILLAGE_FIELDS
from tourplanner.config import is_postgresql
from tourplanner.domain.availability import LOCAL_TZ
from tourplanner.services.availability import now_utc
from tourplanner.services.links import (
    decision_token,
    first_manage_token,
    manage_token_hash,
    new_webhook_secret,
    redact_tokens,
)
from tourplanner.services.unit_of_work import unit_of_work

log = logging.getLogger(__name__)
DELIVER_TASK = "tasks.notifications.deliver"
#: A pending row handed to the broker longer ago than this (NOTIFY_REQUEUE_SECONDS) is handed
#: over again: its task may have been lost with a broker restarted without persistence. A
#: second task for a row is harmless: only one claim (pending -> sending) can succeed.
QUEUED_STALE = timedelta(seconds=60)
#: A row claimed longer ago than this (NOTIFY_SENDING_STALE_SECONDS) belongs to a dead worker.
SENDING_STALE = timedelta(minutes=10)
NOTIFIERS_KEY = "tourplanner.notifiers"
MAX_WEBHOOK_URL = 500  # villages.webhook_url
#: Webhook channels other services add rows for (``channel -> send(row, notifiers)``), sent
#: like the village webhooks, by workers only: the OCTO agencies' hooks (services/octo.py).
CHANNELS: dict[str, Callable[[Notification, channels.Notifiers], None]] = {}


@dataclass(frozen=True)
class Outcome:
    status: str  # sent | skipped | retry | failed
    retry_in: float | None = None


# --- links and rendering -------------------------------------------------------------------


def public_url(endpoint: str, **values: Any) -> str:
    """An absolute link for e-mails and webhooks, built without a request (workers too)."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path


def manage_url(reference: str, token: str, lang: str | None = None) -> str:
    """The tourist's page with its management token; ``lang`` opens it in the booking's language.

    Only the hash of the token is stored. A booking's first token is derived from its reference
    with a key of the app's (:func:`~tourplanner.services.links.first_manage_token`), so the
    worker that writes the first e-mail can put it in; a replaced token (a cancellation) is
    random and its link is written in that request. Later e-mails point to the first one.
    """
    return public_url("web.booking_manage", reference=reference, token=token, lang=lang)


def decide_url(item: BookingItem) -> str:
    return public_url("web.village_decide", token=decision_token(item.id, item.village_id))


def _render(template: str, lang: str, **context: Any) -> str:
    with force_locale(lang):
        # Times in Hanoi time: rows made in this request still hold the UTC they were given.
        return current_app.jinja_env.get_template(f"email/{template}.txt").render(
            lang=lang, tz=LOCAL_TZ, **context
        )


def _subject(event: str, reference: str, lang: str) -> str:
    with force_locale(lang):
        texts = {
            "requested": _("Booking request %(ref)s received", ref=reference),
            "confirmed": _("Booking %(ref)s confirmed", ref=reference),
            "declined": _("Booking %(ref)s declined", ref=reference),
            "expired": _("Booking request %(ref)s expired", ref=reference),
            "cancelled": _("Booking %(ref)s cancelled", ref=reference),
            "reminder": _("Reminder: your craft village visit tomorrow (%(ref)s)", ref=reference),
            "village_requested": _("New booking request %(ref)s", ref=reference),
            "village_cancelled": _("Booking %(ref)s cancelled by the tourist", ref=reference),
            "village_cancelled_by_agency": _(
                "Booking %(ref)s cancelled by the agency", ref=reference
            ),
        }
        return texts[event]


def _tourist_body(
    event: str, booking: Booking, items: list[BookingItem], manage_token: str | None
) -> str:
    """The tourist's e-mail in the booking's language, with the management link when there is
    a token that still works."""
    lang = booking.lang
    link = manage_url(booking.reference, manage_token, lang) if manage_token else None
    return _render("tourist", lang, event=event, booking=booking, items=items, manage_url=link)


def _village_body(
    event: str, booking: Booking, items: list[BookingItem], links: Mapping[int, str]
) -> str:
    """The village's e-mail, in Vietnamese (the back-office's language)."""
    return _render(
        "village",
        "vi",
        event=event,
        booking=booking,
        items=items,
        links=links,
        dashboard_url=public_url("web.village_dashboard"),
    )


def _village_subject(event: str, booking: Booking) -> str:
    key = f"village_{event}"
    if event == "cancelled" and booking.resold:
        key += "_by_agency"  # the reseller cancels, not its customer
    return _subject(key, booking.reference, "vi")


# --- writing to the outbox (inside the caller's transaction) -------------------------------


#: ``payload`` key of a row written as references: what the worker renders when it claims it.
RENDER = "render"
_ROWS = Notification.__table__
#: A booking's outbox rows in one Core INSERT (made once), their ids back in the rows' order.
_INSERT_ROWS = _ROWS.insert().returning(_ROWS.c.id, _ROWS.c.channel, sort_by_parameter_order=True)


def requested_rows(
    session: Session, booking: Booking, *, recipients: Mapping[int, list[str]] | None = None
) -> tuple[list[dict[str, Any]], bool]:
    """The outbox rows of a new booking: the tourist's acknowledgement (with the management
    link) and, per village, e-mail + webhook + SMS, for one INSERT (:func:`insert_rows`, or
    the booking's own statement), and whether they are marked as handed over.

    The rows hold references, not text: ``payload`` names the event, the village and its items
    (and which were waiting for the village's answer), and the worker renders subject, body
    and webhook payload when it claims the row (:func:`_rendered`). Rendering two templates,
    the subjects and the signed decision links was a fifth of the web's CPU per booking.
    ``recipients``: the active staff's addresses per village, when the caller has read them
    (the booking's slot query); else they are queried here. When the request hands them over
    they are inserted already marked as handed over (see :func:`queued`)."""
    marked = _request_hands_over()
    now = now_utc()
    items = list(booking.items)
    common = {
        "booking_id": booking.id,
        "status": "pending",
        "attempts": 0,
        "created_at": now,
        "queued_at": now if marked else None,
        "subject": "",
        "body": "",
    }
    rows = [
        {
            **common,
            "item_id": items[0].id if len(items) == 1 else None,
            "event": "requested",
            "channel": "email",
            "recipient": booking.contact_email,
            "payload": {RENDER: "requested"},
        }
    ]
    by_village: dict[int, list[BookingItem]] = defaultdict(list)
    for item in items:
        by_village[item.village_id].append(item)
    for own in by_village.values():
        village = own[0].village
        reference = {
            **common,
            "item_id": own[0].id if len(own) == 1 else None,
            "event": "village_requested",
            "payload": {
                RENDER: "requested",
                "village": village.slug,
                "items": [i.id for i in own],
                # Only a pending item is answered; an instantly confirmed one needs no link.
                "pending": [i.id for i in own if i.status == "pending"],
            },
        }
        if village.booking_email:
            to = [village.booking_email]
        elif recipients is not None and village.id in recipients:
            to = recipients[village.id]
        else:
            to = _village_recipients(session, village)
        rows += [{**reference, "channel": "email", "recipient": r} for r in to]
        if village.webhook_url:
            if not village.webhook_secret:
                village.webhook_secret = new_webhook_secret()
            rows.append({**reference, "channel": "webhook", "recipient": village.webhook_url})
        if village.notify_phone:
            rows.append({**reference, "channel": "sms", "recipient": village.notify_phone})
    return rows, marked


def insert_rows(session: Session, rows: list[dict[str, Any]], marked: bool) -> list[Queued]:
    """INSERT :func:`requested_rows`' ``rows``; what to hand over after the commit."""
    return [Queued(row.id, row.channel, marked) for row in session.execute(_INSERT_ROWS, rows)]


#: The bookings of a batch with their items, experiences and villages: what the templates
#: read, in one statement made once (lazy loads would be a round trip each, per row; a read
#: per booking was a third of the worker's CPU when a task carries several bookings' rows).
_BOOKINGS_TO_RENDER = (
    select(Booking)
    .where(Booking.id.in_(bindparam("ids", expanding=True)))
    .options(
        joinedload(Booking.items).options(
            joinedload(BookingItem.experience).options(*LONG_EXPERIENCE_FIELDS),
            joinedload(BookingItem.village).options(*LONG_VILLAGE_FIELDS),
        )
    )
    .execution_options(populate_existing=True)
)


def _to_render(rows: Collection[Notification]) -> dict[int, Booking]:
    """The bookings of the ``rows`` written as references, read in one statement, by id (a
    booking deleted since is missing)."""
    ids = sorted({r.booking_id for r in rows if RENDER in (r.payload or {}) and r.booking_id})
    if not ids:
        return {}
    session = current_app.extensions["sqlalchemy"].session
    return {b.id: b for b in session.scalars(_BOOKINGS_TO_RENDER, {"ids": ids}).unique()}


def _rendered(row: Notification, loaded: Mapping[int, Booking]) -> bool:
    """Fill in a row written as references (:func:`requested_rows`): subject and body,
    or a webhook's payload, from the booking as it is now (``loaded``: the batch's bookings,
    :func:`_to_render`). Whether it was one."""
    spec = row.payload or {}
    if RENDER not in spec:
        return False
    booking = loaded.get(row.booking_id)
    if booking is None:
        raise channels.PermanentDeliveryError("the booking no longer exists")
    event = spec[RENDER]
    if row.event == event:  # the tourist's
        items = list(booking.items)
        token = first_manage_token(booking.reference)
        # The link only while it still works: a cancellation since replaced the token.
        current = hmac.compare_digest(manage_token_hash(token), booking.manage_token_hash or "")
        row.subject = _subject(event, booking.reference, booking.lang)
        row.body = _tourist_body(event, booking, items, token if current else None)
        return True
    wanted = set(spec.get("items") or ())
    items = [i for i in booking.items if i.id in wanted]
    if not items:
        raise channels.PermanentDeliveryError("the booking no longer has these items")
    # The decision links of the items that were waiting when the request was made: the
    # wording is the one of that moment (a link answered since says so when opened).
    pending = set(spec.get("pending") or ())
    links = {i.id: decide_url(i) for i in items if i.id in pending}
    row.subject = _village_subject(event, booking)
    if row.channel == "webhook":
        row.payload = _webhook_payload(booking, items, event, links)
    elif row.channel == "sms":
        row.body = row.subject
    else:
        row.body = _village_body(event, booking, items, links)
    return True


def on_item_changed(
    session: Session, item: BookingItem, state: str, manage_token: str | None = None
) -> list[Notification]:
    """Tell the tourist about a decision, an expiry or a cancellation (and the village of a
    cancellation). ``manage_token``: a token just issued (the cancellation's new link)."""
    booking = item.booking
    rows = [tourist_mail(session, booking, state, [item], manage_token)]
    if state == "cancelled":
        rows += village_messages(session, booking, [item], "cancelled")
    return rows


def on_reminder(session: Session, item: BookingItem) -> list[Notification]:
    return [tourist_mail(session, item.booking, "reminder", [item])]


def _add(session: Session, **fields: Any) -> Notification:
    row = Notification(status="pending", attempts=0, created_at=now_utc(), **fields)
    session.add(row)
    return row


def tourist_mail(
    session: Session,
    booking: Booking,
    event: str,
    items: list[BookingItem],
    manage_token: str | None = None,
) -> Notification:
    """The tourist's e-mail about ``event`` for ``items``, written in full and added to the
    caller's transaction (the outbox row; a new booking's is written by the worker instead)."""
    lang = booking.lang
    body = _tourist_body(event, booking, items, manage_token)
    return _add(
        session,
        booking_id=booking.id,
        item_id=items[0].id if len(items) == 1 else None,
        event=event,
        channel="email",
        recipient=booking.contact_email,
        subject=_subject(event, booking.reference, lang),
        body=body,
    )


def village_messages(
    session: Session, booking: Booking, items: list[BookingItem], event: str
) -> list[Notification]:
    """The village's messages about ``event`` for its ``items`` of ``booking`` (e-mail to its
    booking address or staff, webhook, SMS), written in full and added to the caller's
    transaction; a ``requested`` event carries the decision links of the items still pending."""
    village = items[0].village
    # Only a pending item is answered; an instantly confirmed one needs no link.
    links = (
        {item.id: decide_url(item) for item in items if item.status == "pending"}
        if event == "requested"
        else {}
    )
    subject = _village_subject(event, booking)
    body = _village_body(event, booking, items, links)
    item_id = items[0].id if len(items) == 1 else None
    rows = [
        _add(
            session,
            booking_id=booking.id,
            item_id=item_id,
            event=f"village_{event}",
            channel="email",
            recipient=to,
            subject=subject,
            body=body,
        )
        for to in _village_recipients(session, village)
    ]
    if village.webhook_url:
        if not village.webhook_secret:
            village.webhook_secret = new_webhook_secret()
        rows.append(
            _add(
                session,
                booking_id=booking.id,
                item_id=item_id,
                event=f"village_{event}",
                channel="webhook",
                recipient=village.webhook_url,
                subject=subject,
                payload=_webhook_payload(booking, items, event, links),
            )
        )
    if village.notify_phone:
        rows.append(
            _add(
                session,
                booking_id=booking.id,
                item_id=item_id,
                event=f"village_{event}",
                channel="sms",
                recipient=village.notify_phone,
                subject=subject,
                body=subject,
            )
        )
    return rows


def _village_recipients(session: Session, village: Village) -> list[str]:
    if village.booking_email:
        return [village.booking_email]
    # Users only: nothing the caller has added yet needs flushing first (the booking's rows
    # then go to the database in one flush).
    with session.no_autoflush:
        return list(
            session.scalars(
                select(User.email).where(
                    User.village_id == village.id, User.active.is_(True), User.role == "village"
                )
            )
        )


def _webhook_payload(
    booking: Booking, items: list[BookingItem], event: str, links: dict[int, str]
) -> dict[str, Any]:
    return {
        "event": f"booking.{event}",
        "reference": booking.reference,
        "village": items[0].village.slug,
        "contact": {
            "name": booking.contact_name,
            "email": booking.contact_email,
            "phone": booking.contact_phone,
        },
        "lang": booking.lang,
        "items": [
            {
                "id": i.id,
                "slot_id": i.slot_id,
                "experience": i.experience.slug,
                "start": i.start.isoformat(),
                "end": i.end.isoformat(),
                "party": {"adults": i.adults, "children": i.children, "seniors": i.seniors},
                "total_vnd": i.total_vnd,
                "status": i.status,
                "hold_expires_at": i.hold_expires_at.isoformat(),
                "decide_url": links.get(i.id),
            }
            for i in items
        ],
    }


# --- handing over to Celery ----------------------------------------------------------------


def _celery():
    return current_app.extensions["celery"]


def _eager() -> bool:
    return bool(_celery().conf.task_always_eager)


def relayed() -> bool:
    """Whether new rows wait for the outbox relay (``tasks/relay.py``) instead of being handed
    over by the request that wrote them: with workers, on PostgreSQL (``OUTBOX_RELAY`` auto or
    ``listen``; ``direct`` hands over in the request)."""
    if _eager():
        return False
    mode = current_app.config.get("OUTBOX_RELAY") or "auto"
    if mode == "auto":
        return is_postgresql(current_app.config["SQLALCHEMY_DATABASE_URI"])
    return mode == "listen"


def _request_hands_over() -> bool:
    """With workers and no relay: the request hands its rows over after its commit."""
    return not _eager() and not relayed()


@dataclass(frozen=True)
class Queued:
    """What hand-over needs of a row, read before the commit (no query after it).
    ``marked``: its ``queued_at`` was set in the caller's transaction."""

    id: int
    channel: str
    marked: bool = False


def _mark(rows: list[Notification]) -> bool:
    """When the request hands over, set ``queued_at`` of rows not marked yet; whether rows
    are marked."""
    marked = _request_hands_over()
    if marked:
        at = now_utc()
        for row in rows:
            if row.queued_at is None:
                row.queued_at = at
    return marked


def queued(rows: list[Notification]) -> list[Queued]:
    """Call inside the unit of work, after a flush. With workers, the rows are marked as
    handed over in that same transaction (no second commit per booking); a hand-over that
    then fails clears the mark, so the dispatcher takes them at its next pass. Rows marked
    before their flush (:func:`requested_rows`) cost no UPDATE."""
    marked = _mark(rows)
    return [Queued(row.id, row.channel, marked) for row in rows]


def dispatch_after_commit(rows: Sequence[Notification | Queued]) -> None:
    """Hand freshly committed rows to the workers; never raises (the outbox keeps what fails).

    The change these rows report is already committed: a notification problem must not turn
    the caller's answer into an error (a tourist who retries would book twice). In the embedded
    set-up webhooks stay in the outbox for the background thread, which is woken at once.
    With the outbox relay there is nothing to do: the commit has already woken it.
    """
    if relayed():
        return
    try:
        ids = [row.id for row in rows]
        if _eager():
            webhooks = {
                row.id for row in rows if row.channel == "webhook" or row.channel in CHANNELS
            }
            _hand_over_all([nid for nid in ids if nid not in webhooks])
            if webhooks:
                from tourplanner.services.maintenance import wake

                wake(current_app._get_current_object())  # type: ignore[attr-defined]
        else:
            marked = {row.id for row in rows if isinstance(row, Queued) and row.marked}
            _hand_over_all(ids, marked=marked, per_task=len(ids))
    except Exception:  # see the docstring; the dispatcher retries later
        log.exception("notifications stay in the outbox for the dispatcher")
        _rollback()


def _rollback() -> None:
    try:
        current_app.extensions["sqlalchemy"].session.rollback()
    except Exception:  # nothing more to undo
        log.exception("rollback after a notification failure failed")


def _hand_over_all(
    ids: list[int],
    countdown: float | None = None,
    *,
    marked: Collection[int] = (),
    per_task: int = 1,
) -> int:
    """Give ``ids`` to the workers over one pooled broker connection; stop at the first
    failure. ``marked``: rows whose ``queued_at`` their own transaction already set.
    ``per_task``: rows per task (a booking's few rows, or the relay's batches: one publish and
    one task instead of one each; every row is still claimed and sent on its own, see
    :func:`deliver_all`). The dispatcher's sweeps stay one task per row, so that one lost
    task never holds back many rows.

    The connection is tried once, without the usual retry loop, so a booking made while Redis
    is down is not slowed down: its rows simply stay pending for :func:`dispatch_due`.
    Eager mode (no broker) delivers each row here, one by one, each failure contained.
    """
    if not ids:
        return 0
    celery = _celery()
    if celery.conf.task_always_eager:
        deliver_all(ids)
        return len(ids)
    handed: list[int] = []
    # The pool keeps the broker connection between bookings (a new one cost ~4 ms each).
    conn = celery.pool.acquire(block=True)
    try:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, interval_max=0)
        size = max(1, per_task)
        for batch in (ids[start : start + size] for start in range(0, len(ids), size)):
            celery.send_task(
                DELIVER_TASK,
                args=[batch if len(batch) > 1 else batch[0]],
                countdown=countdown,
                connection=conn,
                retry=False,
            )
            handed += batch
    except Exception as exc:  # broker unreachable (kombu OperationalError, redis, OSError...)
        log.warning("%s notification(s) stay in the outbox: %s", len(ids) - len(handed), exc)
        with suppress(Exception):
            conn.close()  # a broken transport back in the pool: the next use reconnects
    finally:
        conn.release()
        done = set(handed)
        # One UPDATE each way, and none at all when every row was marked and handed over.
        _set_queued([nid for nid in handed if nid not in marked], now_utc())
        _set_queued([nid for nid in marked if nid not in done], None)
    return len(handed)


def _set_queued(ids: list[int], at: datetime | None) -> None:
    """``queued_at`` of pending rows: when handed over, or None to give them back to the
    dispatcher's next pass."""
    if not ids:
        return
    with unit_of_work() as session:
        session.execute(
            update(Notification)
            .where(Notification.id.in_(ids), Notification.status == "pending")
            .values(queued_at=at)
            .execution_options(synchronize_session=False)
        )


def dispatch_due(now: datetime | None = None, limit: int = 200) -> int:
    """Hand over every due row (periodic: Celery beat, or the embedded maintenance thread).
    Returns how many were handed over.

    Due: pending rows whose backoff has passed and that were not handed over recently, and
    rows stuck in ``sending`` (a worker died mid-send), which go back to pending, or to
    ``failed`` once they used their attempts (a message that kills its worker every time
    must not come back forever).
    """
    now = now or now_utc()
    requeue_before = now - timedelta(
        seconds=current_app.config.get("NOTIFY_REQUEUE_SECONDS") or QUEUED_STALE.total_seconds()
    )
    stale = now - timedelta(
        seconds=current_app.config.get("NOTIFY_SENDING_STALE_SECONDS")
        or SENDING_STALE.total_seconds()
    )
    max_attempts = int(current_app.config.get("NOTIFY_MAX_ATTEMPTS", 6))
    with unit_of_work() as session:
        given_up: list[int] = []
        for status, used_up in (("failed", True), ("pending", False)):
            attempts = Notification.attempts >= max_attempts
            moved = session.execute(
                update(Notification)
                .where(
                    Notification.status == "sending",
                    Notification.claimed_at < stale,
                    attempts if used_up else ~attempts,
                )
                .values(status=status)
                .returning(Notification.id)
                .execution_options(synchronize_session=False)
            )
            ids = list(moved.scalars())  # read before the commit (SQLite insists)
            if used_up:
                given_up = ids
    if given_up:
        # Given up for good here too, not only in _failed: the same report to the admins and
        # the tourist when none of a village's channels worked.
        from tourplanner.services import reachability

        for nid in given_up:
            reachability.on_given_up(nid, now=now)
    ids = (
        current_app.extensions["sqlalchemy"]
        .session.scalars(
            select(Notification.id)
            .where(
                Notification.status == "pending",
                or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now),
                or_(Notification.queued_at.is_(None), Notification.queued_at < requeue_before),
            )
            .order_by(Notification.id)
            .limit(limit)
        )
        .all()
    )
    return _hand_over_all(list(ids))


#: A row whose backoff has passed (parameter ``now``).
_DUE = or_(_ROWS.c.next_attempt_at.is_(None), _ROWS.c.next_attempt_at <= bindparam("now"))
#: Rows per task when the relay hands new rows over: a few bookings' messages (one publish and
#: one task, their bookings read once each), small enough to spread over a worker's processes.
RELAY_ROWS_PER_TASK = 12
#: Rows one relay pass takes at most (a burst is handed over in several passes).
RELAY_PASS_ROWS = 500
#: The relay's pass: mark up to ``limit`` new due rows as handed over and read their ids, in one
#: statement made once. ``SKIP LOCKED``: rows another pass is marking are left to it.
_FRESH = (
    _ROWS.update()
    .where(
        _ROWS.c.id.in_(
            select(_ROWS.c.id)
            .where(
                _ROWS.c.status == "pending",
                _ROWS.c.queued_at.is_(None),
                _DUE,
            )
            .order_by(_ROWS.c.id)
            .limit(bindparam("limit"))
            .with_for_update(skip_locked=True)
        )
    )
    .values(queued_at=bindparam("now"))
    .returning(_ROWS.c.id)
)


def hand_over_new(now: datetime | None = None, limit: int = RELAY_PASS_ROWS) -> tuple[int, int]:
    """The outbox relay's pass (``tasks/relay.py``): hand every new due row over, in tasks of
    :data:`RELAY_ROWS_PER_TASK` rows. Returns ``(found, handed)``; rows not handed over (the
    broker is down) get their mark back, for the next pass or :func:`dispatch_due`."""
    with unit_of_work() as session:
        ids = sorted(session.scalars(_FRESH, {"now": now or now_utc(), "limit": limit}))
    return len(ids), _hand_over_all(ids, marked=ids, per_task=RELAY_ROWS_PER_TASK)


# --- delivering ----------------------------------------------------------------------------


def notifiers() -> channels.Notifiers:
    """The configured channels; tests put fakes in ``app.extensions["tourplanner.notifiers"]``."""
    found = current_app.extensions.get(NOTIFIERS_KEY)
    if found is None:
        found = current_app.extensions[NOTIFIERS_KEY] = channels.from_config(current_app.config)
    return found


def deliver(nid: int, now: datetime | None = None) -> Outcome:
    """Claim the row, send it, record the result (:func:`deliver_all` of one row)."""
    return deliver_all([nid], now=now).get(nid, Outcome("skipped"))


def deliver_all(ids: Sequence[int], now: datetime | None = None) -> dict[int, Outcome]:
    """Claim the rows, write those written as references, then send and record each on its
    own; the outcome of each row that got one (``skipped``: not claimed, i.e. already taken
    by another worker, a duplicate task, or not due yet).

    A row is sent at most once per claim: the claim (``pending -> sending``, one conditional
    UPDATE for the whole batch) is what another worker or a duplicate task loses. Once
    claimed, a row always leaves ``sending``: a :class:`~channels.DeliveryError` is retried
    (or final when permanent) and any other exception, a bug or an adapter's surprise,
    counts as a failed attempt rather than escaping with the row still claimed; one row's
    failure never stops the next. Each row's result is recorded right after its send, so a
    worker killed mid-batch can repeat at most the message it was sending.
    """
    now = now or now_utc()
    try:
        claimed = _claim(ids, now)
    except Exception:  # the database: the rows stay pending for the dispatcher
        log.exception("notifications %s: claim failed", list(ids))
        _rollback()
        return {}
    outcomes = {nid: Outcome("skipped") for nid in ids if nid not in claimed}
    try:  # all written before any is sent: one read of their bookings
        loaded = _to_render(claimed.values())
    except Exception as exc:  # each claimed row records a failed attempt, as below
        for nid in claimed:
            _note_failure(outcomes, nid, exc, now)
        return outcomes
    ready: list[tuple[Notification, bool]] = []
    for row in claimed.values():
        try:
            ready.append((row, _rendered(row, loaded)))
        except Exception as exc:
            _note_failure(outcomes, row.id, exc, now)
    for row, rendered in ready:
        try:
            _send(row)
        except Exception as exc:
            _note_failure(outcomes, row.id, exc, now)
            continue
        try:
            _record_sent(row, rendered)
        except Exception:  # the database: the row stays claimed until the dispatcher's pass
            log.exception("notification %s: sent, but its record failed", row.id)
            _rollback()
            continue
        outcomes[row.id] = Outcome("sent")
    return outcomes


def _note_failure(outcomes: dict[int, Outcome], nid: int, exc: Exception, now: datetime) -> None:
    """Record a claimed row's failed attempt (see :func:`deliver_all`) and its outcome."""
    expected = isinstance(exc, channels.DeliveryError)
    if not expected:
        log.exception("notification %s: unexpected error while sending", nid)
    try:
        error = str(exc) if expected else f"{type(exc).__name__}: {exc}"
        outcomes[nid] = _failed(nid, error, now, permanent=expected and exc.permanent)
    except Exception:  # the database itself: the row stays claimed until the dispatcher's pass
        log.exception("notification %s: its failure could not be recorded", nid)
        _rollback()


#: What :func:`_send` and the :data:`CHANNELS` senders read of a claimed row.
CLAIMED_COLUMNS = (
    "id",
    "booking_id",
    "item_id",
    "event",
    "channel",
    "recipient",
    "subject",
    "body",
    "payload",
    "attempts",
)
#: The claim of a batch, one statement made once: it reads back what sending needs, so no
#: SELECT follows it (parameters ``ids``, ``now``).
_CLAIM = (
    _ROWS.update()
    .where(
        _ROWS.c.id.in_(bindparam("ids", expanding=True)),
        _ROWS.c.status == "pending",
        _DUE,
    )
    .values(status="sending", claimed_at=bindparam("now"), attempts=_ROWS.c.attempts + 1)
    .returning(*(_ROWS.c[name] for name in CLAIMED_COLUMNS))
)
#: A claimed row's result; the values to set are the execution's other parameters.
_RECORD = _ROWS.update().where(_ROWS.c.id == bindparam("nid"), _ROWS.c.status == "sending")


def _claim(ids: Sequence[int], now: datetime) -> dict[int, Notification]:
    """Claim the due pending rows among ``ids``, as plain unattached copies (which the commit
    cannot expire), by id in ascending order."""
    if not ids:
        return {}
    with unit_of_work() as session:
        rows = session.execute(_CLAIM, {"ids": list(ids), "now": now}).all()
    return {row.id: Notification(**row._asdict()) for row in sorted(rows, key=lambda r: r.id)}


def _record_sent(row: Notification, rendered: bool) -> None:
    # What was sent, kept like the rows written in full (the delivery log, the admins'
    # reports): without the management token, which is kept nowhere in clear.
    written = (
        {"subject": row.subject, "body": redact_tokens(row.body), "payload": row.payload}
        if rendered
        else {}
    )
    with unit_of_work() as session:
        values = {"status": "sent", "sent_at": now_utc(), "last_error": None, **written}
        session.execute(_RECORD, {"nid": row.id, **values})


def _send(row: Notification) -> None:
    chosen = notifiers()
    if row.channel == "email":
        chosen.mailer.send(
            row.recipient, row.subject, row.body, message_id=f"<notification-{row.id}@tourplanner>"
        )
    elif row.channel == "webhook":
        village = (
            current_app.extensions["sqlalchemy"]
            .session.scalars(
                select(Village).where(Village.slug == (row.payload or {}).get("village"))
            )
            .first()
        )
        # The village's URL now, not the one when the row was written: a village that removed
        # or replaced its hook (say, after a leak) receives nothing more at the old address.
        if village is None or not village.webhook_url:
            raise channels.PermanentDeliveryError("the village no longer has a webhook")
        chosen.webhook.post(
            village.webhook_url,
            village.webhook_secret or "",
            {**row.payload, "delivery_id": row.id},
            delivery_id=str(row.id),
        )
    elif row.channel == "sms":
        chosen.sms.send(row.recipient, row.body)
    elif row.channel in CHANNELS:
        CHANNELS[row.channel](row, chosen)
    else:  # pragma: no cover - rows are only written by this module
        raise channels.PermanentDeliveryError(f"unknown channel {row.channel}")


def backoff(attempts: int) -> float:
    """Seconds before attempt ``attempts + 1``: base × 2^(attempts - 1), capped at one hour."""
    base = float(current_app.config.get("NOTIFY_RETRY_BASE_SECONDS", 30))
    return min(base * 2 ** max(0, attempts - 1), 3600.0)


def _failed(nid: int, error: str, now: datetime, *, permanent: bool) -> Outcome:
    """Record a failed attempt with plain updates on a fresh transaction: the session may be
    broken by whatever failed (a database error inside the adapter call, say)."""
    _rollback()
    limit = int(current_app.config.get("NOTIFY_MAX_ATTEMPTS", 6))
    log.warning("notification %s failed%s: %s", nid, " for good" if permanent else "", error)
    session = current_app.extensions["sqlalchemy"].session
    attempts = session.scalar(select(Notification.attempts).where(Notification.id == nid)) or 0
    claimed = (Notification.id == nid, Notification.status == "sending")
    with unit_of_work() as session:
        if permanent or attempts >= limit:
            session.execute(
                update(Notification)
                .where(*claimed)
                .values(status="failed", last_error=error[:2000])
                .execution_options(synchronize_session=False)
            )
            # Given up for good (recorded first): a request none of whose village's channels
            # worked reaches the admins and the tourist, never a silent expiry.
            session.commit()
            from tourplanner.services import reachability

            reachability.on_given_up(nid, now=now)
            return Outcome("failed")
        delay = backoff(attempts)
        session.execute(
            update(Notification)
            .where(*claimed)
            .values(
                status="pending",
                last_error=error[:2000],
                next_attempt_at=now + timedelta(seconds=delay),
                queued_at=None,
            )
            .execution_options(synchronize_session=False)
        )
    return Outcome("retry", delay)


def retry_later(nid: int, delay: float) -> None:
    """Re-queue a failed row after its backoff (worker side; the dispatcher is the safety net)."""
    if not _eager():
        _hand_over_all([nid], countdown=delay)


def delivery_log(status: str | None = None, limit: int = 200) -> list[Notification]:
    stmt = select(Notification).order_by(Notification.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(Notification.status == status)
    return list(current_app.extensions["sqlalchemy"].session.scalars(stmt))


def _webhook_refusal(code: str) -> Any:
    """The settings page's explanation, in the staff member's language (lazy: translated when
    shown, so it can be raised outside a request too)."""
    texts = {
        "not_https": _l("The webhook URL must start with https://"),
        "unresolvable": _l("The webhook's host name cannot be found"),
        "private_address": _l(
            "The webhook URL points at a local or private address; only public addresses "
            "can receive bookings"
        ),
    }
    return texts.get(code, _l("This is not a valid webhook URL"))


def check_webhook_url(url: str) -> None:
    """Refuse a webhook URL that is not https (production) or not a public address."""
    from tourplanner.domain.errors import ValidationError

    if len(url) > MAX_WEBHOOK_URL:
        raise ValidationError(
            _webhook_refusal("invalid"), code="invalid_webhook_url", field="webhook_url"
        )
    try:
        channels.check_webhook_url(url, channels.webhook_policy(current_app.config))
    except channels.UnsafeWebhookUrl as exc:
        raise ValidationError(
            _webhook_refusal(exc.code),
            code="invalid_webhook_url",
            field="webhook_url",
            reason=exc.code,
        ) from None


def update_village_settings(
    village_id: int,
    *,
    booking_email: str | None,
    notify_phone: str | None,
    webhook_url: str | None,
    hold_expiry_hours: int | None,
) -> Village:
    """Where a village receives its requests, and how long it has to answer."""
    from tourplanner.domain.errors import ValidationError

    session = current_app.extensions["sqlalchemy"].session
    village = session.get(Village, village_id)
    if booking_email and "@" not in booking_email:
        raise ValidationError("not an e-mail address", code="invalid_email", field="booking_email")
    if webhook_url:
        check_webhook_url(webhook_url)
    if hold_expiry_hours is not None and not 1 <= hold_expiry_hours <= 24 * 14:
        raise ValidationError(
            "answer time must be 1 to 336 hours", code="invalid_hold", field="hold_expiry_hours"
        )
    with unit_of_work():
        village.booking_email = booking_email or None
        village.notify_phone = notify_phone or None
        village.webhook_url = webhook_url or None
        village.hold_expiry_hours = hold_expiry_hours
        if village.webhook_url and not village.webhook_secret:
            village.webhook_secret = new_webhook_secret()
    return village
