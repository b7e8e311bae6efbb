"""Request-rate limits, sign-in lockout and the client's address.

Flask-Limiter is used rather than counters of our own: it keeps moving-window counts in Redis,
shared by every gunicorn worker and host (memory when embedded), and gives per-route limits
with standard 429 answers and ``Retry-After``. The sign-in lockout uses the same storage
through its ``limits`` strategy, so a lockout holds across workers too.

Host names: with ``TRUSTED_HOSTS`` set, Flask refuses any other ``Host`` (400), so no link is
ever built from a forged host.

Client addresses come from ``X-Forwarded-For`` only when ``TRUSTED_PROXIES`` says how many
proxies in front of the app set it (``ProxyFix``); otherwise the socket's peer address. Mobile
carriers put many phones behind one address, so the per-IP limits are generous and the
per-account and per-contact limits do the fine work.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, has_request_context, jsonify, request
from flask_limiter import Limiter
from limits import parse
from werkzeug.exceptions import SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix


def client_ip() -> str:
    """The client's address (after ``ProxyFix`` when a trusted proxy is configured)."""
    return (request.remote_addr or "unknown") if has_request_context() else "none"


limiter = Limiter(key_func=client_ip, strategy="moving-window", headers_enabled=True)


def init_app(app: Flask) -> None:
    config = app.config
    config.setdefault("RATELIMIT_STORAGE_URI", config.get("REDIS_URL") or "memory://")
    config["RATELIMIT_ENABLED"] = bool(config.get("RATE_LIMITS", True))
    config.setdefault("RATELIMIT_KEY_PREFIX", "tourplanner-limits")
    # With Redis down the request-rate limits fail open: a booking must still go through (the
    # outbox keeps its notifications until Redis is back).
    config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    proxies = int(config.get("TRUSTED_PROXIES") or 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    # Flask-Limiter sets Retry-After on every response of a limited route to its window's
    # reset: a 201 would carry one, and a 503's own "retry in 2 s" would become "in 60 s".
    # Hooks run in reverse order of registration: _restore runs after the limiter's hook,
    # _remember before it; only a 429 keeps the limiter's value.
    app.after_request(_restore_retry_after)
    limiter.init_app(app)
    app.after_request(_remember_retry_after)
    # A Host outside TRUSTED_HOSTS fails before any URL can be built, so the usual error pages
    # (which link to other pages) cannot render: answer in the API's error shape, no template.
    app.register_error_handler(SecurityError, _untrusted_host)


def _remember_retry_after(response: Response) -> Response:
    response.own_retry_after = response.headers.get("Retry-After")  # type: ignore[attr-defined]
    return response


def _restore_retry_after(response: Response) -> Response:
    if response.status_code != 429:
        own = getattr(response, "own_retry_after", None)
        if own is None:
            response.headers.pop("Retry-After", None)
        else:
            response.headers["Retry-After"] = own
    return response


def _untrusted_host(exc: SecurityError):
    body = {
        "error": {
            "code": "untrusted_host",
            "message": "this host name is not served here",
            "details": {},
        }
    }
    return jsonify(body), 400


def rate_limits_off() -> bool:
    """RATE_LIMITS=off, read from the serving app on each request (``exempt_when=``).

    Flask-Limiter's own switch is read once when an app is created and is shared by every app
    of the process; the per-request check keeps one app's setting from leaking into another.
    """
    return not current_app.config.get("RATE_LIMITS", True)


def limit(setting: str) -> str:
    """A limit read from the configuration when the request is served (``"30/minute"``...)."""
    return str(current_app.config[setting])


# --- sign-in lockout -------------------------------------------------------------------------


def _window(setting: str):
    return parse(str(current_app.config[setting]))


def _keys(email: str, ip: str) -> list[tuple[str, str, str]]:
    keys = [("SIGNIN_FAILURES_PER_ACCOUNT", "signin-account", email.strip().lower())]
    # Per-IP counting is a request-rate limit: RATE_LIMITS=off (trusted networks) turns it off.
    if current_app.config.get("RATE_LIMITS", True):
        keys.append(("SIGNIN_FAILURES_PER_IP", "signin-ip", ip))
    return keys


def signin_locked(email: str, ip: str) -> bool:
    """True while the account or the address has used up its failed sign-ins."""
    strategy = limiter.limiter
    return any(
        not strategy.test(_window(setting), name, key) for setting, name, key in _keys(email, ip)
    )


def record_signin_failure(email: str, ip: str) -> None:
    strategy = limiter.limiter
    for setting, name, key in _keys(email, ip):
        strategy.hit(_window(setting), name, key)
