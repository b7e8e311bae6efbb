"""Notifications through a transactional outbox, delivered once.

1. *Write*: the booking service calls ``on_*`` inside its own transaction; they add
   :class:`~tourplanner.adapters.orm.Notification` rows (e-mail, webhook, SMS) with the message
   already rendered, so the booking and its notifications commit together or not at all.
2. *Hand over*: after the commit, :func:`dispatch_after_commit` gives each new row to Celery
   (``tasks.notifications.deliver``). If the broker (Redis) is down the booking has already
   succeeded; the rows stay ``pending`` and the periodic :func:`dispatch_due` (Celery beat)
   hands them over once Redis is back. With no broker configured (eager mode) they are
   delivered in-process.
3. *Deliver once*: :func:`deliver` first *claims* the row with a conditional update
   (``pending|queued → sending``); a worker that loses the claim, or receives a duplicate
   message, does nothing. A failed send goes back to ``pending`` with an exponential backoff
   (``NOTIFY_RETRY_BASE_SECONDS`` × 2ⁿ) until ``NOTIFY_MAX_ATTEMPTS``, then ``failed``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from tourplanner.adapters import notifiers as channels
from tourplanner.adapters.orm import Booking, BookingItem, Notification, User, Village
from tourplanner.services.availability import now_utc
from tourplanner.services.links import decision_token, manage_token, new_webhook_secret
from tourplanner.services.unit_of_work import unit_of_work

log = logging.getLogger(__name__)
DELIVER_TASK = "tasks.notifications.deliver"
QUEUED_STALE = timedelta(minutes=5)
SENDING_STALE = timedelta(minutes=10)
NOTIFIERS_KEY = "tourplanner.notifiers"


@dataclass(frozen=True)
class Outcome:
    status: str  # sent | skipped | retry | failed
    retry_in: float | None = None


# --- links and rendering -------------------------------------------------------------------


def public_url(endpoint: str, **values: Any) -> str:
    """An absolute link for e-mails and webhooks, built without a request (workers too)."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path


def manage_url(reference: str, lang: str | None = None) -> str:
    """The tourist's signed page; ``lang`` opens it in the booking's language."""
    return public_url(
        "web.booking_manage", reference=reference, token=manage_token(reference), lang=lang
    )


def decide_url(item: BookingItem) -> str:
    return public_url("web.village_decide", token=decision_token(item.id, item.village_id))


def _render(template: str, lang: str, **context: Any) -> str:
    with force_locale(lang):
        return current_app.jinja_env.get_template(f"email/{template}.txt").render(
            lang=lang, **context
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
        }
        return texts[event]


# --- writing to the outbox (inside the caller's transaction) -------------------------------


def on_booking_requested(session: Session, booking: Booking) -> list[Notification]:
    """The tourist's acknowledgement and, per village, e-mail + webhook + SMS."""
    rows = [_tourist_mail(session, booking, "requested", booking.items)]
    by_village: dict[int, list[BookingItem]] = defaultdict(list)
    for item in booking.items:
        by_village[item.village_id].append(item)
    for items in by_village.values():
        rows += _village_messages(session, booking, items, "requested")
    return rows


def on_item_changed(session: Session, item: BookingItem, state: str) -> list[Notification]:
    """Tell the tourist about a decision, an expiry or a cancellation (and the village of a
    cancellation)."""
    booking = item.booking
    rows = [_tourist_mail(session, booking, state, [item])]
    if state == "cancelled":
        rows += _village_messages(session, booking, [item], "cancelled")
    return rows


def on_reminder(session: Session, item: BookingItem) -> list[Notification]:
    return [_tourist_mail(session, item.booking, "reminder", [item])]


def _add(session: Session, **fields: Any) -> Notification:
    row = Notification(status="pending", attempts=0, created_at=now_utc(), **fields)
    session.add(row)
    return row


def _tourist_mail(
    session: Session, booking: Booking, event: str, items: list[BookingItem]
) -> Notification:
    lang = booking.lang
    body = _render(
        "tourist",
        lang,
        event=event,
        booking=booking,
        items=items,
        manage_url=manage_url(booking.reference, lang),
    )
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


def _village_messages(
    session: Session, booking: Booking, items: list[BookingItem], event: str
) -> list[Notification]:
    village = items[0].village
    links = {item.id: decide_url(item) for item in items} if event == "requested" else {}
    subject = _subject(f"village_{event}", booking.reference, "vi")
    body = _render(
        "village",
        "vi",
        event=event,
        booking=booking,
        items=items,
        links=links,
        dashboard_url=public_url("web.village_dashboard"),
    )
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


def dispatch_after_commit(rows: list[Notification]) -> None:
    """Hand freshly committed rows to Celery; never raises (the outbox keeps what fails)."""
    _hand_over_all([row.id for row in rows])


def _hand_over_all(ids: list[int], countdown: float | None = None) -> int:
    """Give ``ids`` to the workers over one broker connection; stop at the first failure.

    The connection is tried once, without the usual retry loop, so a booking made while Redis
    is down is not slowed down: its rows simply stay pending for :func:`dispatch_due`.
    """
    if not ids:
        return 0
    celery = _celery()
    if celery.conf.task_always_eager:
        for nid in ids:
            deliver(nid)
        return len(ids)
    handed = 0
    try:
        with celery.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, interval_max=0)
            for nid in ids:
                celery.send_task(
                    DELIVER_TASK, args=[nid], countdown=countdown, connection=conn, retry=False
                )
                _mark_queued(nid)
                handed += 1
    except Exception as exc:  # broker unreachable (kombu OperationalError, redis, OSError...)
        log.warning("%s notification(s) stay in the outbox: %s", len(ids) - handed, exc)
    return handed


