"""Steps the browser tests share: signing in through the one sign-in page, keeping a page's
traffic on the test server, and checking that a page fits its screen."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse


def sign_in(page: Any, base: str, email: str, password: str, lang: str | None = None) -> None:
    """Sign in on ``/login`` (every role's page) and wait for the landing page."""
    page.goto(f"{base}/login" + (f"?lang={lang}" if lang else ""))
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_load_state()


def loopback_only(page: Any) -> Any:
    """Abort every request that leaves 127.0.0.1 (map tiles, fonts): nothing leaves the
    machine, and a page must work without them."""
    page.route(
        "**/*",
        lambda route: (
            route.continue_()
            if urlparse(route.request.url).hostname == "127.0.0.1"
            else route.abort()
        ),
    )
    return page


def no_sideways_scroll(page: Any) -> None:
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"{page.url} is {width}px wide on a {inner}px screen"
