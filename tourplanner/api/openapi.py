"""The OpenAPI 3.1 document of ``/api/v1`` and a browsable docs page rendered from it.

Resource modules describe their own paths with :func:`add_paths` and their schemas with
:func:`add_schemas`; a test checks that every registered ``/api/v1`` route is described.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from flask import jsonify, render_template

from tourplanner.api import bp
from tourplanner.domain import inputs
from tourplanner.domain.pricing import CATEGORIES as PARTY_CATEGORIES
from tourplanner.domain.pricing import MAX_PER_CATEGORY

_PATHS: dict[str, dict[str, Any]] = {}
_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "details"],
                "properties": {
                    "code": {"type": "string", "examples": ["invalid_filter"]},
                    "message": {"type": "string"},
                    "details": {"type": "object"},
                },
            }
        },
    },
}
_TAGS: list[dict[str, str]] = []
#: Functions that complete the document when it is served (enums read from the catalogue).
_FILLERS: list[Callable[[dict[str, Any]], None]] = []


def add_paths(paths: dict[str, dict[str, Any]]) -> None:
    for path, operations in paths.items():
        _PATHS.setdefault(path, {}).update(operations)


def add_schemas(schemas: dict[str, Any]) -> None:
    _SCHEMAS.update(schemas)


def add_tag(name: str, description: str) -> None:
    _TAGS.append({"name": name, "description": description})


def add_filler(fill: Callable[[dict[str, Any]], None]) -> None:
    """Register ``fill(document)``, called on every request for the document (app context)."""
    _FILLERS.append(fill)


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


#: The agency API key scheme (``Authorization: Bearer <key>``, tourplanner/api/auth.py).
SECURITY_SCHEMES: dict[str, Any] = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "An agency's API key (created in the agency's pages or with "
        "`flask agencies api-key`). Missing, unknown or revoked: 401 unauthorized; "
        "the agency is suspended: 403 agency_suspended.",
    }
}
#: Put in an operation's ``security`` when it needs an agency's API key.
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]

RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    }
}


def error_responses(*statuses: int) -> dict[str, Any]:
    text = {
        400: "Bad input: details.field names the field",
        401: "No API key, or an unknown or revoked one (unauthorized)",
        403: "Forbidden",
        404: "Not found",
        409: "Conflict",
        413: "The body is larger than the server accepts (256 KiB by default)",
        422: "Cannot be processed",
        429: "Too many requests from this address: wait Retry-After seconds",
        503: "Busy: too many plans are being computed; wait Retry-After seconds",
    }
    responses: dict[str, Any] = {}
    for status in statuses:
        response: dict[str, Any] = {
            "description": text.get(status, "Error"),
            "content": {"application/json": {"schema": ref("Error")}},
        }
        if status in (429, 503):
            response["headers"] = copy.deepcopy(RETRY_AFTER)
        responses[str(status)] = response
    return responses


# --- request schemas: the same bounds the parsers enforce (tourplanner.domain.inputs) -------


def text(
    max_length: int, *, min_length: int = 0, visible: bool = False, nullable: bool = False
) -> dict[str, Any]:
    """A string as the parsers accept it: bounded, no NUL; ``visible``: at least one character
    that is neither a space nor a control character (those are stripped)."""
    schema: dict[str, Any] = {
        "type": ["string", "null"] if nullable else "string",
        "maxLength": max_length,
        "pattern": inputs.VISIBLE_PATTERN if visible else inputs.NO_NUL_PATTERN,
    }
    if min_length or visible:
        schema["minLength"] = max(min_length, 1)
    return schema


def integer(low: int = 0, high: int = inputs.MAX_INT32, **extra: Any) -> dict[str, Any]:
    return {"type": "integer", "minimum": low, "maximum": high, **extra}


def party_schema() -> dict[str, Any]:
    """Who travels: at most 100 per category and at least one person in all."""
    return {
        "type": "object",
        "description": "At least one person; at most "
        f"{MAX_PER_CATEGORY} per category. Children are under 16.",
        "properties": {name: integer(0, MAX_PER_CATEGORY) for name in PARTY_CATEGORIES},
        "additionalProperties": False,
        "minProperties": 1,
        "anyOf": [
            {"required": [name], "properties": {name: {"minimum": 1}}} for name in PARTY_CATEGORIES
        ],
    }


def json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def query_param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def path_param(name: str, description: str, schema: dict[str, Any] | None = None) -> dict:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def document() -> dict[str, Any]:
    doc = {
        "openapi": "3.1.0",
        "info": {
            "title": "tourplanner API",
            "version": "1.0.0",
            "description": "Catalogue, day-trip planning and bookings for the craft villages of "
            "Hanoi. Errors always have the shape "
            '{"error": {"code", "message", "details"}}; on bad input details.field names the '
            "field. Text anywhere (path, query, body) must not contain NUL characters or lone "
            "surrogates (400 invalid_text); control characters are stripped from names. JSON "
            "bodies are at most MAX_CONTENT_LENGTH bytes (413) and nested at most "
            "MAX_JSON_DEPTH levels (400 too_deep). Booleans are JSON true/false in bodies and "
            "exactly `true`/`false` in query strings. POST /api/v1/bookings and "
            "POST /api/v1/plans are rate-limited per client address (429 with Retry-After).",
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": "/"}],
        "tags": copy.deepcopy(_TAGS),
        "paths": copy.deepcopy(dict(sorted(_PATHS.items()))),
        "components": {
            "schemas": copy.deepcopy(_SCHEMAS),
            "securitySchemes": copy.deepcopy(SECURITY_SCHEMES),
        },
    }
    # Every operation can meet the request check (NUL or lone surrogates in the path or the
    # query, api/body.py): each documents its 400.
    for operations in doc["paths"].values():
        for operation in operations.values():
            operation["responses"].setdefault("400", error_responses(400)["400"])
    for fill in _FILLERS:
        fill(doc)
    return doc


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(document())


@bp.get("/docs")
def docs():
    return render_template("api_docs.html", spec=document())


add_paths(
    {
        "/api/v1/openapi.json": {
            "get": {
                "tags": ["meta"],
                "summary": "This OpenAPI document",
                "operationId": "getOpenapi",
                "responses": {"200": json_response("The OpenAPI 3.1 document", {"type": "object"})},
            }
        },
        "/api/v1/docs": {
            "get": {
                "tags": ["meta"],
                "summary": "Browsable documentation (HTML)",
                "operationId": "getDocs",
                "responses": {
                    "200": {
                        "description": "HTML page",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    }
)
add_tag("meta", "The API's own description")
