"""Input bounds, in one place: every parser of client input (JSON bodies, query strings, paths)
checks its values with these functions, and the OpenAPI document states the same limits.

Why each bound exists:

* integers: PostgreSQL ``integer`` columns hold at most 2**31 - 1 and SQLite at most 2**63 - 1;
  a larger id, page or party reaching a query is a 500 (overflow), never a useful request;
* text: a NUL byte cannot be stored by PostgreSQL and a lone surrogate (``"\\ud800"`` in JSON)
  cannot be encoded as UTF-8 by any driver: both are refused with 400 before any query runs.
  Other control characters (CR/LF, escape, bidi overrides) are stripped from names and free
  text, because those reach e-mail headers, SMS and village staff, where they would forge
  header lines or disguise text;
* search text is limited in characters and words: each word is one ``LIKE`` condition;
* e-mail addresses are checked by the maintained ``email-validator`` package (syntax, one
  address, IDNA domains) rather than by a pattern of our own.

Plain Python, no Flask: each failure is a :class:`ValidationError` naming ``details["field"]``.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

from email_validator import EmailNotValidError, validate_email

from tourplanner.domain.errors import ValidationError

#: The largest id, page or count accepted anywhere (PostgreSQL ``integer``).
MAX_INT32 = 2**31 - 1
#: People per participant category in one party or booking item.
MAX_PARTY_PER_CATEGORY = 100
#: The largest budget, in VND (a thousand billion: far above any day trip).
MAX_BUDGET_VND = 10**12
MAX_SEARCH_CHARS = 200
MAX_SEARCH_WORDS = 20
MAX_NAME_CHARS = 200
MAX_EMAIL_CHARS = 254  # RFC 5321 path limit
MAX_PHONE_CHARS = 40
MAX_PARAM_CHARS = 200

#: Characters removed from names and free text: C0/C1 controls, line/paragraph separators and
#: bidirectional overrides/isolates (they can make a name read backwards in an e-mail).
_STRIPPED = "\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_STRIPPED_RE = re.compile(f"[{_STRIPPED}]")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INT_RE = re.compile(r"-?[0-9]{1,20}")

#: JSON Schema patterns (ECMA-262 syntax, also valid Python) for the OpenAPI document.
NO_NUL_PATTERN = "^[^\\u0000]*$"
#: Text with at least one visible character once controls and spaces are stripped.
_STRIPPED_JSON = "\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069"
VISIBLE_PATTERN = f"^[^\\u0000]*[^\\s{_STRIPPED_JSON}][^\\u0000]*$"
_SEP = "\\s\\u0001-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069"
#: Search text: no NUL and at most :data:`MAX_SEARCH_WORDS` words.
SEARCH_PATTERN = f"^[{_SEP}]*(?:[^\\u0000{_SEP}]+(?:[{_SEP}]+|$)){{0,{MAX_SEARCH_WORDS}}}$"


def _bad(field: str, message: str, code: str, **details: Any) -> ValidationError:
    return ValidationError(f"{field}: {message}", code=code, field=field, **details)


# --- text ----------------------------------------------------------------------------------


def unsafe_text(value: str) -> str | None:
    """Why ``value`` can never be stored (NUL or a lone surrogate), or None when it can."""
    if "\x00" in value:
        return "must not contain NUL characters"
    if _SURROGATE_RE.search(value):
        return "must be valid Unicode (no lone surrogates)"
    return None


def check_text(value: str, field: str) -> str:
    """``value`` unchanged, or 400 ``invalid_text`` for NUL bytes and lone surrogates."""
    problem = unsafe_text(value)
    if problem:
        raise _bad(field, problem, "invalid_text")
    return value


def strip_controls(value: str) -> str:
    """One line of text: controls become spaces, runs of spaces one space, ends trimmed.

    >>> strip_controls("Lan\\r\\nBcc: x@example.org\\u202e")
    'Lan Bcc: x@example.org'
    """
    return " ".join(_STRIPPED_RE.sub(" ", value).split())


def clean_text(
    value: object,
    field: str,
    *,
    max_length: int,
    min_length: int = 0,
    code: str = "invalid_field",
) -> str:
    """A name or one-line free text: a string of at most ``max_length`` characters as sent,
    without NUL or lone surrogates, returned with control characters stripped; at least
    ``min_length`` characters must remain."""
    if not isinstance(value, str):
        raise _bad(field, "expected text", code)
    check_text(value, field)
    if len(value) > max_length:
        raise _bad(field, f"at most {max_length} characters", code, max_length=max_length)
    cleaned = strip_controls(value)
    if len(cleaned) < min_length:
        raise _bad(field, f"at least {min_length} visible characters", code, min_length=min_length)
    return cleaned


def free_text(value: str, *, max_length: int) -> str:
    """Multi-line free text for messages: line breaks kept, other controls removed, bounded."""
    lines = [strip_controls(line) for line in value.replace("\r\n", "\n").split("\n")]
    text = "\n".join(lines).strip()
    return unicodedata.normalize("NFC", text)[:max_length]


def search_text(value: str, field: str = "q") -> str:
    """Search words: at most :data:`MAX_SEARCH_CHARS` characters and :data:`MAX_SEARCH_WORDS`
    words (each word is one condition in the query)."""
    check_text(value, field)
    if len(value) > MAX_SEARCH_CHARS:
        raise _bad(
            field,
            f"at most {MAX_SEARCH_CHARS} characters",
            "invalid_search",
            max_length=MAX_SEARCH_CHARS,
        )
    words = strip_controls(value).split()
    if len(words) > MAX_SEARCH_WORDS:
        raise _bad(
            field, f"at most {MAX_SEARCH_WORDS} words", "invalid_search", max_words=MAX_SEARCH_WORDS
        )
    return " ".join(words)


def email_address(value: object, field: str = "contact.email") -> str:
    """One deliverable-looking address, normalised (IDNA domain), or 400 ``invalid_contact``.

    Deliverability (DNS) is not checked: it is slow, and the outbox reports what bounces.
    """
    if not isinstance(value, str) or not value.strip():
        raise _bad(field, "must be an e-mail address", "invalid_contact")
    # Controls anywhere (a trailing CR/LF too) are refused, not stripped: an address is
    # copied into mail headers as it is.
    if len(value) > MAX_EMAIL_CHARS or _STRIPPED_RE.search(value) or unsafe_text(value):
        raise _bad(
            field, "must be one e-mail address without control characters", "invalid_contact"
        )
    try:
        checked = validate_email(value.strip(" "), check_deliverability=False)
    except EmailNotValidError as exc:
        raise _bad(field, f"not a valid e-mail address ({exc})", "invalid_contact") from None
    return checked.normalized


# --- numbers and dates ---------------------------------------------------------------------


def bounded_int(
    value: object,
    field: str,
    *,
    low: int = 0,
    high: int = MAX_INT32,
    code: str = "invalid_field",
) -> int:
    """A JSON integer (not a boolean, not a float) from ``low`` to ``high``."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad(field, f"expected a whole number from {low} to {high}", code, low=low, high=high)
    return value


def int_param(
    text: str, field: str, *, low: int = 0, high: int = MAX_INT32, code: str = "invalid_parameter"
) -> int:
    """A whole number written in ASCII digits (query strings, path segments), bounded.

    ``int()`` alone would accept ``" 1_0 "``, ``"+5"`` and other scripts' digits, and any
    length; the pattern keeps the accepted form the one the OpenAPI document describes.
    """
    number = int(text) if _INT_RE.fullmatch(text) else None
    if number is None or not low <= number <= high:
        raise ValidationError(
            f"'{field}' must be a whole number from {low} to {high}",
            code=code,
            field=field,
            parameter=field,
            value=text[:MAX_PARAM_CHARS],
        )
    return number


def date_param(text: str, field: str) -> date:
    """A calendar date written ``YYYY-MM-DD`` (nothing else ``fromisoformat`` would take)."""
    day = None
    if _DATE_RE.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            day = None
    if day is None:
        raise ValidationError(
            f"'{field}' must be a date like 2026-12-01",
            code="invalid_parameter",
            field=field,
            parameter=field,
            value=text[:MAX_PARAM_CHARS],
        )
    return day
