"""Agencies and their people (issue #11, item 1): accounts and roles, the one sign-in page,
hashed API keys, suspension, clients, and each agency kept to its own rows."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from flask import g, jsonify
from sqlalchemy import inspect, select, text

from tourplanner.adapters.orm import Agency, ApiKey, AuditEvent, User
from tourplanner.api.auth import api_key_required
from tourplanner.domain.errors import NotFound
from tourplanner.extensions import db
from tourplanner.services import accounts, agencies
from tourplanner.services.availability import now_utc

VILLAGE, ADMIN = "potter@bat-trang.example", "city@example.org"
PASSWORD = "kiln glaze river 42"


@pytest.fixture
def people(app):
    """Two agencies (their first admins' passwords), a village user and an admin."""
    accounts.create_user(VILLAGE, PASSWORD, "village", "bat-trang")
    accounts.create_user(ADMIN, PASSWORD, "admin")
    first = agencies.create_agency("Hanoi Trails", "boss@trails.example", licence_number="01-1")
    second = agencies.create_agency("Red River Tours", "boss@redriver.example")
    return {"first": first, "second": second}


@pytest.fixture
def whoami(app):
    """A route guarded by api_key_required that answers with the key's context."""

    @api_key_required
    def view():
        key = g.api_key
        return jsonify(agency_id=key.agency_id, key_id=key.key_id, test_mode=key.test_mode)

    app.add_url_rule("/api/v1/_whoami", "whoami", view)
    return "/api/v1/_whoami"


def _login(client, email: str, password: str, path: str = "/login"):
    return client.post(path, data={"email": email, "password": password})


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _staff(agency_id: int) -> dict:
    return agencies.add_user(agency_id, "guide@trails.example", "agency_staff")


# --- CLI -----------------------------------------------------------------------------------


def test_cli_creates_an_agency_and_the_api_key_on_its_last_line_works(app, runner, client, whoami):
    created = runner.invoke(
        args=[
            "agencies",
            "create",
            "Hà Nội Trails",
            "--email",
            "Boss@Trails.example",
            "--licence",
            "01-123/TCDL",
            "--commission",
            "7.5",
        ]
    )
    assert created.exit_code == 0, created.output
    agency = db.session.scalars(select(Agency).where(Agency.slug == "ha-noi-trails")).one()
    assert (agency.commission_bp, agency.licence_number) == (750, "01-123/TCDL")
    password = created.output.splitlines()[-1].split(" / ")[1].split()[0]
    assert _login(client, "boss@trails.example", password).headers["Location"].endswith("/agency/")

    issued = runner.invoke(args=["agencies", "api-key", "ha-noi-trails", "--label", "booking app"])
    assert issued.exit_code == 0, issued.output
    key = issued.output.strip().splitlines()[-1]
    answer = client.get(whoami, headers=_bearer(key))
    assert answer.status_code == 200
    assert answer.get_json()["agency_id"] == agency.id
    assert answer.get_json()["test_mode"] is False


def test_cli_refuses_a_bad_commission_and_an_unknown_agency(app, runner):
    bad = runner.invoke(
        args=["agencies", "create", "X", "--email", "x@x.example", "--commission", "150"]
    )
    assert bad.exit_code == 1 and "between 0 and 100" in bad.output
    assert db.session.scalar(select(Agency.id).where(Agency.slug == "x")) is None
    assert runner.invoke(args=["agencies", "api-key", "no-such-agency"]).exit_code == 1


def test_cli_creates_agency_staff_accounts_for_an_agency(app, runner, people, client):
    slug = people["first"]["slug"]
    done = runner.invoke(
        args=[
            *("users", "create", "--email", "desk@trails.example", "--password", PASSWORD),
            *("--role", "agency_staff", "--agency", slug),
        ]
    )
    assert done.exit_code == 0, done.output
    user = db.session.scalars(select(User).where(User.email == "desk@trails.example")).one()
    assert (user.role, user.agency_id) == ("agency_staff", people["first"]["id"])
    assert _login(client, "desk@trails.example", PASSWORD).headers["Location"].endswith("/agency/")
    missing = runner.invoke(
        args=[
            *("users", "create", "--email", "x@trails.example", "--password", PASSWORD),
            *("--role", "agency_admin"),
        ]
    )
    assert missing.exit_code == 1 and "--agency" in missing.output


def test_cli_suspends_and_reactivates_an_agency(app, runner, people):
    slug = people["first"]["slug"]
    assert runner.invoke(args=["agencies", "suspend", slug]).output.strip().endswith("suspended")
    assert not agencies.get_agency(people["first"]["id"])["active"]
    assert runner.invoke(args=["agencies", "reactivate", slug]).exit_code == 0
    assert agencies.get_agency(people["first"]["id"])["active"]


# --- API keys ------------------------------------------------------------------------------


def test_api_keys_are_stored_only_as_hashes_and_shown_once(app, client, people):
    first = people["first"]
    _login(client, first["admin_email"], first["password"])
    page = client.post("/agency/keys", data={"label": "booking app"})
    assert page.status_code == 201 and page.headers["Cache-Control"] == "no-store"
    row = db.session.scalars(select(ApiKey).where(ApiKey.agency_id == first["id"])).one()
    raw = page.get_data(as_text=True).split('<pre id="new-key"><code>')[1].split("</code>")[0]
    assert raw.startswith("tp_live_") and len(raw) > 40
    assert row.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert row.prefix == raw[: agencies.PREFIX_CHARS]
    # Nowhere in the database: no table, no column, no audit detail holds the key.
    with db.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for values in connection.execute(text(f'SELECT * FROM "{table}"')):
                assert raw not in repr(tuple(values)), table
    # Shown once: the list afterwards has the prefix only.
    listed = client.get("/agency/keys").get_data(as_text=True)
    assert raw not in listed and row.prefix in listed and "booking app" in listed


def test_a_revoked_key_is_401_at_once(app, client, people, whoami):
    first = people["first"]
    key_id, raw = agencies.create_api_key(first["id"], "old integration")
    assert client.get(whoami, headers=_bearer(raw)).status_code == 200
    _login(client, first["admin_email"], first["password"])
    assert client.post(f"/agency/keys/{key_id}/revoke").status_code == 302
    refused = client.get(whoami, headers=_bearer(raw))
    assert refused.status_code == 401
    assert refused.get_json()["error"]["code"] == "unauthorized"
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header", [None, "Bearer", "Bearer tp_live_not-a-key", "Basic dXNlcjpwYXNz", "tp_live_x"]
)
def test_no_or_an_unknown_key_is_401_with_a_bearer_challenge(client, people, whoami, header):
    headers = {"Authorization": header} if header else {}
    refused = client.get(whoami, headers=headers)
    assert refused.status_code == 401
    assert refused.get_json()["error"]["code"] == "unauthorized"
    assert "Bearer" in refused.headers["WWW-Authenticate"]


