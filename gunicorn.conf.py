"""gunicorn settings read at start (``gunicorn --config gunicorn.conf.py``, and by default from
the working directory): access-log lines without secret tokens.

Booking-manage, village-decision and password-reset links carry a secret in ``?token=...``.
The manage page moves its token into the session at once (a redirect to the clean URL), but
the first request still arrives with it, and an access log is kept, copied and shipped far
more widely than the database. :class:`RedactingLogger` rewrites every value gunicorn can put
in an access-log line (``%(r)s`` request line, ``%(q)s`` query, ``%(f)s`` Referer, request and
response headers such as ``Location``, environ values) before formatting, so no choice of
``access_log_format`` can print a token. Overriding ``atoms`` is the one place to do it:
``access_log_format`` only picks among these values, and every one of them is built here.
"""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

REDACTED = "[redacted]"
# A query parameter whose name ends in ``token`` (``token=``, ``reset_token=``...), also
# percent-encoded inside another parameter such as a ``next=`` link, up to the next separator.
TOKEN_VALUE = re.compile(r"(?i)((?:^|[?&;]|%3F|%26)[\w.-]*token(?:=|%3D))[^&;\s\"'#]*")


def redact(value: Any) -> Any:
    """``value`` with every ``token=...`` value replaced; anything but text is unchanged."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not isinstance(value, str) or "token" not in value.lower():
        return value
    return TOKEN_VALUE.sub(lambda m: m.group(1) + REDACTED, value)


class RedactingLogger(Logger):
    """gunicorn's logger, with tokens removed from every access-log atom."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        found = super().atoms(resp, req, environ, request_time)
        return {name: redact(value) for name, value in found.items()}


logger_class = RedactingLogger
