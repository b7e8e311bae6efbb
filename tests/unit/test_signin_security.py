"""Sign-in and sessions under attack: forged cookies, guessing, copied cookies, open redirects,
password resets. Each test is one finding of issue #10 and fails on the code before it."""

from __future__ import annotations

import re
import time

import pytest
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select

from tourplanner.adapters.orm import AuditEvent, Notification, User
from tourplanner.extensions import db
from tourplanner.services import accounts

STAFF, STAFF_PW = "potter@bat-trang.example", "kiln glaze river 42"
ADMIN, ADMIN_PW = "admin@example.org", "lotus lantern dawn 7"
# Every signing key that was ever written in this repository, and the usual placeholders.
PUBLIC_KEYS = (
    "dev-only-insecure-secret-key",
    "change-me",
    "bench",
    "integration-tests-secret-key",
    "secret",
    "",
)


@pytest.fixture
def users(app):
    accounts.create_user(STAFF, STAFF_PW, "village", "bat-trang")
    accounts.create_user(ADMIN, ADMIN_PW, "admin")


def _login(client, email: str, password: str, **query):
    return client.post(
        "/village/login", query_string=query, data={"email": email, "password": password}
    )


def _signed_in(client) -> bool:
    return client.get("/village/account").status_code == 200


def _forged_session(key: str, app, data: dict) -> str:
    serializer = SecureCookieSessionInterface().get_signing_serializer(
        type("FakeApp", (), {"secret_key": key, "config": app.config})()
    )
    return serializer.dumps(data)


@pytest.mark.parametrize("key", PUBLIC_KEYS)
def test_session_cookies_signed_with_a_key_from_the_repository_are_refused(app, client, users, key):
    admin = db.session.scalar(select(User).where(User.email == ADMIN))
    assert app.secret_key not in PUBLIC_KEYS and len(app.secret_key) >= 32
    if not key:
        return  # an empty key cannot sign; the app never runs with one
    cookie = _forged_session(
        key, app, {"user_id": admin.id, "sv": admin.session_version, "seen": int(time.time())}
    )
    client.set_cookie("session", cookie, domain="localhost")
    response = client.get("/admin/notifications")
    assert response.status_code == 302 and "/village/login" in response.headers["Location"]


@pytest.mark.parametrize("key", [k for k in PUBLIC_KEYS if k])
def test_decision_links_signed_with_a_key_from_the_repository_are_refused(client, key):
    token = URLSafeTimedSerializer(key, salt="village-decision").dumps({"i": 1, "v": 1})
    response = client.get("/village/decide", query_string={"token": token})
    assert response.status_code == 403


def test_the_right_password_is_refused_after_too_many_wrong_ones(app, client, users):
    for _ in range(30):
        assert _login(client, STAFF, "wrong guess 123456").status_code in (401, 429)
    refused = _login(client, STAFF, STAFF_PW)
    assert refused.status_code == 429
    assert "15" in refused.get_data(as_text=True)
    assert not _signed_in(client)
    events = db.session.scalars(select(AuditEvent.event).where(AuditEvent.email == STAFF)).all()
    assert events.count("signin_failed") == 10  # SIGNIN_FAILURES_PER_ACCOUNT: 10 per 15 minutes
    assert "signin_locked" in events and "signin" not in events


