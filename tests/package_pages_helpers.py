"""Shared by the package page tests (tests/unit/test_package_pages.py and
tests/e2e/test_packages_phone.py): the Vietnamese catalogue with the package pages' strings,
an agency with a signed-in user, and dates the sample workshops run on.

The package pages' Vietnamese lives in ``translations/vi_packages.json`` until the lead merges
it into the .po; :func:`vietnamese_catalogue` compiles the .po plus every ``vi_*.json`` into a
throw-away translations directory (``BABEL_TRANSLATION_DIRECTORIES``), so that the tests read
the pages as a Vietnamese visitor will, before and after the merge.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from demo_days import closed_dates

from tourplanner.domain.availability import LOCAL_TZ

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "translations/vi/LC_MESSAGES/messages.po"


def vietnamese_catalogue(directory: Path) -> Path:
    """``directory`` holding ``vi/LC_MESSAGES/messages.mo``: the .po and the JSON files."""
    with PO.open("rb") as fh:
        catalog: Catalog = read_po(fh, locale="vi")
    for path in sorted((ROOT / "translations").glob("vi_*.json")):
        for msgid, msgstr in json.loads(path.read_text("utf-8")).items():
            if not isinstance(msgstr, str):
                continue  # another area's plural forms: not needed by these pages
            message = catalog.get(msgid)
            if message is None:
                catalog.add(msgid, msgstr)
            elif not message.string:
                message.string = msgstr
    target = directory / "vi" / "LC_MESSAGES"
    target.mkdir(parents=True, exist_ok=True)
    with (target / "messages.mo").open("wb") as fh:
        write_mo(fh, catalog)
    return directory


def vietnamese(msgid: str) -> str:
    """The Vietnamese of one of the package pages' strings."""
    return json.loads((ROOT / "translations/vi_packages.json").read_text("utf-8"))[msgid]


def next_weekday(weekday: int, *, after: int = 3, span: int = 3, today: date | None = None) -> date:
    """The first ``weekday`` (0 = Monday) at least ``after`` days from today (in Hanoi) such
    that none of the ``span`` days from it is a demo closed date (Tết): the tests use that
    day and the two after it."""
    day = (today or datetime.now(LOCAL_TZ).date()) + timedelta(days=after)
    day += timedelta(days=(weekday - day.weekday()) % 7)
    while any(day + timedelta(days=n) in closed_dates() for n in range(span)):
        day += timedelta(weeks=1)
    return day


def agency_with_user(name: str, email: str) -> tuple[int, str]:
    """A new agency whose first admin is ``email``; ``(agency_id, password)``."""
    from tourplanner.services import agencies

    view = agencies.create_agency(name, email)
    return view["id"], view["password"]
