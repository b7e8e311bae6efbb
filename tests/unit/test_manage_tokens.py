"""Links with tokens: booking-manage tokens are random, stored hashed, replaced on cancellation
and expire after the visit; decision links die once answered; tokens stay out of the address
bar, Referer and access logs; decisions and cancellations are audited (issue #10)."""

from __future__ import annotations

import hashlib
import runpy
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from demo_days import open_day
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from tourplanner.adapters.orm import AuditEvent, Booking, BookingItem, Experience
from tourplanner.domain.errors import Forbidden
from tourplanner.extensions import db
from tourplanner.services import availability, links
from tourplanner.services import booking as service

ROOT = Path(__file__).resolve().parents[2]
DAY = open_day(30)
CONTACT = {"name": "Lan", "email": "lan@example.org"}
#: The signing key written in config.py before it was removed (still in the git history).
OLD_REPOSITORY_KEY = "dev-only-insecure-secret-key"


def _book(client) -> tuple[dict, str]:
    exp = db.session.scalars(
        select(Experience).where(Experience.slug == "bat-trang-workshop-pottery-wheel")
    ).one()
    slot = availability.slots_for_day([exp.id], DAY)[exp.id][0]
    response = client.post(
        "/api/v1/bookings",
        json={"items": [{"slot_id": slot.id, "party": {"adults": 2}}], "contact": CONTACT},
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    return body, _token(body["manage_url"])


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def _item(reference: str) -> BookingItem:
    return db.session.scalars(
        select(BookingItem).where(BookingItem.booking.has(reference=reference))
    ).one()


def _confirmed(client) -> tuple[dict, str, BookingItem]:
    body, token = _book(client)
    item = _item(body["reference"])
    service.decide(item.id, accept=True, village_id=item.village_id)
    return body, token, item


# --- stored hashed, random -----------------------------------------------------------------


def test_only_the_hash_of_the_token_is_stored(client):
    _, token = _book(client)
    stored = db.session.scalars(select(Booking)).one()
    assert stored.manage_token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr([getattr(stored, c.key) for c in Booking.__table__.columns])
    assert len(token) >= 40  # 32 random bytes


@pytest.mark.parametrize("key", ["app", OLD_REPOSITORY_KEY])
def test_links_signed_the_old_way_are_refused(client, app, key):
    body, _token = _book(client)
    secret = app.config["SECRET_KEY"] if key == "app" else key
    forged = URLSafeTimedSerializer(secret, salt="booking-manage").dumps({"r": body["reference"]})
    response = client.get(f"/api/v1/bookings/{body['reference']}?token={forged}")
    assert response.status_code == 403
    assert client.get(f"/bookings/{body['reference']}?token={forged}").status_code == 403


def test_unknown_reference_answers_like_a_wrong_token(client):
    _body, token = _book(client)
    response = client.get(f"/api/v1/bookings/TP-000000?token={token}")
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "invalid_token"


def test_a_get_with_the_token_answers_with_the_same_links(client):
    body, token = _book(client)
    again = client.get(f"/api/v1/bookings/{body['reference']}?token={token}").get_json()
    assert _token(again["manage_url"]) == token and _token(again["cancel_url"]) == token


# --- rotated on cancellation ---------------------------------------------------------------


def test_cancelling_replaces_the_token_and_mails_the_new_link(client, mailbox):
    body, old, _ = _confirmed(client)
    ref = body["reference"]
    cancelled = client.post(f"/api/v1/bookings/{ref}/cancel?token={old}")
    assert cancelled.status_code == 200
    new = _token(cancelled.get_json()["manage_url"])
    assert new != old
    assert client.get(f"/api/v1/bookings/{ref}?token={old}").status_code == 403
    assert client.get(f"/api/v1/bookings/{ref}?token={new}").status_code == 200
    (text,) = [b for to, _s, b in mailbox.sent if to == CONTACT["email"] and f"token={new}" in b]
    assert old not in text and ref in text


def test_later_mails_carry_no_token_the_first_one_does(client, mailbox):
    body, token, _ = _confirmed(client)
    tourist = [b for to, _s, b in mailbox.sent if to == CONTACT["email"]]
    first, confirmation = tourist[0], tourist[-1]
    assert len(tourist) == 2
    assert f"token={token}" in first
    assert "token=" not in confirmation and body["reference"] in confirmation


# --- expiry --------------------------------------------------------------------------------


def test_token_expires_thirty_days_after_the_last_session(client, app):
    body, token = _book(client)
    end = _item(body["reference"]).end
    days = app.config["MANAGE_LINK_DAYS_AFTER_VISIT"]
    assert days == 30
    ref = body["reference"]
    service.get_for_tourist(ref, token, now=end + timedelta(days=days) - timedelta(seconds=1))
    with pytest.raises(Forbidden) as expired:
        service.get_for_tourist(ref, token, now=end + timedelta(days=days, seconds=1))
    assert expired.value.code == "link_expired"


# --- out of the address bar, history, Referer and access logs ------------------------------


def test_manage_page_keeps_the_token_in_the_session_and_redirects_to_the_clean_url(app, client):
    body, token = _book(client)
    ref = body["reference"]
    first = client.get(f"/bookings/{ref}?token={token}&lang=en")
    assert first.status_code == 303
    assert first.headers["Location"] == f"/bookings/{ref}?lang=en"
    assert first.headers["Referrer-Policy"] == "no-referrer"
    page = client.get(first.headers["Location"])
    assert page.status_code == 200 and ref in page.get_data(as_text=True)
    assert token not in page.get_data(as_text=True)  # not in a form field nor a link
    stranger = app.test_client()
    assert stranger.get(f"/bookings/{ref}").status_code == 403
    assert client.get(f"/bookings/{ref}?token=wrong").status_code == 403


def test_cancelling_on_the_page_keeps_the_new_token_in_the_session(client):
    body, token, item = _confirmed(client)
    ref = body["reference"]
    client.get(f"/bookings/{ref}?token={token}")
    done = client.post(f"/bookings/{ref}/cancel")
    assert done.status_code == 303 and "token" not in done.headers["Location"]
    db.session.refresh(item)
    assert item.status == "cancelled"
    assert client.get(f"/bookings/{ref}").status_code == 200  # the new token, remembered
    assert client.get(f"/api/v1/bookings/{ref}?token={token}").status_code == 403


def _access_line(logger_class, uri: str, referer: str) -> dict:
    path, _q, query = uri.partition("?")
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": uri,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": referer,
    }
    request = SimpleNamespace(headers=[("REFERER", referer)])
    response = SimpleNamespace(status="303 See Other", sent=0, headers=[("Location", uri)])
    logger = logger_class.__new__(logger_class)  # atoms() needs no configuration
    return logger.atoms(response, request, environ, timedelta(milliseconds=3))