def test_a_bad_key_on_the_booking_api_is_401_never_a_public_booking(client, people):
    refused = client.post("/api/v1/bookings", json={}, headers=_bearer("tp_live_forged"))
    assert refused.status_code == 401
    assert "Bearer" in refused.headers["WWW-Authenticate"]


def test_last_used_is_written_at_most_once_per_resolution(app, people):
    key_id, raw = agencies.create_api_key(people["first"]["id"], "app", test_mode=True)
    start = now_utc()
    for seconds in (0, 10, 60):
        context = agencies.authenticate_api_key(raw, now=start + timedelta(seconds=seconds))
        assert context == agencies.ApiKeyContext(people["first"]["id"], key_id, True)
    later = start + agencies.LAST_USED_RESOLUTION + timedelta(seconds=1)
    agencies.authenticate_api_key(raw, now=later)
    db.session.expire_all()
    assert db.session.get(ApiKey, key_id).last_used_at == later
    uses = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "api_key_used")).all()
    assert len(uses) == 2


def test_agency_staff_cannot_create_or_revoke_keys(app, client, people):
    first = people["first"]
    staff = _staff(first["id"])
    key_id, _raw = agencies.create_api_key(first["id"], "app")
    _login(client, staff["email"], staff["password"])
    assert client.get("/agency/keys").status_code == 200
    assert client.post("/agency/keys", data={"label": "mine"}).status_code == 403
    assert client.post(f"/agency/keys/{key_id}/revoke").status_code == 403
    assert client.get("/agency/users").status_code == 403
    assert len(agencies.list_api_keys(first["id"])) == 1
    assert agencies.list_api_keys(first["id"])[0]["revoked_at"] is None


