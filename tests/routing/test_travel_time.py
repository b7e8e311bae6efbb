"""Travel-time providers: the geodesic default, the OSRM adapter and the cache."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tourplanner.routing.travel_time import (
    CachedProvider,
    GeodesicProvider,
    Mode,
    OsrmProvider,
    provider_from_config,
)

HOAN_KIEM, BAT_TRANG = (21.0288, 105.8525), (20.983, 105.917)


def test_geodesic_estimate_uses_circuity_speed_and_overhead() -> None:
    minutes, km = GeodesicProvider().matrix([HOAN_KIEM, BAT_TRANG], Mode.MOTORBIKE)
    assert minutes[0][0] == 0 and km[0][1] == km[1][0]
    assert 9.5 < km[0][1] < 11.5  # about 8.3 km straight line times 1.3
    assert minutes[0][1] == pytest.approx(5 + km[0][1] / 25 * 60)


class _FakeOsrm(BaseHTTPRequestHandler):
    paths: list[str] = []

    def do_GET(self) -> None:
        _FakeOsrm.paths.append(self.path)
        body = json.dumps(
            {"code": "Ok", "durations": [[0, 600], [660, 0]], "distances": [[0, 9000], [9500, 0]]}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def osrm_url() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _FakeOsrm)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_osrm_adapter_requests_a_table_and_converts_units(osrm_url: str) -> None:
    provider = provider_from_config({"TRAVEL_TIME_PROVIDER": "osrm", "OSRM_URL": osrm_url})
    assert isinstance(provider, OsrmProvider)
    minutes, km = provider.matrix([HOAN_KIEM, BAT_TRANG], Mode.CAR)
    assert minutes == [[0.0, 8 + 10.0], [8 + 11.0, 0.0]]  # car overhead 8 min + duration
    assert km == [[0.0, 9.0], [9.5, 0.0]]
    assert _FakeOsrm.paths[-1].startswith("/table/v1/car/105.852500,21.028800;105.917000,")


def test_cache_computes_a_matrix_once_per_catalogue_version_and_mode() -> None:
    cached = CachedProvider(GeodesicProvider())
    points = [HOAN_KIEM, BAT_TRANG]
    first = cached.matrix(points, Mode.WALK, version="v1")
    assert cached.matrix(points, Mode.WALK, version="v1") is first
    cached.matrix(points, Mode.CAR, version="v1")
    cached.matrix(points, Mode.WALK, version="v2")
    assert cached.misses == 3