def test_the_lockout_counts_failures_per_account_whatever_the_address(client, users):
    for _ in range(10):
        _login(client, STAFF, "wrong guess 123456")
    other_address = client.post(
        "/village/login",
        data={"email": STAFF, "password": STAFF_PW},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert other_address.status_code == 429


def test_one_address_guessing_many_accounts_is_locked_out(app, client, users):
    app.config["SIGNIN_FAILURES_PER_IP"] = "5 per 15 minutes"
    for n in range(5):
        _login(client, f"nobody{n}@example.org", "wrong guess 123456")
    assert _login(client, ADMIN, ADMIN_PW).status_code == 429
    app.config["RATE_LIMITS"] = False  # trusted networks: no per-IP limit
    assert _login(client, ADMIN, ADMIN_PW).status_code == 302


def test_unknown_and_known_e_mails_cost_the_same_single_hash_check(app, users, monkeypatch):
    calls: list[str] = []
    real = accounts.check_password_hash
    monkeypatch.setattr(
        accounts, "check_password_hash", lambda h, p: calls.append("check") or real(h, p)
    )
    monkeypatch.setattr(
        accounts,
        "generate_password_hash",
        lambda p: pytest.fail("no hash may be computed while signing in"),
    )
    accounts.authenticate("nobody@example.org", "whatever 123456")
    unknown = list(calls)
    calls.clear()
    accounts.authenticate(STAFF, "whatever 123456")
    assert unknown == calls == ["check"]


def test_a_copied_session_cookie_is_dead_after_sign_out(app, users):
    phone, copy = app.test_client(), app.test_client()
    assert _login(phone, STAFF, STAFF_PW).status_code == 302
    copy.set_cookie("session", phone.get_cookie("session").value, domain="localhost")
    assert _signed_in(copy)
    phone.post("/village/logout")
    assert not _signed_in(copy)
    assert not _signed_in(phone)


def test_a_password_change_ends_other_sessions_but_keeps_this_one(app, users):
    phone, laptop = app.test_client(), app.test_client()
    _login(phone, STAFF, STAFF_PW)
    _login(laptop, STAFF, STAFF_PW)
    changed = phone.post(
        "/village/account",
        data={
            "current_password": STAFF_PW,
            "password": "new river lantern 9",
            "password_again": "new river lantern 9",
        },
    )
    assert changed.status_code == 302
    assert _signed_in(phone) and not _signed_in(laptop)
    assert accounts.authenticate(STAFF, "new river lantern 9") is not None


def test_an_idle_session_expires(app, client, users):
    _login(client, STAFF, STAFF_PW)
    idle = app.config["SESSION_IDLE_MINUTES"] * 60
    with client.session_transaction() as sess:
        sess["seen"] = int(time.time()) - idle - 1
    assert not _signed_in(client)


def test_session_cookie_is_httponly_samesite_and_secure_over_https(app, client, users):
    cookie = _login(client, STAFF, STAFF_PW).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    app.config["SESSION_COOKIE_SECURE"] = True
    secure = _login(app.test_client(), STAFF, STAFF_PW).headers["Set-Cookie"]
    assert "Secure" in secure


@pytest.mark.parametrize(
    "target",
    [
        "/%09/evil.example",
        "/\t/evil.example",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "evil.example",
        "/\r\n/evil.example",
    ],
)
def test_next_after_sign_in_never_leaves_the_site(client, users, target):
    response = _login(client, STAFF, STAFF_PW, next=target)
    assert response.status_code == 302
    assert response.headers["Location"] in ("/village/", "http://localhost/village/")


def test_next_after_sign_in_keeps_a_path_on_the_site(client, users):
    response = _login(client, STAFF, STAFF_PW, next="/village/?status=pending")
    assert response.headers["Location"].endswith("/village/?status=pending")


def test_a_wrong_password_keeps_the_e_mail_and_shows_an_error(client, users):
    response = _login(client, STAFF, "wrong guess 123456", lang="vi")
    page = response.get_data(as_text=True)
    assert response.status_code == 401
    assert f'value="{STAFF}"' in page and "flash-error" in page


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short pw 1", "too_short"),
        ("123456789012", "common"),
        ("aaaaaaaaaaaaaaa", "common"),
        ("potter-is-my-name", "contains_email"),
    ],
)
def test_weak_passwords_are_refused(app, password, reason):
    with pytest.raises(accounts.ValidationError) as caught:
        accounts.create_user(STAFF, password, "village", "bat-trang")
    assert caught.value.details["reason"] == reason
    assert db.session.scalar(select(func.count()).select_from(User).where(User.email == STAFF)) == 0


def _reset_link(client, email: str) -> str:
    client.post("/village/password-reset", data={"email": email})
    row = db.session.scalars(
        select(Notification).where(
            Notification.event == "password_reset", Notification.recipient == email
        )
    ).one()
    return re.search(r"http\S+/village/password-reset/\S+", row.body).group(0)


def test_a_password_reset_link_works_once(app, client, users):
    link = _reset_link(client, STAFF)
    path = link.split("://", 1)[1].split("/", 1)[1]
    form = {"password": "fresh paddy field 3", "password_again": "fresh paddy field 3"}
    assert client.post("/" + path, data=form).status_code == 302
    assert accounts.authenticate(STAFF, "fresh paddy field 3") is not None
    assert client.get("/" + path).status_code == 403
    assert client.post("/" + path, data={**form, "password": "other"}).status_code == 403


def test_a_password_reset_link_expires_after_an_hour(app, client, users, monkeypatch):
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - 3601)
    link = _reset_link(client, STAFF)
    monkeypatch.setattr(time, "time", real)
    assert client.get("/" + link.split("://", 1)[1].split("/", 1)[1]).status_code == 403


def test_a_reset_for_an_unknown_address_answers_the_same_and_sends_nothing(client, users):
    known = client.post("/village/password-reset", data={"email": STAFF})
    unknown = client.post("/village/password-reset", data={"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True) == unknown.get_data(as_text=True)
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.event == "password_reset")
        )
        == 1
    )


def test_admins_read_and_filter_the_audit_log(app, client, users):
    _login(client, STAFF, "wrong guess 123456")
    _login(client, ADMIN, ADMIN_PW)
    page = client.get("/admin/audit", query_string={"event": "signin_failed"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and STAFF in text and "signin_failed" in text
    assert (
        ADMIN
        not in client.get("/admin/audit", query_string={"event": "signin_failed"})
        .get_data(as_text=True)
        .split("<tbody>")[1]
    )


def test_village_staff_cannot_read_the_audit_log(client, users):
    _login(client, STAFF, STAFF_PW)
    assert client.get("/admin/audit").status_code == 403
