"""Reachable villages only (#9 item 1, Must show): an experience whose village has no working
channel (a staff account with an e-mail, a booking e-mail, an SMS number or a webhook) is
offered neither by availability nor by the planner, and is listed for admins; a request whose
village channels all fail after their retries reaches an admin and the tourist.

The shared fixtures, like ``flask seed --demo``, give each demo village a sample booking
e-mail; these tests take channels away or add them.
"""

from __future__ import annotations

import pytest
from demo_days import open_day
from sqlalchemy import select

from tourplanner.adapters import notifiers as channels
from tourplanner.adapters.orm import Experience, Notification, User, Village
from tourplanner.extensions import db
from tourplanner.services import accounts, availability, notifications

SILK = "van-phuc-workshop-silk-weaving"
POTTERY = "bat-trang-workshop-pottery-wheel"
DAY = open_day(12, workshops=(SILK, POTTERY))  # Vạn Phúc's silk weaving has no Monday session


def _exp(slug: str) -> Experience:
    return db.session.scalars(select(Experience).where(Experience.slug == slug)).one()


class Refusing:
    """A mail server that delivers to the tourist (Lan) and refuses every village address."""

    def send(self, to, subject, body, *, message_id):
        if to != "lan@example.org":
            raise channels.PermanentDeliveryError("mailbox does not exist")


def _book(client, slot_id: int, lang: str = "en"):
    """Lan books two adults in ``slot_id`` through the API."""
    return client.post(
        "/api/v1/bookings",
        json={
            "items": [{"slot_id": slot_id, "party": {"adults": 2}}],
            "contact": {"name": "Lan", "email": "lan@example.org"},
            "lang": lang,
        },
    )


def _village(slug: str) -> Village:
    return db.session.scalars(select(Village).where(Village.slug == slug)).one()


@pytest.fixture
def bat_trang_reachable(app):
    """Bát Tràng is reached through a staff account only; Vạn Phúc has no channel at all (the
    shared fixtures give every demo village a sample booking e-mail: taken away here)."""
    for slug in ("bat-trang", "van-phuc"):
        _village(slug).booking_email = None
    db.session.commit()
    accounts.create_user("potter@bat-trang.example", "correct horse 1", "village", "bat-trang")
    van_phuc = _village("van-phuc")
    assert not (van_phuc.booking_email or van_phuc.notify_phone or van_phuc.webhook_url)


def test_availability_offers_no_session_of_a_village_nobody_can_reach(client, bat_trang_reachable):
    silk, pottery = _exp(SILK), _exp(POTTERY)
    offered = availability.slots_for_day([silk.id, pottery.id], DAY)
    assert offered.get(silk.id, []) == [] and offered[pottery.id]
    answer = client.get(f"/api/v1/experiences/{silk.id}/availability?from={DAY}&to={DAY}")
    assert answer.get_json()["slots"] == []


def test_the_planner_never_offers_a_workshop_of_a_village_nobody_can_reach(
    client, bat_trang_reachable
):
    plan = client.post(
        "/api/v1/plans",
        json={
            "start": {"landmark": "hoan-kiem-lake"},
            "date": DAY.isoformat(),
            "party": {"adults": 2},
            "interests": {"silk_textiles": 1.0},
            "must_include": [SILK],
            "lang": "en",
        },
    ).get_json()
    workshops = {s["experience_slug"] for it in plan["itineraries"] for s in it["stops"]}
    assert SILK not in workshops
    assert plan["reason"]["code"] == "must_include_unavailable"


def test_admins_see_the_villages_that_publish_experiences_but_cannot_be_reached(
    client, bat_trang_reachable
):
    accounts.create_user("city@example.org", "correct horse 2", "admin")
    client.post("/login", data={"email": "city@example.org", "password": "correct horse 2"})
    page = client.get("/admin/notifications?lang=en").get_data(as_text=True)
    listed = page[page.index('id="unreachable-villages"') :]
    assert "Van Phuc" in listed[: listed.index("</section>")]
    assert "Bat Trang" not in listed[: listed.index("</section>")]


