"""Agency booking pages: book a package for a client, follow and replace items, reports; another
agency's booking is 404; errors stand by their field in the page's language."""

from __future__ import annotations

import csv
import io

import pytest
from demo_days import open_day
from package_fixtures import agency, install_plans, package
from sqlalchemy import func, select

from tourplanner.adapters.orm import AgencyClient, Booking, Slot, User
from tourplanner.extensions import db
from tourplanner.services import accounts, booking

FIRST = open_day(30)
ROLE = "agency_admin"


def _user(email: str, password: str, agency_id: int) -> None:
    accounts.create_user(email, password, ROLE)
    user = db.session.scalars(select(User).where(User.email == email)).one()
    user.agency_id = agency_id
    db.session.commit()


def _login(client, email: str, password: str) -> None:
    response = client.post("/village/login", data={"email": email, "password": password})
    assert response.status_code == 302


@pytest.fixture
def agencies(app, monkeypatch):
    sen, lotus = agency("Sen"), agency("Lotus")
    pkg = package(sen, FIRST)
    install_plans(monkeypatch, pkg)
    _user("lan@sen.example", "correct horse 11", sen.id)
    _user("hoa@lotus.example", "correct horse 12", lotus.id)
    return {"sen": sen, "lotus": lotus, "package": pkg}


def _form(**extra) -> dict:
    return {
        "date": FIRST.isoformat(),
        "client": "new",
        "client_name": "Mai Trần",
        "client_email": "mai@example.org",
        "client_phone": "0912 345 678",
        "adults": "2",
        "children": "1",
        "seniors": "0",
        "notes": "Vegetarian",
        **extra,
    }


def _book(client, agencies, **extra):
    return client.post(f"/agency/packages/{agencies['package'].slug}/book", data=_form(**extra))


def test_an_agency_books_its_package_for_a_new_client_and_follows_its_items(client, agencies):
    _login(client, "lan@sen.example", "correct horse 11")
    page = client.get(f"/agency/packages/{agencies['package'].slug}/book?lang=en")
    assert page.status_code == 200 and 'name="client_name"' in page.get_data(as_text=True)
    response = _book(client, agencies)
    assert response.status_code == 303, response.get_data(as_text=True)
    stored = db.session.scalars(select(Booking)).one()
    assert response.headers["Location"].endswith(f"/agency/bookings/{stored.reference}")
    assert len(stored.items) == 3 and stored.source == "agency" and stored.notes == "Vegetarian"
    client_row = db.session.get(AgencyClient, stored.client_id)
    assert (client_row.agency_id, client_row.name) == (agencies["sen"].id, "Mai Trần")
    listing = client.get("/agency/bookings?lang=en").get_data(as_text=True)
    assert stored.reference in listing and "Mai Trần" in listing
    detail = client.get(f"/agency/bookings/{stored.reference}?lang=en").get_data(as_text=True)
    assert detail.count("waiting for the village") >= 3


def test_a_form_error_stands_by_its_field_in_vietnamese_and_keeps_what_was_typed(client, agencies):
    _login(client, "lan@sen.example", "correct horse 11")
    client.get("/?lang=vi")
    response = _book(client, agencies, client_email="not-an-address", notes="Ăn chay")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="error-client_email"' in html and 'aria-invalid="true"' in html
    assert "Ăn chay" in html and 'value="Mai Trần"' in html
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0
    assert db.session.scalar(select(func.count()).select_from(AgencyClient)) == 0


def test_a_full_session_books_nothing_adds_no_client_and_the_page_names_the_item(client, agencies):
    _login(client, "lan@sen.example", "correct horse 11")
    from package_fixtures import plan_for

    from tourplanner.domain.pricing import Party

    plan = plan_for(agencies["package"], FIRST, Party(adults=2, children=1))
    full = plan.items[1].slot_id
    slot = db.session.get(Slot, full)
    slot.taken = slot.capacity
    db.session.commit()
    response = client.post(
        f"/agency/packages/{agencies['package'].slug}/book?lang=en", data=_form()
    )
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert plan.labels[full] in html and "Nothing was reserved" in html
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0
    assert db.session.scalar(select(func.count()).select_from(AgencyClient)) == 0


