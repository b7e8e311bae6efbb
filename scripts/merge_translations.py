"""Merge Vietnamese translations from ``translations/vi_*.json`` ({msgid: msgstr}) into the .po.

Workflow for a new interface string: wrap it in ``_()``, run ``make extract-messages`` (updates
``translations/messages.pot`` and the .po), then translate it in
``translations/vi/LC_MESSAGES/messages.po`` directly, or list it in a ``vi_*.json`` file and run
this script. ``tests/unit/test_i18n.py`` fails while any string is untranslated.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "translations/vi/LC_MESSAGES/messages.po"


def main() -> int:
    with PO.open("rb") as fh:
        catalog = read_po(fh, locale="vi")
    merged = 0
    for path in sorted((ROOT / "translations").glob("vi_*.json")):
        for msgid, msgstr in json.loads(path.read_text("utf-8")).items():
            message = catalog.get(msgid)
            if message is None:
                print(f"{path.name}: {msgid!r} is not in the catalogue (run make extract-messages)")
                continue
            message.string = msgstr
            message.flags.discard("fuzzy")
            merged += 1
    with PO.open("wb") as fh:
        write_po(fh, catalog, width=100)
    missing = [m.id for m in catalog if m.id and not m.string]
    print(f"merged {merged}; untranslated: {len(missing)}")
    for msgid in missing:
        print("  ", msgid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
