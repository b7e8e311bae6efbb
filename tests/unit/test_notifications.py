"""The notification outbox with fake channels: claimed once, retried with backoff, kept when
the broker is down; webhook signatures; what each party is told."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from demo_days import open_day
from sqlalchemy import select

from tourplanner.adapters import notifiers as channels
from tourplanner.adapters.orm import BookingItem, Experience, Notification, Village
from tourplanner.extensions import db
from tourplanner.services import availability, notifications
from tourplanner.services import booking as service

CONTACT = {"name": "Lan", "email": "lan@example.org"}


class FakeMailer:
    def __init__(self, fail: int = 0):
        self.sent: list[tuple[str, str, str]] = []
        self.fail = fail

    def send(self, to, subject, body, *, message_id):
        if self.fail:
            self.fail -= 1
            raise channels.DeliveryError("smtp down")
        self.sent.append((to, subject, body))


class FakeWebhook:
    def __init__(self):
        self.posts: list[tuple[str, str, dict]] = []

    def post(self, url, secret, payload, *, delivery_id):
        self.posts.append((url, secret, payload))


class FakeSms:
    def __init__(self):
        self.sent: list[tuple[str, str]] = []

    def send(self, to, text):
        self.sent.append((to, text))


@pytest.fixture
def fakes(app):
    found = channels.Notifiers(FakeMailer(), FakeWebhook(), FakeSms())
    app.extensions[notifications.NOTIFIERS_KEY] = found
    return found


def _book(client, lang="en", party=None):
    exp = db.session.scalars(
        select(Experience).where(Experience.slug == "bat-trang-workshop-pottery-wheel")
    ).one()
    slot = availability.slots_for_day([exp.id], open_day(10))[exp.id][0]
    response = client.post(
        "/api/v1/bookings",
        json={
            "items": [{"slot_id": slot.id, "party": party or {"adults": 2}}],
            "contact": CONTACT,
            "lang": lang,
        },
    )
    assert response.status_code == 201
    return response.get_json()


def _tourist_row() -> Notification:
    """The tourist's acknowledgement (the village's own mail is another row)."""
    return db.session.scalars(select(Notification).where(Notification.event == "requested")).one()


def _mails_to(fakes, address: str) -> int:
    return sum(1 for to, _s, _b in fakes.mailer.sent if to == address)


def _bat_trang() -> Village:
    return db.session.scalars(select(Village).where(Village.slug == "bat-trang")).one()


def test_new_request_notifies_village_by_mail_webhook_and_sms_and_tourist(client, fakes):
    village = _bat_trang()
    village.booking_email = "workshop@bat-trang.example"
    village.webhook_url = "https://bat-trang.example/hook"
    village.notify_phone = "+84 24 0000 0000"
    db.session.commit()
    body = _book(client)
    recipients = sorted(to for to, _s, _b in fakes.mailer.sent)
    assert recipients == ["lan@example.org", "workshop@bat-trang.example"]
    village_mail = next(b for to, _s, b in fakes.mailer.sent if to.endswith("bat-trang.example"))
    assert body["reference"] in village_mail and "/village/decide?token=" in village_mail
    assert fakes.webhook.posts == []  # webhooks leave from a worker, never from the request
    assert notifications.dispatch_due() == 1
    ((url, secret, payload),) = fakes.webhook.posts
    assert url == "https://bat-trang.example/hook" and secret == _bat_trang().webhook_secret
    assert payload["event"] == "booking.requested" and payload["reference"] == body["reference"]
    assert payload["items"][0]["decide_url"]
    assert fakes.sms.sent and fakes.sms.sent[0][0] == "+84 24 0000 0000"


def test_tourist_mail_speaks_the_booking_language(client, fakes):
    _book(client, lang="vi")
    (_to, subject, text) = next(m for m in fakes.mailer.sent if m[0] == CONTACT["email"])
    assert subject.startswith("Đã nhận yêu cầu đặt chỗ")
    assert "Xin chào" in text


def test_decision_tells_the_tourist(client, fakes):
    body = _book(client)
    item = db.session.scalars(select(BookingItem)).one()
    service.decide(item.id, accept=False, reason="Kiln repair", village_id=item.village_id)
    to, subject, text = fakes.mailer.sent[-1]
    assert to == CONTACT["email"] and "declined" in subject and "Kiln repair" in text
    assert body["reference"] in subject


def test_a_row_is_delivered_once_even_when_delivered_twice(client, fakes):
    _book(client)
    row = _tourist_row()
    assert row.status == "sent"
    assert notifications.deliver(row.id).status == "skipped"
    assert _mails_to(fakes, CONTACT["email"]) == 1


def test_failed_sends_back_off_exponentially_then_fail(client, app, fakes):
    app.config["NOTIFY_MAX_ATTEMPTS"] = 3
    app.config["NOTIFY_RETRY_BASE_SECONDS"] = 10
    fakes.mailer.fail = 5
    _book(client)
    row = _tourist_row()
    assert (row.status, row.attempts) == ("pending", 1)
    first = row.next_attempt_at
    assert notifications.deliver(row.id).status == "skipped"  # not due yet
    second = notifications.deliver(row.id, now=first)
    assert second == notifications.Outcome("retry", 20.0)
    db.session.refresh(row)
    assert notifications.deliver(row.id, now=row.next_attempt_at).status == "failed"
    db.session.refresh(row)
    assert (row.status, row.attempts) == ("failed", 3) and "smtp down" in row.last_error
    assert fakes.mailer.sent == []


def test_rows_stay_pending_when_the_broker_is_down_and_go_out_later(client, app, fakes):
    celery = app.extensions["celery"]
    celery.conf.task_always_eager = False
    celery.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens there
    try:
        body = _book(client)
    finally:
        celery.conf.task_always_eager = True
    assert body["status"] == "pending"
    row = _tourist_row()
    assert (row.status, row.queued_at, fakes.mailer.sent) == ("pending", None, [])
    assert notifications.dispatch_due() == 2  # the tourist's mail and the village's
    assert _mails_to(fakes, CONTACT["email"]) == 1
    assert notifications.dispatch_due() == 0


@pytest.mark.parametrize(
    ("mode", "eager", "uri", "expected"),
    [
        ("auto", False, "postgresql+psycopg://db/tp", True),
        ("auto", False, "sqlite:///tp.sqlite3", False),  # no NOTIFY: the request hands over
        ("direct", False, "postgresql+psycopg://db/tp", False),
        ("listen", True, "postgresql+psycopg://db/tp", False),  # eager: delivered in-process
    ],
)
def test_new_rows_wait_for_the_relay_only_with_workers_and_a_database_that_notifies(
    app, monkeypatch, mode, eager, uri, expected
):
    monkeypatch.setitem(app.config, "OUTBOX_RELAY", mode)
    monkeypatch.setitem(app.config, "SQLALCHEMY_DATABASE_URI", uri)
    monkeypatch.setitem(app.extensions["celery"].conf, "task_always_eager", eager)
    assert notifications.relayed() is expected


def test_stuck_sending_rows_are_handed_over_again(client, fakes):
    _book(client)
    row = _tourist_row()
    row.status, row.claimed_at = "sending", row.created_at - timedelta(hours=1)
    db.session.commit()
    assert notifications.dispatch_due() == 1
    assert _mails_to(fakes, CONTACT["email"]) == 2  # at-least-once after a crash mid-send


def test_webhook_signature_is_hmac_sha256_over_timestamp_and_body():
    header = channels.sign("s3cret", b'{"a":1}', timestamp=1700000000)
    timestamp, mac = header.split(",")
    assert timestamp == "t=1700000000" and mac.startswith("v1=") and len(mac) == 67
    assert channels.verify("s3cret", header, b'{"a":1}', now=1700000000)
    assert not channels.verify("other", header, b'{"a":1}', now=1700000000)
    assert not channels.verify("s3cret", header, b'{"a":2}', now=1700000000)
    moved = header.replace("t=1700000000", "t=1700000001")
    assert not channels.verify("s3cret", moved, b'{"a":1}', now=1700000000)


def test_delivery_log_lists_rows(client, fakes):
    _book(client)
    assert [(n.event, n.status) for n in notifications.delivery_log()] == [
        ("village_requested", "sent"),
        ("requested", "sent"),
    ]
    assert notifications.delivery_log("failed") == []


@pytest.mark.parametrize(
    "lang,party,money",
    [("en", "2 adults, 1 child", "VND"), ("vi", "2 người lớn, 1 trẻ em", "₫")],
)
def test_the_mails_write_the_party_and_money_as_their_language_does(
    client, fakes, lang, party, money
):
    answer = _book(client, lang, {"adults": 2, "children": 1})
    text = next(b for to, _s, b in fakes.mailer.sent if to == CONTACT["email"])
    line = next(line for line in text.splitlines() if party in line)
    total = answer["total_vnd"]
    written = f"{total:,}".replace(",", "." if lang == "vi" else ",")
    assert f"{written} {money}" in line and not re.search(r"(^|\s)0 ", line)  # no "0 seniors"