def test_gunicorn_access_log_redacts_tokens():
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    uri = "/bookings/TP-7K3Q9M?token=s3cr3t-t0ken&lang=en"
    atoms = _access_line(config["logger_class"], uri, f"https://site.example{uri}")
    assert not [name for name, value in atoms.items() if "s3cr3t-t0ken" in str(value)]
    assert atoms["r"] == "GET /bookings/TP-7K3Q9M?token=[redacted]&lang=en HTTP/1.1"
    assert atoms["q"] == "token=[redacted]&lang=en"
    nested = config["redact"]("/village/login?next=%2Fvillage%2Fdecide%3Ftoken%3Dabc.def")
    assert "abc.def" not in nested


def test_development_server_log_redacts_tokens(client, caplog, monkeypatch):
    import logging

    _, token = _book(client)
    werkzeug = logging.getLogger("werkzeug")
    monkeypatch.setattr(werkzeug, "disabled", False)  # Alembic's fileConfig in the test set-up
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        # What the development server logs for each request (werkzeug.serving).
        werkzeug.info(
            '%s - - [%s] "%s" %s -', "127.0.0.1", "now", f"GET /bookings/x?token={token}", 303
        )
    (line,) = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert token not in line and "token=[redacted]" in line


# --- decision links ------------------------------------------------------------------------


def test_decision_link_dies_once_the_item_is_answered(client):
    body, _ = _book(client)
    item = _item(body["reference"])
    token = links.decision_token(item.id, item.village_id)
    assert client.get(f"/village/decide?token={token}").status_code == 200
    service.decide(item.id, accept=True, village_id=item.village_id)
    assert client.get(f"/village/decide?token={token}").status_code == 403
    with pytest.raises(Forbidden) as used:
        links.check_decision_token(token)
    assert used.value.code == "link_used"


# --- audit ---------------------------------------------------------------------------------


def _events(name: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event == name)))


def test_decisions_are_audited_with_who_decided(client):
    body, _ = _book(client)
    item = _item(body["reference"])
    token = links.decision_token(item.id, item.village_id)
    assert client.post("/village/decide", data={"token": token, "action": "accept"}).status_code
    (event,) = _events("booking_decided")
    assert event.subject == body["reference"] and event.user_id is None
    assert event.details["decision"] == "accept" and event.details["via"] == "decision_link"
    assert event.details["item_id"] == item.id


def test_a_staff_decision_names_the_user(client):
    from tourplanner.services import accounts

    user = accounts.create_user(
        "potter@bat-trang.example", "correct horse 1", "village", "bat-trang"
    )
    body, _ = _book(client)
    item = _item(body["reference"])
    service.decide(
        item.id, accept=False, reason="Kiln repair", village_id=item.village_id, user_id=user.id
    )
    (event,) = _events("booking_decided")
    assert event.user_id == user.id and event.details["decision"] == "decline"
    assert event.details["via"] == "user"


def test_cancellation_is_audited_in_the_same_transaction(client):
    body, token, item = _confirmed(client)
    client.post(f"/api/v1/bookings/{body['reference']}/cancel?token={token}")
    (event,) = _events("booking_cancelled")
    assert event.subject == body["reference"] and event.email == CONTACT["email"]
    assert event.details["item_ids"] == [item.id] and event.details["via"] == "tourist"


def test_a_refused_cancellation_leaves_no_audit_event(client):
    body, token = _book(client)  # pending: cannot be cancelled
    assert client.post(f"/api/v1/bookings/{body['reference']}/cancel?token={token}").status_code
    assert _events("booking_cancelled") == []
