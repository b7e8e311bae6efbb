"""The village schedule editor: time-range pickers and typed times, closed dates, every error
at once next to its field with what was typed kept, the 14-day preview, instant confirmation,
and schedule changes that would remove booked sessions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from demo_days import open_day
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from tourplanner.adapters.orm import BookingItem, Experience, Notification
from tourplanner.domain.catalogue import WEEKDAYS
from tourplanner.extensions import db
from tourplanner.services import accounts, availability
from tourplanner.services import booking as service

DAY = open_day(15)
POTTERY = "bat-trang-workshop-pottery-wheel"
SETTINGS = {"capacity": "8", "booking_cutoff_hours": "12", "free_cancellation_hours": "24"}


def _exp(slug: str = POTTERY) -> Experience:
    return db.session.scalars(select(Experience).where(Experience.slug == slug)).one()


@pytest.fixture
def staff(app):
    accounts.create_user("potter@bat-trang.example", "correct horse 1", "village", "bat-trang")


def _login(client):
    data = {"email": "potter@bat-trang.example", "password": "correct horse 1"}
    assert client.post("/login", data=data).status_code == 302


def _week(**days) -> MultiDict:
    """A posted form: every weekday 08:00-11:30 unless given (a list of (start, end))."""
    form = MultiDict(SETTINGS)
    for d in WEEKDAYS:
        for start, end in days.get(d, [("08:00", "11:30")]):
            form.add(f"{d}_start", start)
            form.add(f"{d}_end", end)
    return form


def _book(client, *, n: int = 0, day: date = DAY) -> BookingItem:
    exp = _exp()
    slot = availability.slots_for_day([exp.id], day)[exp.id][n]
    body = client.post(
        "/api/v1/bookings",
        json={
            "items": [{"slot_id": slot.id, "party": {"adults": 2, "children": 1}}],
            "contact": {"name": "Lan", "email": "lan@example.org"},
            "lang": "en",
        },
    ).get_json()
    return db.session.scalars(
        select(BookingItem).where(BookingItem.booking.has(reference=body["reference"]))
    ).one()


# --- typed input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("8h", "08:00"), ("8h30", "08:30"), ("11h30", "11:30"), ("8:05", "08:05"),
     ("08.30", "08:30"), ("0830", "08:30"), ("17", "17:00"), ("13 giờ 30", "13:30")],
)  # fmt: skip
def test_times_are_understood_as_staff_write_them(typed, expected):
    assert availability.parse_time_text(typed) == expected


@pytest.mark.parametrize("typed", ["8h61", "24:00", "8 am", "", "8h5", "noon"])
def test_what_is_not_a_time_is_refused(typed):
    with pytest.raises(ValueError, match="bad_time"):
        availability.parse_time_text(typed)


def test_a_range_like_8h_11h30_is_understood():
    assert availability.parse_range_text("8h-11h30") == ("08:00", "11:30")
    assert availability.parse_range_text("13h30 – 17h") == ("13:30", "17:00")
    with pytest.raises(ValueError, match="bad_range"):
        availability.parse_range_text("8h")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("25/12/2026", date(2026, 12, 25)), ("2026-12-25", date(2026, 12, 25)),
     ("5.1.2027", date(2027, 1, 5)), ("05-01-2027", date(2027, 1, 5))],
)  # fmt: skip
def test_dates_are_read_day_first(typed, expected):
    assert availability.parse_date_text(typed) == expected


@pytest.mark.parametrize("typed", ["31/02/2026", "12/25", "25/12/26", "Christmas"])
def test_what_is_not_a_date_is_refused(typed):
    with pytest.raises(ValueError, match="bad_date"):
        availability.parse_date_text(typed)


def test_the_form_collects_every_error_at_once_and_keeps_what_was_typed():
    form = _week(mon=[("8h61", "11:30")], tue=[("10:00", "09:00")], wed=[("08:00", "")])
    form.add("thu_start", "09:00")
    form.add("thu_end", "10:00")  # overlaps 08:00-11:30
    form.add("closed_date", "31/02/2026")
    form["capacity"] = "lots"
    parsed = availability.parse_schedule_form(form)
    assert {name: e.code for name, e in parsed.errors.items()} == {
        "mon_0": "bad_time",
        "tue_0": "end_before_start",
        "wed_0": "missing_end",
        "thu_1": "overlap",
        "closed_0": "bad_date",
        "capacity": "not_a_number",
    }
    assert parsed.ranges["mon"] == [("8h61", "11:30")]
    assert parsed.closed == ["31/02/2026"] and parsed.numbers["capacity"] == "lots"


# --- the page --------------------------------------------------------------------------------


def test_typed_8h_11h30_and_25_12_2026_are_saved(client, staff):
    exp = _exp()
    _login(client)
    form = _week(sat=[("8h-11h30", "")], sun=[])
    form.add("sun", "8h-10h, 13h30-15h")  # a typed line of ranges, as without pickers
    form.add("closed_date", "25/12/2026")
    form.add("closed_date", "")  # an empty spare field is skipped
    response = client.post(f"/village/experiences/{exp.id}/schedule", data=form)
    assert response.status_code == 302
    db.session.refresh(exp)
    assert exp.weekly_hours["sat"] == [["08:00", "11:30"]]
    assert exp.weekly_hours["sun"] == [["08:00", "10:00"], ["13:30", "15:00"]]
    assert exp.closed_dates == ["2026-12-25"] and exp.capacity == 8


def test_errors_stand_next_to_their_fields_all_at_once_and_nothing_is_saved(client, staff):
    exp = _exp()
    before = dict(exp.weekly_hours)
    _login(client)
    form = _week(mon=[("8h61", "11:30")])
    form.add("closed_date", "31/02/2026")
    form["capacity"] = "lots"
    response = client.post(f"/village/experiences/{exp.id}/schedule?lang=en", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="error-{exp.id}-mon_0"' in page and "“8h61” is not a time" in page
    assert f'id="error-{exp.id}-closed_0"' in page and "“31/02/2026” is not a date" in page
    assert f'id="error-{exp.id}-capacity"' in page and "“lots” is not a whole number" in page
    # What was typed is kept, in text fields (a time or date picker would drop it).
    assert 'type="text" name="mon_start" value="8h61"' in page
    assert 'type="text" name="closed_date" value="31/02/2026"' in page
    assert 'value="lots"' in page
    db.session.refresh(exp)
    assert exp.weekly_hours == before and exp.capacity != 8


def test_the_editor_has_pickers_spare_rows_without_javascript_and_a_14_day_preview(client, staff):
    exp = _exp()
    exp.weekly_hours = {d: [["08:00", "11:30"]] for d in WEEKDAYS if d != "sun"}
    exp.closed_dates = []  # only the spare date rows are left
    db.session.commit()
    _login(client)
    page = client.get("/village/schedule?lang=en").get_data(as_text=True)
    section = page[page.index(f'id="experience-{exp.id}"') :]
    form = section[: section.index("</form>")]
    assert form.count('type="time" name="sun_start"') == availability.SPARE_ROWS
    assert form.count('type="time" name="mon_start"') == availability.SPARE_ROWS
    assert form.count('type="date" name="closed_date"') == availability.SPARE_ROWS
    assert "js/schedule.js" in page and "<script>" not in page
    preview = section[section.index('class="preview-days"') :]
    preview = preview[: preview.index("</ul>")]
    assert preview.count("<li>") == 14 and "08:00" in preview and "09:30" in preview


def test_preview_shows_the_typed_schedule_without_saving_it(client, staff):
    exp = _exp()
    _login(client)
    form = _week(**{d: [("14:00", "15:30")] for d in WEEKDAYS})
    form["preview"] = "1"
    page = client.post(f"/village/experiences/{exp.id}/schedule?lang=en", data=form)
    text = page.get_data(as_text=True)
    preview = text[text.index('class="preview-days"') :]
    assert page.status_code == 200 and "14:00" in preview[: preview.index("</ul>")]
    db.session.refresh(exp)
    assert exp.weekly_hours["mon"] != [["14:00", "15:30"]]


def test_the_instant_confirmation_switch_is_saved(client, staff):
    exp = _exp()
    _login(client)
    form = _week()
    form["instant_confirmation"] = "1"
    client.post(f"/village/experiences/{exp.id}/schedule", data=form)
    db.session.refresh(exp)
    assert exp.instant_confirmation is True
    client.post(f"/village/experiences/{exp.id}/schedule", data=_week())
    db.session.refresh(exp)
    assert exp.instant_confirmation is False


# --- booked sessions -------------------------------------------------------------------------


def _without(day: date) -> MultiDict:
    """Every day 08:00-11:30 and 13:30-17:30, but ``day``'s weekday only 08:00-09:30."""
    whole = [("08:00", "11:30"), ("13:30", "17:30")]
    days = {d: whole for d in WEEKDAYS}
    days[WEEKDAYS[day.weekday()]] = [("08:00", "09:30")]
    return _week(**days)


