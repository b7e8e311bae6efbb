"""The OpenAPI 3.1 document of ``/octo`` (``GET /octo/openapi.json``, public), a second
document next to ``/api/v1/openapi.json``, which points to it.

It describes what this server implements of OCTO: the field names and enums are OCTO's;
docs/octo.md says how our catalogue and bookings map onto them.
"""

from __future__ import annotations

import copy
from typing import Any

from flask import Blueprint, current_app, jsonify

from tourplanner.api import openapi as api_openapi
from tourplanner.domain.octo import CAPABILITIES

STR = {"type": "string"}
NSTR = {"type": ["string", "null"]}
INT = {"type": "integer"}
NINT = {"type": ["integer", "null"]}
BOOL = {"type": "boolean"}
UTC = {"type": "string", "format": "date-time", "pattern": "Z$"}
NUTC = {"type": ["string", "null"], "format": "date-time"}
ERROR_CODES = [
    "INVALID_PRODUCT_ID",
    "INVALID_OPTION_ID",
    "INVALID_UNIT_ID",
    "INVALID_AVAILABILITY_ID",
    "INVALID_BOOKING_UUID",
    "BAD_REQUEST",
    "UNPROCESSABLE_ENTITY",
    "UNAUTHORIZED",
    "FORBIDDEN",
    "NOT_FOUND",
    "INTERNAL_SERVER_ERROR",
]
BOOKING_STATUSES = [
    "ON_HOLD",
    "CONFIRMED",
    "EXPIRED",
    "CANCELLED",
    "REDEEMED",
    "PENDING",
    "REJECTED",
]


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: list[str], /, **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


def array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def enum(*values: str) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


PRICING = obj(
    ["original", "retail", "net", "currency", "currencyPrecision", "includedTaxes"],
    original=INT,
    retail=INT,
    net=NINT,
    currency=enum("VND"),
    currencyPrecision={"type": "integer", "const": 0},
    includedTaxes=array({"type": "object"}),
)
CONTACT_FIELDS = ("fullName", "firstName", "lastName", "emailAddress", "phoneNumber")
CONTACT = obj(
    [*CONTACT_FIELDS, "locales", "postalCode", "country", "notes"],
    **dict.fromkeys(CONTACT_FIELDS, NSTR),
    locales=array(STR),
    postalCode=NSTR,
    country=NSTR,
    notes=NSTR,
)
BOOKING_CONTACT = {
    "type": "object",
    "description": "Every field optional; emailAddress must be one e-mail address.",
    "properties": {**dict.fromkeys(CONTACT_FIELDS, NSTR), "locales": array(STR), "notes": NSTR},
}
UNIT_ITEM_IN = obj(
    ["unitId"],
    unitId=enum("adult", "child", "senior"),
    uuid={"type": "string", "format": "uuid"},
    resellerReference=STR,
    contact=BOOKING_CONTACT,
)

