"""The OpenAPI document is valid, describes every /api/v1 route, and the API keeps its promises.

Generic on purpose: any route another module registers under ``/api/v1`` is checked too, so a
new endpoint without a description (or answering outside its schema) fails here.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

AUTO_METHODS = {"HEAD", "OPTIONS"}
DOC_URI = "urn:tourplanner:openapi"


def _openapi_path(rule: str) -> str:
    """``/api/v1/villages/<slug>`` or ``<int:id>`` -> ``/api/v1/villages/{slug}`` / ``{id}``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _api_routes(app) -> set[tuple[str, str]]:
    return {
        (_openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1")
        for method in (rule.methods or set()) - AUTO_METHODS
    }


@pytest.fixture
def spec(client) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _validator(spec: dict, path: str, method: str, status: str, media: str):
    """A JSON Schema 2020-12 validator for one documented response, refs resolved in ``spec``."""
    registry = Registry().with_resource(
        DOC_URI, Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    pointer = _pointer("paths", path, method, "responses", status, "content", media, "schema")
    return Draft202012Validator({"$ref": f"{DOC_URI}#/{pointer}"}, registry=registry)


def check_response(spec: dict, path: str, method: str, response) -> None:
    """The response status is documented for the operation and the body matches its schema."""
    responses = spec["paths"][path][method]["responses"]
    status = str(response.status_code)
    assert status in responses, f"{method.upper()} {path}: status {status} is not documented"
    content = responses[status].get("content", {})
    media = response.mimetype
    if media not in content:
        assert not content or media == "text/html", (
            f"{method.upper()} {path} {status}: {media} not among {sorted(content)}"
        )
        return
    if not response.is_json:
        return  # an HTML page or a file: its media type is documented, nothing to validate
    errors = sorted(
        _validator(spec, path, method, status, media).iter_errors(response.get_json()),
        key=lambda e: list(e.absolute_path),
    )
    assert not errors, f"{method.upper()} {path} {status}: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]
    )
    schema = responses[status]["content"][media]["schema"]
    undocumented = sorted(set(_undocumented(spec, schema, response.get_json(), "")))
    assert not undocumented, f"{method.upper()} {path} {status}: undocumented {undocumented}"


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        schema = node
    return schema


def _properties(spec: dict, schema: dict) -> dict[str, dict] | None:
    """Documented properties of an object schema (allOf merged); None when free-form."""
    schema = _resolve(spec, schema)
    if "allOf" in schema:
        merged: dict[str, dict] = {}
        for part in schema["allOf"]:
            merged.update(_properties(spec, part) or {})
        return merged
    if "properties" not in schema or "additionalProperties" in schema:
        return None
    return schema["properties"]


def _undocumented(spec: dict, schema: dict, value: Any, where: str):
    """Yield JSON paths of object keys that the response schema does not describe."""
    schema = _resolve(spec, schema)
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            yield from _undocumented(spec, schema["items"], item, f"{where}/{i}")
    elif isinstance(value, dict):
        props = _properties(spec, schema)
        if props is None:
            return
        for key, item in value.items():
            if key not in props:
                yield f"{where}/{key}".replace("/0/", "/*/")
            else:
                yield from _undocumented(spec, props[key], item, f"{where}/{key}")


def test_document_is_valid_openapi_3(spec):
    assert spec["openapi"].startswith("3.")
    validate_spec(spec)


def test_every_registered_api_route_and_method_is_documented(app, spec):
    documented = {
        (path, method)
        for path, ops in spec["paths"].items()
        for method in ops
        if method in {"get", "post", "put", "patch", "delete"}
    }
    missing = sorted(_api_routes(app) - documented)
    assert not missing, f"routes missing from openapi.json: {missing}"


def test_documented_paths_exist(app, spec):
    registered = _api_routes(app)
    stale = sorted(
        (path, method)
        for path, ops in spec["paths"].items()
        for method in ops
        if method in {"get", "post", "put", "patch", "delete"} and (path, method) not in registered
    )
    assert not stale, f"openapi.json describes routes the app does not have: {stale}"


def test_operation_ids_are_unique(spec):
    ids = [
        op["operationId"]
        for ops in spec["paths"].values()
        for op in ops.values()
        if isinstance(op, dict) and "operationId" in op
    ]
    assert len(ids) == len(set(ids))


def test_path_converter_is_translated():
    assert _openapi_path("/api/v1/a/<int:id>/b/<slug>") == "/api/v1/a/{id}/b/{slug}"


def _plain_get_paths(spec: dict) -> list[str]:
    return sorted(p for p, ops in spec["paths"].items() if "get" in ops and "{" not in p)


def test_every_plain_get_answers_within_its_schema(client, spec):
    checked = 0
    for path in _plain_get_paths(spec):
        response = client.get(path)
        check_response(spec, path, "get", response)
        checked += 1
    assert checked >= 7


KNOWN_REFS = {"slug": "bat-trang"}


def _detail_value(client, spec: dict, path: str) -> str | None:
    """A real value for the single path parameter: the first item of the parent list."""
    parent, _, last = path.rpartition("/")
    if last.count("{") != 1 or "{" in parent or parent not in spec["paths"]:
        return None
    body = client.get(parent).get_json() or {}
    items = body.get("items") if isinstance(body, dict) else None
    if not items:
        return None
    name = last.strip("{}")
    item = items[0]
    return str(item.get(name) or item.get("slug") or item.get("id"))


def test_detail_paths_answer_within_their_schema_for_a_known_item(client, spec):
    checked = []
    for path, ops in spec["paths"].items():
        if "get" not in ops or "{" not in path:
            continue
        value = _detail_value(client, spec, path)
        if value is None:
            continue
        url = re.sub(r"\{[^}]+\}", value, path)
        response = client.get(url)
        assert response.status_code == 200, url
        check_response(spec, path, "get", response)
        checked.append(path)
    for expected in ("villages", "products", "experiences", "landmarks"):
        assert any(p.startswith(f"/api/v1/{expected}/") for p in checked), expected


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/villages/{slug}",
        "/api/v1/products/{slug}",
        "/api/v1/experiences/{ref}",
        "/api/v1/landmarks/{slug}",
    ],
)
def test_unknown_item_is_a_documented_404(client, spec, path):
    response = client.get(re.sub(r"\{[^}]+\}", "no-such-thing", path))
    assert response.status_code == 404
    check_response(spec, path, "get", response)


@pytest.mark.parametrize(
    "query", ["page=0", "page=abc", "per_page=1000", "category=pottery", "colour=red"]
)
def test_bad_list_parameters_are_documented_400s(client, spec, query):
    response = client.get(f"/api/v1/villages?{query}")
    assert response.status_code == 400
    check_response(spec, "/api/v1/villages", "get", response)


def test_filtered_pages_validate_too(client, spec):
    for query in ("kind=workshop", "bookable=true", "sample=true"):
        check_response(
            spec, "/api/v1/experiences", "get", client.get(f"/api/v1/experiences?{query}")
        )
    for query in ("village=bat-trang", "q=lua", "per_page=1&page=3"):
        check_response(spec, "/api/v1/products", "get", client.get(f"/api/v1/products?{query}"))
