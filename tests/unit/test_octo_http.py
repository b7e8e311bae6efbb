"""The HTTP side of /octo (tourplanner/octo/): no session CSRF, bounded bodies, OCTO's error
shape for every refusal (never HTML), 405 with Allow, the audit of refused calls."""

from __future__ import annotations

import pytest
from demo_days import open_day
from sqlalchemy import select

from tourplanner.adapters.orm import AuditEvent
from tourplanner.extensions import db
from tourplanner.services import agencies, octo


@pytest.fixture
def key(app) -> str:
    app.config["WTF_CSRF_ENABLED"] = True  # as in production: /octo is exempt
    octo.seed_demo()
    agency = agencies.get_agency_by_slug("sample-agency")
    return agencies.create_api_key(agency["id"], "http")[1]


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _hold(client, key: str) -> dict:
    """A reservation (ON_HOLD) of one adult in a pottery session six days ahead."""
    product = "bat-trang-workshop-pottery-wheel"
    day = open_day(6).isoformat()
    found = client.post(
        "/octo/availability",
        headers=_auth(key),
        json={"productId": product, "optionId": "DEFAULT", "localDate": day},
    ).get_json()
    return client.post(
        "/octo/bookings",
        headers=_auth(key),
        json={
            "productId": product,
            "optionId": "DEFAULT",
            "availabilityId": found[0]["id"],
            "unitItems": [{"unitId": "adult"}],
        },
    ).get_json()


def test_posts_need_no_csrf_token(client, key):
    response = client.post(
        "/octo/availability",
        headers=_auth(key),
        json={"productId": "nope", "optionId": "DEFAULT", "localDate": "2030-01-01"},
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "INVALID_PRODUCT_ID"


def test_a_body_that_is_not_json_or_too_large_is_a_bad_request(client, key, app):
    plain = client.post("/octo/bookings", headers=_auth(key), data="{}", content_type="text/plain")
    assert plain.get_json()["error"] == "BAD_REQUEST"
    limit = app.config["MAX_CONTENT_LENGTH"]
    huge = client.post(
        "/octo/bookings",
        headers=_auth(key),
        data="x" * (limit + 1),
        content_type="application/json",
    )
    assert (huge.status_code, huge.get_json()["error"]) == (400, "BAD_REQUEST")
    deep = client.post(
        "/octo/bookings",
        headers=_auth(key),
        data="[" * 100 + "]" * 100,
        content_type="application/json",
    )
    assert deep.get_json()["error"] == "BAD_REQUEST"


def test_a_nul_in_the_query_is_a_bad_request(client, key):
    response = client.get("/octo/bookings?resellerReference=%00", headers=_auth(key))
    assert (response.status_code, response.get_json()["error"]) == (400, "BAD_REQUEST")


def test_a_wrong_method_is_405_with_allow_and_an_unknown_path_404(client, key):
    wrong = client.delete("/octo/supplier", headers=_auth(key))
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "GET"
    assert wrong.get_json()["error"] == "BAD_REQUEST"
    missing = client.get("/octo/nothing/here", headers=_auth(key))
    assert (missing.status_code, missing.get_json()["error"]) == (404, "NOT_FOUND")
    assert missing.headers["Content-Type"].startswith("application/json")


def test_extend_and_cancel_take_an_empty_body(client, key):
    held = _hold(client, key)
    for action, status in (("extend", "ON_HOLD"), ("cancel", "CANCELLED")):
        response = client.post(f"/octo/bookings/{held['uuid']}/{action}", headers=_auth(key))
        assert (response.status_code, response.get_json()["status"]) == (200, status), action


def test_days_beyond_the_booking_horizon_are_closed(client, key):
    far = client.post(
        "/octo/availability/calendar",
        headers=_auth(key),
        json={
            "productId": "bat-trang-workshop-pottery-wheel",
            "optionId": "DEFAULT",
            "localDateStart": "2030-01-01",
            "localDateEnd": "2030-01-02",
        },
    ).get_json()
    assert [d["status"] for d in far] == ["CLOSED", "CLOSED"]


def test_refused_calls_are_audited_too(client, key):
    client.get("/octo/products", headers={"Authorization": "Bearer not-a-key"})
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "octo_request")).all()
    assert events[-1].details["status"] == 400 and events[-1].subject == "no key"
    client.get("/octo/products", headers=_auth(key))
    last = db.session.scalars(
        select(AuditEvent).where(AuditEvent.event == "octo_request").order_by(AuditEvent.id)
    ).all()[-1]
    assert last.details["status"] == 200 and last.details["key_id"] is not None


def test_the_openapi_document_needs_no_key_and_is_not_audited(client, key):
    before = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "octo_request")).all()
    assert client.get("/octo/openapi.json").status_code == 200
    after = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "octo_request")).all()
    assert len(after) == len(before)


def test_a_hold_whose_village_lost_its_channels_is_not_confirmed(client, key):
    from tourplanner.adapters.orm import User, Village

    held = _hold(client, key)
    village = db.session.scalars(select(Village).where(Village.slug == "bat-trang")).one()
    village.booking_email = village.notify_phone = village.webhook_url = None
    for user in db.session.scalars(select(User).where(User.village_id == village.id)):
        user.active = False
    db.session.commit()
    confirmed = client.post(
        f"/octo/bookings/{held['uuid']}/confirm",
        headers=_auth(key),
        json={"contact": {"fullName": "Lan", "emailAddress": "lan@example.org"}},
    )
    assert confirmed.status_code == 400, confirmed.get_json()
    assert confirmed.get_json()["error"] == "UNPROCESSABLE_ENTITY"
    assert "cannot receive booking requests" in confirmed.get_json()["errorMessage"]
