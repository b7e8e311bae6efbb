"""The village back-office and the admin log: sign-in, own village only, decisions, schedules,
CSRF, the users CLI and the demo accounts."""

from __future__ import annotations

import socket
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from demo_days import open_day
from sqlalchemy import select

from tourplanner.adapters.orm import BookingItem, Experience, Slot, User
from tourplanner.extensions import db
from tourplanner.services import accounts, availability, links

CONTACT = {"name": "Lan", "email": "lan@example.org"}
DAY = open_day(15)


def _exp(slug: str) -> Experience:
    return db.session.scalars(select(Experience).where(Experience.slug == slug)).one()


def _book(client, slug: str) -> BookingItem:
    exp = _exp(slug)
    slot = availability.slots_for_day([exp.id], DAY)[exp.id][0]
    body = client.post(
        "/api/v1/bookings",
        json={"items": [{"slot_id": slot.id, "party": {"adults": 2}}], "contact": CONTACT},
    ).get_json()
    return db.session.scalars(
        select(BookingItem).where(BookingItem.booking.has(reference=body["reference"]))
    ).one()


@pytest.fixture
def staff(app):
    accounts.create_user("potter@bat-trang.example", "correct horse 1", "village", "bat-trang")
    accounts.create_user("hats@lang-chuong.example", "correct horse 2", "village", "lang-chuong")
    accounts.create_user("admin@example.org", "correct horse 3", "admin")


def _login(client, email: str, password: str):
    return client.post("/village/login", data={"email": email, "password": password})


def test_passwords_are_hashed_and_wrong_ones_refused(client, staff):
    user = db.session.scalars(select(User).where(User.email == "potter@bat-trang.example")).one()
    assert "correct horse" not in user.password_hash and user.password_hash.startswith("scrypt")
    response = _login(client, "potter@bat-trang.example", "wrong password")
    assert response.status_code == 401
    assert _login(client, "potter@bat-trang.example", "correct horse 1").status_code == 302


def test_dashboard_needs_sign_in(client):
    response = client.get("/village/")
    assert response.status_code == 302 and "/village/login" in response.headers["Location"]


def test_staff_see_and_decide_only_their_own_villages_bookings(client, staff):
    ours = _book(client, "bat-trang-workshop-pottery-wheel")
    theirs = _book(client, "lang-chuong-workshop-conical-hat")
    _login(client, "potter@bat-trang.example", "correct horse 1")
    page = client.get("/village/?lang=en").get_data(as_text=True)
    assert ours.booking.reference in page and theirs.booking.reference not in page
    denied = client.post(f"/village/items/{theirs.id}/decision", data={"action": "accept"})
    assert denied.status_code == 404
    db.session.refresh(theirs)
    assert theirs.status == "pending"
    done = client.post(
        f"/village/items/{ours.id}/decision", data={"action": "decline", "reason": "Kiln repair"}
    )
    assert done.status_code == 302
    db.session.refresh(ours)
    assert (ours.status, ours.decision_reason) == ("declined", "Kiln repair")
    again = client.post(
        f"/village/items/{ours.id}/decision", data={"action": "accept"}, follow_redirects=True
    )
    assert "declined" in again.get_data(as_text=True)


def test_staff_cannot_open_the_admin_log_but_admins_can(client, staff):
    _book(client, "bat-trang-workshop-pottery-wheel")
    _login(client, "potter@bat-trang.example", "correct horse 1")
    assert client.get("/admin/notifications").status_code == 403
    client.post("/village/logout")
    _login(client, "admin@example.org", "correct horse 3")
    page = client.get("/admin/notifications?lang=en")
    assert page.status_code == 200 and "lan@example.org" in page.get_data(as_text=True)


def test_signed_decision_link_opens_a_page_and_forged_links_are_403(client, staff):
    item = _book(client, "bat-trang-workshop-pottery-wheel")
    token = links.decision_token(item.id, item.village_id)
    assert client.get(f"/village/decide?token={token}").status_code == 200
    assert client.get(f"/village/decide?token={token}x").status_code == 403
    forged = links.decision_token(item.id, item.village_id + 1)
    assert (
        client.post("/village/decide", data={"token": forged, "action": "accept"}).status_code
        == 404
    )
    answered = client.post("/village/decide", data={"token": token, "action": "accept"})
    assert answered.status_code == 200 and 'name="action"' not in answered.get_data(as_text=True)
    db.session.refresh(item)
    assert item.status == "confirmed"


