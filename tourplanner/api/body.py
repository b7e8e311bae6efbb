"""What every API request passes before a view reads it: bounded JSON bodies, clean text.

* :func:`json_body` is the one way a JSON endpoint reads its body. The size limit is Flask's
  own (``MAX_CONTENT_LENGTH``: reading a larger body raises 413); the nesting depth is checked
  on the raw text before decoding (``MAX_JSON_DEPTH``), so a body nested 100,000 deep is a 400
  and never a ``RecursionError``; ``NaN``/``Infinity`` are refused (not JSON); every string,
  key or value, is refused with 400 when it holds a NUL byte or a lone surrogate, naming the
  field by its JSON path.
* :func:`check_request` runs before every ``/api/v1`` view: the path and every query
  parameter (names and values) get the same text check, so no NUL reaches a database query.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import current_app, request

from tourplanner.api import bp
from tourplanner.domain.errors import ValidationError
from tourplanner.domain.inputs import unsafe_text

# A JSON string token (escapes included); removed before counting brackets.
_STRING_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


def _too_deep(text: str, limit: int) -> bool:
    depth = 0
    for bracket in _BRACKETS.findall(_STRING_TOKEN.sub("", text)):
        if bracket in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _check_strings(data: Any) -> None:
    """Every key and string value is storable text; the error names the first bad field."""
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            problem = unsafe_text(value)
            if problem:
                field = path or "body"
                raise ValidationError(f"{field}: {problem}", code="invalid_text", field=field)
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                if unsafe_text(key):
                    raise ValidationError(
                        "field names must be valid text", code="invalid_text", field=path or "body"
                    )
                stack.append((item, child))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{n}]") for n, item in enumerate(value))


def json_body() -> Any:
    """The request's JSON document, bounded and checked; 400 ``invalid_body`` otherwise."""
    if not request.is_json:
        raise ValidationError(
            "send a JSON document (Content-Type: application/json)",
            code="invalid_body",
            field="body",
        )
    raw = request.get_data(cache=True)  # larger than MAX_CONTENT_LENGTH: 413 here
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError("the body is not UTF-8", code="invalid_body", field="body") from None
    limit = int(current_app.config.get("MAX_JSON_DEPTH", 20))
    if _too_deep(text, limit):
        raise ValidationError(
            f"JSON nested deeper than {limit} levels",
            code="too_deep",
            field="body",
            max_depth=limit,
        )
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        # ValueError also covers integers longer than Python's digit limit.
        raise ValidationError(
            "the body is not valid JSON", code="invalid_body", field="body"
        ) from None
    _check_strings(data)
    return data


@bp.before_request
def check_request() -> None:
    problem = unsafe_text(request.path)
    if problem:
        raise ValidationError(f"path: {problem}", code="invalid_text", field="path")
    for name, value in request.args.items(multi=True):
        problem = unsafe_text(name) or unsafe_text(value)
        if problem:
            field = name if not unsafe_text(name) else "query"
            raise ValidationError(
                f"{field}: {problem}", code="invalid_text", field=field, parameter=field
            )
