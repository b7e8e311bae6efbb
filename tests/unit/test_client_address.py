"""Which client address and host the app believes: the proxy's word only when it is trusted."""

from __future__ import annotations

from flask import jsonify

from tests.conftest import make_app
from tourplanner.security.limits import client_ip


def _app_with_echo(tmp_path, **config):
    app = make_app(tmp_path / "echo.sqlite3", **config)
    app.add_url_rule("/_echo", "echo", lambda: jsonify(ip=client_ip()))
    return app


def test_x_forwarded_for_is_ignored_without_a_trusted_proxy(tmp_path):
    app = _app_with_echo(tmp_path)
    response = app.test_client().get(
        "/_echo",
        headers={"X-Forwarded-For": "198.51.100.7"},
        environ_base={"REMOTE_ADDR": "203.0.113.1"},
    )
    assert response.get_json()["ip"] == "203.0.113.1"


def test_x_forwarded_for_names_the_client_behind_one_trusted_proxy(tmp_path):
    app = _app_with_echo(tmp_path, TRUSTED_PROXIES=1)
    response = app.test_client().get(
        "/_echo",
        headers={"X-Forwarded-For": "10.9.9.9, 198.51.100.7"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    # Only the last hop (added by our proxy) is believed; the client can forge the rest.
    assert response.get_json()["ip"] == "198.51.100.7"


def test_requests_for_other_hosts_are_refused_when_trusted_hosts_are_set(tmp_path):
    app = _app_with_echo(tmp_path, TRUSTED_HOSTS=["tourplanner.example"], SERVER_NAME=None)
    client = app.test_client()
    assert client.get("/_echo", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/_echo", headers={"Host": "tourplanner.example"}).status_code == 200
