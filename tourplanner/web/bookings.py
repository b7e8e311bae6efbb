"""The tourist's booking pages: the booking behind its link, item by item; booking a planned
day and booking one session from the village page.

``/bookings/<reference>?token=...`` checks the token, keeps it in the session (a signed,
HttpOnly cookie) and redirects to the clean ``/bookings/<reference>``, so the token does not
stay in the address bar, the history, the access log of every later request, or a ``Referer``.
The page shows each item in its own state, the total of what is still live, where to go and
whom to call, and what can be done now: cancel a confirmed item, withdraw a request still
waiting, book another session of a declined one. A wrong, replaced or expired link gets a
readable 403 page.

Booking forms (a plan's "Book this day", a session on the village page) are plain HTML forms:
every field's problem is shown next to it, in the page's language, with what was typed kept;
a refusal (a full session, booking closed) names the workshop. Each form carries a one-time
key, sent as the booking's idempotency key: a double click books once.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from tourplanner.domain import booking as rules
from tourplanner.domain.errors import Conflict, DomainError, NotFound
from tourplanner.domain.pricing import Party
from tourplanner.i18n import current_lang
from tourplanner.security.limits import client_ip, limit, limiter, rate_limits_off
from tourplanner.services import booking, booking_request, links, photos, planning
from tourplanner.services import booking_manage as manage
from tourplanner.web import bp
from tourplanner.web.booking_forms import booking_refusal, read_contact, read_party

# The development server (``make run``) logs every request line, tokens included; gunicorn's
# access log is redacted by ``gunicorn.conf.py``.
links.redact_dev_server_log()

SESSION_KEY = "manage_tokens"
#: Bookings remembered per browser session: enough for a family's few bookings, and a bound on
#: the cookie's size.
REMEMBERED = 5
MAX_FORM_KEY = 64


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


def _clean_url(reference: str, **values: Any) -> str:
    lang = request.args.get("lang")
    return url_for("web.booking_manage", reference=reference, lang=lang if lang else None, **values)


@bp.app_template_global()
def form_key() -> str:
    """A fresh one-time key for a booking form (its idempotency key once posted)."""
    return secrets.token_urlsafe(18)


def _idempotency_key() -> str | None:
    key = (request.form.get("key") or "").strip()
    if not key or len(key) > MAX_FORM_KEY or not key.replace("-", "").replace("_", "").isalnum():
        return None
    return f"page-{key}"


# --- the booking's page --------------------------------------------------------------------


@bp.get("/bookings/<reference>")
def booking_manage(reference: str):
    reference = rules.normalise_reference(reference)
    presented = request.args.get("token")
    if presented is not None:
        booking.get_for_tourist(reference, presented)  # 403 here for a wrong or expired link
        _remember(reference, presented)
        return redirect(_clean_url(reference, sent=request.args.get("sent")), code=303)
    view = manage.manage_view(reference, _remembered(reference))
    item_photos, village_photos = photos.published_for_visits(
        (item["experience_id"] for item in view["items"]),
        (item["village"]["slug"] for item in view["items"]),
    )
    return render_template(
        "bookings/manage.html",
        booking=view,
        item_photos=item_photos,
        village_photos=village_photos,
        sent=request.args.get("sent") == "1",
        cancellable=_cancellable(view),
        replan_url=_replan_url(view),
    )


def _cancellable(view: dict[str, Any]) -> bool:
    states = [i["status"] for i in view["items"]]
    return "confirmed" in states and "pending" not in states


def _replan_url(view: dict[str, Any]) -> str:
    if view.get("plan_id"):
        return url_for("web.planner_form", **{"from": view["plan_id"]})
    return url_for("web.planner_form")


@bp.post("/bookings/<reference>/cancel")
def booking_cancel_page(reference: str):
    reference = rules.normalise_reference(reference)
    try:
        view = booking.cancel(reference, _remembered(reference))
    except Conflict as exc:
        flash(_("This booking cannot be cancelled: %(why)s", why=_change_refusal(exc)), "error")
        return redirect(_clean_url(reference), code=303)
    # The old link is dead now: this browser keeps the new one, the e-mail carries it too.
    _remember(view["reference"], view["manage_token"])
    flash(_("Your booking %(ref)s is cancelled.", ref=view["reference"]), "success")
    flash(_new_link_note(), "success")
    return redirect(_clean_url(view["reference"]), code=303)


def _new_link_note() -> str:
    return _("We have e-mailed you a new link to this booking; the earlier link no longer works.")


def _change_refusal(exc: DomainError) -> str:
    """Why an item cannot be changed, in plain words."""
    if exc.code == "already_started":
        return _("the session has already started.")
    if exc.code in ("not_a_replacement", "slot_full"):
        return _("this session is no longer free. Pick another one.")
    if exc.code == "already_replaced":
        return _("another session was already asked for instead.")
    state = exc.details.get("current_state")
    if state:
        return _("it is %(state)s now.", state=_state_word(state))
    return _("it cannot be changed any more.")


def _state_word(state: str) -> str:
    from tourplanner.web.village import STATE_LABELS

    return str(STATE_LABELS.get(state, state))


def _item_change(reference: str, item_id: int, change, done: str):
    reference = rules.normalise_reference(reference)
    try:
        view = change(reference, _remembered(reference))
    except NotFound:
        abort(404)
    except Conflict as exc:
        flash(_("Not changed: %(why)s", why=_change_refusal(exc)), "error")
        return redirect(_clean_url(reference, _anchor=f"item-{item_id}"), code=303)
    if view.get("manage_token"):
        _remember(view["reference"], view["manage_token"])
    flash(done, "success")
    return redirect(_clean_url(view["reference"], _anchor=f"item-{item_id}"), code=303)


@bp.post("/bookings/<reference>/items/<int:item_id>/cancel")
def booking_item_cancel(reference: str, item_id: int):
    return _item_change(
        reference,
        item_id,
        lambda ref, token: manage.cancel_item(ref, token, item_id),
        _("This part of your booking is cancelled; the village has been told.")
        + " "
        + _new_link_note(),
    )


@bp.post("/bookings/<reference>/items/<int:item_id>/withdraw")
def booking_item_withdraw(reference: str, item_id: int):
    return _item_change(
        reference,
        item_id,
        lambda ref, token: manage.withdraw_item(ref, token, item_id),
        _("Your request is withdrawn: the places are free again and the village has been told.")
        + " "
        + _new_link_note(),
    )


@bp.post("/bookings/<reference>/items/<int:item_id>/rebook")
def booking_item_rebook(reference: str, item_id: int):
    slot_id = request.form.get("slot_id", "")
    if not slot_id.isdigit():
        flash(_("Pick one of the sessions listed."), "error")
        return redirect(_clean_url(reference, _anchor=f"item-{item_id}"), code=303)
    return _item_change(
        reference,
        item_id,
        lambda ref, token: manage.rebook_item(ref, token, item_id, int(slot_id)),
        _("We have asked the village for this session; it will confirm or decline it."),
    )


# --- booking a planned day -----------------------------------------------------------------


def _stop_names(plan_id: str, index: int) -> dict[int, str]:
    """``{slot id: "Workshop (Village), 10:00"}`` of one itinerary, in the page's language."""
    lang = current_lang()
    itineraries = (planning.get_plan(plan_id).result or {}).get("itineraries") or []
    if not 0 <= index < len(itineraries):
        return {}
    return {
        s["slot_id"]: f"{s['title'].get(lang) or s['title']['vi']} "
        f"({s['village_name'].get(lang) or s['village_name']['vi']}), {s['start'][11:16]}"
        for s in itineraries[index].get("stops", [])
        if s.get("slot_id")
    }


