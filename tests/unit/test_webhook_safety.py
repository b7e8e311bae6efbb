"""Webhooks go to https and public addresses only, checked when saved and again when sent, with
short timeouts, no redirects, a signature with a replay window, and never from the web request
(issue #10: a hook could point at 127.0.0.1, and a slow one made bookings take 10 s)."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from demo_days import open_day
from sqlalchemy import select

from tests.conftest import make_app
from tourplanner.adapters import notifiers as channels
from tourplanner.adapters.orm import Experience, Notification, Village
from tourplanner.domain.errors import ValidationError
from tourplanner.extensions import db
from tourplanner.services import availability, notifications

SECRET = "village-secret"


def _answer(*addresses: str):
    """A stand-in for ``socket.getaddrinfo`` answering ``addresses`` for any name."""

    def resolve(host, port, *args, **kwargs):
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    return resolve


def _bat_trang() -> Village:
    return db.session.scalars(select(Village).where(Village.slug == "bat-trang")).one()


def _save(url: str) -> Village:
    return notifications.update_village_settings(
        _bat_trang().id,
        booking_email=None,
        notify_phone=None,
        webhook_url=url,
        hold_expiry_hours=None,
    )


# --- at save time --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.0.0.5/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://0.0.0.0/hook",
        "https://224.0.0.1/hook",
        "https://100.64.0.1/hook",
    ],
)
def test_loopback_private_link_local_and_multicast_hooks_are_refused_at_save_time(app, url):
    with pytest.raises(ValidationError) as refused:
        _save(url)
    assert refused.value.details["field"] == "webhook_url"
    assert refused.value.details["reason"] == "private_address"
    db.session.rollback()
    assert _bat_trang().webhook_url is None


def test_a_name_resolving_to_a_private_address_is_refused(app, monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", _answer("93.184.215.14", "10.1.2.3"))
    with pytest.raises(ValidationError) as refused:
        _save("https://hooks.bat-trang.example/in")
    assert refused.value.details["reason"] == "private_address"


def test_a_public_https_hook_is_saved(app, monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", _answer("93.184.215.14"))
    village = _save("https://hooks.bat-trang.example/in")
    assert village.webhook_url == "https://hooks.bat-trang.example/in" and village.webhook_secret


def test_production_requires_https(app, monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", _answer("93.184.215.14"))
    app.config["APP_ENV"] = "production"
    with pytest.raises(ValidationError) as refused:
        _save("http://hooks.bat-trang.example/in")
    assert refused.value.details["reason"] == "not_https"
    app.config["APP_ENV"] = ""  # embedded: a village trying the app locally may use http
    assert _save("http://hooks.bat-trang.example/in").webhook_url.startswith("http://")


def test_allow_private_setting_admits_a_local_receiver(app):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    assert _save("http://127.0.0.1:9/hook").webhook_url == "http://127.0.0.1:9/hook"


def test_link_local_stays_refused_even_with_private_allowed():
    policy = channels.WebhookPolicy(allow_http=True, allow_private=True)
    with pytest.raises(channels.UnsafeWebhookUrl):
        channels.check_webhook_url("http://169.254.169.254/", policy)


# --- at send time --------------------------------------------------------------------------


class Receiver:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.delay = 0.0
        self.status = 204
        self.location: str | None = None


@pytest.fixture
def receiver():
    box = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            box.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            time.sleep(box.delay)
            self.send_response(box.status)
            if box.location:
                self.send_header("Location", box.location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield box
    server.shutdown()
    server.server_close()


def _private_ok() -> channels.WebhookPolicy:
    """The integration tests' policy: a receiver on 127.0.0.1 over plain http."""
    return channels.WebhookPolicy(allow_http=True, allow_private=True)


def test_sender_refuses_a_loopback_hook_and_sends_nothing(receiver):
    sender = channels.WebhookSender(timeout=1, policy=channels.WebhookPolicy(allow_http=True))
    with pytest.raises(channels.PermanentDeliveryError):
        sender.post(f"http://127.0.0.1:{receiver.port}/hook", SECRET, {"a": 1}, delivery_id="1")
    assert receiver.requests == []


def test_sender_rechecks_dns_at_send_time(receiver):
    # Saved while the name pointed at a public address; now it points at a private one.
    sender = channels.WebhookSender(
        timeout=1, policy=channels.WebhookPolicy(allow_http=True), resolve=_answer("127.0.0.1")
    )
    with pytest.raises(channels.PermanentDeliveryError):
        sender.post(f"http://hooks.example:{receiver.port}/h", SECRET, {"a": 1}, delivery_id="1")
    assert receiver.requests == []


def test_sender_connects_to_the_address_it_checked_and_signs_the_body(receiver):
    calls = []

    def resolve(host, port, *args, **kwargs):
        calls.append(host)
        return _answer("127.0.0.1")(host, port)

    sender = channels.WebhookSender(timeout=2, policy=_private_ok(), resolve=resolve)
    sender.post(f"http://hooks.example:{receiver.port}/h?v=1", SECRET, {"a": 1}, delivery_id="7")
    (hit,) = receiver.requests
    assert calls == ["hooks.example"]  # resolved once, by us; "hooks.example" exists nowhere
    assert hit["path"] == "/h?v=1" and hit["headers"]["Host"] == f"hooks.example:{receiver.port}"
    assert hit["headers"]["X-Tourplanner-Delivery"] == "7"
    header = hit["headers"]["X-Tourplanner-Signature"]
    assert channels.verify(SECRET, header, hit["body"])
    assert json.loads(hit["body"]) == {"a": 1}


