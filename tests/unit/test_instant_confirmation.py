"""Instant confirmation (issue #9 item 3): a village that confirms automatically while places
are left gets confirmed bookings, not requests to answer; e-mails say so, in Hanoi time."""

from __future__ import annotations

import pytest
from demo_days import open_day
from sqlalchemy import select

from tourplanner.adapters.orm import AuditEvent, Booking, Experience, Notification, Village
from tourplanner.domain.availability import LOCAL_TZ
from tourplanner.extensions import db
from tourplanner.services import availability

CONTACT = {"name": "Lan", "email": "lan@example.org"}
DECIDE = "/village/decide?token="


def _vi(msgid: str, **values: str) -> str:
    """``msgid`` in Vietnamese, the village e-mails' language."""
    from flask_babel import force_locale, gettext

    with force_locale("vi"):
        return gettext(msgid, **values)


DAY = open_day(10)


def _experience(slug: str) -> Experience:
    return db.session.scalars(select(Experience).where(Experience.slug == slug)).one()


def _slot(slug: str, index: int = 0) -> int:
    exp = _experience(slug)
    return availability.slots_for_day([exp.id], DAY)[exp.id][index].id


@pytest.fixture
def instant_pottery(app):
    db.session.scalars(
        select(Village).where(Village.slug == "bat-trang")
    ).one().booking_email = "workshop@bat-trang.example"
    db.session.scalars(
        select(Village).where(Village.slug == "lang-chuong")
    ).one().booking_email = "hats@lang-chuong.example"
    _experience("bat-trang-workshop-pottery-wheel").instant_confirmation = True
    db.session.commit()


def _book(client, *slot_ids: int) -> dict:
    response = client.post(
        "/api/v1/bookings",
        json={
            "items": [{"slot_id": s, "party": {"adults": 2}} for s in slot_ids],
            "contact": CONTACT,
            "lang": "en",
        },
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _mail(reference: str, recipient: str) -> Notification:
    return db.session.scalars(
        select(Notification)
        .join(Booking)
        .where(Booking.reference == reference, Notification.recipient == recipient)
    ).one()


def test_an_instant_experience_is_confirmed_at_once_and_no_one_is_asked(client, instant_pottery):
    answer = _book(client, _slot("bat-trang-workshop-pottery-wheel"))
    assert answer["status"] == "confirmed"
    assert [i["status"] for i in answer["items"]] == ["confirmed"]
    village = _mail(answer["reference"], "workshop@bat-trang.example")
    # Village e-mails are in Vietnamese: no answer link, and the confirmed wording.
    assert DECIDE not in village.body and "token=" not in village.body
    first_line = _vi(
        "New booking %(ref)s from %(name)s, confirmed automatically: places were left.",
        ref=answer["reference"],
        name=CONTACT["name"],
    )
    assert village.body.startswith(first_line)
    tourist = _mail(answer["reference"], CONTACT["email"]).body
    assert f"Your booking {answer['reference']} is confirmed" in tourist
    decided = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.event == "booking_decided", AuditEvent.subject == answer["reference"]
        )
    ).one()
    assert decided.details["via"] == "instant_confirmation"


def test_with_another_village_on_request_only_that_item_waits(client, instant_pottery):
    answer = _book(
        client,
        _slot("bat-trang-workshop-pottery-wheel"),
        _slot("lang-chuong-workshop-conical-hat", 2),
    )
    states = {i["experience"]["slug"]: i["status"] for i in answer["items"]}
    assert states == {
        "bat-trang-workshop-pottery-wheel": "confirmed",
        "lang-chuong-workshop-conical-hat": "pending",
    }
    assert answer["status"] == "pending"
    hats = _mail(answer["reference"], "hats@lang-chuong.example").body
    assert DECIDE in hats
    tourist = _mail(answer["reference"], CONTACT["email"]).body
    assert "Each village will confirm or decline its part" in tourist


def test_the_village_reads_the_answer_deadline_in_hanoi_time(client, instant_pottery):
    answer = _book(client, _slot("lang-chuong-workshop-conical-hat", 2))
    item = db.session.scalars(select(Booking).where(Booking.reference == answer["reference"]))
    deadline = item.one().items[0].hold_expires_at.astimezone(LOCAL_TZ)
    body = _mail(answer["reference"], "hats@lang-chuong.example").body
    assert f"{deadline:%d/%m/%Y %H:%M} ({_vi('Hanoi time')})" in body
