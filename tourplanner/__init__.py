"""tourplanner: tour planner and booking service for the craft villages of Hanoi.

:func:`create_app` is the application factory: configuration, extensions, blueprints, error
handlers and CLI commands. Domain code lives in plain-Python modules (``domain/``, ``routing/``)
that never import Flask.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Create and configure the Flask application.

    ``config`` overrides settings read from the environment (tests pass their own database).
    """
    from tourplanner.config import INSTANCE_DIR, ensure_secret_key, from_environment

    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        instance_path=str(INSTANCE_DIR),
        instance_relative_config=True,
    )
    app.config.update(from_environment())
    if config:
        app.config.update(config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    ensure_secret_key(app.config)
    app.json.ensure_ascii = False  # Vietnamese text stays readable in JSON

    _init_extensions(app)
    _register_blueprints(app)
    _register_cli(app)

    from tourplanner.services.maintenance import start_embedded_loop

    start_embedded_loop(app)
    return app


def _init_extensions(app: Flask) -> None:
    from tourplanner import i18n, labels
    from tourplanner.adapters import orm  # noqa: F401  (registers the tables)
    from tourplanner.adapters.orm.pool import ping_after_idle
    from tourplanner.extensions import babel, celery_init_app, csrf, db, migrate
    from tourplanner.security import headers as security_headers
    from tourplanner.security import limits

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name != "sqlite":  # a file does not go away under the pool
                ping_after_idle(engine, app.config["DB_PING_IDLE_SECONDS"])
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    babel.init_app(
        app,
        locale_selector=i18n.select_locale,
        default_translation_directories=str(ROOT / "translations"),
    )
    csrf.init_app(app)
    security_headers.init_app(app)
    limits.init_app(app)
    i18n.init_app(app)
    labels.init_app(app)
    celery_init_app(app)


def _register_blueprints(app: Flask) -> None:
    from tourplanner import ops
    from tourplanner.api import bp as api_bp
    from tourplanner.api.errors import register_error_handlers
    from tourplanner.octo import bp as octo_bp
    from tourplanner.web import bp as web_bp

    app.register_blueprint(api_bp)
    app.register_blueprint(octo_bp)
    app.register_blueprint(web_bp)
    ops.init_app(app)
    register_error_handlers(app)


def _register_cli(app: Flask) -> None:
    from tourplanner.cli import register

    register(app)
