"""Test doubles of the app's adapters (kept out of the production modules)."""

from __future__ import annotations

from tourplanner.services.geocoding import GeocoderUnavailable


class FakeGeocoder:
    """Answers from a dict; ``unavailable=True`` behaves like an unreachable service."""

    def __init__(
        self, places: dict[str, tuple[float, float]] | None = None, unavailable: bool = False
    ) -> None:
        self.places = places or {}
        self.unavailable = unavailable

    def geocode(self, address: str) -> tuple[float, float] | None:
        if self.unavailable:
            raise GeocoderUnavailable("fake geocoder is down")
        return self.places.get(address)
