"""A message that can never be sent ends ``failed`` and blocks nothing: not the maintenance pass,
not the other messages, not the booking request that wrote it (issue #10: CR/LF in
``contact.email`` gave the client a 500 after the commit, and the row stayed ``sending`` forever,
aborting every maintenance pass that reclaimed it)."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from demo_days import open_day
from sqlalchemy import func, select

from tourplanner.adapters import notifiers as channels
from tourplanner.adapters.orm import Booking, Experience, Notification
from tourplanner.domain.pricing import Party
from tourplanner.extensions import db
from tourplanner.services import availability, maintenance, notifications
from tourplanner.services import booking as service
from tourplanner.services.availability import now_utc
from tourplanner.services.booking_request import BookingRequest, ItemRequest

CRLF_ADDRESS = "lan@example.org\r\nBcc: everyone@example.org"
REFUSED = "nobody@example.org"


class Inbox:
    """An SMTP server's handler: keeps what it accepts, refuses :data:`REFUSED` (550)."""

    def __init__(self) -> None:
        self.received: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address == REFUSED:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        self.received.extend(envelope.rcpt_tos)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(app):
    """The real SMTP adapter, talking to a local SMTP server."""
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    mailer = channels.SmtpMailer("127.0.0.1", port, "tourplanner@example.org", timeout=5)
    app.extensions[notifications.NOTIFIERS_KEY] = channels.Notifiers(
        mailer, channels.WebhookSender(), channels.LoggingSms()
    )
    yield inbox
    controller.stop()


def _row(recipient: str, **fields) -> Notification:
    row = Notification(
        **{
            "event": "requested",
            "channel": "email",
            "recipient": recipient,
            "subject": "Booking request received",
            "body": "Hello",
            "status": "pending",
            "attempts": 0,
            "created_at": now_utc(),
            **fields,
        }
    )
    db.session.add(row)
    db.session.commit()
    return row


def _status(row: Notification) -> tuple[str, int]:
    db.session.refresh(row)
    return row.status, row.attempts


def test_crlf_address_ends_failed_and_the_next_row_is_sent_in_the_same_pass(smtp):
    bad, good = _row(CRLF_ADDRESS), _row("minh@example.org")
    counts = maintenance.run_once()
    assert counts["notifications_handed_over"] == 2
    assert _status(bad) == ("failed", 1)  # at once: a retry would fail the same way
    assert "control character" in bad.last_error
    assert _status(good) == ("sent", 1)
    assert smtp.received == ["minh@example.org"]  # the injected Bcc reached nobody


def test_row_stuck_in_sending_is_reclaimed_without_aborting_the_pass(smtp):
    stuck = _row(CRLF_ADDRESS, claimed_at=now_utc() - timedelta(hours=1))
    stuck.status = "sending"
    db.session.commit()
    good = _row("minh@example.org")
    maintenance.run_once()
    assert _status(stuck)[0] == "failed" and _status(good)[0] == "sent"


def test_row_that_used_its_attempts_while_sending_is_failed_not_reclaimed_forever(app, smtp):
    app.config["NOTIFY_MAX_ATTEMPTS"] = 3
    stuck = _row("minh@example.org", attempts=3, claimed_at=now_utc() - timedelta(hours=1))
    stuck.status = "sending"
    db.session.commit()
    maintenance.run_once()
    assert _status(stuck) == ("failed", 3) and smtp.received == []


def test_recipient_refused_by_the_server_fails_at_once(smtp):
    refused = _row(REFUSED)
    assert notifications.deliver(refused.id).status == "failed"
    assert _status(refused) == ("failed", 1) and "550" in refused.last_error


class Exploding:
    """An adapter failing in a way nobody planned for."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc
        self.calls = 0

    def send(self, to, subject, body, *, message_id):
        self.calls += 1
        raise self.exc


@pytest.mark.parametrize("exc", [KeyError("smtp_code"), RuntimeError("bug"), TypeError("None")])
def test_an_adapter_raising_any_exception_is_contained_then_failed(app, exc):
    app.config["NOTIFY_MAX_ATTEMPTS"] = 2
    mailer = Exploding(exc)
    app.extensions[notifications.NOTIFIERS_KEY] = channels.Notifiers(
        mailer, channels.WebhookSender(), channels.LoggingSms()
    )
    row = _row("minh@example.org")
    outcome = notifications.deliver(row.id)
    assert outcome.status == "retry"  # not raised, and the row left ``sending``
    assert _status(row) == ("pending", 1) and type(exc).__name__ in row.last_error
    db.session.refresh(row)
    assert notifications.deliver(row.id, now=row.next_attempt_at).status == "failed"
    assert _status(row) == ("failed", 2) and mailer.calls == 2


def test_a_failing_maintenance_step_does_not_stop_the_others(app, smtp, monkeypatch):
    def broken():
        raise RuntimeError("expiry is broken today")

    monkeypatch.setattr(service, "expire_holds", broken)
    good = _row("minh@example.org")
    counts = maintenance.run_once()
    assert counts["expired_holds"] == -1
    assert _status(good)[0] == "sent"


def _request(email: str) -> BookingRequest:
    exp = db.session.scalars(
        select(Experience).where(Experience.slug == "bat-trang-workshop-pottery-wheel")
    ).one()
    slot = availability.slots_for_day([exp.id], open_day(10))[exp.id][0]
    contact = {"name": "Lan", "email": email, "phone": None}
    return BookingRequest((ItemRequest(slot.id, Party(adults=2)),), contact, "en")


def test_booking_whose_mail_can_never_be_sent_still_answers_and_books_once(smtp):
    # The request parser refuses such an address; the service must survive one regardless
    # (an address the server refuses later, an old row): after the commit nothing may raise.
    view, replayed = service.create_booking(_request(CRLF_ADDRESS))
    assert view["status"] == "pending" and not replayed
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 1
    row = db.session.scalars(select(Notification).where(Notification.event == "requested")).one()
    assert (row.status, row.attempts) == ("failed", 1)


def test_booking_survives_an_adapter_that_raises(app):
    app.extensions[notifications.NOTIFIERS_KEY] = channels.Notifiers(
        Exploding(RuntimeError("bug")), channels.WebhookSender(), channels.LoggingSms()
    )
    view, _replayed = service.create_booking(_request("lan@example.org"))
    assert view["status"] == "pending"
    row = db.session.scalars(select(Notification).where(Notification.event == "requested")).one()
    assert row.status == "pending" and row.next_attempt_at is not None


def test_logging_mailer_refuses_what_the_smtp_mailer_refuses():
    with pytest.raises(channels.PermanentDeliveryError):
        channels.LoggingMailer().send(CRLF_ADDRESS, "s", "b", message_id="<1@x>")
    with pytest.raises(channels.PermanentDeliveryError):
        channels.LoggingMailer().send("a@example.org, b@example.org", "s", "b", message_id="<1@x>")
    with pytest.raises(channels.PermanentDeliveryError):
        channels.LoggingMailer().send("a@example.org", "Hi\nBcc: x@y.z", "b", message_id="<1@x>")
