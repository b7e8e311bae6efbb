"""Configuration from the environment: no server needed by default, scale-out by variables."""

from __future__ import annotations

import pytest

from tourplanner import config

VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "MAIL_ENABLED",
    "MAIL_PORT",
    "MAP_TILE_URL",
    "OSRM_URL",
    "OUTBOX_RELAY",
)


@pytest.fixture
def env(monkeypatch):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_need_no_server(env):
    settings = config.from_environment()
    assert settings["SQLALCHEMY_DATABASE_URI"] == (
        f"sqlite:///{config.INSTANCE_DIR / 'tourplanner.sqlite3'}"
    )
    assert config.INSTANCE_DIR.name == "instance"
    assert settings["REDIS_URL"] is None
    assert settings["CELERY"]["task_always_eager"] is True
    assert settings["CELERY"]["broker_url"] == "memory://"
    assert settings["CELERY"]["timezone"] == "Asia/Ho_Chi_Minh"
    assert settings["BABEL_DEFAULT_LOCALE"] == "vi"
    assert settings["MAIL_ENABLED"] is False
    assert settings["OSRM_URL"] is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/tp", "postgresql+psycopg://u:p@db:5432/tp"),
        ("postgresql://u:p@db/tp", "postgresql+psycopg://u:p@db/tp"),
        ("postgresql+psycopg://u@db/tp", "postgresql+psycopg://u@db/tp"),
        ("sqlite:////tmp/x.sqlite3", "sqlite:////tmp/x.sqlite3"),
    ],
)
def test_database_url_uses_psycopg_3_for_postgres(env, given, expected):
    env.setenv("DATABASE_URL", given)
    assert config.from_environment()["SQLALCHEMY_DATABASE_URI"] == expected


def test_empty_database_url_means_sqlite(env):
    env.setenv("DATABASE_URL", "")
    assert config.from_environment()["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")


def test_redis_url_turns_off_eager_celery(env):
    env.setenv("REDIS_URL", "redis://127.0.0.1:6390/0")
    settings = config.from_environment()
    assert settings["REDIS_URL"] == "redis://127.0.0.1:6390/0"
    assert settings["CELERY"]["broker_url"] == "redis://127.0.0.1:6390/0"
    assert settings["CELERY"]["task_always_eager"] is False


def test_empty_redis_url_keeps_eager(env):
    env.setenv("REDIS_URL", "")
    assert config.from_environment()["CELERY"]["task_always_eager"] is True


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("true", True),
        ("Yes", True),
        (" on ", True),
        ("0", False),
        ("no", False),
        ("", False),
    ],
)
def test_flags(env, value, expected):
    env.setenv("MAIL_ENABLED", value)
    assert config.from_environment()["MAIL_ENABLED"] is expected


@pytest.mark.parametrize(("value", "expected"), [("", "auto"), (" Listen ", "listen")])
def test_outbox_relay_is_auto_unless_named(env, value, expected):
    env.setenv("DATABASE_URL", "postgresql://u@db/tp")
    env.setenv("OUTBOX_RELAY", value)
    assert config.from_environment()["OUTBOX_RELAY"] == expected


def test_an_unknown_outbox_relay_is_refused_with_the_choices(env):
    env.setenv("OUTBOX_RELAY", "kafka")
    with pytest.raises(config.ConfigError, match="OUTBOX_RELAY must be one of auto, listen"):
        config.from_environment()


def test_a_listening_relay_without_postgresql_is_refused(env):
    env.setenv("OUTBOX_RELAY", "listen")  # SQLite has no LISTEN/NOTIFY: it would never wake
    with pytest.raises(config.ConfigError, match="needs a PostgreSQL DATABASE_URL"):
        config.from_environment()


def test_other_variables_are_read(env):
    env.setenv("SECRET_KEY", "s3cret")
    env.setenv("MAIL_PORT", "2525")
    env.setenv("MAP_TILE_URL", "http://127.0.0.1:9/{z}/{x}/{y}.png")
    settings = config.from_environment()
    assert settings["SECRET_KEY"] == "s3cret"
    assert settings["MAIL_PORT"] == 2525
    assert settings["MAP_TILE_URL"] == "http://127.0.0.1:9/{z}/{x}/{y}.png"


def test_app_uses_eager_celery_without_redis(env, tmp_path):
    from tests.conftest import make_app

    app = make_app(tmp_path / "x.sqlite3")
    celery = app.extensions["celery"]
    assert celery.conf.task_always_eager is True
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'x.sqlite3'}"


def _secret_config(tmp_path, **values):
    return {
        "SECRET_KEY": None,
        "SECRET_KEY_FILE": tmp_path / "instance" / "secret_key",
        "SQLALCHEMY_DATABASE_URI": "sqlite:////tmp/x.sqlite3",
        "REDIS_URL": None,
        "APP_ENV": "",
        **values,
    }


def test_embedded_run_makes_a_private_random_key_once_and_keeps_it(tmp_path):
    first = _secret_config(tmp_path)
    config.ensure_secret_key(first)
    key_file = tmp_path / "instance" / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert len(first["SECRET_KEY"]) >= config.MIN_SECRET_KEY_LENGTH
    again = _secret_config(tmp_path)
    config.ensure_secret_key(again)
    assert again["SECRET_KEY"] == first["SECRET_KEY"]
    other = _secret_config(tmp_path / "elsewhere")
    config.ensure_secret_key(other)
    assert other["SECRET_KEY"] != first["SECRET_KEY"]


@pytest.mark.parametrize(
    "production",
    [
        {"APP_ENV": "production"},
        {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u@db/tp"},
        {"REDIS_URL": "redis://127.0.0.1:6379/0"},
    ],
)
def test_production_refuses_to_start_without_a_secret_key(tmp_path, production):
    settings = _secret_config(tmp_path, **production)
    with pytest.raises(config.ConfigError, match="SECRET_KEY is not set"):
        config.ensure_secret_key(settings)
    assert not (tmp_path / "instance").exists()
    with pytest.raises(config.ConfigError, match="too short"):
        config.ensure_secret_key({**settings, "SECRET_KEY": "change-me"})
    good = {**settings, "SECRET_KEY": "x" * config.MIN_SECRET_KEY_LENGTH}
    config.ensure_secret_key(good)
    assert good["SECRET_KEY"] == "x" * config.MIN_SECRET_KEY_LENGTH


def test_a_sqlite_database_url_alone_is_still_embedded(tmp_path):
    settings = _secret_config(tmp_path, SQLALCHEMY_DATABASE_URI="sqlite:////srv/tp.sqlite3")
    config.ensure_secret_key(settings)
    assert settings["SECRET_KEY"]


def test_wsgi_start_without_secret_key_in_production_fails_with_the_message(tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {"PATH": "/usr/bin:/bin", "APP_ENV": "production", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "tourplanner: SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr
