"""Both languages: the catalogue is complete and current, and pages speak the chosen language.

Language choice: ``?lang=vi|en`` (remembered), else Accept-Language, else Vietnamese.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "translations/vi/LC_MESSAGES/messages.po"
PAGES = ["/", "/villages", "/villages/bat-trang", "/products"]


class PerRequestContextClient(FlaskClient):
    """Each request in its own app context, as in production.

    The shared ``app`` fixture keeps one app context open for the whole test, and Flask reuses it
    for every request, so ``g`` (where Flask-Babel caches the chosen locale) would leak from one
    request to the next and a second request in another language would render in the first.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = PerRequestContextClient
    return app.test_client()


@pytest.fixture(scope="module")
def catalog():
    with PO.open("rb") as fh:
        return read_po(fh, locale="vi")


def _msgid(message) -> str:
    return message if isinstance(message, str) else message[0]


def extracted_ids() -> set[str]:
    """What ``make extract-messages`` would extract from the current code (same babel.cfg)."""
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
    return {
        _msgid(message)
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords
        )
    }


def test_po_has_no_empty_or_fuzzy_translation(catalog):
    empty = [
        m.id
        for m in catalog
        if m.id and not (m.string if isinstance(m.string, str) else all(m.string))
    ]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not empty, f"untranslated: {empty}"
    assert not fuzzy, f"fuzzy: {fuzzy}"


def test_every_string_in_the_code_is_in_the_po(catalog):
    extracted = extracted_ids()
    assert len(extracted) > 50
    missing = sorted(i for i in extracted if i not in catalog)
    assert not missing, (
        "run: make extract-messages && .venv/bin/python scripts/merge_translations.py && "
        f"make translations; missing: {missing}"
    )


def test_placeholders_survive_translation(catalog):
    import re

    for message in catalog:
        if message.id and isinstance(message.id, str) and message.string:
            wanted = sorted(re.findall(r"%\(\w+\)s", message.id))
            assert sorted(re.findall(r"%\(\w+\)s", message.string)) == wanted, message.id


class _Text(HTMLParser):
    """Visible text nodes and the translatable attributes of a page (scripts skipped)."""

    ATTRS = {"title", "placeholder", "aria-label", "alt"}

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in {"script", "style"}:
            self._skip += 1
        self.texts += [v.strip() for k, v in attrs if k in self.ATTRS and v]

    def handle_endtag(self, tag):
        if tag in {"script", "style"}:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.texts.append(" ".join(data.split()))


def texts(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.texts


def fragments(html: str) -> set[str]:
    """Text nodes, and their parts between separators ("Ceramics · Gia Lâm" -> "Ceramics")."""
    import re

    found = set()
    for text in texts(html):
        found.add(text.strip("«» :"))
        found.update(part.strip() for part in re.split(r"[·:;()«»]", text) if part.strip())
    return found


def _plain(catalog) -> dict[str, str]:
    """Translations of the simple interface strings (no placeholders), English -> Vietnamese."""
    return {
        m.id: m.string
        for m in catalog
        if isinstance(m.id, str) and m.id and "%(" not in m.id and m.string != m.id
    }


@pytest.mark.parametrize("path", PAGES)
def test_vietnamese_pages_show_no_english_interface_string(client, catalog, path):
    plain = _plain(catalog)
    response = client.get(path, query_string={"lang": "vi"})
    assert response.status_code == 200
    english = sorted(fragments(response.text) & set(plain))
    assert not english, f"{path}: untranslated {english}"


@pytest.mark.parametrize("path", PAGES)
def test_english_pages_show_no_vietnamese_interface_string(client, catalog, path):
    vietnamese = {v: k for k, v in _plain(catalog).items()}
    response = client.get(path, query_string={"lang": "en"})
    assert response.status_code == 200
    found = sorted(fragments(response.text) & set(vietnamese))
    assert not found, f"{path}: Vietnamese on the English page {found}"


SAMPLE = {  # English -> Vietnamese, per page
    "/": ["All villages", "Map of the villages", "Search"],
    "/villages": ["Craft villages", "District", "Filter"],
    "/villages/bat-trang": ["About the village", "Experiences", "Getting there", "Sources"],
    "/products": ["Village products", "OCOP certified"],
}


@pytest.mark.parametrize("path", PAGES)
def test_pages_render_in_both_languages(client, catalog, path):
    vi = client.get(path, query_string={"lang": "vi"})
    en = client.get(path, query_string={"lang": "en"})
    assert '<html lang="vi">' in vi.text and '<html lang="en">' in en.text
    for english in [*SAMPLE[path], "Villages", "Products"]:
        vietnamese = catalog.get(english).string
        assert vietnamese and vietnamese != english
        assert vietnamese in texts(vi.text), (path, english)
        assert english not in texts(vi.text), (path, english)
        assert english in texts(en.text), (path, english)
        assert vietnamese not in texts(en.text), (path, english)


@pytest.mark.parametrize("path", ["/", "/villages", "/villages/bat-trang"])
def test_village_names_follow_the_language(client, path):
    vi = texts(client.get(f"{path}?lang=vi").text)
    en = texts(client.get(f"{path}?lang=en").text)
    assert "Làng gốm Bát Tràng" in vi and "Bat Trang Ceramic Village" not in vi
    assert "Bat Trang Ceramic Village" in en and "Làng gốm Bát Tràng" not in en


def _lang(response) -> str:
    return response.text.split('<html lang="', 1)[1][:2]


def test_default_language_is_vietnamese(client):
    assert _lang(client.get("/")) == "vi"


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("en-US,en;q=0.9", "en"),
        ("en", "en"),
        ("vi-VN,vi;q=0.9,en;q=0.5", "vi"),
        ("fr-FR,fr;q=0.9", "vi"),
        ("fr,en;q=0.5", "en"),
    ],
)
def test_accept_language_chooses_when_no_lang_was_asked(client, header, lang):
    assert _lang(client.get("/villages", headers={"Accept-Language": header})) == lang


def test_lang_parameter_wins_and_is_remembered(client):
    english = {"Accept-Language": "en"}
    assert _lang(client.get("/?lang=vi", headers=english)) == "vi"
    assert _lang(client.get("/products", headers=english)) == "vi"  # remembered in the session
    assert _lang(client.get("/products?lang=en")) == "en"
    assert _lang(client.get("/villages")) == "en"


def test_unknown_lang_falls_back(client):
    assert _lang(client.get("/?lang=fr")) == "vi"


def test_language_switch_links_to_the_same_page(client):
    html = client.get("/villages?lang=vi&category=ceramics").text
    assert 'hreflang="en"' in html
    link = html.split('hreflang="en"')[0].rsplit('href="', 1)[1].split('"')[0]
    assert link.startswith("/villages?") or "/villages?" in link
    assert "lang=en" in link and "category=ceramics" in link
