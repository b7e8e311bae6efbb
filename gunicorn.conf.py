"""gunicorn settings read at start (``gunicorn --config gunicorn.conf.py``, and by default from
the working directory): access-log lines without secret tokens, and ``WEB_THREADS``.

Workers are gunicorn's sync workers unless ``WEB_THREADS`` (default 1) is above 1, which makes
them ``gthread`` workers. A plan request holds its worker while it waits for the plan workers
(:mod:`tourplanner.services.plan_pool`), but at most ``PLAN_POOL_CAPACITY`` requests wait in
the whole deployment, so give each web instance more workers than that. Threads were measured
(docs/performance.md): the same bookings per second, but about twice the booking p95 (threads
of one process take turns on the GIL, and keep-alive connections stay with the process that
accepted them), so sync workers are the default. Command-line options override these.

Booking-manage, village-decision and password-reset links carry a secret in ``?token=...``.
The manage page moves its token into the session at once (a redirect to the clean URL), but
the first request still arrives with it, and an access log is kept, copied and shipped far
more widely than the database. :class:`RedactingLogger` rewrites every value gunicorn can put
in an access-log line (``%(r)s`` request line, ``%(q)s`` query, ``%(f)s`` Referer, request and
response headers such as ``Location``, environ values) before formatting, so no choice of
``access_log_format`` can print a token. Overriding ``atoms`` is the one place to do it:
``access_log_format`` only picks among these values, and every one of them is built here.
The pattern itself is :func:`tourplanner.services.links.redact_tokens`, shared with the
development server's log filter.
"""

from __future__ import annotations

import os
from typing import Any

from gunicorn.glogging import Logger

from tourplanner.services.links import redact_tokens


def redact(value: Any) -> Any:
    """``value`` with every ``token=...`` value replaced; anything but text is unchanged."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return redact_tokens(value) if isinstance(value, str) else value


class RedactingLogger(Logger):
    """gunicorn's logger, with tokens removed from every access-log atom."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        found = super().atoms(resp, req, environ, request_time)
        return {name: redact(value) for name, value in found.items()}


logger_class = RedactingLogger
threads = int(os.environ.get("WEB_THREADS", "1"))
