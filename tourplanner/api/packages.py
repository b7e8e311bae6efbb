"""Packages in the JSON API: the public read API and the agency endpoints (Bearer API key).

Public (anyone, published packages of active agencies only):

* ``GET /api/v1/packages``: the published packages;
* ``GET /api/v1/packages/<slug>``: one with its days, stops, retail prices per category,
  villages and terms;
* ``GET /api/v1/packages/<slug>/dates``: the dates it runs for a party.

An agency, with ``Authorization: Bearer <api key>`` (:mod:`tourplanner.api.auth`), under
``/api/v1/agency``: its packages (list, create, read with net/margin/commission and the check
on a date, change, a day's stops, fill with the route engine, check, dates, publish,
withdraw), its bookings and its clients. Anything of another agency is 404, like a missing one
(the services take the key's ``agency_id``).

Views translate HTTP to one service call (:mod:`tourplanner.services.packages`). Query
parameters are parsed here (dates ``YYYY-MM-DD``, whole numbers in ASCII digits); unknown ones
are refused with 400 ``invalid_parameter``. Write endpoints are exempt from the session CSRF
check: they act on the API key in the header, never on a cookie.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from flask import Response, jsonify, request

from tourplanner.api import bp
from tourplanner.api.auth import api_key_required, current_api_key
from tourplanner.api.body import json_body
from tourplanner.api.bookings import CONTACT_OUT, DATE, DATE_PARAM, STATE
from tourplanner.api.openapi import (
    BEARER,
    add_filler,
    add_paths,
    add_schemas,
    add_tag,
    error_responses,
    integer,
    json_response,
    party_schema,
    path_param,
    query_param,
    ref,
    text,
)
from tourplanner.domain import inputs
from tourplanner.domain import packages as rules
from tourplanner.domain.availability import local_today
from tourplanner.domain.catalogue import CATEGORIES
from tourplanner.domain.errors import ValidationError
from tourplanner.domain.planning import HANOI_BOX, MODES
from tourplanner.domain.pricing import CATEGORIES as PARTY_KEYS
from tourplanner.domain.pricing import Party
from tourplanner.extensions import csrf
from tourplanner.services import agencies, availability, catalogue, package_booking, packages
from tourplanner.services.notifications import public_url

#: Days of ``/dates`` when ``to`` is not given: ``from`` and the 30 days after it.
DEFAULT_DATE_SPAN = 30
PARTY_PARAMS = ("adults", "children", "seniors")
CHECK_PARAMS = ("date", *PARTY_PARAMS)


# --- query parameters ------------------------------------------------------------------------


def _only(allowed: Iterable[str]) -> None:
    unknown = sorted(set(request.args) - set(allowed))
    if unknown:
        name = unknown[0]
        raise ValidationError(
            f"unknown parameter '{name}'", code="invalid_parameter", field=name, parameter=name
        )


def _date_arg(name: str) -> date | None:
    value = request.args.get(name)
    return None if value is None else inputs.date_param(value, name)


def _party_arg() -> Party | None:
    """``adults``/``children``/``seniors`` (each 0-100, missing ones 0), or None when none of
    the three is given."""
    if not any(name in request.args for name in PARTY_PARAMS):
        return None
    counts = {
        name: inputs.int_param(
            request.args.get(name, "0"), name, high=inputs.MAX_PARTY_PER_CATEGORY
        )
        for name in PARTY_PARAMS
    }
    try:
        return Party(**counts)
    except ValueError as exc:
        raise ValidationError(
            str(exc), code="invalid_party", field="adults", parameter="adults"
        ) from None


def _date_range() -> tuple[date, date]:
    """``from`` (default today in Hanoi) and ``to`` (default ``from`` + 30 days). A ``from``
    after the booking horizon is refused: no package can run there."""
    now = availability.now_utc()
    _first, last = availability.horizon(now)
    start = _date_arg("from") or local_today(now)
    if start > last:
        raise ValidationError(
            f"'from' must be on or before {last.isoformat()} (the booking horizon)",
            code="outside_horizon",
            field="from",
            parameter="from",
            last=last.isoformat(),
        )
    end = _date_arg("to") or start + timedelta(days=DEFAULT_DATE_SPAN)
    return start, end


def _dates(slug: str, *, agency_id: int | None) -> Response:
    _only(("from", "to", *PARTY_PARAMS))
    start, end = _date_range()
    party = _party_arg() or Party(adults=1)
    dates = packages.run_dates(slug, party, start, end, agency_id=agency_id)
    return jsonify(
        {
            "package": slug,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "party": party.as_dict(),
            "dates": dates,
        }
    )


def _agency_id() -> int:
    return current_api_key().agency_id


def _items(rows: list[dict[str, Any]]) -> Response:
    return jsonify({"items": rows, "total": len(rows)})


# --- public ----------------------------------------------------------------------------------


@bp.get("/packages")
def packages_list():
    _only(())
    return _items(packages.list_published())


@bp.get("/packages/<slug>")
def package_detail(slug: str):
    _only(())
    return jsonify(packages.get_published(slug))


@bp.get("/packages/<slug>/dates")
def package_dates(slug: str):
    return _dates(slug, agency_id=None)


# --- the agency's packages -------------------------------------------------------------------


@bp.get("/agency/packages")
@api_key_required
def agency_packages():
    _only(())
    return _items(packages.list_for_agency(_agency_id()))


@bp.post("/agency/packages")
@csrf.exempt
@api_key_required
def agency_package_create():
    _only(())
    view = packages.create(_agency_id(), json_body())
    response = jsonify(view)
    response.status_code = 201
    response.headers["Location"] = public_url("api.agency_package", slug=view["slug"])
    return response


@bp.get("/agency/packages/<slug>")
@api_key_required
def agency_package(slug: str):
    _only(CHECK_PARAMS)
    return jsonify(
        packages.get_for_agency(
            _agency_id(), slug, first_date=_date_arg("date"), party=_party_arg()
        )
    )


@bp.patch("/agency/packages/<slug>")
@csrf.exempt
@api_key_required
def agency_package_update(slug: str):
    _only(())
    return jsonify(packages.update(_agency_id(), slug, json_body()))


@bp.put("/agency/packages/<slug>/days/<int(min=1, max=5):number>/stops")
@csrf.exempt
@api_key_required
def agency_package_stops(slug: str, number: int):
    _only(("date",))
    return jsonify(
        packages.set_stops(_agency_id(), slug, number, json_body(), first_date=_date_arg("date"))
    )


@bp.post("/agency/packages/<slug>/fill")
@csrf.exempt
@api_key_required
def agency_package_fill(slug: str):
    _only(CHECK_PARAMS)
    return jsonify(
        packages.fill(_agency_id(), slug, first_date=_date_arg("date"), party=_party_arg())
    )


@bp.get("/agency/packages/<slug>/check")
@api_key_required
def agency_package_check(slug: str):
    _only(CHECK_PARAMS)
    return jsonify(packages.check(slug, _date_arg("date"), _party_arg(), agency_id=_agency_id()))


@bp.get("/agency/packages/<slug>/dates")
@api_key_required
def agency_package_dates(slug: str):
    return _dates(slug, agency_id=_agency_id())


@bp.post("/agency/packages/<slug>/publish")
@csrf.exempt
@api_key_required
def agency_package_publish(slug: str):
    _only(())
    return jsonify(packages.publish(_agency_id(), slug))


@bp.post("/agency/packages/<slug>/withdraw")
@csrf.exempt
@api_key_required
def agency_package_withdraw(slug: str):
    _only(())
    return jsonify(packages.withdraw(_agency_id(), slug))


# --- the agency's bookings and clients -------------------------------------------------------


@bp.get("/agency/bookings")
@api_key_required
def agency_bookings():
    _only(())
    return _items([_booking(b) for b in package_booking.list_for_agency(_agency_id())])


@bp.get("/agency/bookings/<reference>")
@api_key_required
def agency_booking(reference: str):
    _only(())
    return jsonify(_booking(package_booking.get_for_agency(_agency_id(), reference)))


def _booking(view: dict[str, Any]) -> dict[str, Any]:
    """The agency's view without the tourist's management token (never in the agency's
    answers; only its hash is stored)."""
    return {k: v for k, v in view.items() if k != "manage_token"}


@bp.get("/agency/clients")
@api_key_required
def agency_clients():
    _only(())
    return _items([_client(c) for c in agencies.list_clients(_agency_id())])


@bp.get("/agency/clients/<int(max=2147483647):client_id>")
@api_key_required
def agency_client(client_id: int):
    _only(())
    return jsonify(_client(agencies.get_client(_agency_id(), client_id)))


def _client(row: dict[str, Any]) -> dict[str, Any]:
    created = row.get("created_at")
    return {**row, "created_at": created.isoformat() if created else None}


# --- OpenAPI description ---------------------------------------------------------------------

NULLABLE_STR = {"type": ["string", "null"]}
NULLABLE_INT = {"type": ["integer", "null"]}
NULLABLE_NUM = {"type": ["number", "null"]}
INT = {"type": "integer"}
STR = {"type": "string"}
BOOL = {"type": "boolean"}
STR_LIST = {"type": "array", "items": STR}
HHMM_OUT = {"type": "string", "pattern": "^[0-9]{2}:[0-9]{2}$", "examples": ["08:30"]}
HHMM_IN = {
    "type": "string",
    "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$",
    "description": "HH:MM, 24 h",
}
SLUG_IN = {"type": "string", "maxLength": 120, "pattern": "^[a-z0-9]+(?:-[a-z0-9]+)*$"}
PATH_SLUG = {"type": "string", "maxLength": 200, "pattern": inputs.NO_NUL_PATTERN}
DATETIME = {"type": "string", "format": "date-time"}
CATEGORY_PRICES = {
    "type": "object",
    "required": list(rules.PRICE_KEYS),
    "properties": {key: NULLABLE_INT for key in rules.PRICE_KEYS},
    "description": "VND per person; null: the package cannot be sold to that category",
}
PARTY_OUT = {
    "type": "object",
    "required": list(PARTY_KEYS),
    "properties": {name: INT for name in PARTY_KEYS},
}


def _obj(required: list[str], **props: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props}


def _closed(required: list[str], **props: Any) -> dict[str, Any]:
    """A request object: unknown fields are refused (400 unknown_field)."""
    return {**_obj(required, **props), "additionalProperties": False}


def _langs(value: dict[str, Any]) -> dict[str, Any]:
    return _obj(["vi", "en"], vi=value, en=value)


VILLAGE = _obj(
    ["slug", "name", "lat", "lon"], slug=STR, name=_langs(STR), lat=NULLABLE_NUM, lon=NULLABLE_NUM
)
PROBLEM = _obj(
    ["code", "experience", "message"],
    code={"type": "string", "enum": list(rules.PROBLEM_CODES)},
    experience={**STR, "description": "The stop's experience slug"},
    left={**INT, "description": "full: the places left"},
    message={**STR, "description": "The code in English"},
    day={**INT, "description": "The day (in the check's list of every problem)"},
)
STOP_PROPS: dict[str, Any] = {
    "position": INT,
    "experience": {**STR, "description": "Experience slug"},
    "title": _langs(STR),
    "kind": {"type": "string", "enum": list(rules.KINDS)},
    "duration_minutes": INT,
    "village": ref("PackageVillage"),
    "start": {
        **HHMM_OUT,
        "type": ["string", "null"],
        "description": "The planned start (what a booking takes on any date)",
    },
}
CHECK_STOP = _obj(
    ["experience", "arrival", "start", "end", "problems"],
    **STOP_PROPS,
    locked=BOOL,
    travel_before={**INT, "description": "Minutes on the road before the stop"},
    arrival=HHMM_OUT,
    end=HHMM_OUT,
    slot_id={**NULLABLE_INT, "description": "The session taken (workshops)"},
    places_left=NULLABLE_INT,
    problems={"type": "array", "items": ref("PackageProblem")},
)
CHECK_STOP["properties"]["start"] = HHMM_OUT
CHECK = _obj(
    ["date", "party", "ok", "days", "problems", "empty_days"],
    date=DATE,
    party=PARTY_OUT,
    ok={**BOOL, "description": "Every stop of every day works that date, no day is empty"},
    days={
        "type": "array",
        "items": _obj(
            ["number", "date", "ok", "stops", "lunch", "back_at", "travel_minutes", "problems"],
            number=INT,
            date=DATE,
            ok=BOOL,
            stops={"type": "array", "items": CHECK_STOP},
            lunch={
                "oneOf": [
                    {"type": "null"},
                    _obj(["start", "end"], start=HHMM_OUT, end=HHMM_OUT),
                ]
            },
            back_at=HHMM_OUT,
            travel_minutes=INT,
            problems={"type": "array", "items": ref("PackageProblem")},
        ),
    },
    problems={"type": "array", "items": ref("PackageProblem")},
    empty_days={"type": "array", "items": INT},
)


def _day(with_lock: bool) -> dict[str, Any]:
    stop_props = {**STOP_PROPS, "locked": BOOL} if with_lock else STOP_PROPS
    return _obj(
        ["number", "start", "day_start", "day_end", "lunch", "stops"],
        number=INT,
        start=_obj(
            ["label", "landmark", "lat", "lon"],
            label=STR,
            landmark=NULLABLE_STR,
            lat={"type": "number"},
            lon={"type": "number"},
        ),
        day_start=HHMM_OUT,
        day_end=HHMM_OUT,
        lunch=BOOL,
        stops={
            "type": "array",
            "items": _obj(["position", "experience", "village", "start"], **stop_props),
        },
    )


SUMMARY_PROPS: dict[str, Any] = {
    "slug": STR,
    "name": _langs(STR),
    "description": _langs(NULLABLE_STR),
    "included": _langs(NULLABLE_STR),
    "days": {**INT, "description": "How many days"},
    "travel_mode": {"type": "string", "enum": list(MODES)},
    "interests": STR_LIST,
    "villages": {"type": "array", "items": ref("PackageVillage")},
    "price_from_vnd": {**NULLABLE_INT, "description": "Retail price per adult"},
    "agency": _obj(["slug", "name"], slug=STR, name=STR),
    "is_sample": BOOL,
}
SUMMARY_REQUIRED = ["slug", "name", "days", "villages", "price_from_vnd", "agency"]
TERMS = _obj(
    ["free_cancellation_hours", "booking_cutoff_hours"],
    free_cancellation_hours={
        **INT,
        "description": "Free cancellation until this many hours before a workshop (the "
        "strictest of the package's workshops)",
    },
    booking_cutoff_hours=INT,
)
DETAIL_PROPS: dict[str, Any] = {
    **SUMMARY_PROPS,
    "days": {"type": "array", "items": ref("PackageDay")},
    "day_count": INT,
    "party": {**PARTY_OUT, "description": "The typical party"},
    "terms": TERMS,
    "published_at": {**DATETIME, "type": ["string", "null"]},
}
AGENCY_PRICES = _obj(
    ["net", "retail", "margin", "commission", "commission_bp", "party_totals"],
    net={**CATEGORY_PRICES, "description": "What the villages are paid, per person"},
    retail=CATEGORY_PRICES,
    margin={**CATEGORY_PRICES, "description": "retail - net (negative below cost)"},
    commission={**CATEGORY_PRICES, "description": "The platform's share of retail"},
    commission_bp={**INT, "description": "The agency's commission in basis points"},
    party_totals={
        "description": "For the typical party; null when a category it has has no price",
        "oneOf": [
            {"type": "null"},
            _obj(
                ["net_vnd", "retail_vnd", "margin_vnd", "commission_vnd"],
                net_vnd=INT,
                retail_vnd=INT,
                margin_vnd=INT,
                commission_vnd=INT,
            ),
        ],
    },
)
AGENCY_PROPS: dict[str, Any] = {
    **DETAIL_PROPS,
    "days": {"type": "array", "items": ref("AgencyPackageDay")},
    "status": {"type": "string", "enum": ["draft", "published", "withdrawn"]},
    "updated_at": DATETIME,
    "markup_kind": {"type": "string", "enum": list(rules.MARKUP_KINDS)},
    "markup_bp": INT,
    "retail_prices": {
        "type": "object",
        "properties": {key: NULLABLE_INT for key in rules.PRICE_KEYS},
        "description": "The fixed retail prices (markup_kind fixed)",
    },
    "prices": AGENCY_PRICES,
    "check": ref("PackageCheck"),
    "fill": {
        "type": "array",
        "description": "After a fill: per day, what the engine added and the locked stops "
        "it could not fit (kept, shown broken by the check)",
        "items": _obj(
            ["number", "added", "unfit_locked"], number=INT, added=STR_LIST, unfit_locked=STR_LIST
        ),
    },
}

# Request bodies: the bounds tourplanner.domain.packages enforces.
LABEL = text(rules.MAX_LABEL_CHARS, nullable=True)
START_IN = {
    "oneOf": [
        _closed(["landmark"], landmark={**SLUG_IN, "examples": ["hoan-kiem-lake"]}, label=LABEL),
        _closed(
            ["lat", "lon"],
            lat={"type": "number", "minimum": HANOI_BOX[0], "maximum": HANOI_BOX[1]},
            lon={"type": "number", "minimum": HANOI_BOX[2], "maximum": HANOI_BOX[3]},
            label=LABEL,
            landmark={"type": "null"},
        ),
    ],
    "description": "A landmark (see GET /api/v1/landmarks) or a point in the Hanoi area "
    "(a hotel's coordinates) with an optional label",
}
NAME = text(inputs.MAX_NAME_CHARS, visible=True)
LONG_TEXT = text(rules.MAX_TEXT_CHARS, nullable=True)
HOURS = {
    "day_start": {**HHMM_IN, "description": "When the day leaves its start (default 08:00)"},
    "day_end": {
        **HHMM_IN,
        "description": "When it must be back (default 17:00), after day_start (400 invalid_hours)",
    },
    "lunch": {**BOOL, "description": "Place a 45-60 minute lunch in 11:00-13:30 (default true)"},
}
FIELDS_IN: dict[str, Any] = {
    "name_vi": NAME,
    "name_en": NAME,
    "description_vi": LONG_TEXT,
    "description_en": LONG_TEXT,
    "included_vi": LONG_TEXT,
    "included_en": LONG_TEXT,
    "days": integer(rules.MIN_DAYS, rules.MAX_DAYS, default=1),
    "travel_mode": {"type": "string", "enum": list(MODES), "default": "car"},
    "interests": {
        "type": "array",
        "maxItems": len(CATEGORIES),
        "items": {"type": "string", "enum": list(CATEGORIES)},
        "description": "Craft categories the fill prefers",
    },
    "party": {**party_schema(), "description": "The typical party (default 2 adults)"},
    "markup_kind": {"type": "string", "enum": list(rules.MARKUP_KINDS), "default": "percent"},
    "markup_bp": integer(
        0,
        rules.MAX_MARKUP_BP,
        default=0,
        description="percent: the markup in basis points (2500 = 25 %)",
    ),
    "retail_prices": _closed(
        [],
        **{
            key: integer(0, rules.MAX_PRICE_VND, type=["integer", "null"])
            for key in rules.PRICE_KEYS
        },
    )
    | {"description": "fixed: the retail price per person (a senior without one pays the adult's)"},
    "start": START_IN,
    **HOURS,
}
DAY_IN = _closed(
    ["number"],
    number=integer(1, rules.MAX_DAYS),
    start=START_IN,
    **HOURS,
)
PACKAGE_CREATE = _closed(["name_vi", "name_en", "start"], **FIELDS_IN)
PACKAGE_UPDATE = _closed(
    [],
    **{
        **FIELDS_IN,
        "days": {
            "description": "A count (days added like the last one, days beyond it removed "
            "with their stops) or per-day settings, each day once (400 duplicate_day) and "
            "one the package has (400 unknown_day)",
            "oneOf": [
                integer(rules.MIN_DAYS, rules.MAX_DAYS),
                {"type": "array", "maxItems": rules.MAX_DAYS, "items": DAY_IN},
            ],
        },
        "start": {
            **START_IN,
            "description": "start, day_start, day_end and lunch given here apply to every day",
        },
    },
)
STOP_IN = _closed(
    ["experience"],
    experience={**SLUG_IN, "description": "Experience slug (GET /api/v1/experiences)"},
    locked={**BOOL, "default": False, "description": "The fill keeps a locked stop"},
)
STOPS_LIST = {
    "type": "array",
    "maxItems": rules.MAX_STOPS_PER_DAY,
    "items": STOP_IN,
    "description": "In visiting order; each experience once (400 duplicate_stop)",
}

add_schemas(
    {
        "PackageVillage": VILLAGE,
        "PackageProblem": PROBLEM,
        "PackageDay": _day(with_lock=False),
        "AgencyPackageDay": _day(with_lock=True),
        "PackageCheck": CHECK,
        "PackageSummary": _obj(SUMMARY_REQUIRED, **SUMMARY_PROPS),
        "AgencyPackageSummary": _obj(
            [*SUMMARY_REQUIRED, "status", "updated_at"],
            **SUMMARY_PROPS,
            status=AGENCY_PROPS["status"],
            updated_at=DATETIME,
        ),
        "Package": _obj(
            [*SUMMARY_REQUIRED, "day_count", "party", "prices", "terms"],
            **DETAIL_PROPS,
            prices=_obj(["retail"], retail=CATEGORY_PRICES),
        ),
        "AgencyPackage": _obj(
            [*SUMMARY_REQUIRED, "status", "prices", "check", "markup_kind"],
            **AGENCY_PROPS,
        ),
        "PackageDates": _obj(
            ["package", "from", "to", "party", "dates"],
            package=STR,
            party=PARTY_OUT,
            dates={
                "type": "array",
                "items": _obj(
                    ["date", "retail_total_vnd", "places_left"],
                    date=DATE,
                    retail_total_vnd={**INT, "description": "The party's retail price"},
                    places_left={
                        **NULLABLE_INT,
                        "description": "The fewest places left over its sessions",
                    },
                ),
            },
            **{"from": DATE, "to": DATE},
        ),
        "PackageCreate": PACKAGE_CREATE,
        "PackageUpdate": PACKAGE_UPDATE,
        "PackageStops": {
            "oneOf": [STOPS_LIST, _closed(["stops"], stops=STOPS_LIST)],
            "description": 'The day\'s stops: a list, or {"stops": [...]}. An experience on '
            "another day of the package (400 duplicate_stop), an unknown one (400 "
            "unknown_experience) or one whose village has no known position (400 "
            "no_position) is refused.",
        },
        "AgencyBooking": _obj(
            ["reference", "status", "items", "total_vnd"],
            reference={"type": "string", "examples": ["TP-7K3Q9M"]},
            status=STATE,
            items={"type": "array", "items": ref("BookingItem")},
            total_vnd={**INT, "description": "What the client pays (a package: retail)"},
            net_total_vnd={**NULLABLE_INT, "description": "What the villages are paid"},
            commission_vnd=NULLABLE_INT,
            lang=STR,
            contact=CONTACT_OUT,
            created_at=DATETIME,
            plan_id=NULLABLE_STR,
            itinerary=NULLABLE_INT,
            source={"type": "string", "enum": ["site", "agency", "octo"]},
            package=NULLABLE_STR,
            package_date={"type": ["string", "null"], "format": "date"},
            package_name={"oneOf": [{"type": "null"}, _langs(STR)]},
            client={"oneOf": [{"type": "null"}, _obj(["id", "name"], id=INT, name=STR)]},
            notes=NULLABLE_STR,
        ),
        "AgencyClient": _obj(
            ["id", "name"],
            id=INT,
            name=STR,
            email=NULLABLE_STR,
            phone=NULLABLE_STR,
            notes=NULLABLE_STR,
            created_at={**DATETIME, "type": ["string", "null"]},
        ),
    }
)


def _list_of(name: str) -> dict[str, Any]:
    return _obj(["items", "total"], items={"type": "array", "items": ref(name)}, total=INT)


SLUG_PARAM = path_param("slug", "Package slug", PATH_SLUG)
DATE_QUERY = query_param(
    "date",
    "The (first) date to check on, inside the booking horizon (default tomorrow in Hanoi; "
    "400 date_out_of_range otherwise)",
    DATE_PARAM,
)
PARTY_QUERY = [
    query_param(
        name,
        f"Party: {name} (0-100). Give one of the three for a party other than the default; "
        "at least one person in all (400 invalid_party)",
        integer(0, inputs.MAX_PARTY_PER_CATEGORY),
    )
    for name in PARTY_PARAMS
]
RANGE_QUERY = [
    query_param(
        "from",
        "First date (default today in Hanoi); after the booking horizon: 400 outside_horizon",
        DATE_PARAM,
    ),
    query_param(
        "to",
        f"Last date, inclusive (default from + {DEFAULT_DATE_SPAN} days); on or after from, "
        f"at most {packages.MAX_RUN_DATE_RANGE} days in all (400 invalid_range, range_too_long)",
        DATE_PARAM,
    ),
]
DATES_NOTES = (
    "The first dates of the range on which every planned session of every day runs with places "
    "for the party and no visit is closed (days beyond the booking horizon are not offered). "
    "The party defaults to 1 adult. Each date comes with the party's retail price and the "
    "fewest places left over its sessions. 422 package_not_priced: a category of the party "
    "has no price."
)
AGENCY_NOTES = (
    "Needs an agency's API key (Authorization: Bearer). Another agency's package is 404 "
    "package_not_found, like a missing one."
)
AGENCY_ERRORS = (400, 401, 403, 404)
PACKAGE_RESPONSE = json_response(
    "The package as the agency sees it: net, retail, margin and commission per category, and "
    "its check on the date",
    ref("AgencyPackage"),
)


def _op(op_id: str, summary: str, description: str, *, agency: bool, **extra: Any) -> dict:
    operation = {
        "tags": ["agency" if agency else "packages"],
        "summary": summary,
        "description": f"{description} {AGENCY_NOTES}" if agency else description,
        "operationId": op_id,
        **extra,
    }
    if agency:
        operation["security"] = BEARER
    return operation


def _links(source: str, targets: Iterable[str], param: str = "slug") -> dict[str, Any]:
    """OpenAPI links: the value at ``source`` (a JSON pointer into the answer) is the
    ``param`` of each target operation."""
    return {
        target: {"operationId": target, "parameters": {param: f"$response.body#{source}"}}
        for target in targets
    }


AGENCY_PACKAGE_OPS = (
    "getAgencyPackage",
    "updateAgencyPackage",
    "setAgencyPackageStops",
    "fillAgencyPackage",
    "checkAgencyPackage",
    "getAgencyPackageDates",
    "publishAgencyPackage",
    "withdrawAgencyPackage",
)


def _body(name: str, required: bool = True) -> dict[str, Any]:
    return {
        "required": required,
        "content": {"application/json": {"schema": ref(name)}},
    }


add_tag("packages", "Published multi-day packages of travel agencies")
add_tag("agency", "An agency's packages, bookings and clients (API key)")
add_paths(
    {
        "/api/v1/packages": {
            "get": _op(
                "listPackages",
                "Published packages",
                "Packages on sale, sample ones last, then by name; price_from_vnd is the "
                "retail price per adult.",
                agency=False,
                responses={
                    "200": {
                        **json_response("The packages", _list_of("PackageSummary")),
                        "links": _links("/items/0/slug", ("getPackage", "getPackageDates")),
                    }
                },
            )
        },
        "/api/v1/packages/{slug}": {
            "get": _op(
                "getPackage",
                "One published package: days, stops, retail prices, villages, terms",
                "Only retail prices (per person and category; null: that category cannot book "
                "it). Each stop's start is its planned time. Drafts and withdrawn packages are "
                "404 package_not_found.",
                agency=False,
                parameters=[SLUG_PARAM],
                responses={
                    "200": json_response("The package", ref("Package")),
                    **error_responses(404),
                },
            )
        },
        "/api/v1/packages/{slug}/dates": {
            "get": _op(
                "getPackageDates",
                "Dates a published package runs for a party",
                DATES_NOTES,
                agency=False,
                parameters=[SLUG_PARAM, *RANGE_QUERY, *PARTY_QUERY],
                responses={
                    "200": json_response("The dates, in order", ref("PackageDates")),
                    **error_responses(400, 404, 422),
                },
            )
        },
        "/api/v1/agency/packages": {
            "get": _op(
                "listAgencyPackages",
                "The agency's packages",
                "Drafts, published and withdrawn packages, newest change first.",
                agency=True,
                responses={
                    "200": {
                        **json_response("The packages", _list_of("AgencyPackageSummary")),
                        "links": _links("/items/0/slug", AGENCY_PACKAGE_OPS),
                    },
                    **error_responses(*AGENCY_ERRORS),
                },
            ),
            "post": _op(
                "createAgencyPackage",
                "Create a draft package",
                "Names and the start point are required; every day gets the same start, hours "
                "and lunch (change them per day with PATCH). An unknown landmark is 400 "
                "unknown_landmark; day_end not after day_start 400 invalid_hours.",
                agency=True,
                requestBody=_body("PackageCreate"),
                responses={
                    "201": {
                        **PACKAGE_RESPONSE,
                        "description": "The new draft",
                        "links": _links("/slug", AGENCY_PACKAGE_OPS),
                        "headers": {
                            "Location": {
                                "description": "The package's API resource",
                                "schema": {"type": "string"},
                            }
                        },
                    },
                    **error_responses(*AGENCY_ERRORS, 413),
                },
            ),
        },
        "/api/v1/agency/packages/{slug}": {
            "get": _op(
                "getAgencyPackage",
                "One of the agency's packages, with net/margin/commission and its check",
                "The check times each stop at its earliest on the date for the party (default "
                "the typical party).",
                agency=True,
                parameters=[SLUG_PARAM, DATE_QUERY, *PARTY_QUERY],
                responses={"200": PACKAGE_RESPONSE, **error_responses(*AGENCY_ERRORS)},
            ),
            "patch": _op(
                "updateAgencyPackage",
                "Change a package's fields",
                "Only the fields sent change. A published package stays published.",
                agency=True,
                requestBody=_body("PackageUpdate"),
                parameters=[SLUG_PARAM],
                responses={"200": PACKAGE_RESPONSE, **error_responses(*AGENCY_ERRORS, 413)},
            ),
        },
        "/api/v1/agency/packages/{slug}/days/{number}/stops": {
            "put": _op(
                "setAgencyPackageStops",
                "Replace one day's stops (in order, with their locks)",
                "The change is checked on date and its times become the planned starts. 404 "
                "day_not_found: the package has no such day.",
                agency=True,
                requestBody=_body("PackageStops"),
                parameters=[
                    SLUG_PARAM,
                    path_param("number", "The day, from 1", integer(1, rules.MAX_DAYS)),
                    DATE_QUERY,
                ],
                responses={"200": PACKAGE_RESPONSE, **error_responses(*AGENCY_ERRORS, 413)},
            )
        },
        "/api/v1/agency/packages/{slug}/fill": {
            "post": _op(
                "fillAgencyPackage",
                "Fill and order every day with the route engine",
                "Day by day, the locked stops are kept, the picked unlocked ones preferred and "
                "other experiences open that day (with places for the party, not on another "
                "day) added by the package's interests; the result is checked on date and its "
                "times become the planned starts. The answer's fill says what each day got.",
                agency=True,
                parameters=[SLUG_PARAM, DATE_QUERY, *PARTY_QUERY],
                responses={"200": PACKAGE_RESPONSE, **error_responses(*AGENCY_ERRORS)},
            )
        },
        "/api/v1/agency/packages/{slug}/check": {
            "get": _op(
                "checkAgencyPackage",
                "Check a package on a date: each day's timeline and what breaks",
                "Per stop: arrival, start, end, the session and its places left, and its "
                "problems (closed_that_day, arrives_after_closing, no_session, full, "
                "not_bookable, over_day_hours). Stops are timed at their earliest.",
                agency=True,
                parameters=[SLUG_PARAM, DATE_QUERY, *PARTY_QUERY],
                responses={
                    "200": json_response("The check", ref("PackageCheck")),
                    **error_responses(*AGENCY_ERRORS),
                },
            )
        },
        "/api/v1/agency/packages/{slug}/dates": {
            "get": _op(
                "getAgencyPackageDates",
                "Dates one of the agency's packages runs for a party (drafts too)",
                DATES_NOTES,
                agency=True,
                parameters=[SLUG_PARAM, *RANGE_QUERY, *PARTY_QUERY],
                responses={
                    "200": json_response("The dates, in order", ref("PackageDates")),
                    **error_responses(*AGENCY_ERRORS, 422),
                },
            )
        },
        "/api/v1/agency/packages/{slug}/publish": {
            "post": _op(
                "publishAgencyPackage",
                "Publish a package (a draft or a withdrawn one)",
                "Its public page, calendar and GET /api/v1/packages/{slug} go live. 422 "
                "package_incomplete: a day without stops (details.empty_days); 422 "
                "package_not_priced: no retail price per adult.",
                agency=True,
                parameters=[SLUG_PARAM],
                responses={"200": PACKAGE_RESPONSE, **error_responses(*AGENCY_ERRORS, 422)},
            )
        },
        "/api/v1/agency/packages/{slug}/withdraw": {
            "post": _op(
                "withdrawAgencyPackage",
                "Take a published package off sale",
                "Its public page is gone; bookings made stay. 409 not_published: it is not "
                "published.",
                agency=True,
                parameters=[SLUG_PARAM],
                responses={"200": PACKAGE_RESPONSE, **error_responses(*AGENCY_ERRORS, 409)},
            )
        },
        "/api/v1/agency/bookings": {
            "get": _op(
                "listAgencyBookings",
                "The agency's bookings, newest first",
                "With the client, notes, the net total and the commission.",
                agency=True,
                responses={
                    "200": {
                        **json_response("The bookings", _list_of("AgencyBooking")),
                        "links": _links("/items/0/reference", ["getAgencyBooking"], "reference"),
                    },
                    **error_responses(*AGENCY_ERRORS),
                },
            )
        },
        "/api/v1/agency/bookings/{reference}": {
            "get": _op(
                "getAgencyBooking",
                "One of the agency's bookings, with each item's state",
                "Another agency's booking is 404 booking_not_found.",
                agency=True,
                parameters=[
                    path_param(
                        "reference",
                        "Booking reference, e.g. TP-7K3Q9M",
                        {"type": "string", "maxLength": 64, "pattern": inputs.NO_NUL_PATTERN},
                    )
                ],
                responses={
                    "200": json_response("The booking", ref("AgencyBooking")),
                    **error_responses(*AGENCY_ERRORS),
                },
            )
        },
        "/api/v1/agency/clients": {
            "get": _op(
                "listAgencyClients",
                "The agency's clients, by name",
                "The clients the agency added in its pages or with a booking.",
                agency=True,
                responses={
                    "200": {
                        **json_response("The clients", _list_of("AgencyClient")),
                        "links": _links("/items/0/id", ["getAgencyClient"], "client_id"),
                    },
                    **error_responses(*AGENCY_ERRORS),
                },
            )
        },
        "/api/v1/agency/clients/{client_id}": {
            "get": _op(
                "getAgencyClient",
                "One of the agency's clients",
                "Another agency's client is 404 client_not_found.",
                agency=True,
                parameters=[path_param("client_id", "Client id", integer(0))],
                responses={
                    "200": json_response("The client", ref("AgencyClient")),
                    **error_responses(*AGENCY_ERRORS),
                },
            )
        },
    }
)


def _fill_landmarks(doc: dict[str, Any]) -> None:
    """A start's landmark is one of the catalogue's: listed as an enum (like the catalogue's
    filters), so that clients know the accepted values."""
    slugs = [landmark.slug for landmark in catalogue.all_landmarks()]
    schemas = doc["components"]["schemas"]
    starts = [schemas["PackageCreate"]["properties"]["start"]]
    update = schemas["PackageUpdate"]["properties"]
    starts += [update["start"], update["days"]["oneOf"][1]["items"]["properties"]["start"]]
    for start in starts:
        start["oneOf"][0]["properties"]["landmark"]["enum"] = slugs


add_filler(_fill_landmarks)