SCHEMAS: dict[str, Any] = {
    "Error": {
        **obj(["error", "errorMessage"], error=enum(*ERROR_CODES), errorMessage=STR),
        "description": "Always HTTP 400 except 404 (unknown path), 405, 429, 500 and 503. "
        "INVALID_*_ID errors also carry the id sent (productId, optionId, unitId, "
        "availabilityId, uuid).",
    },
    "Pricing": PRICING,
    "Contact": CONTACT,
    "Supplier": obj(
        ["id", "name", "endpoint", "contact"],
        id=STR,
        name=STR,
        endpoint={"type": "string", "format": "uri"},
        contact=obj(
            ["website", "email", "telephone", "address"],
            **dict.fromkeys(("website", "email", "telephone", "address"), NSTR),
        ),
    ),
    "Capability": obj(
        ["id", "revision", "required", "dependencies", "docs"],
        id=enum(*CAPABILITIES),
        revision=INT,
        required=BOOL,
        dependencies=array(STR),
        docs=NSTR,
    ),
    "Unit": obj(
        ["id", "internalName", "reference", "type", "restrictions", "requiredContactFields"],
        id=enum("adult", "child", "senior"),
        internalName=STR,
        reference=NSTR,
        type=enum("ADULT", "CHILD", "SENIOR"),
        restrictions=obj(
            [
                "minAge",
                "maxAge",
                "idRequired",
                "minQuantity",
                "maxQuantity",
                "paxCount",
                "accompaniedBy",
            ],
            minAge=INT,
            maxAge=INT,
            idRequired=BOOL,
            minQuantity=NINT,
            maxQuantity=NINT,
            paxCount=INT,
            accompaniedBy=array(STR),
        ),
        requiredContactFields=array(STR),
        pricingFrom=array(ref("Pricing")),
    ),
    "Option": obj(
        [
            "id",
            "default",
            "internalName",
            "reference",
            "availabilityLocalStartTimes",
            "cancellationCutoff",
            "cancellationCutoffAmount",
            "cancellationCutoffUnit",
            "requiredContactFields",
            "restrictions",
            "units",
        ],
        id=enum("DEFAULT"),
        default=BOOL,
        internalName=STR,
        reference=NSTR,
        availabilityLocalStartTimes=array({"type": "string", "pattern": "^[0-9]{2}:[0-9]{2}$"}),
        cancellationCutoff=STR,
        cancellationCutoffAmount=INT,
        cancellationCutoffUnit=enum("minute", "hour", "day"),
        requiredContactFields=array(STR),
        restrictions=obj(["minUnits", "maxUnits"], minUnits=NINT, maxUnits=NINT),
        units=array(ref("Unit")),
    ),
    "Product": obj(
        [
            "id",
            "internalName",
            "reference",
            "locale",
            "timeZone",
            "allowFreesale",
            "instantConfirmation",
            "instantDelivery",
            "availabilityRequired",
            "availabilityType",
            "deliveryFormats",
            "deliveryMethods",
            "redemptionMethod",
            "options",
        ],
        id={
            **STR,
            "description": "A sellable experience's slug, or package:<slug> for an "
            "agency's published package (START_TIME; every session held at once)",
        },
        internalName=STR,
        reference=NSTR,
        locale=enum("vi", "en"),
        timeZone=enum("Asia/Ho_Chi_Minh"),
        allowFreesale=BOOL,
        instantConfirmation=BOOL,
        instantDelivery=BOOL,
        availabilityRequired=BOOL,
        availabilityType=enum("START_TIME", "OPENING_HOURS"),
        deliveryFormats=array(enum("QRCODE")),
        deliveryMethods=array(enum("VOUCHER")),
        redemptionMethod=enum("DIGITAL"),
        options=array(ref("Option")),
        defaultCurrency=enum("VND"),
        availableCurrencies=array(enum("VND")),
        pricingPer=enum("UNIT"),
        title=STR,
        shortDescription=NSTR,
        description=NSTR,
    ),
    "Availability": obj(
        [
            "id",
            "localDateTimeStart",
            "localDateTimeEnd",
            "utcCutoffAt",
            "allDay",
            "available",
            "status",
            "vacancies",
            "capacity",
            "maxUnits",
            "openingHours",
        ],
        id=STR,
        localDateTimeStart=STR,
        localDateTimeEnd=STR,
        utcCutoffAt=UTC,
        allDay=BOOL,
        available=BOOL,
        status=enum("AVAILABLE", "LIMITED", "SOLD_OUT"),
        vacancies=NINT,
        capacity=NINT,
        maxUnits=NINT,
        openingHours=array(obj(["from", "to"], **{"from": STR, "to": STR})),
        unitPricing=array({"type": "object"}),
        pricing=ref("Pricing"),
    ),
    "AvailabilityCalendar": obj(
        ["localDate", "available", "status", "vacancies", "capacity", "openingHours"],
        localDate={"type": "string", "format": "date"},
        available=BOOL,
        status=enum("AVAILABLE", "LIMITED", "SOLD_OUT", "CLOSED"),
        vacancies=NINT,
        capacity=NINT,
        openingHours=array(obj(["from", "to"], **{"from": STR, "to": STR})),
        unitPricingFrom=array({"type": "object"}),
        pricingFrom=ref("Pricing"),
    ),
    "UnitItem": obj(
        [
            "uuid",
            "resellerReference",
            "supplierReference",
            "unitId",
            "status",
            "utcRedeemedAt",
            "contact",
            "ticket",
        ],
        uuid={"type": "string", "format": "uuid"},
        resellerReference=NSTR,
        supplierReference=NSTR,
        unitId=STR,
        unit=ref("Unit"),
        status=enum(*BOOKING_STATUSES),
        utcRedeemedAt=NUTC,
        contact=ref("Contact"),
        ticket={"type": "null"},
        pricing=ref("Pricing"),
    ),
    "Booking": obj(
        [
            "id",
            "uuid",
            "testMode",
            "resellerReference",
            "supplierReference",
            "status",
            "utcCreatedAt",
            "utcUpdatedAt",
            "utcExpiresAt",
            "utcRedeemedAt",
            "utcConfirmedAt",
            "productId",
            "optionId",
            "cancellable",
            "cancellation",
            "freesale",
            "availabilityId",
            "availability",
            "contact",
            "notes",
            "deliveryMethods",
            "voucher",
            "unitItems",
        ],
        id=STR,
        uuid={"type": "string", "format": "uuid"},
        testMode=BOOL,
        resellerReference=NSTR,
        supplierReference=NSTR,
        status=enum(*BOOKING_STATUSES),
        utcCreatedAt=UTC,
        utcUpdatedAt=UTC,
        utcExpiresAt=NUTC,
        utcRedeemedAt=NUTC,
        utcConfirmedAt=NUTC,
        productId=STR,
        product=ref("Product"),
        optionId=STR,
        option=ref("Option"),
        cancellable=BOOL,
        cancellation={
            "oneOf": [
                {"type": "null"},
                obj(
                    ["refund", "reason", "utcCancelledAt"],
                    refund=enum("FULL", "PARTIAL", "NONE"),
                    reason=NSTR,
                    utcCancelledAt=UTC,
                ),
            ]
        },
        freesale=BOOL,
        availabilityId=NSTR,
        availability=ref("Availability"),
        contact=ref("Contact"),
        notes=NSTR,
        deliveryMethods=array(enum("VOUCHER")),
        voucher=obj(
            ["redemptionMethod", "utcRedeemedAt", "deliveryOptions"],
            redemptionMethod=enum("DIGITAL"),
            utcRedeemedAt=NUTC,
            deliveryOptions=array(
                obj(
                    ["deliveryFormat", "deliveryValue"],
                    deliveryFormat=enum("QRCODE"),
                    deliveryValue=STR,
                )
            ),
        ),
        unitItems=array(ref("UnitItem")),
        pricing=ref("Pricing"),
    ),
    "Webhook": obj(
        ["id", "event", "url", "capabilities"],
        id={"type": "string", "format": "uuid"},
        event=enum("booking_update"),
        url={"type": "string", "format": "uri"},
        capabilities=array(STR),
        secret={**STR, "description": "Only in the answer to POST /webhooks"},
    ),
}