def test_a_request_whose_village_channels_all_fail_reaches_an_admin_and_the_tourist(
    app, client, bat_trang_reachable
):
    app.extensions[notifications.NOTIFIERS_KEY] = channels.Notifiers(Refusing(), None, None)
    accounts.create_user("city@example.org", "correct horse 2", "admin")
    pottery = _exp(POTTERY)
    slot = availability.slots_for_day([pottery.id], DAY)[pottery.id][0]
    body = _book(client, slot.id).get_json()
    notifications.dispatch_due()
    told = db.session.scalars(
        select(Notification).where(Notification.booking.has(reference=body["reference"]))
    ).all()
    assert any(n.recipient == "city@example.org" for n in told)  # an admin is alerted
    assert any(
        n.recipient == "lan@example.org" and n.event not in ("requested",) for n in told
    )  # the tourist is told, not left to a silent expiry
    tourist = next(n for n in told if n.event == "village_unreachable")
    assert tourist.status == "sent" and body["reference"] in tourist.subject
    assert "could not reach Bat Trang" in tourist.body  # in the booking's language
    (alert,) = [n for n in told if n.recipient == "city@example.org"]
    assert "potter@bat-trang.example" in alert.body  # the failed channel, for the admin
    notifications.dispatch_due()  # told once, however often the outbox is swept
    assert len(db.session.scalars(select(Notification)).all()) == len(told)
    accounts.create_user("town@example.org", "correct horse 3", "admin")
    client.post("/login", data={"email": "town@example.org", "password": "correct horse 3"})
    log = client.get("/admin/notifications?lang=en").get_data(as_text=True)
    assert "admin_village_unreachable" in log and body["reference"] in log


def test_a_direct_booking_of_a_session_of_a_village_nobody_can_reach_is_a_409(
    client, bat_trang_reachable
):
    silk = _exp(SILK)
    van_phuc = _village("van-phuc")
    van_phuc.booking_email = "silk@van-phuc.example"  # reachable while the session is made
    db.session.commit()
    slot = availability.slots_for_day([silk.id], DAY)[silk.id][0]
    van_phuc.booking_email = None
    db.session.commit()
    answer = _book(client, slot.id)
    assert answer.status_code == 409
    error = answer.get_json()["error"]
    assert error["code"] == "village_unreachable"
    assert error["details"] == {"slot_id": slot.id, "village": "van-phuc"}
    assert db.session.scalars(select(Notification)).all() == []


def test_a_village_that_sets_a_channel_is_offered_at_once(client, bat_trang_reachable):
    silk = _exp(SILK)
    assert availability.slots_for_day([silk.id], DAY).get(silk.id, []) == []
    _village("van-phuc").notify_phone = "+84 24 0000 0001"
    db.session.commit()
    assert availability.slots_for_day([silk.id], DAY)[silk.id]


def test_an_inactive_staff_account_reaches_nobody(client, bat_trang_reachable):
    pottery = _exp(POTTERY)
    staff = db.session.scalars(select(User).where(User.email == "potter@bat-trang.example")).one()
    staff.active = False
    db.session.commit()
    assert availability.slots_for_day([pottery.id], DAY).get(pottery.id, []) == []


def test_the_admins_list_speaks_vietnamese(client, bat_trang_reachable):
    accounts.create_user("city@example.org", "correct horse 2", "admin")
    client.post("/login", data={"email": "city@example.org", "password": "correct horse 2"})
    page = client.get("/admin/notifications?lang=vi").get_data(as_text=True)
    listed = page[page.index('id="unreachable-villages"') :]
    listed = listed[: listed.index("</section>")]
    assert "Vạn Phúc" in listed and "/admin/catalogue/villages/van-phuc" in listed