def _mark_queued(nid: int) -> None:
    with unit_of_work() as session:
        session.execute(
            update(Notification)
            .where(Notification.id == nid, Notification.status == "pending")
            .values(queued_at=now_utc())
            .execution_options(synchronize_session=False)
        )


def dispatch_due(now: datetime | None = None, limit: int = 200) -> int:
    """Hand over every due row (periodic, Celery beat). Returns how many were handed over.

    Due: pending rows whose backoff has passed and that were not handed over recently, and
    rows stuck in ``sending`` (a worker died mid-send), which go back to pending.
    """
    now = now or now_utc()
    with unit_of_work() as session:
        session.execute(
            update(Notification)
            .where(
                Notification.status == "sending",
                Notification.claimed_at < now - SENDING_STALE,
            )
            .values(status="pending")
            .execution_options(synchronize_session=False)
        )
    ids = (
        current_app.extensions["sqlalchemy"]
        .session.scalars(
            select(Notification.id)
            .where(
                Notification.status == "pending",
                or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now),
                or_(Notification.queued_at.is_(None), Notification.queued_at < now - QUEUED_STALE),
            )
            .order_by(Notification.id)
            .limit(limit)
        )
        .all()
    )
    return _hand_over_all(list(ids))


# --- delivering ----------------------------------------------------------------------------


def notifiers() -> channels.Notifiers:
    """The configured channels; tests put fakes in ``app.extensions["tourplanner.notifiers"]``."""
    found = current_app.extensions.get(NOTIFIERS_KEY)
    if found is None:
        found = current_app.extensions[NOTIFIERS_KEY] = channels.from_config(current_app.config)
    return found


def deliver(nid: int, now: datetime | None = None) -> Outcome:
    """Claim the row, send it, record the result. A row is sent at most once per claim."""
    from tourplanner.extensions import db

    now = now or now_utc()
    with unit_of_work() as session:
        claimed = session.execute(
            update(Notification)
            .where(
                Notification.id == nid,
                Notification.status == "pending",
                or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now),
            )
            .values(status="sending", claimed_at=now, attempts=Notification.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
    if claimed != 1:
        return Outcome("skipped")
    row = db.session.get(Notification, nid)
    db.session.refresh(row)
    try:
        _send(row)
    except channels.DeliveryError as exc:
        return _failed(row, str(exc), now)
    with unit_of_work():
        row.status, row.sent_at, row.last_error = "sent", now_utc(), None
    return Outcome("sent")


def _send(row: Notification) -> None:
    chosen = notifiers()
    if row.channel == "email":
        chosen.mailer.send(
            row.recipient, row.subject, row.body, message_id=f"<notification-{row.id}@tourplanner>"
        )
    elif row.channel == "webhook":
        village = (
            current_app.extensions["sqlalchemy"]
            .session.scalars(select(Village).where(Village.slug == row.payload["village"]))
            .one()
        )
        chosen.webhook.post(
            row.recipient,
            village.webhook_secret or "",
            {**row.payload, "delivery_id": row.id},
            delivery_id=str(row.id),
        )
    elif row.channel == "sms":
        chosen.sms.send(row.recipient, row.body)
    else:  # pragma: no cover - rows are only written by this module
        raise channels.DeliveryError(f"unknown channel {row.channel}")


def backoff(attempts: int) -> float:
    """Seconds before attempt ``attempts + 1``: base × 2^(attempts - 1), capped at one hour."""
    base = float(current_app.config.get("NOTIFY_RETRY_BASE_SECONDS", 30))
    return min(base * 2 ** max(0, attempts - 1), 3600.0)


def _failed(row: Notification, error: str, now: datetime) -> Outcome:
    limit = int(current_app.config.get("NOTIFY_MAX_ATTEMPTS", 6))
    log.warning("notification %s attempt %s failed: %s", row.id, row.attempts, error)
    with unit_of_work():
        row.last_error = error[:2000]
        if row.attempts >= limit:
            row.status = "failed"
            return Outcome("failed")
        delay = backoff(row.attempts)
        row.status, row.next_attempt_at, row.queued_at = (
            "pending",
            now + timedelta(seconds=delay),
            None,
        )
    return Outcome("retry", delay)


def retry_later(nid: int, delay: float) -> None:
    """Re-queue a failed row after its backoff (worker side; the dispatcher is the safety net)."""
    if not _celery().conf.task_always_eager:
        _hand_over_all([nid], countdown=delay)


def delivery_log(status: str | None = None, limit: int = 200) -> list[Notification]:
    stmt = select(Notification).order_by(Notification.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(Notification.status == status)
    return list(current_app.extensions["sqlalchemy"].session.scalars(stmt))


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
    if webhook_url and not webhook_url.startswith(("https://", "http://")):
        raise ValidationError(
            "the webhook URL must start with https://",
            code="invalid_webhook_url",
            field="webhook_url",
        )
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