AVAILABILITY_BODY = obj(
    ["productId", "optionId"],
    productId=STR,
    optionId=enum("DEFAULT"),
    localDate={"type": "string", "format": "date"},
    localDateStart={"type": "string", "format": "date"},
    localDateEnd={"type": "string", "format": "date"},
    availabilityIds=array(STR),
    units=array(obj(["id", "quantity"], id=STR, quantity=INT)),
    currency=enum("VND"),
)
RESERVE_BODY = obj(
    ["productId", "optionId", "availabilityId", "unitItems"],
    uuid={"type": "string", "format": "uuid"},
    productId=STR,
    optionId=enum("DEFAULT"),
    availabilityId=STR,
    expirationMinutes={"type": "integer", "minimum": 1, "maximum": 1440},
    notes=NSTR,
    unitItems=array(UNIT_ITEM_IN),
    resellerReference=STR,
    contact=BOOKING_CONTACT,
    currency=enum("VND"),
)
CONFIRM_BODY = obj(
    ["contact"],
    contact=BOOKING_CONTACT,
    resellerReference=STR,
    unitItems=array(UNIT_ITEM_IN),
    emailReceipt=BOOL,
)
UPDATE_BODY = obj(
    [],
    productId=STR,
    optionId=enum("DEFAULT"),
    availabilityId=STR,
    expirationMinutes={"type": "integer", "minimum": 1, "maximum": 1440},
    notes=NSTR,
    unitItems=array(UNIT_ITEM_IN),
    resellerReference=STR,
    contact=BOOKING_CONTACT,
)


