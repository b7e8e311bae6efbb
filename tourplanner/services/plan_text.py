"""Words for plans: why each stop is there, why a result is empty, in Vietnamese or English.

Plans store structured reasons (``{"code": "interest", "category": ..., "weight": ...}``) next
to the text rendered in the request's language, so a page can re-render them in the reader's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask_babel import force_locale, gettext

from tourplanner.domain.planning import PlanRequest


def _vnd(value: int | None) -> str:
    """Money in the language the text is being written in (see ``labels.format_vnd``)."""
    from flask_babel import get_locale

    from tourplanner.labels import format_vnd

    locale = get_locale()
    return format_vnd(value, locale.language if locale else "vi")


def _category(code: str) -> str:
    from tourplanner.labels import CATEGORY_LABELS

    label = CATEGORY_LABELS.get(code)
    return str(label) if label is not None else code


def _one(reason: Mapping[str, Any], interests: Mapping[str, float]) -> str:
    """One reason in the tourist's words: what they said they like, never a weight."""
    code = reason.get("code")
    if code == "interest":
        category = _category(reason["category"]).lower()
        if not interests:
            return gettext(
                "%(category)s: you named no craft, so every craft counts", category=category
            )
        said = interests.get(reason["category"])
        if said is None:
            return gettext(
                "%(category)s, a craft you did not name, to fill your day", category=category
            )
        if said >= 1:
            return gettext("you said you love %(category)s", category=category)
        if said > 0:
            return gettext("you said you like %(category)s", category=category)
        return gettext("%(category)s, although it is not your favourite", category=category)
    if code == "workshop":
        return gettext("hands-on workshop with a free place for your whole party")
    if code == "must_include":
        return gettext("you asked to include it")
    if code in SHOP_REASONS:
        return _shop_reason(reason)
    if code == "min_age":
        return gettext(
            "minimum age %(age)s: we cannot check your children's ages, please make "
            "sure they are old enough",
            age=reason["age"],
        )
    return str(code)


SHOP_REASONS = ("shopping", "sales_point", "ocop_products", "shop_here", "shop_near", "shop_hours")
#: Causes of ``shopping_unavailable`` (no shopping stop although one was asked for).
SHOPPING_CAUSES = ("none_open", "none_fits", "not_planned")


def _local(names: Mapping[str, str] | None) -> str:
    """A ``{"vi", "en"}`` name in the language being written."""
    from flask_babel import get_locale

    locale = get_locale()
    names = names or {}
    return names.get(locale.language if locale else "vi") or names.get("vi") or ""


def _shop_reason(reason: Mapping[str, Any]) -> str:
    """Why a sales point is the day's shopping stop, from the facts the village recorded."""
    code = reason["code"]
    village = _local(reason.get("village"))
    craft = _category(str(reason.get("category") or "")).lower()
    if code == "shopping":
        return gettext("you asked for a shopping stop")
    if code == "sales_point":
        return gettext("a sales point of %(village)s (%(craft)s)", village=village, craft=craft)
    if code == "ocop_products":
        return gettext(
            "OCOP products of %(village)s (%(craft)s): %(num)s rated, up to %(stars)s stars",
            village=village,
            craft=craft,
            num=reason["count"],
            stars=reason["stars"],
        )
    if code == "shop_here":
        return gettext("at %(village)s, a village of your day", village=village)
    if code == "shop_near":
        return gettext(
            "%(minutes)s min from %(village)s, a village of your day",
            minutes=reason["minutes"],
            village=village,
        )
    return gettext("open %(hours)s, as the village states", hours=reason.get("hours", ""))


def shopping_message(cause: str) -> str:
    """Why no shopping stop is planned, in the current language."""
    if cause == "none_open":
        return gettext(
            "No shopping stop is planned: no village sales point with a known position and "
            "opening hours is open during your day."
        )
    if cause == "none_fits":
        return gettext(
            "No shopping stop is planned: no village sales point open during your day fits "
            "into it with this start, time window and travel mode."
        )
    return gettext("No shopping stop could be planned for this day.")


def shopping_reason(lang: str, cause: str) -> dict[str, Any]:
    """``{"code": "shopping_unavailable", "cause", "message" (in ``lang``), "text": {vi, en}}``."""
    text = {}
    for each in ("vi", "en"):
        with force_locale(each):
            text[each] = shopping_message(cause)
    return {"code": "shopping_unavailable", "cause": cause, "message": text[lang], "text": text}


def price_note(note: Mapping[str, Any] | None) -> str:
    """A reported visit price, with its date, as the traveller should read it."""
    if not note:
        return ""
    low, high = note.get("min"), note.get("max")
    amount = _vnd(low) if not high or high == low else f"{_vnd(low)}–{_vnd(high)}"
    as_of = note.get("as_of") or gettext("date not stated")
    if note.get("charged"):
        return gettext(
            "%(amount)s %(unit)s, reported by a public page (%(as_of)s)",
            amount=amount,
            unit=note.get("unit", ""),
            as_of=as_of,
        )
    return gettext(
        "%(amount)s %(unit)s reported by a public page (%(as_of)s); not included in the total",
        amount=amount,
        unit=note.get("unit", ""),
        as_of=as_of,
    )