def test_removing_a_booked_session_is_refused_naming_the_booking(client, staff):
    exp = _exp()
    item = _book(client, n=2)  # 13:30 on DAY
    service.decide(item.id, accept=True, village_id=item.village_id)
    before = dict(exp.weekly_hours)
    _login(client)
    response = client.post(f"/village/experiences/{exp.id}/schedule?lang=en", data=_without(DAY))
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    refusal = page[page.index("booked-sessions") :]
    refusal = refusal[: refusal.index("</div>")]
    assert item.booking.reference in refusal
    assert f"{DAY:%d/%m/%Y}, 13:30–15:00" in refusal and "2 adults, 1 child" in refusal
    db.session.refresh(exp)
    db.session.refresh(item)
    assert exp.weekly_hours == before and item.status == "confirmed"


def test_a_change_that_keeps_the_booked_session_is_saved(client, staff):
    exp = _exp()
    _book(client, n=0)  # 08:00 on DAY: kept by 08:00-09:30
    _login(client)
    response = client.post(f"/village/experiences/{exp.id}/schedule", data=_without(DAY))
    assert response.status_code == 302
    db.session.refresh(exp)
    assert exp.weekly_hours[WEEKDAYS[DAY.weekday()]] == [["08:00", "09:30"]]


def test_a_closed_date_on_a_booked_day_is_refused_too(client, staff):
    exp = _exp()
    item = _book(client, n=0)
    _login(client)
    form = _week(**{d: [("08:00", "11:30"), ("13:30", "17:30")] for d in WEEKDAYS})
    form.add("closed_date", DAY.strftime("%d/%m/%Y"))
    response = client.post(f"/village/experiences/{exp.id}/schedule?lang=en", data=form)
    assert response.status_code == 409 and item.booking.reference in response.get_data(as_text=True)
    db.session.refresh(exp)
    assert DAY.isoformat() not in exp.closed_dates


