"""Contract tests of the OCTO API against the running app (werkzeug on 127.0.0.1, a copy of the
seeded database plus ``services.octo.seed_demo``), over HTTP, with the shapes the OCTO
specification (octotravel/octo-types, src/openapi.yaml) gives: required fields, types, enums,
the error shape with the offending id, and the headers of the capabilities.

The schemas below are written here from the specification, not taken from the server's own
OpenAPI document, so that the server cannot agree with itself by mistake.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import pytest
import requests
from sqlalchemy import func, select, update
from werkzeug.serving import make_server

from tests.conftest import make_app

pytestmark = pytest.mark.integration

GROUP = "bat-trang-workshop-group-pottery"  # START_TIME, instant confirmation, 80 places
VISIT = "bat-trang-visit-ceramics-market"  # OPENING_HOURS
WHEEL = "bat-trang-workshop-pottery-wheel"  # START_TIME, the village answers each request
CAPS = "octo/pricing, octo/content"

# --- the specification's shapes ---------------------------------------------------------------

S, NS = {"type": "string"}, {"type": ["string", "null"]}
INT, NI, B = {"type": "integer"}, {"type": ["integer", "null"]}, {"type": "boolean"}
UTC_TIME = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$"}
N_UTC = {"anyOf": [UTC_TIME, {"type": "null"}]}
LOCAL = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$"}
UUID = {
    "type": "string",
    "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
}
UNIT_TYPES = [
    "ADULT",
    "YOUTH",
    "CHILD",
    "INFANT",
    "FAMILY",
    "SENIOR",
    "STUDENT",
    "MILITARY",
    "OTHER",
]
CONTACT_FIELDS = [
    "firstName",
    "lastName",
    "emailAddress",
    "phoneNumber",
    "country",
    "notes",
    "locales",
    "allowMarketing",
    "postalCode",
]
STATUSES = ["ON_HOLD", "CONFIRMED", "EXPIRED", "CANCELLED", "REDEEMED", "PENDING", "REJECTED"]


def names(text: str) -> list[str]:
    return text.split()


def obj(required: list[str], /, **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


def arr(items: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "array", "items": items, **extra}


def one_of(*values: str) -> dict[str, Any]:
    return {"enum": list(values)}


PRICING = obj(
    names("original retail net currency currencyPrecision includedTaxes"),
    original=INT,
    retail=INT,
    net=NI,
    currency=S,
    currencyPrecision=INT,
    includedTaxes=arr({"type": "object"}),
)
OPENING_HOURS = arr(obj(names("from to"), **{"from": {"pattern": "^\\d\\d:\\d\\d$"}, "to": S}))
UNIT = obj(
    names("id internalName reference type restrictions requiredContactFields"),
    id=S,
    internalName=S,
    reference=NS,
    type=one_of(*UNIT_TYPES),
    restrictions=obj(
        names("minAge maxAge idRequired minQuantity maxQuantity paxCount accompaniedBy"),
        minAge=INT,
        maxAge=INT,
        idRequired=B,
        minQuantity=NI,
        maxQuantity=NI,
        paxCount=INT,
        accompaniedBy=arr(S),
    ),
    requiredContactFields=arr(one_of(*CONTACT_FIELDS)),
)
OPTION = obj(
    names(
        "id default internalName reference availabilityLocalStartTimes "
        "cancellationCutoff cancellationCutoffAmount cancellationCutoffUnit "
        "requiredContactFields restrictions units"
    ),
    id=S,
    default=B,
    internalName=S,
    reference=NS,
    availabilityLocalStartTimes=arr({"pattern": "^\\d\\d:\\d\\d$"}, minItems=1),
    cancellationCutoff=S,
    cancellationCutoffAmount=INT,
    cancellationCutoffUnit=one_of("minute", "hour", "day"),
    requiredContactFields=arr(one_of(*CONTACT_FIELDS)),
    restrictions=obj(names("minUnits maxUnits"), minUnits=NI, maxUnits=NI),
    units=arr(UNIT, minItems=1),
)
PRODUCT = obj(
    names(
        "id internalName reference locale allowFreesale instantConfirmation "
        "instantDelivery availabilityRequired availabilityType deliveryFormats "
        "deliveryMethods redemptionMethod options"
    ),
    id=S,
    internalName=S,
    reference=NS,
    locale=S,
    timeZone=S,
    allowFreesale=B,
    instantConfirmation=B,
    instantDelivery=B,
    availabilityRequired=B,
    availabilityType=one_of("START_TIME", "OPENING_HOURS"),
    deliveryFormats=arr(one_of("PDF_URL", "QRCODE", "CODE128", "PKPASS_URL", "AZTECCODE")),
    deliveryMethods=arr(one_of("VOUCHER", "TICKET")),
    redemptionMethod=one_of("DIGITAL", "PRINT", "MANIFEST"),
    options=arr(OPTION, minItems=1),
)
AVAILABILITY = obj(
    names(
        "id localDateTimeStart localDateTimeEnd utcCutoffAt allDay available "
        "status vacancies capacity maxUnits openingHours"
    ),
    id=S,
    localDateTimeStart=LOCAL,
    localDateTimeEnd=LOCAL,
    utcCutoffAt=UTC_TIME,
    allDay=B,
    available=B,
    status=one_of("AVAILABLE", "FREESALE", "SOLD_OUT", "LIMITED", "CLOSED"),
    vacancies=NI,
    capacity=NI,
    maxUnits=NI,
    openingHours=OPENING_HOURS,
)
CALENDAR_DAY = obj(
    names("localDate available status vacancies capacity openingHours"),
    localDate={"pattern": r"^\d{4}-\d\d-\d\d$"},
    available=B,
    status=one_of("AVAILABLE", "FREESALE", "SOLD_OUT", "LIMITED", "CLOSED"),
    vacancies=NI,
    capacity=NI,
    openingHours=OPENING_HOURS,
)
CONTACT = obj(
    names("fullName firstName lastName emailAddress phoneNumber locales postalCode country notes"),
    fullName=NS,
    firstName=NS,
    lastName=NS,
    emailAddress=NS,
    phoneNumber=NS,
    locales=arr(S),
    postalCode=NS,
    country=NS,
    notes=NS,
)
TICKET = obj(
    names("redemptionMethod utcRedeemedAt deliveryOptions"),
    redemptionMethod=one_of("DIGITAL", "PRINT", "MANIFEST"),
    utcRedeemedAt=NS,
    deliveryOptions=arr(obj(names("deliveryFormat deliveryValue"), deliveryValue=S)),
)
UNIT_ITEM = obj(
    names("uuid resellerReference supplierReference unitId status utcRedeemedAt contact ticket"),
    uuid=UUID,
    resellerReference=NS,
    supplierReference=NS,
    unitId=S,
    status=one_of(*STATUSES),
    utcRedeemedAt=N_UTC,
    contact=CONTACT,
    ticket={"anyOf": [TICKET, {"type": "null"}]},
)
BOOKING = obj(
    names(
        "id uuid testMode resellerReference supplierReference status "
        "utcCreatedAt utcUpdatedAt utcExpiresAt utcRedeemedAt utcConfirmedAt "
        "productId optionId cancellable cancellation freesale availabilityId "
        "availability contact notes deliveryMethods voucher unitItems"
    ),
    id=S,
    uuid=UUID,
    testMode=B,
    resellerReference=NS,
    supplierReference=NS,
    status=one_of(*STATUSES),
    utcCreatedAt=UTC_TIME,
    utcUpdatedAt=UTC_TIME,
    utcExpiresAt=N_UTC,
    utcRedeemedAt=N_UTC,
    utcConfirmedAt=N_UTC,
    productId=S,
    product=PRODUCT,
    optionId=S,
    option=OPTION,
    cancellable=B,
    cancellation={
        "anyOf": [
            {"type": "null"},
            obj(
                names("refund reason utcCancelledAt"),
                refund=one_of("FULL", "PARTIAL", "NONE"),
                reason=NS,
                utcCancelledAt=UTC_TIME,
            ),
        ]
    },
    freesale=B,
    availabilityId=NS,
    availability={"anyOf": [AVAILABILITY, {"type": "null"}]},
    contact=CONTACT,
    notes=NS,
    deliveryMethods=arr(one_of("VOUCHER", "TICKET")),
    voucher={"anyOf": [TICKET, {"type": "null"}]},
    unitItems=arr(UNIT_ITEM),
)
SUPPLIER = obj(
    names("id name endpoint contact"),
    id=S,
    name=S,
    endpoint=S,
    contact=obj(
        names("website email telephone address"),
        website=NS,
        email=NS,
        telephone=NS,
        address=NS,
    ),
)
CAPABILITY = obj(
    names("id revision required dependencies docs"),
    id=one_of(
        "octo/adjustments",
        "octo/cart",
        "octo/content",
        "octo/mappings",
        "octo/packages",
        "octo/pickups",
        "octo/pricing",
        "octo/offers",
        "octo/questions",
        "octo/webhooks",
    ),
    revision=INT,
    required=B,
    dependencies=arr(S),
    docs=NS,
)
ERROR_FIELD = {
    "INVALID_PRODUCT_ID": "productId",
    "INVALID_OPTION_ID": "optionId",
    "INVALID_UNIT_ID": "unitId",
    "INVALID_AVAILABILITY_ID": "availabilityId",
    "INVALID_BOOKING_UUID": "uuid",
}
WITH_PRICING = {"unitPricing": arr(PRICING), "pricing": PRICING}


def check(schema: dict[str, Any], value: Any) -> Any:
    jsonschema.validate(value, schema)
    return value


def check_error(response: requests.Response, code: str) -> dict[str, Any]:
    """OCTO's error: HTTP 400, ``error`` and ``errorMessage``, and the offending id."""
    assert response.status_code == 400, (response.status_code, response.text)
    body = response.json()
    assert body["error"] == code, body
    assert isinstance(body["errorMessage"], str) and body["errorMessage"]
    if code in ERROR_FIELD:
        assert isinstance(body[ERROR_FIELD[code]], str), body
    return body