# --- suspension ----------------------------------------------------------------------------


def test_a_suspended_agency_is_shut_out_of_pages_sign_in_and_the_api(app, people, whoami):
    first = people["first"]
    _key_id, raw = agencies.create_api_key(first["id"], "app")
    agency_user, admin = app.test_client(), app.test_client()
    assert _login(agency_user, first["admin_email"], first["password"]).status_code == 302
    assert agency_user.get("/agency/").status_code == 200
    _login(admin, ADMIN, PASSWORD)
    assert admin.post(f"/admin/agencies/{first['id']}/suspend").status_code == 302

    assert agency_user.get("/agency/").status_code == 302  # the open session has ended
    refused = _login(agency_user, first["admin_email"], first["password"])
    assert refused.status_code == 403 and "flash-error" in refused.get_data(as_text=True)
    assert agency_user.get("/agency/").status_code == 302
    api = agency_user.get(whoami, headers=_bearer(raw))
    assert api.status_code == 403 and api.get_json()["error"]["code"] == "agency_suspended"
    # The other agency is untouched.
    second = people["second"]
    assert _login(app.test_client(), second["admin_email"], second["password"]).status_code == 302

    admin.post(f"/admin/agencies/{first['id']}/reactivate")
    assert _login(agency_user, first["admin_email"], first["password"]).status_code == 302
    assert agency_user.get(whoami, headers=_bearer(raw)).status_code == 200


def test_an_agency_admin_suspends_staff_and_their_sessions_end(app, people):
    first = people["first"]
    staff = _staff(first["id"])
    boss, guide = app.test_client(), app.test_client()
    _login(boss, first["admin_email"], first["password"])
    _login(guide, staff["email"], staff["password"])
    assert guide.get("/agency/clients").status_code == 200
    assert boss.post(f"/agency/users/{staff['id']}/suspend").status_code == 302
    assert guide.get("/agency/clients").status_code == 302
    assert _login(guide, staff["email"], staff["password"]).status_code == 401


def test_an_agency_admin_adds_staff_who_can_sign_in(app, client, people):
    first = people["first"]
    _login(client, first["admin_email"], first["password"])
    page = client.post(
        "/agency/users", data={"email": "desk@trails.example", "role": "agency_staff"}
    )
    assert page.status_code == 201 and page.headers["Cache-Control"] == "no-store"
    password = page.get_data(as_text=True).split('<pre id="new-password"><code>')[1].split("<")[0]
    signed = _login(app.test_client(), "desk@trails.example", password)
    assert signed.headers["Location"].endswith("/agency/")
    user = db.session.scalars(select(User).where(User.email == "desk@trails.example")).one()
    assert (user.role, user.agency_id) == ("agency_staff", first["id"])


def test_an_e_mail_with_an_account_is_never_taken_over(app, client, people):
    first = people["first"]
    _login(client, first["admin_email"], first["password"])
    page = client.post("/agency/users", data={"email": ADMIN, "role": "agency_admin"})
    assert page.status_code == 400
    assert db.session.scalars(select(User).where(User.email == ADMIN)).one().role == "admin"


# --- one sign-in page ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/login", "/village/login"])
def test_one_sign_in_page_lands_each_role_in_its_own_space(app, people, path):
    first = people["first"]
    for email, password, home in (
        (VILLAGE, PASSWORD, "/village/"),
        (first["admin_email"], first["password"], "/agency/"),
        (ADMIN, PASSWORD, "/admin/"),
    ):
        client = app.test_client()
        landed = _login(client, email, password, path)
        assert landed.status_code == 302 and landed.headers["Location"].endswith(home), email
        assert client.get(home, follow_redirects=True).status_code == 200