def test_with_confirmation_a_pending_booking_is_declined_and_its_tourist_told(client, staff):
    exp = _exp()
    item = _book(client, n=2)
    told_before = db.session.scalar(
        select(db.func.count(Notification.id)).where(Notification.booking_id == item.booking_id)
    )
    _login(client)
    form = _without(DAY)
    form["cancel_booked"] = "1"
    response = client.post(f"/village/experiences/{exp.id}/schedule?lang=vi", data=form)
    assert response.status_code == 302
    db.session.refresh(item)
    assert item.status == "declined"
    assert item.decision_reason.startswith("The village changed its schedule")  # tourist's lang
    mails = db.session.scalars(
        select(Notification).where(
            Notification.booking_id == item.booking_id, Notification.event == "declined"
        )
    ).all()
    assert len(mails) == 1 and mails[0].recipient == "lan@example.org"
    assert (
        db.session.scalar(
            select(db.func.count(Notification.id)).where(Notification.booking_id == item.booking_id)
        )
        == told_before + 1
    )
    db.session.refresh(exp)
    assert exp.weekly_hours[WEEKDAYS[DAY.weekday()]] == [["08:00", "09:30"]]


def test_with_confirmation_a_confirmed_booking_is_cancelled_and_its_tourist_told(client, staff):
    exp = _exp()
    item = _book(client, n=2)
    service.decide(item.id, accept=True, village_id=item.village_id)
    _login(client)
    form = _without(DAY)
    form["cancel_booked"] = "1"
    response = client.post(f"/village/experiences/{exp.id}/schedule", data=form)
    assert response.status_code == 302
    db.session.refresh(item)
    assert item.status == "cancelled" and item.cancellation_fee_vnd == 0
    told = db.session.scalars(
        select(Notification).where(
            Notification.booking_id == item.booking_id,
            Notification.event == "cancelled",
            Notification.recipient == "lan@example.org",
        )
    ).one()
    assert "The village changed its schedule" in told.body  # the tourist's language
    db.session.refresh(exp)
    assert exp.weekly_hours[WEEKDAYS[DAY.weekday()]] == [["08:00", "09:30"]]


def test_the_service_refuses_without_confirmation_and_names_the_items(app, client):
    exp = _exp()
    item = _book(client, n=2)
    with pytest.raises(availability.SessionsBooked) as refused:
        availability.update_schedule(
            exp.id,
            exp.village_id,
            weekly_hours={d: [["08:00", "09:30"]] for d in WEEKDAYS},
            capacity=8,
            closed_dates=[],
            booking_cutoff_hours=12,
            free_cancellation_hours=24,
        )
    assert [b.reference for b in refused.value.items] == [item.booking.reference]
    assert refused.value.items[0].status == "pending"


def test_an_extra_session_takes_a_typed_date_and_time(client, staff):
    exp = _exp()
    _login(client)
    when = DAY + timedelta(days=30)
    client.post(
        f"/village/experiences/{exp.id}/slots",
        data={"date": when.strftime("%d/%m/%Y"), "time": "19h", "capacity": "4"},
    )
    slots = availability.slots_for_day([exp.id], when)[exp.id]
    assert any(s.start.hour == 19 and s.capacity == 4 for s in slots)