# --- the live server --------------------------------------------------------------------------


@dataclass
class Server:
    url: str
    app: Any
    keys: dict[str, str] = field(default_factory=dict)

    def call(
        self, method: str, path: str, key: str | None = "a", *, caps: str = CAPS, **kwargs: Any
    ) -> requests.Response:
        headers = {"Octo-Capabilities": caps, **kwargs.pop("headers", {})}
        if key:
            headers["Authorization"] = f"Bearer {self.keys.get(key, key)}"
        return requests.request(method, self.url + path, headers=headers, timeout=30, **kwargs)

    def run(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        """Call ``function`` inside the server's app (the database it serves)."""
        with self.app.app_context():
            return function(*args, **kwargs)


@pytest.fixture(scope="module")
def server(template_db, tmp_path_factory, receiver) -> Iterator[Server]:
    path = tmp_path_factory.mktemp("octo") / "octo.sqlite3"
    shutil.copy(template_db, path)
    app = make_app(
        path,
        SERVER_NAME=None,
        TESTING=False,  # the embedded maintenance thread runs: expiry and webhooks
        HOLD_EXPIRY_CHECK_SECONDS=0.5,
        WEBHOOK_ALLOW_PRIVATE=True,
        PACKAGE_FILL_TIME_LIMIT=0.05,
    )
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{httpd.server_port}"
    app.config["PUBLIC_BASE_URL"] = url
    live = Server(url, app)
    live.keys = live.run(_set_up)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield live
    if "maintenance_stop" in app.extensions:
        app.extensions["maintenance_stop"].set()
    httpd.shutdown()
    thread.join(timeout=10)
    httpd.server_close()
    with app.app_context():
        from tourplanner.extensions import db

        db.engine.dispose()


def _set_up() -> dict[str, str]:
    from tourplanner.adapters.orm import Village
    from tourplanner.extensions import db
    from tourplanner.services import agencies, octo, packages

    octo.seed_demo()
    packages.seed_demo_package(agencies.get_agency_by_slug("sample-agency")["id"])
    for village in db.session.scalars(select(Village)):
        village.booking_email = f"requests@{village.slug}.example"
    db.session.commit()
    a = agencies.get_agency_by_slug("sample-agency")["id"]
    b = agencies.create_agency("Agency B", "b@agency.example", slug="agency-b")["id"]
    suspended = agencies.create_agency("Agency S", "s@agency.example", slug="agency-s")["id"]
    keys = {
        "a": agencies.create_api_key(a, "contract")[1],
        "a-test": agencies.create_api_key(a, "contract", test_mode=True)[1],
        "b": agencies.create_api_key(b, "contract")[1],
        "suspended": agencies.create_api_key(suspended, "contract")[1],
    }
    revoked_id, keys["revoked"] = agencies.create_api_key(a, "revoked")
    agencies.revoke_api_key(a, revoked_id)
    agencies.suspend_agency(suspended)
    return keys


def _day(days: int) -> str:
    return (datetime.now(UTC) + timedelta(hours=7) + timedelta(days=days)).date().isoformat()


def sessions(server: Server, product: str, days: int = 5, **body: Any) -> list[dict]:
    response = server.call(
        "POST",
        "/octo/availability",
        json={"productId": product, "optionId": "DEFAULT", "localDate": _day(days), **body},
    )
    assert response.status_code == 200, response.text
    return check(arr(AVAILABILITY), response.json())


def vacancies(server: Server, product: str, availability_id: str) -> int:
    response = server.call(
        "POST",
        "/octo/availability",
        json={"productId": product, "optionId": "DEFAULT", "availabilityIds": [availability_id]},
    )
    return response.json()[0]["vacancies"]


def reserve(server: Server, product: str, units: list[str], key: str = "a", **body: Any) -> dict:
    availability_id = body.pop("availabilityId", None) or sessions(server, product)[0]["id"]
    response = server.call(
        "POST",
        "/octo/bookings",
        key,
        json={
            "productId": product,
            "optionId": "DEFAULT",
            "availabilityId": availability_id,
            "unitItems": [{"unitId": u} for u in units],
            **body,
        },
    )
    assert response.status_code == 200, response.text
    return check(BOOKING, response.json())


# --- every endpoint ---------------------------------------------------------------------------


def test_supplier_capabilities_and_products_answer_in_the_specifications_shape(server):
    supplier = server.call("GET", "/octo/supplier")
    assert supplier.status_code == 200 and supplier.headers["Content-Type"].startswith(
        "application/json"
    )
    check(SUPPLIER, supplier.json())
    assert supplier.json()["endpoint"] == server.url + "/octo"
    check(arr(CAPABILITY, minItems=1), server.call("GET", "/octo/capabilities").json())
    products = check(arr(PRODUCT, minItems=2), server.call("GET", "/octo/products").json())
    types = {p["id"]: p["availabilityType"] for p in products}
    assert types[GROUP] == "START_TIME" and types[VISIT] == "OPENING_HOURS"
    one = check(PRODUCT, server.call("GET", f"/octo/products/{GROUP}").json())
    assert one["id"] == GROUP and one["defaultCurrency"] == "VND" and one["pricingPer"] == "UNIT"
    for unit in one["options"][0]["units"]:
        check(arr(PRICING, minItems=1), unit["pricingFrom"])
        assert unit["pricingFrom"][0]["currencyPrecision"] == 0


def test_availability_and_calendar_answer_in_the_specifications_shape(server):
    found = sessions(server, GROUP, units=[{"id": "adult", "quantity": 2}])
    for availability in found:
        check(obj(names("unitPricing pricing"), **WITH_PRICING), availability)
        assert availability["pricing"]["retail"] == 2 * 180_000
    first = found[0]
    by_id = server.call(
        "POST",
        "/octo/availability",
        json={"productId": GROUP, "optionId": "DEFAULT", "availabilityIds": [first["id"]]},
    ).json()
    assert [a["id"] for a in by_id] == [first["id"]]
    span = server.call(
        "POST",
        "/octo/availability",
        json={
            "productId": VISIT,
            "optionId": "DEFAULT",
            "localDateStart": _day(3),
            "localDateEnd": _day(9),
        },
    ).json()
    assert len(check(arr(AVAILABILITY), span)) == 7 and all(a["allDay"] for a in span)
    calendar = server.call(
        "POST",
        "/octo/availability/calendar",
        json={
            "productId": GROUP,
            "optionId": "DEFAULT",
            "localDateStart": _day(-1),  # yesterday: every session past, CLOSED at any hour
            "localDateEnd": _day(29),
        },
    ).json()
    check(arr(CALENDAR_DAY, minItems=31, maxItems=31), calendar)
    assert calendar[0]["status"] == "CLOSED"
    later = {d["status"] for d in calendar[2:]}  # a daily class of 80 places
    assert "AVAILABLE" in later and later <= {"AVAILABLE", "LIMITED"}
    assert all("unitPricingFrom" in d and "pricingFrom" in d for d in calendar)


def test_a_get_with_a_json_content_type_and_no_body_and_empty_capabilities_works(server):
    response = server.call(
        "GET", "/octo/products", caps="", headers={"Content-Type": "application/json"}, data=b""
    )
    assert response.status_code == 200
    assert response.headers["Octo-Capabilities"] == ""
    assert "pricingFrom" not in response.json()[0]["options"][0]["units"][0]


def test_the_paths_with_the_specifications_trailing_slash_answer_too(server):
    for path in ("/octo/supplier/", "/octo/products/", "/octo/capabilities/"):
        assert server.call("GET", path).status_code == 200, path


def test_reserve_extend_confirm_update_cancel_moves_the_places(server):
    found = sessions(server, GROUP, days=8)
    first, second = found[0]["id"], found[1]["id"]
    start = vacancies(server, GROUP, first)
    held = reserve(server, GROUP, ["adult", "adult", "child"], availabilityId=first, notes="hi")
    assert held["status"] == "ON_HOLD" and held["utcExpiresAt"] and held["notes"] == "hi"
    assert held["cancellable"] is True and held["utcConfirmedAt"] is None
    assert held["uuid"] == held["uuid"].lower() and len(held["unitItems"]) == 3
    assert all(u["uuid"] == u["uuid"].lower() for u in held["unitItems"])
    assert vacancies(server, GROUP, first) == start - 3
    uuid = held["uuid"]

    extended = server.call("POST", f"/octo/bookings/{uuid}/extend", json={"expirationMinutes": 90})
    assert check(BOOKING, extended.json())["utcExpiresAt"] > held["utcExpiresAt"]

    confirmed = server.call(
        "POST",
        f"/octo/bookings/{uuid}/confirm",
        json={
            "resellerReference": "RES-1001",
            "contact": {
                "fullName": "John Doe",
                "emailAddress": "johndoe@example.com",
                "locales": ["en"],
            },
            "unitItems": [{"unitId": "adult"}] * 4,
        },
    )
    booking = check(BOOKING, confirmed.json())
    assert (booking["status"], booking["resellerReference"]) == ("CONFIRMED", "RES-1001")
    assert booking["utcConfirmedAt"] and booking["utcExpiresAt"] is None
    assert booking["contact"]["emailAddress"] == "johndoe@example.com"
    assert booking["voucher"]["deliveryOptions"][0]["deliveryValue"] == held["supplierReference"]
    assert vacancies(server, GROUP, first) == start - 4, "4 units confirmed instead of 3"

    updated = server.call(
        "PATCH", f"/octo/bookings/{uuid}", json={"notes": "two vegetarians", "contact": {}}
    )
    assert check(BOOKING, updated.json())["notes"] == "two vegetarians"
    moved = server.call("PATCH", f"/octo/bookings/{uuid}", json={"availabilityId": second})
    check_error(moved, "UNPROCESSABLE_ENTITY")

    cancelled = server.call("POST", f"/octo/bookings/{uuid}/cancel", json={"reason": "ill"})
    booking = check(BOOKING, cancelled.json())
    assert booking["status"] == "CANCELLED" and booking["cancellation"]["reason"] == "ill"
    assert booking["cancellable"] is False
    assert vacancies(server, GROUP, first) == start, "every place is back"
    listed = server.call("GET", "/octo/bookings?resellerReference=RES-1001").json()
    assert [b["uuid"] for b in check(arr(BOOKING), listed)] == [uuid]
    by_ref = server.call("GET", f"/octo/bookings?supplierReference={held['supplierReference']}")
    assert [b["uuid"] for b in by_ref.json()] == [uuid]


def test_a_reservation_changes_session_and_units_before_it_is_confirmed(server):
    found = sessions(server, WHEEL, days=9)
    first, second = found[0]["id"], found[1]["id"]
    before = (vacancies(server, WHEEL, first), vacancies(server, WHEEL, second))
    held = reserve(server, WHEEL, ["adult"], availabilityId=first)
    moved = server.call(
        "PATCH",
        f"/octo/bookings/{held['uuid']}",
        json={"availabilityId": second, "unitItems": [{"unitId": "adult"}, {"unitId": "senior"}]},
    )
    assert check(BOOKING, moved.json())["availabilityId"] == second
    assert (vacancies(server, WHEEL, first), vacancies(server, WHEEL, second)) == (
        before[0],
        before[1] - 2,
    )
    pending = server.call("POST", f"/octo/bookings/{held['uuid']}/confirm", json={"contact": {}})
    assert check(BOOKING, pending.json())["status"] == "PENDING"
    assert pending.json()["cancellable"] is True, "until the village answers: withdrawn"
    withdrawn = server.call("POST", f"/octo/bookings/{held['uuid']}/cancel", json={})
    assert check(BOOKING, withdrawn.json())["status"] == "CANCELLED"
    assert (vacancies(server, WHEEL, first), vacancies(server, WHEEL, second)) == before


def test_an_expired_hold_frees_its_places(server):
    from tourplanner.adapters.orm.octo import OctoBooking
    from tourplanner.extensions import db

    availability_id = sessions(server, WHEEL, days=10)[0]["id"]
    before = vacancies(server, WHEEL, availability_id)
    held = reserve(server, WHEEL, ["adult", "adult"], availabilityId=availability_id)
    assert vacancies(server, WHEEL, availability_id) == before - 2

    def run_out() -> None:  # the hold's time passes
        db.session.execute(
            update(OctoBooking)
            .where(OctoBooking.uuid == held["uuid"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        db.session.commit()

    server.run(run_out)
    deadline = time.monotonic() + 20  # the maintenance thread sweeps every half second
    while vacancies(server, WHEEL, availability_id) != before:
        assert time.monotonic() < deadline, "the expired hold kept its places"
        time.sleep(0.2)
    expired = server.call("GET", f"/octo/bookings/{held['uuid']}").json()
    assert check(BOOKING, expired)["status"] == "EXPIRED"
    late = server.call("POST", f"/octo/bookings/{held['uuid']}/confirm", json={"contact": {}})
    check_error(late, "INVALID_BOOKING_UUID")


def test_webhooks_are_registered_listed_and_deleted(server):
    made = server.call(
        "POST", "/octo/webhooks", json={"url": server.url + "/hook", "event": "booking_update"}
    )
    hook = made.json()
    assert made.status_code == 200 and hook["secret"] and hook["event"] == "booking_update"
    listed = server.call("GET", "/octo/webhooks").json()
    assert hook["id"] in [h["id"] for h in listed] and "secret" not in listed[0]
    assert server.call("GET", "/octo/webhooks", "b").json() == [], "another agency's"
    assert server.call("DELETE", f"/octo/webhooks/{hook['id']}").json()["id"] == hook["id"]
    check_error(server.call("DELETE", f"/octo/webhooks/{hook['id']}"), "BAD_REQUEST")


def test_the_villages_answer_reaches_the_agencys_webhook_signed(server, receiver):
    from tourplanner.adapters.notifiers import SIGNATURE_HEADER, verify
    from tourplanner.adapters.orm.octo import OctoBooking
    from tourplanner.extensions import db
    from tourplanner.services import booking

    hook = server.call("POST", "/octo/webhooks", json={"url": receiver.url}).json()
    held = reserve(server, WHEEL, ["adult"])
    pending = server.call("POST", f"/octo/bookings/{held['uuid']}/confirm", json={"contact": {}})
    assert pending.json()["status"] == "PENDING"

    def accept() -> None:
        row = db.session.scalars(select(OctoBooking).where(OctoBooking.uuid == held["uuid"])).one()
        booking.decide(row.booking.items[0].id, accept=True, village_id=None)

    server.run(accept)

    def delivered() -> list[dict]:
        return [
            r
            for r in receiver.requests
            if r["json"].get("booking", {}).get("uuid") == held["uuid"]
            and r["json"]["booking"]["status"] == "CONFIRMED"
        ]

    deadline = time.monotonic() + 20
    while not delivered():
        assert time.monotonic() < deadline, "no webhook delivery"
        time.sleep(0.2)
    request = delivered()[0]
    assert verify(hook["secret"], request["headers"][SIGNATURE_HEADER], request["body"])
    assert request["json"]["webhook"]["id"] == hook["id"]
    check(BOOKING, request["json"]["booking"])
    server.call("DELETE", f"/octo/webhooks/{hook['id']}")


# --- every error code -------------------------------------------------------------------------


def test_keys_are_unauthorized_or_forbidden(server):
    check_error(server.call("GET", "/octo/products", key=None), "UNAUTHORIZED")
    for key in ("not-a-key", "revoked", "suspended"):
        check_error(server.call("GET", "/octo/products", key=key), "FORBIDDEN")
    public = requests.get(server.url + "/octo/openapi.json", timeout=30)
    assert public.status_code == 200 and public.json()["openapi"].startswith("3.1")


def test_unknown_ids_are_400s_naming_the_id(server):
    body = check_error(server.call("GET", "/octo/products/no-such-product"), "INVALID_PRODUCT_ID")
    assert body["productId"] == "no-such-product"
    ask = {"optionId": "DEFAULT", "localDate": _day(3)}
    check_error(
        server.call("POST", "/octo/availability", json={"productId": "x", **ask}),
        "INVALID_PRODUCT_ID",
    )
    option = server.call(
        "POST", "/octo/availability/calendar", json={"productId": GROUP, "optionId": "X"}
    )
    assert check_error(option, "INVALID_OPTION_ID")["optionId"] == "X"
    unit = server.call(
        "POST",
        "/octo/availability",
        json={"productId": GROUP, **ask, "units": [{"id": "infant", "quantity": 1}]},
    )
    assert check_error(unit, "INVALID_UNIT_ID")["unitId"] == "infant"
    reservation = {"productId": GROUP, "optionId": "DEFAULT", "unitItems": [{"unitId": "adult"}]}
    wrong = server.call(
        "POST", "/octo/bookings", json={**reservation, "availabilityId": "2020-01-01T10:00+07:00"}
    )
    check_error(wrong, "INVALID_AVAILABILITY_ID")
    uuid = "bbbb6227-54fc-4c32-9ed7-dc3eb99966ea"
    for method, path in (
        ("GET", f"/octo/bookings/{uuid}"),
        ("PATCH", f"/octo/bookings/{uuid}"),
        ("POST", f"/octo/bookings/{uuid}/confirm"),
        ("POST", f"/octo/bookings/{uuid}/extend"),
        ("POST", f"/octo/bookings/{uuid}/cancel"),
        ("GET", "/octo/bookings/not-a-uuid"),
    ):
        check_error(server.call(method, path, json={"contact": {}}), "INVALID_BOOKING_UUID")


def test_bad_requests_and_unprocessable_ones(server):
    check_error(server.call("GET", "/octo/bookings"), "BAD_REQUEST")
    both = {
        "productId": GROUP,
        "optionId": "DEFAULT",
        "localDateStart": _day(1),
        "localDateEnd": _day(2),
        "availabilityIds": ["x"],
    }
    check_error(server.call("POST", "/octo/availability", json=both), "BAD_REQUEST")
    no_start = {"productId": GROUP, "optionId": "DEFAULT", "localDateEnd": _day(5)}
    check_error(server.call("POST", "/octo/availability/calendar", json=no_start), "BAD_REQUEST")
    broken = server.call(
        "POST", "/octo/bookings", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    check_error(broken, "BAD_REQUEST")
    typed = server.call("POST", "/octo/bookings", json={"productId": GROUP, "notes": 7})
    check_error(typed, "BAD_REQUEST")
    availability_id = sessions(server, GROUP)[0]["id"]
    empty = server.call(
        "POST",
        "/octo/bookings",
        json={
            "productId": GROUP,
            "optionId": "DEFAULT",
            "availabilityId": availability_id,
            "unitItems": [],
        },
    )
    check_error(empty, "UNPROCESSABLE_ENTITY")
    sold_out = next(
        a
        for a in server.call(
            "POST",
            "/octo/availability",
            json={
                "productId": GROUP,
                "optionId": "DEFAULT",
                "localDateStart": _day(0),
                "localDateEnd": _day(30),
            },
        ).json()
        if a["status"] == "SOLD_OUT"
    )
    full = server.call(
        "POST",
        "/octo/bookings",
        json={
            "productId": GROUP,
            "optionId": "DEFAULT",
            "availabilityId": sold_out["id"],
            "unitItems": [{"unitId": "adult"}],
        },
    )
    check_error(full, "UNPROCESSABLE_ENTITY")
    unknown = server.call("GET", "/octo/no-such-endpoint")
    assert unknown.status_code == 404 and unknown.json()["error"] == "NOT_FOUND"


# --- keys, scope, language, audit, limits -----------------------------------------------------


def test_agency_a_cannot_read_or_change_agency_bs_bookings(server):
    held = reserve(server, WHEEL, ["adult"], key="a", resellerReference="A-ONLY")
    for method, path in (
        ("GET", f"/octo/bookings/{held['uuid']}"),
        ("POST", f"/octo/bookings/{held['uuid']}/cancel"),
        ("POST", f"/octo/bookings/{held['uuid']}/confirm"),
    ):
        body = check_error(
            server.call(method, path, "b", json={"contact": {}}), "INVALID_BOOKING_UUID"
        )
        assert body["uuid"] == held["uuid"]
    assert server.call("GET", "/octo/bookings?resellerReference=A-ONLY", "b").json() == []
    assert server.call("GET", "/octo/bookings?resellerReference=A-ONLY", "a-test").json() == []
    assert len(server.call("GET", "/octo/bookings?resellerReference=A-ONLY", "a").json()) == 1


def test_a_test_key_books_without_taking_places(server):
    availability_id = sessions(server, WHEEL, days=11)[0]["id"]
    before = vacancies(server, WHEEL, availability_id)
    held = reserve(server, WHEEL, ["adult"] * 3, key="a-test", availabilityId=availability_id)
    assert held["testMode"] is True
    assert vacancies(server, WHEEL, availability_id) == before


def test_content_language_follows_accept_language(server):
    for asked, lang, title in (
        ("en-GB,en;q=0.9", "en", "Pottery class for groups"),
        ("vi", "vi", "Lớp làm gốm cho đoàn"),
        ("fr", "vi", "Lớp làm gốm cho đoàn"),
    ):
        response = server.call("GET", f"/octo/products/{GROUP}", headers={"Accept-Language": asked})
        assert response.headers["Content-Language"] == lang, asked
        assert response.json()["title"] == title, asked
        assert response.headers["Octo-Capabilities"] == "octo/content, octo/pricing"
        assert response.headers["Available-Languages"] == "vi, en"


def test_every_call_is_audited_per_key(server):
    from tourplanner.adapters.orm import ApiKey, AuditEvent
    from tourplanner.extensions import db
    from tourplanner.services.agencies import PREFIX_CHARS

    def count() -> int:
        prefix = server.keys["b"][:PREFIX_CHARS]
        key_id = db.session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix))
        return db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.event == "octo_request", AuditEvent.subject == str(key_id))
        )

    before = server.run(count)
    for path in ("/octo/supplier", "/octo/products", "/octo/products/nope"):
        server.call("GET", path, "b")
    assert server.run(count) == before + 3


def test_the_rate_limit_is_per_key_and_answers_in_octos_shape(server):
    from tourplanner.services import agencies

    key = server.run(
        lambda: agencies.create_api_key(agencies.get_agency_by_slug("agency-b")["id"], "rl")[1]
    )
    server.app.config["RATE_LIMIT_OCTO"] = "3 per minute"
    try:
        statuses = [server.call("GET", "/octo/supplier", key).status_code for _ in range(4)]
        limited = server.call("GET", "/octo/supplier", key)
        other = server.call("GET", "/octo/supplier", "b")
    finally:
        server.app.config.pop("RATE_LIMIT_OCTO")
    assert statuses[:3] == [200, 200, 200] and limited.status_code == 429
    assert limited.json()["error"] == "BAD_REQUEST" and limited.headers["Retry-After"]
    assert other.status_code == 200, "another key has its own allowance"


def test_the_openapi_document_of_octo_is_valid_and_linked_from_the_api(server):
    from openapi_spec_validator import validate

    document = requests.get(server.url + "/octo/openapi.json", timeout=30).json()
    validate(document)
    assert "/octo/bookings/{uuid}/confirm" in document["paths"]
    api = requests.get(server.url + "/api/v1/openapi.json", timeout=30).json()
    assert api["externalDocs"]["url"] == server.url + "/octo/openapi.json"


# --- a published package as a product ---------------------------------------------------------

SLUG = "two-craft-village-days-around-hanoi-sample"  # the sample agency's, two days, six workshops
PACKAGE = f"package:{SLUG}"


def package_dates(server: Server, first: int = 3, last: int = 45, **body: Any) -> list[dict]:
    response = server.call(
        "POST",
        "/octo/availability",
        json={
            "productId": PACKAGE,
            "optionId": "DEFAULT",
            "localDateStart": _day(first),
            "localDateEnd": _day(last),
            **body,
        },
    )
    assert response.status_code == 200, response.text
    return check(arr(AVAILABILITY), response.json())


def package_date(server: Server, availability_id: str, **body: Any) -> dict:
    response = server.call(
        "POST",
        "/octo/availability",
        json={
            "productId": PACKAGE,
            "optionId": "DEFAULT",
            "availabilityIds": [availability_id],
            **body,
        },
    )
    return check(arr(AVAILABILITY, minItems=1, maxItems=1), response.json())[0]


def plan_sessions(server: Server, availability_id: str) -> list[int]:
    """The sessions (slot ids) the package's plan holds from that first date."""
    from datetime import date

    from tourplanner.domain.pricing import Party
    from tourplanner.services import packages

    def plan() -> list[int]:
        first = date.fromisoformat(availability_id[:10])
        return sorted(i.slot_id for i in packages.booking_plan(SLUG, first, Party(adults=1)).items)

    return server.run(plan)


def taken(server: Server, slot_ids: list[int]) -> list[int]:
    from tourplanner.adapters.orm import Slot
    from tourplanner.extensions import db

    def read() -> list[int]:
        found = db.session.execute(select(Slot.id, Slot.taken).where(Slot.id.in_(slot_ids)))
        rows = {r[0]: r[1] for r in found}
        return [rows[i] for i in slot_ids]

    return server.run(read)


def held_sessions(server: Server, uuid: str) -> dict[int, int]:
    from tourplanner.adapters.orm.octo import OctoBooking, OctoBookingSession
    from tourplanner.extensions import db

    def read() -> dict[int, int]:
        found = db.session.execute(
            select(OctoBookingSession.slot_id, OctoBookingSession.places)
            .join(OctoBooking, OctoBooking.id == OctoBookingSession.octo_booking_id)
            .where(OctoBooking.uuid == uuid)
        )
        return {r[0]: r[1] for r in found}

    return server.run(read)


def commission(retail: int, bp: int) -> int:
    """``bp`` basis points of ``retail``, half up (docs/packages.md, Prices)."""
    return (retail * bp + 5_000) // 10_000


def sample_rate(server: Server) -> int:
    from tourplanner.services import agencies

    return server.run(lambda: agencies.get_agency_by_slug("sample-agency")["commission_bp"])


def test_a_package_product_answers_in_the_specifications_shape(server):
    listed = {p["id"]: p for p in check(arr(PRODUCT), server.call("GET", "/octo/products").json())}
    assert PACKAGE in listed and list(listed) == sorted(listed)
    product = check(PRODUCT, server.call("GET", f"/octo/products/{PACKAGE}").json())
    assert product == listed[PACKAGE]
    assert (product["id"], product["reference"]) == (PACKAGE, SLUG)
    assert product["availabilityType"] == "START_TIME" and product["timeZone"] == "Asia/Ho_Chi_Minh"
    assert product["instantConfirmation"] is False  # the sample workshops' villages answer
    option = product["options"][0]
    assert option["id"] == "DEFAULT" and len(option["availabilityLocalStartTimes"]) == 1
    rate = sample_rate(server)
    units = {u["id"]: u for u in option["units"]}
    assert {"adult", "senior"} <= set(units) <= {"adult", "child", "senior"}
    for unit in units.values():
        price = check(arr(PRICING, minItems=1), unit["pricingFrom"])[0]
        assert price["currency"] == "VND" and price["currencyPrecision"] == 0
        assert price["net"] == price["retail"] - commission(price["retail"], rate), unit["id"]
    assert product["categoryLabels"] == ["multi-day-tours"] and product["title"]


def test_a_packages_calendar_and_availability_answer_in_the_specifications_shape(server):
    calendar = server.call(
        "POST",
        "/octo/availability/calendar",
        json={
            "productId": PACKAGE,
            "optionId": "DEFAULT",
            "localDateStart": _day(0),
            "localDateEnd": _day(30),
            "units": [{"id": "adult", "quantity": 2}],
        },
    ).json()
    check(arr(CALENDAR_DAY, minItems=31, maxItems=31), calendar)
    statuses = {d["status"] for d in calendar}
    assert "CLOSED" in statuses and statuses & {"AVAILABLE", "LIMITED"}, statuses
    assert all(d["openingHours"] == [] for d in calendar)
    closed = [d for d in calendar if d["status"] == "CLOSED"]
    assert all(d["available"] is False and d["vacancies"] is None for d in closed)

    found = package_dates(server, units=[{"id": "adult", "quantity": 2}])
    assert found, "the sample package runs on some dates"
    start = found[0]["id"][11:16]
    for availability in found:
        check(obj(names("unitPricing pricing"), **WITH_PRICING), availability)
        assert availability["allDay"] is False and availability["id"][11:16] == start
        assert availability["localDateTimeStart"] == availability["id"]
        assert availability["localDateTimeEnd"][:10] > availability["id"][:10], "two days"
        cutoff = datetime.fromisoformat(availability["utcCutoffAt"].replace("Z", "+00:00"))
        assert cutoff <= datetime.fromisoformat(availability["localDateTimeStart"])
    runs = {d["localDate"] for d in calendar if d["status"] in ("AVAILABLE", "LIMITED")}
    assert runs <= {a["id"][:10] for a in package_dates(server, 0, 30)}
    one = package_date(server, found[0]["id"])
    assert one["id"] == found[0]["id"] and one["vacancies"] == found[0]["vacancies"]
    # An availability of another time, or a date the package does not run, is not one.
    wrong = found[0]["id"].replace(f"T{start}", "T03:17")
    reserve_wrong = server.call(
        "POST",
        "/octo/bookings",
        json={
            "productId": PACKAGE,
            "optionId": "DEFAULT",
            "availabilityId": wrong,
            "unitItems": [{"unitId": "adult"}],
        },
    )
    assert check_error(reserve_wrong, "INVALID_AVAILABILITY_ID")["availabilityId"] == wrong


def test_a_package_reservation_holds_every_session_and_moves_them_until_cancelled(server):
    found = [a for a in package_dates(server, 5) if a["status"] != "SOLD_OUT"]
    first, second = found[0]["id"], found[1]["id"]
    old, new = plan_sessions(server, first), plan_sessions(server, second)
    assert len(old) == len(new) == 6 and not set(old) & set(new)
    before_old, before_new = taken(server, old), taken(server, new)
    vacancies_before = package_date(server, first)["vacancies"]

    held = reserve(server, PACKAGE, ["adult", "adult"], availabilityId=first, notes="hi")
    assert (held["status"], held["productId"], held["availabilityId"]) == (
        "ON_HOLD",
        PACKAGE,
        first,
    )
    assert held["utcExpiresAt"] and held["cancellable"] is True
    uuid = held["uuid"]
    assert taken(server, old) == [t + 2 for t in before_old], "every session at once"
    assert held_sessions(server, uuid) == dict.fromkeys(old, 2)
    assert package_date(server, first)["vacancies"] == vacancies_before - 2

    extended = server.call("POST", f"/octo/bookings/{uuid}/extend", json={"expirationMinutes": 90})
    assert check(BOOKING, extended.json())["utcExpiresAt"] > held["utcExpiresAt"]

    more = server.call(
        "PATCH", f"/octo/bookings/{uuid}", json={"unitItems": [{"unitId": "adult"}] * 3}
    )
    assert len(check(BOOKING, more.json())["unitItems"]) == 3
    assert taken(server, old) == [t + 3 for t in before_old]
    moved = server.call("PATCH", f"/octo/bookings/{uuid}", json={"availabilityId": second})
    assert check(BOOKING, moved.json())["availabilityId"] == second
    assert taken(server, old) == before_old and taken(server, new) == [t + 3 for t in before_new]
    assert held_sessions(server, uuid) == dict.fromkeys(new, 3)

    confirmed = server.call(
        "POST",
        f"/octo/bookings/{uuid}/confirm",
        json={
            "resellerReference": "PKG-2001",
            "contact": {"fullName": "Jane Doe", "emailAddress": "jane@example.com"},
        },
    )
    booking = check(BOOKING, confirmed.json())
    assert (booking["status"], booking["resellerReference"]) == ("PENDING", "PKG-2001")
    assert booking["cancellable"] is True and booking["utcExpiresAt"] is None
    assert taken(server, new) == [t + 3 for t in before_new], "moved to the booking, not twice"
    listed = server.call("GET", "/octo/bookings?resellerReference=PKG-2001").json()
    assert [b["uuid"] for b in check(arr(BOOKING), listed)] == [uuid]
    assert listed[0]["productId"] == PACKAGE
    # Confirmed: its details change, its date and units do not (cancel and reserve again).
    noted = server.call("PATCH", f"/octo/bookings/{uuid}", json={"notes": "vegetarian"})
    assert check(BOOKING, noted.json())["notes"] == "vegetarian"
    fixed = server.call("PATCH", f"/octo/bookings/{uuid}", json={"availabilityId": first})
    check_error(fixed, "UNPROCESSABLE_ENTITY")

    server.run(_accept_every_item, uuid)
    assert server.call("GET", f"/octo/bookings/{uuid}").json()["status"] == "CONFIRMED"
    cancelled = server.call("POST", f"/octo/bookings/{uuid}/cancel", json={"reason": "ill"})
    booking = check(BOOKING, cancelled.json())
    assert booking["status"] == "CANCELLED" and booking["cancellation"]["reason"] == "ill"
    assert taken(server, new) == before_new, "every session's places are back"


def _accept_every_item(uuid: str) -> None:
    from tourplanner.adapters.orm.octo import OctoBooking
    from tourplanner.extensions import db
    from tourplanner.services import booking

    row = db.session.scalars(select(OctoBooking).where(OctoBooking.uuid == uuid)).one()
    for item_id in sorted(i.id for i in row.booking.items):
        booking.decide(item_id, accept=True, village_id=None)


def test_a_full_session_makes_the_package_date_sold_out_and_refuses_a_reservation(server):
    from tourplanner.adapters.orm import Slot
    from tourplanner.extensions import db

    availability_id = package_dates(server, 20)[-1]["id"]
    sessions_of = plan_sessions(server, availability_id)
    before = taken(server, sessions_of)
    full = sessions_of[len(sessions_of) // 2]

    def fill(places: int | None) -> None:
        slot = db.session.get(Slot, full)
        slot.taken = slot.capacity if places is None else places
        db.session.commit()

    server.run(fill, None)
    try:
        sold_out = package_date(server, availability_id)
        assert (sold_out["status"], sold_out["available"], sold_out["vacancies"]) == (
            "SOLD_OUT",
            False,
            0,
        )
        day = server.call(
            "POST",
            "/octo/availability/calendar",
            json={
                "productId": PACKAGE,
                "optionId": "DEFAULT",
                "localDateStart": availability_id[:10],
                "localDateEnd": availability_id[:10],
            },
        ).json()
        assert check(arr(CALENDAR_DAY), day)[0]["status"] == "SOLD_OUT"
        refused = server.call(
            "POST",
            "/octo/bookings",
            json={
                "productId": PACKAGE,
                "optionId": "DEFAULT",
                "availabilityId": availability_id,
                "unitItems": [{"unitId": "adult"}],
            },
        )
        check_error(refused, "UNPROCESSABLE_ENTITY")
        others = [s for s in sessions_of if s != full]
        assert taken(server, others) == [
            t for s, t in zip(sessions_of, before, strict=True) if s != full
        ]
    finally:
        server.run(fill, before[sessions_of.index(full)])


def set_sample_rate(bp: int) -> None:
    from tourplanner.adapters.orm import Agency
    from tourplanner.extensions import db

    db.session.execute(
        update(Agency).where(Agency.slug == "sample-agency").values(commission_bp=bp)
    )
    db.session.commit()


def test_a_packages_net_price_is_retail_less_the_agencys_commission(server):
    from tourplanner.adapters.orm.octo import OctoBooking
    from tourplanner.extensions import db

    usual = sample_rate(server)
    server.run(set_sample_rate, 1001)  # 10.01 %: half a dong appears (docs/packages.md)
    try:
        availability = package_dates(
            server, 25, units=[{"id": "adult", "quantity": 2}, {"id": "senior", "quantity": 1}]
        )[0]
        total = availability["pricing"]
        by_unit = {p["unitId"]: p for p in availability["unitPricing"]}
        assert total["retail"] == 2 * by_unit["adult"]["retail"] + by_unit["senior"]["retail"]
        # Per person, and once on the party's total (docs/packages.md, Prices).
        for price in by_unit.values():
            assert price["net"] == price["retail"] - commission(price["retail"], 1001)
        assert total["net"] == total["retail"] - commission(total["retail"], 1001)
        held = reserve(
            server, PACKAGE, ["adult", "adult", "senior"], availabilityId=availability["id"]
        )
        assert (held["pricing"]["retail"], held["pricing"]["net"]) == (
            total["retail"],
            total["net"],
        )
        server.run(set_sample_rate, 1500)  # new terms do not reprice a reservation
        done = server.call("POST", f"/octo/bookings/{held['uuid']}/confirm", json={}).json()
        assert check(BOOKING, done)["pricing"] == held["pricing"]
        adult = {k: v for k, v in by_unit["adult"].items() if k != "unitId"}
        assert [u["pricing"] for u in done["unitItems"] if u["unitId"] == "adult"] == [adult] * 2
    finally:
        server.run(set_sample_rate, usual)

    def booked() -> tuple[int, int | None]:
        row = db.session.scalars(select(OctoBooking).where(OctoBooking.uuid == held["uuid"])).one()
        return row.booking.total_vnd, row.booking.commission_vnd

    retail, commission_vnd = server.run(booked)
    assert retail == total["retail"] and commission_vnd == total["retail"] - total["net"]
    server.call("POST", f"/octo/bookings/{held['uuid']}/cancel")


def test_package_ids_that_are_not_sold_are_invalid_product_ids_naming_them(server):
    for product_id in ("package:no-such-package", "package:", f"package:{SLUG}x"):
        body = check_error(server.call("GET", f"/octo/products/{product_id}"), "INVALID_PRODUCT_ID")
        assert body["productId"] == product_id
    ask = {"productId": PACKAGE, "optionId": "DEFAULT", "localDate": _day(5)}
    unit = server.call(
        "POST", "/octo/availability", json={**ask, "units": [{"id": "infant", "quantity": 1}]}
    )
    assert check_error(unit, "INVALID_UNIT_ID")["unitId"] == "infant"
    option = server.call("POST", "/octo/availability", json={**ask, "optionId": "X"})
    assert check_error(option, "INVALID_OPTION_ID")["optionId"] == "X"
    empty = server.call(
        "POST",
        "/octo/bookings",
        json={
            "productId": PACKAGE,
            "optionId": "DEFAULT",
            "availabilityId": package_dates(server)[0]["id"],
            "unitItems": [],
        },
    )
    check_error(empty, "UNPROCESSABLE_ENTITY")


def test_odd_requests_on_a_package_answer_in_octos_error_shape_never_a_500(server):
    ask = {"productId": PACKAGE, "optionId": "DEFAULT"}
    first = package_dates(server)[0]["id"]
    held = reserve(server, PACKAGE, ["adult"], availabilityId=first)
    uuid = held["uuid"]
    for method, path, body, code in (
        ("GET", "/octo/products/package:" + "x" * 300, None, "INVALID_PRODUCT_ID"),
        ("GET", "/octo/bookings/" + "a" * 300, None, "INVALID_BOOKING_UUID"),
        ("DELETE", "/octo/webhooks/" + "a" * 300, None, "BAD_REQUEST"),
        ("POST", "/octo/availability", {**ask, "availabilityIds": [1, None]}, "BAD_REQUEST"),
        ("POST", "/octo/availability", {**ask, "localDate": "9999-12-31"}, None),
        ("POST", "/octo/availability/calendar", {**ask, "localDateStart": _day(9)}, "BAD_REQUEST"),
        (
            "POST",
            "/octo/availability",
            {**ask, "localDate": _day(9), "units": [{"id": "adult", "quantity": -1}]},
            "BAD_REQUEST",
        ),
        (
            "POST",
            "/octo/bookings",
            {**ask, "availabilityId": "2026-13-40T09:30:00+07:00", "unitItems": []},
            None,
        ),
        (
            "POST",
            "/octo/bookings",
            {**ask, "availabilityId": first, "unitItems": [{"unitId": "adult"}] * 2000},
            None,
        ),
        ("PATCH", f"/octo/bookings/{uuid}", {"availabilityId": "garbage"}, None),
        ("PATCH", f"/octo/bookings/{uuid}", {"productId": GROUP}, "INVALID_AVAILABILITY_ID"),
        ("PATCH", f"/octo/bookings/{uuid}", {"unitItems": [{"unitId": "infant"}]}, None),
        ("POST", f"/octo/bookings/{uuid}/extend", {"expirationMinutes": 0}, "BAD_REQUEST"),
        ("POST", f"/octo/bookings/{uuid}/confirm", {"unitItems": []}, "UNPROCESSABLE_ENTITY"),
    ):
        response = server.call(method, path, json=body)
        if body is not None and "localDate" in body and code is None:
            assert response.status_code in (200, 400), response.text  # out of range: none
            if response.status_code == 200:
                assert response.json() == []
                continue
        assert response.status_code == 400, (method, path, body, response.text)
        answer = response.json()
        assert isinstance(answer["error"], str) and isinstance(answer["errorMessage"], str)
        if code is not None:
            assert answer["error"] == code, (body, answer)
    # After all that, the reservation still holds its one place on every session.
    assert held_sessions(server, uuid) == dict.fromkeys(plan_sessions(server, first), 1)
    server.call("POST", f"/octo/bookings/{uuid}/cancel")