def test_agency_pages_send_anonymous_visitors_to_the_one_sign_in_page(client):
    answer = client.get("/agency/clients")
    assert answer.status_code == 302 and "/login?next=/agency/clients" in answer.headers["Location"]


# --- each to its own space -----------------------------------------------------------------


def test_an_agency_user_gets_403_on_village_and_admin_pages(app, client, people):
    first = people["first"]
    _login(client, first["admin_email"], first["password"])
    for path in ("/village/", "/village/products", "/admin/agencies", "/admin/audit"):
        assert client.get(path).status_code == 403, path
    assert client.post(f"/admin/agencies/{people['second']['id']}/suspend").status_code == 403
    assert agencies.get_agency(people["second"]["id"])["active"]


@pytest.mark.parametrize("who", [VILLAGE, ADMIN])
def test_village_staff_and_admins_get_403_on_agency_pages(app, client, people, who):
    _login(client, who, PASSWORD)
    for path in ("/agency/", "/agency/clients", "/agency/keys", "/agency/users"):
        assert client.get(path).status_code == 403, path
    assert client.post("/agency/keys", data={"label": "x"}).status_code == 403


def test_an_agency_never_reaches_another_agencys_clients_keys_or_people(app, client, people):
    first, second = people["first"], people["second"]
    theirs = agencies.create_client(second["id"], "Ms Lan", "lan@example.org", None, None)
    their_key, _raw = agencies.create_api_key(second["id"], "theirs")
    their_user = db.session.scalars(select(User).where(User.agency_id == second["id"])).one()
    with pytest.raises(NotFound):
        agencies.get_client(first["id"], theirs)
    assert agencies.get_client(second["id"], theirs)["name"] == "Ms Lan"

    _login(client, first["admin_email"], first["password"])
    assert "Ms Lan" not in client.get("/agency/clients").get_data(as_text=True)
    assert client.post(f"/agency/keys/{their_key}/revoke").status_code == 404
    assert client.post(f"/agency/users/{their_user.id}/suspend").status_code == 404
    assert agencies.list_api_keys(second["id"])[0]["revoked_at"] is None
    assert db.session.get(User, their_user.id).active


def test_each_kind_of_row_is_shown_with_its_columns_in_order_and_never_a_secret(app, people):
    first = people["first"]
    assert list(first) == [
        *("id", "slug", "name", "licence_number", "contact_email", "contact_phone"),
        *("commission_bp", "active", "is_sample", "created_at", "admin_email", "password"),
    ]
    assert list(agencies.get_agency(first["id"])) == list(first)[:-2]
    assert agencies.list_agencies()[0]["users"] == 1
    staff = _staff(first["id"])
    assert list(staff) == ["id", "email", "role", "active", "created_at", "password"]
    users = agencies.list_users(first["id"])
    assert [u["email"] for u in users] == ["boss@trails.example", "guide@trails.example"]
    assert all(list(u) == list(staff)[:-1] for u in users)
    for name in ("Ms Binh", "mr Vu", "Ms An"):
        agencies.create_client(first["id"], name)
    clients = agencies.list_clients(first["id"])
    assert [c["name"] for c in clients] == ["mr Vu", "Ms An", "Ms Binh"]  # by name, any case
    assert list(clients[0]) == ["id", "name", "email", "phone", "notes", "created_at"]
    old, _raw = agencies.create_api_key(first["id"], "old")
    new, _raw = agencies.create_api_key(first["id"], "new")
    agencies.revoke_api_key(first["id"], new)
    keys = agencies.list_api_keys(first["id"])
    assert [k["id"] for k in keys] == [old, new]  # live keys first
    assert list(keys[0]) == [
        *("id", "label", "prefix", "test_mode", "created_at", "last_used_at", "revoked_at"),
    ]
    for missing in (
        lambda: agencies.get_client(people["second"]["id"], clients[0]["id"]),
        lambda: agencies.revoke_api_key(people["second"]["id"], old),
        lambda: agencies.suspend_user(people["second"]["id"], staff["id"]),
    ):
        with pytest.raises(NotFound):
            missing()


