"""Translated labels for catalogue vocabulary (craft categories, weekdays, travel modes), a
party in words and money as each language writes them: one place for pages and e-mails."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

CATEGORY_LABELS = {
    "blacksmith": _l("Blacksmithing"),
    "bronze_casting": _l("Bronze casting"),
    "ceramics": _l("Ceramics"),
    "conical_hats": _l("Conical hats"),
    "embroidery": _l("Embroidery"),
    "flowers_plants": _l("Flowers and plants"),
    "folk_toys": _l("Folk toys"),
    "food": _l("Food"),
    "gold_leaf": _l("Gold leaf"),
    "horn": _l("Horn crafts"),
    "incense": _l("Incense"),
    "lacquer": _l("Lacquer"),
    "mother_of_pearl": _l("Mother-of-pearl inlay"),
    "musical_instruments": _l("Musical instruments"),
    "other": _l("Other crafts"),
    "paper_painting": _l("Paper and folk painting"),
    "rattan_bamboo": _l("Rattan and bamboo"),
    "silk_textiles": _l("Silk and textiles"),
    "wood_carving": _l("Wood carving"),
}

WEEKDAY_LABELS = {
    "mon": _l("Monday"),
    "tue": _l("Tuesday"),
    "wed": _l("Wednesday"),
    "thu": _l("Thursday"),
    "fri": _l("Friday"),
    "sat": _l("Saturday"),
    "sun": _l("Sunday"),
}


MODE_LABELS = {
    "car": _l("Car"),
    "motorbike": _l("Motorbike"),
    "bus_taxi": _l("Bus or taxi"),
    "bicycle": _l("Bicycle"),
    "walk": _l("On foot"),
}


def init_app(app: Flask) -> None:
    @app.context_processor
    def inject_labels() -> dict:
        return {
            "category_label": lambda c: CATEGORY_LABELS.get(c, c),
            "weekday_label": lambda d: WEEKDAY_LABELS.get(d, d),
            "mode_label": lambda m: MODE_LABELS.get(m, m),
        }

    # Globals, not context: macros imported without context use them too.
    app.jinja_env.globals["party_words"] = party_words
    app.jinja_env.globals["money"] = money

    app.add_template_filter(money, "money")


def money(value: int | None) -> str:
    """Money in the current language: "150.000 ₫" (vi), "150,000 VND" (en)."""
    from tourplanner.i18n import current_lang

    return format_vnd(value, current_lang())


def format_vnd(value: int | None, lang: str) -> str:
    """Money as each language writes it: "150.000 ₫" in Vietnamese, "150,000 VND" in English."""
    if value is None:
        return ""
    if lang == "en":
        return f"{value:,} VND"
    return f"{value:,}".replace(",", ".") + " ₫"


def party_words(adults: int = 0, children: int = 0, seniors: int = 0) -> str:
    """A party as words in the current language: "2 adults, 1 child" (categories of 0 left
    out; Vietnamese has one form for every number)."""
    words = []
    if adults:
        words.append(ngettext("%(num)s adult", "%(num)s adults", adults))
    if children:
        words.append(ngettext("%(num)s child", "%(num)s children", children))
    if seniors:
        words.append(ngettext("%(num)s senior", "%(num)s seniors", seniors))
    return ", ".join(words)
