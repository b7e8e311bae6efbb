"""The tourist's booking page, reached through the link with its management token.

``/bookings/<reference>?token=...`` checks the token, keeps it in the session (a signed,
HttpOnly cookie) and redirects to the clean ``/bookings/<reference>``, so the token does not
stay in the address bar, the history, the access log of every later request, or a ``Referer``.
The page shows the booking in Vietnamese or English, with a cancel button while cancelling is
possible. A wrong, replaced or expired link gets a readable 403 page.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from tourplanner.domain import booking as rules
from tourplanner.domain.errors import Conflict
from tourplanner.services import booking, links
from tourplanner.web import bp

# The development server (``make run``) logs every request line, tokens included; gunicorn's
# access log is redacted by ``gunicorn.conf.py``.
links.redact_dev_server_log()

SESSION_KEY = "manage_tokens"
#: Bookings remembered per browser session: enough for a family's few bookings, and a bound on
#: the cookie's size.
REMEMBERED = 5


def _remembered(reference: str) -> str | None:
    tokens = session.get(SESSION_KEY)
    return tokens.get(reference) if isinstance(tokens, dict) else None


def _remember(reference: str, token: str | None) -> None:
    tokens = session.get(SESSION_KEY)
    tokens = dict(tokens) if isinstance(tokens, dict) else {}
    tokens.pop(reference, None)
    if token:
        tokens[reference] = token
    session[SESSION_KEY] = dict(list(tokens.items())[-REMEMBERED:])


def _clean_url(reference: str) -> str:
    lang = request.args.get("lang")
    return url_for("web.booking_manage", reference=reference, lang=lang if lang else None)


@bp.get("/bookings/<reference>")
def booking_manage(reference: str):
    reference = rules.normalise_reference(reference)
    presented = request.args.get("token")
    if presented is not None:
        booking.get_for_tourist(reference, presented)  # 403 here for a wrong or expired link
        _remember(reference, presented)
        return redirect(_clean_url(reference), code=303)
    view = booking.get_for_tourist(reference, _remembered(reference))
    return render_template("bookings/manage.html", booking=view, cancellable=_cancellable(view))


def _cancellable(view: dict[str, Any]) -> bool:
    states = [i["status"] for i in view["items"]]
    return "confirmed" in states and "pending" not in states


@bp.post("/bookings/<reference>/cancel")
def booking_cancel_page(reference: str):
    reference = rules.normalise_reference(reference)
    try:
        view = booking.cancel(reference, _remembered(reference))
    except Conflict as exc:
        flash(_("This booking cannot be cancelled: %(why)s", why=exc.message), "error")
        return redirect(_clean_url(reference), code=303)
    # The old link is dead now: this browser keeps the new one, the e-mail carries it too.
    _remember(view["reference"], view["manage_token"])
    flash(_("Your booking %(ref)s is cancelled.", ref=view["reference"]), "success")
    flash(
        _("We have e-mailed you a new link to this booking; the earlier link no longer works."),
        "success",
    )
    return redirect(_clean_url(view["reference"]), code=303)