def _op(
    summary: str,
    response: dict[str, Any],
    *,
    body: dict[str, Any] | None = None,
    params: list[dict[str, Any]] | None = None,
    description: str = "",
    public: bool = False,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": response}}},
            "400": {
                "description": "OCTO error",
                "content": {"application/json": {"schema": ref("Error")}},
            },
        },
    }
    if description:
        operation["description"] = description
    if body is not None:
        operation["requestBody"] = {"content": {"application/json": {"schema": body}}}
    parameters = list(params or [])
    if not public:
        parameters += [HEADER_CAPABILITIES, HEADER_LANGUAGE]
    else:
        operation["security"] = []
    if parameters:
        operation["parameters"] = parameters
    return operation


HEADER_CAPABILITIES = {
    "name": "Octo-Capabilities",
    "in": "header",
    "required": False,
    "description": f"Comma-separated, may be empty; supported: {', '.join(CAPABILITIES)}. The "
    "answer's Octo-Capabilities lists those applied.",
    "schema": STR,
}
HEADER_LANGUAGE = {
    "name": "Accept-Language",
    "in": "header",
    "required": False,
    "description": "vi or en (default vi); the answer's Content-Language says which.",
    "schema": STR,
}
UUID_PARAM = {"name": "uuid", "in": "path", "required": True, "schema": STR}


