"""Security headers on every response: pages, API JSON, error pages and static files.

One ``after_request`` hook sets:

* ``Content-Security-Policy``: scripts only from our own origin (no ``'unsafe-inline'``, no
  ``eval``), styles only from our own files (Leaflet's CSS is vendored; Leaflet positions its
  layers through the CSSOM, which a style-src policy does not restrict, and no template carries a
  ``style=`` attribute), images from our origin, ``data:`` and the map tile host taken from
  ``MAP_TILE_URL``, ``fetch`` to our origin only, no plugins, no ``<base>`` elsewhere, forms
  posted to our origin only, and no framing (``frame-ancestors 'none'``).
* ``X-Frame-Options: DENY`` for browsers that predate ``frame-ancestors``.
* ``X-Content-Type-Options: nosniff``.
* ``Referrer-Policy: strict-origin-when-cross-origin``, or ``no-referrer`` (plus
  ``Cache-Control: no-store``) on pages whose URL carries a secret token, so the token never
  leaves in a ``Referer`` header nor sits in a shared cache. Those pages are listed in
  :data:`TOKEN_ENDPOINTS`; a new view can opt in with the :func:`carries_token` decorator or by
  calling :func:`mark_token_page` while it handles the request.
* ``Strict-Transport-Security`` when the request came over HTTPS (``request.is_secure``, which
  ProxyFix derives from ``X-Forwarded-Proto`` behind a trusted proxy) or when ``PUBLIC_BASE_URL``
  is https. One year, without ``includeSubDomains`` or ``preload``: the app may be served from a
  host whose sibling sub-domains we do not control, and preload is an operator's decision.
* ``Permissions-Policy``: camera, microphone and geolocation switched off (no page uses them:
  the planner's start point is a landmark, an address or a click on the map).

Why these few lines rather than a library: Flask-Talisman, the usual choice, has had no release
since 1.1.0 (August 2023), and it also redirects to HTTPS and sets session-cookie flags, which
the proxy and our configuration already own. What we need is a fixed set of headers, a CSP
derived from one setting and a per-endpoint Referrer-Policy: a short, tested hook is simpler to
review than a dependency (and another hashed lock entry) that we would mostly switch off.

A view that needs a different value may set the header on its response itself: the hook only
fills in headers that are absent.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request

log = logging.getLogger(__name__)

#: Endpoints whose URL carries a secret (booking-manage token, village decision token, password
#: reset token): they answer with ``Referrer-Policy: no-referrer`` and ``Cache-Control: no-store``
#: (the API's booking endpoints take the manage token in the query string too).
TOKEN_ENDPOINTS = frozenset(
    {
        "web.booking_manage",
        "web.booking_cancel_page",
        "web.village_decide",
        "web.password_reset",
        "api.booking_detail",
        "api.booking_cancel",
    }
)

DEFAULT_REFERRER_POLICY = "strict-origin-when-cross-origin"
HSTS = "max-age=31536000"
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=()"

# Kept in the WSGI environ rather than on ``flask.g``: ``g`` lives as long as the application
# context, which a test (or a CLI command) may keep across several requests.
_ENVIRON_FLAG = "tourplanner.token_page"


def mark_token_page() -> None:
    """Ask for the token-page headers on the response to the current request."""
    request.environ[_ENVIRON_FLAG] = True


def carries_token(view: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator for a view whose URL carries a secret token (see :func:`mark_token_page`).

    The flag is set before the view runs, so an error page answered for that URL (a bad or
    expired token) gets the same headers.
    """

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        mark_token_page()
        return view(*args, **kwargs)

    return wrapped


def tile_source(tile_url: str) -> str | None:
    """The CSP source expression for the tile host of a Leaflet URL template, if external.

    ``https://tile.openstreetmap.org/{z}/{x}/{y}.png`` gives ``https://tile.openstreetmap.org``;
    a sub-domain placeholder (``https://{s}.tile.example.org/...``) becomes a wildcard label
    (``https://*.tile.example.org``). A relative URL is served by our origin: ``None``.
    """
    parts = urlsplit(tile_url.strip())
    if not parts.scheme and not parts.netloc:
        return None
    netloc = parts.netloc.rpartition("@")[2]
    if parts.scheme not in ("http", "https") or not netloc:
        log.warning(
            "MAP_TILE_URL %r has no http(s) host: tiles are not allowed by the CSP", tile_url
        )
        return None
    host, colon, port = netloc.partition(":") if not netloc.startswith("[") else (netloc, "", "")
    if "{" in host:
        labels = host.split(".")
        last_template = max(i for i, label in enumerate(labels) if "{" in label)
        rest = labels[last_template + 1 :]
        if len(rest) < 2 or "{" in port:
            log.warning("MAP_TILE_URL %r: cannot express its host in a CSP", tile_url)
            return None
        host = "*." + ".".join(rest)
    return f"{parts.scheme}://{host}{colon}{port}"


@functools.lru_cache(maxsize=8)
def content_security_policy(tile_url: str) -> str:
    """The policy for every response; only the image sources depend on configuration."""
    images = ["'self'", "data:"]
    tiles = tile_source(tile_url)
    if tiles:
        images.append(tiles)
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        # Village videos: players load only after a click (static/js), from these hosts only.
        "frame-src": "https://www.youtube-nocookie.com https://www.facebook.com "
        "https://www.tiktok.com",
        "style-src": "'self'",
        "img-src": " ".join(images),
        "connect-src": "'self'",
        "font-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def _is_token_page() -> bool:
    return bool(request.environ.get(_ENVIRON_FLAG)) or request.endpoint in TOKEN_ENDPOINTS


def _wants_hsts(config: Any) -> bool:
    public = str(config.get("PUBLIC_BASE_URL") or "")
    return request.is_secure or public.lower().startswith("https://")


def set_headers(response: Response) -> Response:
    """The ``after_request`` hook (also usable on a response built outside a request's views)."""
    config = current_app.config
    headers = response.headers
    headers.setdefault(
        "Content-Security-Policy", content_security_policy(str(config.get("MAP_TILE_URL") or ""))
    )
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    if _is_token_page():
        headers["Referrer-Policy"] = "no-referrer"
        headers["Cache-Control"] = "no-store"
    else:
        headers.setdefault("Referrer-Policy", DEFAULT_REFERRER_POLICY)
    if _wants_hsts(config):
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_app(app: Flask) -> None:
    """Register the after-request hook that sets the headers."""
    app.after_request(set_headers)
