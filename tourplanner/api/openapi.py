"""The OpenAPI 3.1 document of ``/api/v1`` and a browsable docs page rendered from it.

Resource modules describe their own paths with :func:`add_paths` and their schemas with
:func:`add_schemas`; a test checks that every registered ``/api/v1`` route is described.
"""

from __future__ import annotations

import copy
from typing import Any

from flask import jsonify, render_template

from tourplanner.api import bp

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


def add_paths(paths: dict[str, dict[str, Any]]) -> None:
    for path, operations in paths.items():
        _PATHS.setdefault(path, {}).update(operations)


def add_schemas(schemas: dict[str, Any]) -> None:
    _SCHEMAS.update(schemas)


def add_tag(name: str, description: str) -> None:
    _TAGS.append({"name": name, "description": description})


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def error_responses(*statuses: int) -> dict[str, Any]:
    text = {
        400: "Bad input",
        403: "Forbidden",
        404: "Not found",
        409: "Conflict",
        422: "Cannot be processed",
        429: "Too many requests",
    }
    return {
        str(s): {
            "description": text.get(s, "Error"),
            "content": {"application/json": {"schema": ref("Error")}},
        }
        for s in statuses
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
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tourplanner API",
            "version": "1.0.0",
            "description": "Catalogue, day-trip planning and bookings for the craft villages of "
            "Hanoi. Errors always have the shape "
            '{"error": {"code", "message", "details"}}.',
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": "/"}],
        "tags": copy.deepcopy(_TAGS),
        "paths": copy.deepcopy(dict(sorted(_PATHS.items()))),
        "components": {"schemas": copy.deepcopy(_SCHEMAS)},
    }


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