def test_no_alert_while_another_channel_of_the_village_still_works(
    app, client, bat_trang_reachable
):
    class Sms:
        def __init__(self):
            self.sent = []

        def send(self, to, text):
            self.sent.append(to)

    sms = Sms()
    app.extensions[notifications.NOTIFIERS_KEY] = channels.Notifiers(Refusing(), None, sms)
    _village("bat-trang").notify_phone = "+84 24 0000 0002"
    db.session.commit()
    accounts.create_user("city@example.org", "correct horse 2", "admin")
    pottery = _exp(POTTERY)
    slot = availability.slots_for_day([pottery.id], DAY)[pottery.id][0]
    _book(client, slot.id)
    notifications.dispatch_due()
    assert sms.sent == ["+84 24 0000 0002"]
    events = {n.event for n in db.session.scalars(select(Notification))}
    assert events == {"requested", "village_requested"}  # the SMS reached the village


def test_an_instantly_confirmed_part_nobody_heard_of_alerts_the_admins_only(
    app, client, bat_trang_reachable
):
    app.extensions[notifications.NOTIFIERS_KEY] = channels.Notifiers(Refusing(), None, None)
    accounts.create_user("city@example.org", "correct horse 2", "admin")
    pottery = _exp(POTTERY)
    pottery.instant_confirmation = True
    db.session.commit()
    slot = availability.slots_for_day([pottery.id], DAY)[pottery.id][0]
    body = _book(client, slot.id).get_json()
    assert body["items"][0]["status"] == "confirmed"
    events = sorted(n.event for n in db.session.scalars(select(Notification)))
    # The tourist's booking stands (no "could not reach" mail); the admins make sure the
    # village learns of it.
    assert events == ["admin_village_unreachable", "requested", "village_requested"]


def test_the_tourist_is_told_in_vietnamese_when_they_booked_in_vietnamese(
    app, client, bat_trang_reachable
):
    app.extensions[notifications.NOTIFIERS_KEY] = channels.Notifiers(Refusing(), None, None)
    pottery = _exp(POTTERY)
    slot = availability.slots_for_day([pottery.id], DAY)[pottery.id][0]
    _book(client, slot.id, lang="vi")
    told = db.session.scalars(
        select(Notification).where(Notification.event == "village_unreachable")
    ).one()
    assert "chưa đến được" in told.subject and "Bát Tràng" in told.body


def test_a_village_request_stuck_in_sending_past_its_attempts_is_reported_too(
    app, client, bat_trang_reachable
):
    """A worker killed on a row's last try leaves it in ``sending``; the sweep that gives it
    up for good reports it like a delivery that failed."""
    from datetime import UTC, datetime

    from sqlalchemy import update

    class Busy:
        def send(self, to, subject, body, *, message_id):
            if to != "lan@example.org":
                raise channels.DeliveryError("try again later")

    accounts.create_user("city@example.org", "correct horse 2", "admin")
    pottery = _exp(POTTERY)
    slot = availability.slots_for_day([pottery.id], DAY)[pottery.id][0]
    app.extensions[notifications.NOTIFIERS_KEY] = channels.Notifiers(Busy(), None, None)
    body = _book(client, slot.id).get_json()
    village_row = db.session.scalars(
        select(Notification).where(
            Notification.booking.has(reference=body["reference"]),
            Notification.recipient == "potter@bat-trang.example",
        )
    ).one()
    db.session.execute(
        update(Notification)
        .where(Notification.id == village_row.id)
        .values(
            status="sending",
            attempts=app.config.get("NOTIFY_MAX_ATTEMPTS", 6),
            claimed_at=datetime(2020, 1, 1, tzinfo=UTC),
        )
    )
    db.session.commit()  # as a worker killed on its last try leaves it
    notifications.dispatch_due()
    db.session.expire_all()
    assert db.session.get(Notification, village_row.id).status == "failed"
    told = db.session.scalars(
        select(Notification).where(Notification.booking.has(reference=body["reference"]))
    ).all()
    assert any(n.recipient == "city@example.org" for n in told)
    assert any(n.event == "village_unreachable" for n in told)