def test_sender_does_not_follow_redirects(receiver):
    receiver.status, receiver.location = 302, f"http://127.0.0.1:{receiver.port}/elsewhere"
    sender = channels.WebhookSender(timeout=2, policy=_private_ok())
    with pytest.raises(channels.PermanentDeliveryError):
        sender.post(f"http://127.0.0.1:{receiver.port}/h", SECRET, {}, delivery_id="1")
    assert [r["path"] for r in receiver.requests] == ["/h"]


def test_sender_gives_up_on_a_slow_hook_after_its_timeout(receiver):
    receiver.delay = 3
    sender = channels.WebhookSender(timeout=0.3, policy=_private_ok())
    started = time.monotonic()
    with pytest.raises(channels.DeliveryError) as failed:
        sender.post(f"http://127.0.0.1:{receiver.port}/h", SECRET, {}, delivery_id="1")
    assert time.monotonic() - started < 2 and not failed.value.permanent


def test_server_errors_are_retried_client_errors_are_final(receiver):
    sender = channels.WebhookSender(timeout=2, policy=_private_ok())
    url = f"http://127.0.0.1:{receiver.port}/h"
    for status, permanent in ((503, False), (429, False), (404, True), (401, True)):
        receiver.status = status
        with pytest.raises(channels.DeliveryError) as failed:
            sender.post(url, SECRET, {}, delivery_id="1")
        assert failed.value.permanent is permanent, status


def test_timeout_comes_from_the_configuration(app):
    app.config["WEBHOOK_TIMEOUT_SECONDS"] = 2.5
    assert channels.from_config(app.config).webhook.timeout == 2.5


# --- signature and replay window -----------------------------------------------------------


def test_signature_older_or_newer_than_five_minutes_is_refused():
    body = b'{"event":"booking.requested"}'
    header = channels.sign(SECRET, body, timestamp=1_700_000_000)
    assert channels.verify(SECRET, header, body, now=1_700_000_000 + 299)
    assert not channels.verify(SECRET, header, body, now=1_700_000_000 + 301)
    assert not channels.verify(SECRET, header, body, now=1_700_000_000 - 301)
    assert not channels.verify(SECRET, None, body, now=1_700_000_000)
    assert not channels.verify(SECRET, "v1=" + "0" * 64, body, now=1_700_000_000)
    assert not channels.verify(SECRET, "t=abc,v1=xyz", body, now=1_700_000_000)


# --- never from the web request ------------------------------------------------------------


class SlowWebhook:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.posts: list[str] = []

    def post(self, url, secret, payload, *, delivery_id):
        time.sleep(self.seconds)
        self.posts.append(url)


def _book(client, days: int = 10) -> None:
    exp = db.session.scalars(
        select(Experience).where(Experience.slug == "bat-trang-workshop-pottery-wheel")
    ).one()
    day = open_day(days, workshops=("bat-trang-workshop-pottery-wheel",))
    slot = availability.slots_for_day([exp.id], day)[exp.id][0]
    response = client.post(
        "/api/v1/bookings",
        json={
            "items": [{"slot_id": slot.id, "party": {"adults": 2}}],
            "contact": {"name": "Lan", "email": "lan@example.org"},
        },
    )
    assert response.status_code == 201, response.get_json()


def test_a_slow_hook_does_not_slow_the_booking_request(app, client):
    slow = SlowWebhook(3)
    app.extensions[notifications.NOTIFIERS_KEY] = channels.Notifiers(
        channels.LoggingMailer(), slow, channels.LoggingSms()
    )
    village = _bat_trang()
    village.webhook_url, village.webhook_secret = "https://hooks.bat-trang.example/in", SECRET
    db.session.commit()
    _book(client)
    # The hook records its post only after its 3 s: had the request called it, the post would
    # be there when the request returns (no wall-clock bound: a loaded CI host is slow too).
    assert slow.posts == []
    hook = db.session.scalars(select(Notification).where(Notification.channel == "webhook")).one()
    assert hook.status == "pending"


def test_embedded_background_thread_sends_the_hook_right_away(template_db, tmp_path):
    path = tmp_path / "embedded.sqlite3"
    shutil.copy(template_db, path)
    # A long maintenance interval: only the wake-up after the commit can send it in time.
    app = make_app(path, TESTING=False, HOLD_EXPIRY_CHECK_SECONDS=600)
    hook = SlowWebhook(0)
    app.extensions[notifications.NOTIFIERS_KEY] = channels.Notifiers(
        channels.LoggingMailer(), hook, channels.LoggingSms()
    )
    try:
        with app.app_context():
            village = _bat_trang()
            village.webhook_url = "https://hooks.bat-trang.example/in"
            village.webhook_secret = SECRET
            db.session.commit()
            _book(app.test_client())
        deadline = time.monotonic() + 10
        while not hook.posts and time.monotonic() < deadline:
            time.sleep(0.05)
        assert hook.posts == ["https://hooks.bat-trang.example/in"]
    finally:
        app.extensions["maintenance_stop"].set()
        app.extensions["maintenance_wake"].set()
        with app.app_context():
            db.engine.dispose()


def test_hook_goes_to_the_villages_current_url(app, client):
    seen = SlowWebhook(0)
    app.extensions[notifications.NOTIFIERS_KEY] = channels.Notifiers(
        channels.LoggingMailer(), seen, channels.LoggingSms()
    )
    village = _bat_trang()
    village.webhook_url, village.webhook_secret = "https://old.example/in", SECRET
    db.session.commit()
    _book(client)
    village.webhook_url = None  # the village removed its hook before it went out
    db.session.commit()
    notifications.dispatch_due()
    hook = db.session.scalars(select(Notification).where(Notification.channel == "webhook")).one()
    assert seen.posts == [] and hook.status == "failed"