def _sent(view: dict[str, Any], replayed: bool):
    if not replayed:
        _remember(view["reference"], view["manage_token"])
    return redirect(_clean_url(view["reference"], sent="1"), code=303)


@bp.post("/plans/<plan_id>/book")
@limiter.limit(lambda: limit("RATE_LIMIT_BOOKINGS"), exempt_when=rate_limits_off)
def plan_book(plan_id: str):
    from tourplanner.web.planner import render_plan

    index = request.form.get("itinerary", "0")
    index = int(index) if index.isdigit() else 0
    typed, contact, errors = read_contact(request.form)
    state = {"index": index, "typed": typed, "errors": errors, "problem": None}
    if errors:
        return render_plan(plan_id, booking_form=state, status=400)
    try:
        req = booking_request.parse_request(
            {"plan_id": plan_id, "itinerary": index, "contact": contact, "lang": current_lang()}
        )
        view, replayed = booking.create_booking(
            req, idempotency_key=_idempotency_key(), client_ip=client_ip()
        )
    except NotFound:
        abort(404)
    except DomainError as exc:
        state["problem"] = booking_refusal(exc, _stop_names(plan_id, index))
        state["full"] = exc.code == "slot_full"
        return render_plan(plan_id, booking_form=state, status=exc.status)
    return _sent(view, replayed)


# --- booking one session from the village page ---------------------------------------------


@bp.app_template_global()
def session_calendar(experience_id: int) -> list[dict[str, Any]]:
    """The village page's 30-day calendar of one bookable experience (see
    :func:`manage.calendar`)."""
    return manage.calendar(experience_id)


@bp.app_template_global()
def village_booking_form() -> dict[str, Any]:
    """What a refused village-page booking typed and why (empty on a plain visit)."""
    return g.get("village_booking") or {}


@bp.post("/villages/<slug>/book")
@limiter.limit(lambda: limit("RATE_LIMIT_BOOKINGS"), exempt_when=rate_limits_off)
def village_book(slug: str):
    from tourplanner.web.handbook import village as village_page

    slot = request.form.get("slot_id", "")
    experience = request.form.get("experience_id", "")
    typed_contact, contact, errors = read_contact(request.form)
    typed_party, party, party_errors = read_party(request.form)
    errors.update(party_errors)
    if not slot.isdigit():
        errors["slot_id"] = _("Pick a session in the list.")
    state = {
        "experience_id": int(experience) if experience.isdigit() else None,
        "typed": {**typed_contact, **typed_party, "slot_id": slot},
        "errors": errors,
        "problem": None,
    }
    if not errors:
        try:
            view, replayed = manage.book_session(
                int(slot),
                party or Party(1, 0, 0),
                contact,
                current_lang(),
                idempotency_key=_idempotency_key(),
                client_ip=client_ip(),
            )
        except DomainError as exc:
            state["problem"] = booking_refusal(exc, _session_names(int(slot)))
        else:
            return _sent(view, replayed)
    g.village_booking = state
    status = 409 if state["problem"] else 400
    return village_page(slug), status


def _session_names(slot_id: int) -> dict[int, str]:
    lang = current_lang()
    found = manage.terms([slot_id], Party(1, 0, 0))
    if not found:
        return {}
    t = found[0]
    title = t["experience"]["title_en" if lang == "en" else "title_vi"]
    village = t["village"]["name_en" if lang == "en" else "name_vi"]
    return {slot_id: f"{title} ({village}), {t['start_at']:%d/%m/%Y %H:%M}"}