def test_another_agencys_package_and_booking_are_404(app, agencies):
    sen, lotus = app.test_client(), app.test_client()
    _login(sen, "lan@sen.example", "correct horse 11")
    _login(lotus, "hoa@lotus.example", "correct horse 12")
    _book(sen, agencies)
    reference = db.session.scalars(select(Booking.reference)).one()
    assert lotus.get(f"/agency/bookings/{reference}").status_code == 404
    assert lotus.get(f"/agency/packages/{agencies['package'].slug}/book").status_code == 404
    assert _book(lotus, agencies).status_code == 404
    assert reference not in lotus.get("/agency/bookings").get_data(as_text=True)
    item = db.session.scalars(select(Booking)).one().items[0]
    replace = lotus.post(
        f"/agency/bookings/{reference}/items/{item.id}/replace", data={"slot_id": "1"}
    )
    assert replace.status_code == 404


def test_a_declined_item_is_replaced_from_the_booking_page(client, agencies):
    _login(client, "lan@sen.example", "correct horse 11")
    _book(client, agencies)
    stored = db.session.scalars(select(Booking)).one()
    item = stored.items[0]
    booking.decide(item.id, accept=False, reason="Closed for a funeral", village_id=None)
    page = client.get(f"/agency/bookings/{stored.reference}?lang=en").get_data(as_text=True)
    assert "Replace it with" in page and "Closed for a funeral" in page
    from tourplanner.services import package_booking

    option = package_booking.replacement_options(agencies["sen"].id, stored.reference, item.id)[0]
    response = client.post(
        f"/agency/bookings/{stored.reference}/items/{item.id}/replace",
        data={"slot_id": str(option["id"])},
    )
    assert response.status_code == 303
    db.session.expire_all()
    stored = db.session.scalars(select(Booking)).one()
    assert len(stored.items) == 4 and option["id"] in {i.slot_id for i in stored.items}
    after = client.get(f"/agency/bookings/{stored.reference}?lang=en").get_data(as_text=True)
    assert "Replace it with" not in after


def test_reports_pages_and_csv_show_the_agencys_own_sales(app, agencies):
    sen = app.test_client()
    _login(sen, "lan@sen.example", "correct horse 11")
    _book(sen, agencies)
    page = sen.get("/agency/reports?lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "1,188,000 VND" in html and "118,800 VND" in html
    export = sen.get("/agency/reports?format=csv&by=village")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True))))
    assert rows[0][0] == "village" and len(rows) == 4  # three villages
    assert sen.get("/agency/reports?format=csv&by=nothing").status_code == 404
    assert sen.get("/admin/reports").status_code == 403
    lotus = app.test_client()
    _login(lotus, "hoa@lotus.example", "correct horse 12")
    assert "1,188,000 VND" not in lotus.get("/agency/reports?lang=en").get_data(as_text=True)


def test_the_admin_report_shows_every_agency(app, agencies):
    sen = app.test_client()
    _login(sen, "lan@sen.example", "correct horse 11")
    _book(sen, agencies)
    accounts.create_user("admin@example.org", "correct horse 13", "admin")
    admin = app.test_client()
    _login(admin, "admin@example.org", "correct horse 13")
    html = admin.get("/admin/reports?lang=en").get_data(as_text=True)
    assert "1,188,000 VND" in html and "Sen" in html
    rows = list(
        csv.reader(
            io.StringIO(admin.get("/admin/reports?format=csv&by=package").get_data(as_text=True))
        )
    )
    assert rows[0][:4] == ["package", "name_vi", "name_en", "agency"] and rows[1][3] == "Sen"