def _paths() -> dict[str, Any]:
    booking = ref("Booking")
    return {
        "/octo/supplier": {"get": _op("The supplier", ref("Supplier"))},
        "/octo/capabilities": {"get": _op("Capabilities", array(ref("Capability")))},
        "/octo/products": {
            "get": _op(
                "Products: sellable experiences (their slugs) and published packages "
                "(package:<slug>), in id order",
                array(ref("Product")),
            )
        },
        "/octo/products/{id}": {
            "get": _op(
                "One product",
                ref("Product"),
                params=[
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": STR,
                        "description": "An experience's slug or package:<slug>; any other "
                        "is INVALID_PRODUCT_ID (HTTP 400)",
                    }
                ],
            )
        },
        "/octo/availability": {
            "post": _op(
                "Availability check",
                array(ref("Availability")),
                body=AVAILABILITY_BODY,
                description="Exactly one of localDate, localDateStart and localDateEnd (at "
                "most 62 days), or availabilityIds. A package's availabilities are the first "
                "dates it runs (id <date>T<first stop's start>+07:00; vacancies the fewest "
                "over its sessions; SOLD_OUT when one is full).",
            )
        },
        "/octo/availability/calendar": {
            "post": _op(
                "Availability calendar (one entry a day, at most 366 days)",
                array(ref("AvailabilityCalendar")),
                body=AVAILABILITY_BODY,
            )
        },
        "/octo/bookings": {
            "post": _op(
                "Reserve (ON_HOLD until utcExpiresAt)",
                booking,
                body=RESERVE_BODY,
                description="Places are held until the hold expires (expirationMinutes, "
                "default 30, never past the session's cut-off). A uuid sent again answers the "
                "same reservation. A package holds every session of its plan at once or none "
                "(one full session: UNPROCESSABLE_ENTITY).",
            ),
            "get": _op(
                "Bookings by resellerReference and/or supplierReference (one is required)",
                array(booking),
                params=[
                    {"name": "resellerReference", "in": "query", "schema": STR},
                    {"name": "supplierReference", "in": "query", "schema": STR},
                ],
            ),
        },
        "/octo/bookings/{uuid}": {
            "get": _op("One booking", booking, params=[UUID_PARAM]),
            "patch": _op(
                "Change a booking",
                booking,
                body=UPDATE_BODY,
                params=[UUID_PARAM],
                description="A reservation: anything (product, a package's first date, "
                "units: the places move in one transaction); a confirmed or pending booking: "
                "contact, notes and resellerReference only.",
            ),
        },
        "/octo/bookings/{uuid}/confirm": {
            "post": _op(
                "Confirm: CONFIRMED at once (instant confirmation) or PENDING until the "
                "village answers",
                booking,
                body=CONFIRM_BODY,
                params=[UUID_PARAM],
            )
        },
        "/octo/bookings/{uuid}/extend": {
            "post": _op(
                "Extend a reservation",
                booking,
                body=obj([], expirationMinutes=INT),
                params=[UUID_PARAM],
            )
        },
        "/octo/bookings/{uuid}/cancel": {
            "post": _op(
                "Cancel (a reservation, or a confirmed booking before its cancellation cutoff)",
                booking,
                body=obj([], reason=NSTR, force=BOOL),
                params=[UUID_PARAM],
            )
        },
        "/octo/webhooks": {
            "post": _op(
                "Register a webhook (octo/webhooks)",
                ref("Webhook"),
                body=obj(["url"], url=STR, event=enum("booking_update")),
                description="Deliveries POST {webhook, booking} signed with the secret: "
                "X-Tourplanner-Signature: t=<unix>,v1=<hex HMAC-SHA256 of '<t>.<body>'>.",
            ),
            "get": _op("The agency's webhooks", array(ref("Webhook"))),
        },
        "/octo/webhooks/{id}": {
            "delete": _op(
                "Delete a webhook",
                ref("Webhook"),
                params=[{"name": "id", "in": "path", "required": True, "schema": STR}],
            )
        },
        "/octo/openapi.json": {
            "get": _op("This document", {"type": "object"}, public=True),
        },
    }


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tourplanner OCTO API",
            "version": "1.0.0",
            "description": "The OCTO reseller API of the Hanoi craft villages: supplier, "
            "products, availability, bookings, with the octo/pricing, octo/content and "
            "octo/webhooks capabilities. Authorization: Bearer <agency API key>. Field names "
            "and enums are OCTO's (octotravel/octo-types); the mapping onto our catalogue and "
            "bookings is in docs/octo.md.",
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": _paths(),
        "components": {
            "schemas": copy.deepcopy(SCHEMAS),
            "securitySchemes": copy.deepcopy(api_openapi.SECURITY_SCHEMES),
        },
    }


def openapi_json() -> Any:
    return jsonify(document())


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/openapi.json", endpoint="openapi_json", view_func=openapi_json)


def _point_to_octo(doc: dict[str, Any]) -> None:
    """The API's document (and so its docs page) points to this one."""
    url = str(current_app.config.get("PUBLIC_BASE_URL", "")).rstrip("/") + "/octo/openapi.json"
    doc["info"]["description"] += (
        f" The OCTO reseller API (/octo, for agencies' reseller systems) has its own "
        f"document: {url}."
    )
    doc["externalDocs"] = {"description": "The OCTO reseller API (/octo)", "url": url}


api_openapi.add_filler(_point_to_octo)
