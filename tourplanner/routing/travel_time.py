"""Travel times and distances between places, per transport mode, behind one small interface.

:class:`TravelTimeProvider` is the seam: the default :class:`GeodesicProvider` estimates
``minutes = overhead + geodesic_km * circuity / speed * 60``; :class:`OsrmProvider` asks a road
routing server (OSRM ``/table``) instead; :class:`CachedProvider` memoises matrices per
(catalogue version, mode, points). The speeds and circuity factors are planning defaults for
Hanoi, documented with their reasoning in ``docs/routing.md``; they are not measurements.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

Point = tuple[float, float]  # (latitude, longitude) in WGS84 degrees
Matrix = list[list[float]]


class Mode(StrEnum):
    """Transport modes offered by the planner."""

    WALK = "walk"
    BICYCLE = "bicycle"
    MOTORBIKE = "motorbike"
    CAR = "car"
    BUS_TAXI = "bus_taxi"


@dataclass(frozen=True)
class ModeProfile:
    """Parameters of the default estimate for one mode.

    Attributes
    ----------
    speed_kmh : float
        Average door-to-door moving speed on Hanoi streets and suburban roads.
    circuity : float
        Road distance divided by straight-line distance.
    overhead_min : float
        Fixed minutes per leg (parking, hailing or waiting, finding the workshop).
    """

    speed_kmh: float
    circuity: float
    overhead_min: float


DEFAULT_PROFILES: dict[Mode, ModeProfile] = {
    Mode.WALK: ModeProfile(speed_kmh=4.5, circuity=1.25, overhead_min=2.0),
    Mode.BICYCLE: ModeProfile(speed_kmh=12.0, circuity=1.3, overhead_min=3.0),
    Mode.MOTORBIKE: ModeProfile(speed_kmh=25.0, circuity=1.3, overhead_min=5.0),
    Mode.CAR: ModeProfile(speed_kmh=22.0, circuity=1.35, overhead_min=8.0),
    Mode.BUS_TAXI: ModeProfile(speed_kmh=20.0, circuity=1.4, overhead_min=12.0),
}


class TravelTimeProvider(Protocol):
    """Anything that returns full travel-time (minutes) and distance (km) matrices."""

    def matrix(self, points: Sequence[Point], mode: Mode) -> tuple[Matrix, Matrix]:
        """``(minutes, km)`` with ``minutes[i][j]`` from ``points[i]`` to ``points[j]``."""
        ...


class GeodesicProvider:
    """Default estimate from WGS84 geodesic distances (geopy), circuity, speed and overhead.

    O(n^2) geodesic computations per matrix (about 20 microseconds each).
    """

    def __init__(self, profiles: dict[Mode, ModeProfile] | None = None) -> None:
        self.profiles = {**DEFAULT_PROFILES, **(profiles or {})}

    def matrix(self, points: Sequence[Point], mode: Mode) -> tuple[Matrix, Matrix]:
        """Symmetric matrices; the diagonal is 0, every other entry includes the overhead."""
        from geopy.distance import geodesic  # imported lazily: optional for OSRM-only setups

        profile = self.profiles[Mode(mode)]
        n = len(points)
        minutes = [[0.0] * n for _ in range(n)]
        km = [[0.0] * n for _ in range(n)]
        for i in range(n):
            for j in range(i + 1, n):
                road = geodesic(points[i], points[j]).km * profile.circuity
                km[i][j] = km[j][i] = road
                minutes[i][j] = minutes[j][i] = (
                    profile.overhead_min + road / profile.speed_kmh * 60.0
                )
        return minutes, km


OSRM_PROFILES: dict[Mode, str] = {
    Mode.WALK: "foot",
    Mode.BICYCLE: "bike",
    Mode.MOTORBIKE: "car",
    Mode.CAR: "car",
    Mode.BUS_TAXI: "car",
}


class OsrmProvider:
    """Road travel times from an OSRM server's ``/table/v1`` service (one request per matrix).

    OSRM has no motorbike or taxi profile: they use ``car`` times plus the mode's overhead
    from ``profiles``. Durations come back in seconds and distances in metres.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        profiles: dict[Mode, ModeProfile] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.profiles = {**DEFAULT_PROFILES, **(profiles or {})}

    def url(self, points: Sequence[Point], mode: Mode) -> str:
        """The table request URL (OSRM wants ``lon,lat`` pairs)."""
        coords = ";".join(f"{lon:.6f},{lat:.6f}" for lat, lon in points)
        return (
            f"{self.base_url}/table/v1/{OSRM_PROFILES[Mode(mode)]}/{coords}"
            "?annotations=duration,distance"
        )

    def matrix(self, points: Sequence[Point], mode: Mode) -> tuple[Matrix, Matrix]:
        """Query the server; raises ``RuntimeError`` if it answers with an error code."""
        with urllib.request.urlopen(self.url(points, mode), timeout=self.timeout) as response:
            body = json.load(response)
        if body.get("code") != "Ok":
            raise RuntimeError(f"OSRM table request failed: {body.get('code')}")
        overhead = self.profiles[Mode(mode)].overhead_min
        minutes = [
            [0.0 if i == j else overhead + (s or 0.0) / 60.0 for j, s in enumerate(row)]
            for i, row in enumerate(body["durations"])
        ]
        km = [[(m or 0.0) / 1000.0 for m in row] for row in body["distances"]]
        return minutes, km


class CachedProvider:
    """Memoise another provider per (catalogue version, mode, points).

    The planner creates one per process; a new catalogue version starts fresh entries.
    """

    def __init__(self, inner: TravelTimeProvider, max_entries: int = 64) -> None:
        self.inner = inner
        self.max_entries = max_entries
        self._cache: dict[tuple[str, Mode, tuple[Point, ...]], tuple[Matrix, Matrix]] = {}
        self.misses = 0

    def matrix(
        self, points: Sequence[Point], mode: Mode, *, version: str = ""
    ) -> tuple[Matrix, Matrix]:
        """Cached ``inner.matrix``; evicts the oldest entry when full."""
        key = (version, Mode(mode), tuple(points))
        if key not in self._cache:
            self.misses += 1
            if len(self._cache) >= self.max_entries:
                del self._cache[next(iter(self._cache))]
            self._cache[key] = self.inner.matrix(points, mode)
        return self._cache[key]


def provider_from_config(config: dict[str, object]) -> TravelTimeProvider:
    """Build the provider named by ``config["TRAVEL_TIME_PROVIDER"]`` (``geodesic``/``osrm``).

    ``OSRM_URL`` gives the server for ``osrm``; ``TRAVEL_PROFILES`` may override mode profiles.
    """
    profiles = config.get("TRAVEL_PROFILES")
    kind = str(config.get("TRAVEL_TIME_PROVIDER", "geodesic"))
    if kind == "osrm":
        return OsrmProvider(str(config["OSRM_URL"]), profiles=profiles)  # type: ignore[arg-type]
    if kind == "geodesic":
        return GeodesicProvider(profiles)  # type: ignore[arg-type]
    raise ValueError(f"unknown travel time provider {kind!r}")