def test_each_agency_change_is_an_audit_event_naming_who_what_and_the_agency(app, people):
    agency = people["first"]["id"]
    boss = db.session.scalar(select(User.id).where(User.email == ADMIN))
    staff = _staff(agency)
    agencies.suspend_user(agency, staff["id"], by=boss)
    client_id = agencies.create_client(agency, "Ms Lan", by=boss)
    key_id, _raw = agencies.create_api_key(agency, "shop", test_mode=True, by=boss)
    prefix = agencies.list_api_keys(agency)[0]["prefix"]
    agencies.revoke_api_key(agency, key_id, by=boss)
    agencies.suspend_agency(agency, by=boss)
    agencies.reactivate_agency(agency, by=boss)
    rows = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
    events = [e for e in rows if (e.details or {}).get("agency_id") == agency]
    assert [(e.event, e.user_id, e.email, e.subject, e.details) for e in events] == [
        (
            "agency_created",
            None,
            None,
            "hanoi-trails",
            {"agency_id": agency, "commission_bp": 1000},
        ),
        ("user_suspended", boss, staff["email"], str(staff["id"]), {"agency_id": agency}),
        ("agency_client_created", boss, None, str(client_id), {"agency_id": agency}),
        (
            "api_key_created",
            boss,
            None,
            prefix,
            {"agency_id": agency, "key_id": key_id, "test_mode": True},
        ),
        ("api_key_revoked", boss, None, prefix, {"agency_id": agency, "key_id": key_id}),
        ("agency_suspended", boss, None, "hanoi-trails", {"agency_id": agency}),
        ("agency_reactivated", boss, None, "hanoi-trails", {"agency_id": agency}),
    ]


# --- clients -------------------------------------------------------------------------------


def test_clients_are_added_and_a_bad_field_keeps_what_was_typed(app, client, people):
    first = people["first"]
    _login(client, first["admin_email"], first["password"])
    bad = client.post(
        "/agency/clients?lang=vi",
        data={"name": "Đoàn Nguyễn", "email": "not an address", "phone": "0901", "notes": "VIP"},
    )
    page = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert 'value="Đoàn Nguyễn"' in page and 'value="not an address"' in page and "VIP" in page
    assert 'id="email-error"' in page
    assert agencies.list_clients(first["id"]) == []
    done = client.post("/agency/clients", data={"name": "Đoàn Nguyễn", "email": "doan@example.org"})
    assert done.status_code == 302
    assert [c["name"] for c in agencies.list_clients(first["id"])] == ["Đoàn Nguyễn"]


# --- admin pages and demo data -------------------------------------------------------------


def test_admins_create_an_agency_in_the_pages(app, client, people):
    _login(client, ADMIN, PASSWORD)
    assert "Hanoi Trails" in client.get("/admin/agencies").get_data(as_text=True)
    refused = client.post(
        "/admin/agencies", data={"name": "Lotus", "email": "lotus@example.org", "commission": "x"}
    )
    assert refused.status_code == 400 and 'id="commission-error"' in refused.get_data(as_text=True)
    assert 'value="Lotus"' in refused.get_data(as_text=True)
    created = client.post(
        "/admin/agencies",
        data={"name": "Lotus", "email": "lotus@example.org", "commission": "12.5"},
    )
    assert created.status_code == 201
    assert agencies.get_agency_by_slug("lotus")["commission_bp"] == 1250
    taken = client.post("/admin/agencies", data={"name": "Lotus", "email": "lotus2@example.org"})
    assert taken.status_code == 400 and 'id="slug-error"' in taken.get_data(as_text=True)


def test_the_demo_agency_is_a_sample_with_a_random_password_once(app, client):
    seeded = agencies.seed_demo_agency()
    assert seeded["is_sample"] and seeded["name"] == "Sample agency"
    assert len(seeded["password"]) >= accounts.MIN_PASSWORD
    assert _login(client, seeded["admin_email"], seeded["password"]).status_code == 302
    again = agencies.seed_demo_agency()
    assert again["id"] == seeded["id"] and again["password"] is None