def test_staff_edit_schedule_capacity_closed_dates_and_add_extra_sessions(client, staff):
    exp = _exp("bat-trang-workshop-pottery-wheel")
    _login(client, "potter@bat-trang.example", "correct horse 1")
    assert client.get("/village/schedule").status_code == 200
    response = client.post(
        f"/village/experiences/{exp.id}/schedule",
        data={
            "mon": "08:00-10:00",
            "tue": "",
            "capacity": "6",
            "closed_dates": "2030-01-01\n2030-02-05",
            "booking_cutoff_hours": "6",
            "free_cancellation_hours": "48",
        },
    )
    assert response.status_code == 302
    db.session.refresh(exp)
    assert exp.weekly_hours == {"mon": [["08:00", "10:00"]]}
    assert (exp.capacity, exp.booking_cutoff_hours) == (6, 6)
    assert exp.closed_dates == ["2030-01-01", "2030-02-05"]
    client.post(
        f"/village/experiences/{exp.id}/slots",
        # Inside the booking horizon (sessions are offered at most 366 days ahead).
        data={"date": (DAY + timedelta(days=90)).isoformat(), "time": "19:00", "capacity": "4"},
    )
    slot = db.session.scalars(select(Slot).where(Slot.is_extra.is_(True))).one()
    assert (slot.capacity, slot.start.hour) == (4, 19)
    bad = client.post(
        f"/village/experiences/{exp.id}/schedule",
        data={
            "mon": "10:00-08:00",
            "capacity": "6",
            "booking_cutoff_hours": "6",
            "free_cancellation_hours": "48",
        },
        follow_redirects=True,
    )
    assert "Not saved" in bad.get_data(as_text=True) or "Chưa lưu" in bad.get_data(as_text=True)
    other = _exp("lang-chuong-workshop-conical-hat")
    client.post(
        f"/village/experiences/{other.id}/schedule",
        data={
            "mon": "08:00-09:00",
            "capacity": "1",
            "booking_cutoff_hours": "1",
            "free_cancellation_hours": "1",
        },
    )
    db.session.refresh(other)
    assert other.capacity != 1


def test_village_settings_give_a_webhook_secret(client, staff, monkeypatch):
    public = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 443))]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: public)
    _login(client, "potter@bat-trang.example", "correct horse 1")
    client.post(
        "/village/settings",
        data={
            "booking_email": "w@bat-trang.example",
            "webhook_url": "https://bat-trang.example/hook",
            "hold_expiry_hours": "6",
        },
    )
    village = db.session.scalars(select(User)).first().village
    db.session.refresh(village)
    assert village.webhook_url == "https://bat-trang.example/hook"
    assert village.webhook_secret and village.hold_expiry_hours == 6


def test_forms_are_csrf_protected(app, staff):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    assert _login(client, "potter@bat-trang.example", "correct horse 1").status_code == 400


def test_tourist_cancels_from_the_manage_page(client):
    exp = _exp("bat-trang-workshop-pottery-wheel")
    slot = availability.slots_for_day([exp.id], DAY)[exp.id][0]
    body = client.post(
        "/api/v1/bookings",
        json={"items": [{"slot_id": slot.id, "party": {"adults": 2}}], "contact": CONTACT},
    ).get_json()
    item = db.session.scalars(select(BookingItem)).one()
    from tourplanner.services import booking as service

    service.decide(item.id, accept=True, village_id=item.village_id)
    token = parse_qs(urlsplit(body["manage_url"]).query)["token"][0]
    page = client.get(
        f"/bookings/{item.booking.reference}?token={token}&lang=vi", follow_redirects=True
    )
    assert "Hủy đặt chỗ này" in page.get_data(as_text=True)
    done = client.post(f"/bookings/{item.booking.reference}/cancel")
    assert done.status_code == 303
    db.session.refresh(item)
    assert item.status == "cancelled"


def test_users_cli_creates_accounts_and_demo_seed_prints_credentials(runner):
    ok = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "x@bat-trang.example",
            "--password",
            "long enough pw",
            "--role",
            "village",
            "--village",
            "bat-trang",
        ]
    )
    assert ok.exit_code == 0, ok.output
    assert accounts.authenticate("x@bat-trang.example", "long enough pw") is not None
    bad = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "y@example.org",
            "--password",
            "long enough pw",
            "--role",
            "village",
            "--village",
            "nowhere",
        ]
    )
    assert bad.exit_code == 1
    seeded = runner.invoke(args=["seed", "--demo"])
    assert seeded.exit_code == 0 and "village@bat-trang.example" in seeded.output
    line = next(x for x in seeded.output.splitlines() if "admin@tourplanner.example" in x)
    password = line.split(" / ")[1].split()[0]
    assert accounts.authenticate("admin@tourplanner.example", password).is_admin
    again = runner.invoke(args=["seed", "--demo"])
    assert password not in again.output and "password unchanged" in again.output
    assert accounts.authenticate("admin@tourplanner.example", password).is_admin


def test_demo_seed_refuses_in_production_unless_forced(app, runner):
    app.config["APP_ENV"] = "production"
    refused = runner.invoke(args=["seed", "--demo"])
    assert refused.exit_code == 1 and "--force" in refused.output
    forced = runner.invoke(args=["seed", "--demo", "--force"])
    assert forced.exit_code == 0, forced.output
