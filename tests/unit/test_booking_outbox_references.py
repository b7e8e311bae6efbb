"""A booking request's outbox rows are written as references and rendered by the worker
(issue #14 item 2): the request makes one SELECT and four writes, the first management token
is derived from the reference so the worker can put it in the tourist's mail, no token is
stored in clear, and a reference clash is written again with another reference."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from demo_days import open_day
from sql_events import statements_and_commits
from sqlalchemy import event, select

from tourplanner.adapters.orm import Booking, BookingItem, Experience, Notification
from tourplanner.domain import booking as rules
from tourplanner.extensions import db
from tourplanner.services import availability, links, notifications
from tourplanner.services import booking as service

DAY = open_day(30)
CONTACT = {"name": "Lan", "email": "lan@example.org"}


@pytest.fixture
def held_back(monkeypatch) -> None:
    """Nothing is delivered after the commit: the rows stay as the request wrote them."""
    monkeypatch.setattr(notifications, "dispatch_after_commit", lambda rows: None)


def _slot_id() -> int:
    exp = db.session.scalars(
        select(Experience).where(Experience.slug == "bat-trang-workshop-pottery-wheel")
    ).one()
    return availability.slots_for_day([exp.id], DAY)[exp.id][0].id


def _book(client, slot_id: int | None = None) -> dict:
    response = client.post(
        "/api/v1/bookings",
        json={
            "items": [{"slot_id": slot_id or _slot_id(), "party": {"adults": 2}}],
            "contact": CONTACT,
        },
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def _rows(reference: str) -> list[Notification]:
    booking = db.session.scalars(select(Booking).where(Booking.reference == reference)).one()
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.booking_id == booking.id)
            .order_by(Notification.id)
        )
    )


def test_the_request_writes_references_and_the_worker_writes_the_mail(client, mailbox, held_back):
    body = _book(client)
    token = _token(body["manage_url"])
    rows = _rows(body["reference"])
    assert [r.event for r in rows] == ["requested", "village_requested"]
    for row in rows:  # nothing rendered, no token anywhere in the row
        assert row.subject == "" and row.body == "" and row.payload["render"] == "requested"
        assert token not in repr(row.payload) and row.status == "pending"
    assert rows[1].payload["village"] == "bat-trang"
    assert rows[1].payload["pending"] == rows[1].payload["items"] == [body["items"][0]["id"]]

    for row in rows:
        assert notifications.deliver(row.id).status == "sent"
    tourist = next(b for to, _s, b in mailbox.sent if to == CONTACT["email"])
    assert body["manage_url"] in tourist  # the worker derived the same link
    village = next(b for to, _s, b in mailbox.sent if to != CONTACT["email"])
    assert body["reference"] in village and "/village/decide?token=" in village
    db.session.expire_all()
    kept = _rows(body["reference"])
    assert body["reference"] in kept[0].subject and "Lan" in kept[0].body
    assert token not in kept[0].body and "token=[redacted]" in kept[0].body
    assert "/village/decide?token=[redacted]" in kept[1].body  # stored without the signature


def test_the_first_token_is_the_derived_one_and_only_its_hash_is_stored(app, client, held_back):
    body = _book(client)
    token = _token(body["manage_url"])
    assert token == links.first_manage_token(body["reference"])
    assert len(token) == 43  # 256 bits, URL-safe
    booking = db.session.scalars(
        select(Booking).where(Booking.reference == body["reference"])
    ).one()
    assert booking.manage_token_hash != token and token not in booking.manage_token_hash
    # Another key, another token: nobody without SECRET_KEY can compute it from the reference.
    key = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = key + "-rotated"
    try:
        assert links.first_manage_token(body["reference"]) != token
    finally:
        app.config["SECRET_KEY"] = key


def test_an_acknowledgement_written_after_a_cancellation_carries_no_dead_link(
    client, mailbox, held_back
):
    body = _book(client)
    old = _token(body["manage_url"])
    item_id = body["items"][0]["id"]
    service.decide(item_id, accept=True, village_id=db.session.get(BookingItem, item_id).village_id)
    cancelled = client.post(f"/api/v1/bookings/{body['reference']}/cancel?token={old}")
    assert cancelled.status_code == 200, cancelled.get_json()
    requested = _rows(body["reference"])[0]
    assert requested.event == "requested"
    assert notifications.deliver(requested.id).status == "sent"
    ((_to, _subject, text),) = [m for m in mailbox.sent if m[0] == CONTACT["email"]]
    assert "token=" not in text and body["reference"] in text  # no link that would answer 403


def test_a_reference_clash_is_written_again_with_another(client, monkeypatch):
    first = _book(client)
    drawn = iter([first["reference"], "TP-ZZZZZ2"])
    monkeypatch.setattr(rules, "new_reference", lambda: next(drawn))
    second = _book(client)
    assert second["reference"] == "TP-ZZZZZ2"
    assert _token(second["manage_url"]) == links.first_manage_token("TP-ZZZZZ2")
    token = _token(second["manage_url"])
    assert client.get(f"/api/v1/bookings/TP-ZZZZZ2?token={token}").status_code == 200
    held = db.session.scalars(select(Booking.reference).order_by(Booking.id)).all()
    assert held[-2:] == [first["reference"], "TP-ZZZZZ2"]


def test_a_booking_writes_with_one_select_before_its_commit(app, client, mailbox):
    slot_id = _slot_id()
    _book(client, slot_id)  # templates, caches
    statements: list[str] = []
    committed: list[int] = []

    def seen(conn, cursor, statement, *args):
        if not committed:
            statements.append(" ".join(statement.split())[:40])

    def commit(conn):
        committed.append(len(statements))

    engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    event.listen(engine, "commit", commit)
    try:
        _book(client, slot_id)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
        event.remove(engine, "commit", commit)
    kinds = [
        " ".join(s.split(" ")[0:3:2] if s.startswith("INSERT") else s.split(" ")[:2])
        for s in statements
    ]
    # The slot with its experience, village, reachability, staff and the contact's held
    # places; the booking; its item; the outbox rows (one INSERT on PostgreSQL; SQLite may
    # take a statement per row); the capacity, last.
    assert kinds[0].startswith("SELECT") and "SELECT" not in " ".join(kinds[1:]), statements
    writes = [k for n, k in enumerate(kinds[1:], 1) if k != kinds[n - 1]]
    assert writes == [
        "INSERT bookings",
        "INSERT booking_items",
        "INSERT notifications",
        "UPDATE slots",
    ], statements


def test_the_contact_limit_still_counts_from_the_slot_query(app, client):
    app.config["HOLD_PLACES_PER_CONTACT"] = 3
    slot_id = _slot_id()
    _book(client, slot_id)  # 2 places
    response = client.post(
        "/api/v1/bookings",
        json={"items": [{"slot_id": slot_id, "party": {"adults": 2}}], "contact": CONTACT},
    )
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "too_many_held_places"
    assert (error["details"]["held"], error["details"]["requested"]) == (2, 2)
    assert service.places_held_by_contact(CONTACT["email"], None, availability.now_utc()) == 2


def test_a_booking_refused_for_a_full_slot_leaves_the_session_clean(app, mailbox):
    """The booking's objects join the session without a flush; a rollback (here: the slot is
    full) must take them out again, or the next booking's rows (SQLite gives the rolled-back
    ids again) could not join the same session."""
    from datetime import datetime, time

    from tourplanner.domain.availability import LOCAL_TZ
    from tourplanner.domain.errors import Conflict
    from tourplanner.domain.pricing import Party
    from tourplanner.services.booking_request import BookingRequest, ItemRequest

    exp = db.session.scalars(
        select(Experience).where(Experience.slug == "bat-trang-workshop-pottery-wheel")
    ).one()
    start = datetime.combine(DAY + timedelta(days=1), time(7, 15), LOCAL_TZ)
    small = availability.add_extra_slot(exp.id, start, 1)

    def request(slot_id: int, email: str) -> BookingRequest:
        contact = {"name": "Lan", "email": email, "phone": None}
        return BookingRequest((ItemRequest(slot_id, Party(adults=1)),), contact, "en")

    service.create_booking(request(small.id, "a@example.org"))
    with pytest.raises(Conflict) as full:
        service.create_booking(request(small.id, "b@example.org"))
    assert full.value.code == "slot_full"
    answer, _ = service.create_booking(request(_slot_id(), "c@example.org"))
    stored = db.session.scalars(select(Booking).where(Booking.reference == answer["reference"]))
    assert stored.one().contact_email == "c@example.org"
    assert (
        db.session.scalar(select(Booking.id).where(Booking.contact_email == "b@example.org"))
        is None
    )


def test_the_core_insert_applies_the_models_defaults_like_a_flush(app):
    """A column the booking code leaves unset gets the model's default (scalar or callable),
    as a flush would give it, so the object in the session matches its row."""
    values = service._column_values(
        Booking(reference="TP-ZZZZZ3", status="pending", contact_name="Lan"), Booking.__table__
    )
    assert values["lang"] == "vi" and values["source"] == "site"
    assert values["created_at"] is not None and values["created_at"].tzinfo is not None
    assert values["manage_token_hash"] is None and "id" not in values
    item = service._column_values(BookingItem(status="pending"), BookingItem.__table__)
    assert (item["adults"], item["children"], item["seniors"]) == (0, 0, 0)


def test_a_bookings_messages_are_sent_with_one_claim_and_one_read_of_the_booking(
    client, mailbox, held_back
):
    body = _book(client)
    ids = [row.id for row in _rows(body["reference"])]
    db.session.remove()  # a worker's fresh session: nothing of the booking in it yet
    with statements_and_commits() as (ran, _commits):
        outcomes = notifications.deliver_all(ids)
    statements = [" ".join(s.split()) for s in ran]
    assert {nid: o.status for nid, o in outcomes.items()} == dict.fromkeys(ids, "sent")
    # The claim of both rows, the booking with its items, experiences and villages, then each
    # row's record right after its send.
    kinds = [" ".join(s.split(" ")[:2]) for s in statements]
    assert kinds == ["UPDATE notifications", "SELECT bookings.id,", *["UPDATE notifications"] * 2]
    assert "description_vi" not in statements[1] and "story_vi" not in statements[1]
    exp = db.session.scalars(
        select(Experience).where(Experience.slug == "bat-trang-workshop-pottery-wheel")
    ).one()
    for _to, _subject, text in mailbox.sent:  # what the templates read is there
        assert exp.title("vi") in text or exp.title("en") in text


def test_a_task_of_several_bookings_reads_them_all_in_one_statement(client, mailbox, held_back):
    """The relay hands several bookings' rows over in one task: one claim, one read."""
    references = [_book(client)["reference"] for _ in range(3)]
    ids = [row.id for reference in references for row in _rows(reference)]
    db.session.remove()
    with statements_and_commits() as (ran, _commits):
        outcomes = notifications.deliver_all(ids)
    assert {o.status for o in outcomes.values()} == {"sent"} and len(outcomes) == len(ids)
    reads = [s for s in ran if s.lstrip().startswith("SELECT bookings.id")]
    assert len(reads) == 1
    for reference in references:  # each tourist's own acknowledgement, with their reference
        assert sum(reference in subject for _to, subject, _text in mailbox.sent) >= 2
