"""Language selection: ``?lang=vi|en`` (remembered in the session), else Accept-Language, else vi.

Also exposes ``lang`` and ``lang_url`` to templates.
"""

from __future__ import annotations

from flask import Flask, current_app, request, session, url_for
from flask_babel import refresh


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    asked = request.args.get("lang")
    if asked in languages:
        session["lang"] = asked
        return asked
    remembered = session.get("lang")
    if remembered in languages:
        return remembered
    return request.accept_languages.best_match(languages) or languages[0]


def current_lang() -> str:
    from flask_babel import get_locale

    locale = get_locale()
    return locale.language if locale else "vi"


def lang_url(lang: str) -> str:
    """The current page in another language."""
    args = {**(request.view_args or {}), **request.args.to_dict(), "lang": lang}
    return url_for(request.endpoint or "web.home", **args)


def init_app(app: Flask) -> None:
    # Flask-Babel caches the locale on the app context; when several requests share one (tests,
    # or a request made from inside a task), each request must choose its own language.
    app.before_request(refresh)

    @app.context_processor
    def inject_lang() -> dict:
        return {"lang": current_lang(), "lang_url": lang_url}