def explain_stop(
    reasons: Iterable[Mapping[str, Any]],
    interests: Mapping[str, float],
    lang: str,
    note: Mapping[str, Any] | None = None,
) -> str:
    """One sentence on why a stop is in the plan."""
    with force_locale(lang):
        parts = [_one(r, interests) for r in reasons]
        if note:
            parts.append(price_note(note))
        text = "; ".join(p for p in parts if p)
    return text[:1].upper() + text[1:]


def explain_itinerary(
    itinerary: Mapping[str, Any], request: PlanRequest | Mapping[str, Any], lang: str
) -> str:
    """A short summary: stops, road time and its share of the day, cost against the budget."""
    budget = request.budget_vnd if isinstance(request, PlanRequest) else request.get("budget_vnd")
    totals = itinerary["totals"]
    with force_locale(lang):
        text = gettext(
            "%(n)s stops chosen for your interests; %(travel)s minutes on the road.",
            n=sum(1 for s in itinerary["stops"] if s.get("kind") != "shopping"),
            travel=totals["travel_minutes"],
        )
        if "road_share_percent" in totals:  # plans saved before the pace have no share
            text += " " + gettext(
                "That is %(share)s%% of your day.", share=totals["road_share_percent"]
            )
        if budget is not None:
            text += " " + gettext(
                "Costs %(cost)s of your %(budget)s budget.",
                cost=_vnd(totals["cost_vnd"]),
                budget=_vnd(budget),
            )
        else:
            text += " " + gettext("Costs %(cost)s.", cost=_vnd(totals["cost_vnd"]))
        text += " " + gettext("Travel costs (fuel, taxi) are not included.")
        lunch = itinerary.get("lunch")
        if lunch:
            name = lunch["village_name"].get(lang) or lunch["village_name"]["vi"]
            text += " " + gettext(
                "Lunch break of %(minutes)s minutes at %(place)s from %(start)s.",
                minutes=lunch["minutes"],
                place=name,
                start=lunch["start"][11:16],
            )
        elif "lunch" in itinerary:
            text += " " + gettext("No lunch break fits into this day.")
        shop = next((s for s in itinerary["stops"] if s.get("kind") == "shopping"), None)
        if shop is not None:
            text += " " + gettext(
                "Shopping stop at %(place)s from %(start)s.",
                place=shop["title"].get(lang) or shop["title"]["vi"],
                start=shop["start"][11:16],
            )
        elif "shopping" in itinerary:
            text += " " + gettext("No shopping stop fits into this day.")
    return text


def localise(itinerary: Mapping[str, Any], request: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """A saved itinerary with its explanations in ``lang``: plans keep the words of the
    language they were made in, and a page shows them in its own (from the stored reasons)."""
    interests = request.get("interests") or {}
    stops = [
        {
            **stop,
            "explanation": explain_stop(
                stop.get("reasons") or [], interests, lang, stop.get("price_note")
            ),
        }
        for stop in itinerary.get("stops", [])
    ]
    result = {**itinerary, "stops": stops}
    result["explanation"] = explain_itinerary(result, request, lang)
    return result


def localise_reason(
    found: Mapping[str, Any] | None, request: Mapping[str, Any], lang: str
) -> Mapping[str, Any] | None:
    """A saved plan's reason with its message in ``lang``."""
    if not found:
        return found
    code = str(found.get("code"))
    with force_locale(lang):
        if code == "shopping_unavailable":
            message = shopping_message(str(found.get("cause")))
        elif code == "travel_limit" and "limit" in found:
            message = gettext(
                "No itinerary stays within %(limit)s minutes on the road: the nearest "
                "open village is %(nearest)s minutes there and back. Allow more time on "
                "the road, choose a more packed pace or start closer.",
                limit=found["limit"],
                nearest=found.get("nearest_round_trip"),
            )
        else:
            message = _message(code, ", ".join(found.get("slugs", [])))
    return {**found, "message": message}


def reason(code: str, request: PlanRequest, **details: Any) -> dict[str, Any]:
    """A structured reason with its message in the request's language."""
    slugs = ", ".join(details.get("slugs", []))
    with force_locale(request.lang):
        if code == "travel_limit":
            message = gettext(
                "No itinerary stays within %(limit)s minutes on the road: the nearest "
                "open village is %(nearest)s minutes there and back. Allow more time on "
                "the road, choose a more packed pace or start closer.",
                limit=details["limit"],
                nearest=details["nearest_round_trip"],
            )
        else:
            message = _message(code, slugs)
    return {"code": code, "message": message, **details}


def _message(code: str, slugs: str) -> str:
    if code == "nothing_open":
        return gettext(
            "Nothing is open for your party on that date: every village experience "
            "is closed, fully booked or not offered to your party. Try another "
            "date."
        )
    if code == "nothing_fits":
        return gettext(
            "No stop fits into your day with this start, time window, budget and "
            "travel mode. Try a longer day, a larger budget or fewer exclusions."
        )
    if code == "must_include_unavailable":
        return gettext(
            "Some places you asked to include are not available that day (closed, "
            "fully booked or not offered to your party): %(slugs)s. The plan is "
            "made without them.",
            slugs=slugs,
        )
    return gettext(
        "%(slugs)s cannot fit into your day with this start, time window, budget "
        "and travel mode; the plan is made without it.",
        slugs=slugs,
    )
