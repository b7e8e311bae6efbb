"""Turning a typed address into coordinates, behind a small interface (tests inject their own).

``GEOCODER = nominatim`` (default) asks OpenStreetMap's Nominatim through geopy (user agent
``tourplanner``, short timeout); ``GEOCODER = none`` switches geocoding off. When the geocoder
cannot be reached the planner answers 422 ``geocoder_unavailable`` and asks the user to pick a
landmark or a point on the map; it never guesses.
"""

from __future__ import annotations

import logging
from typing import Protocol

from flask import current_app

from tourplanner.domain.errors import Unprocessable

log = logging.getLogger(__name__)
EXTENSION_KEY = "tourplanner.geocoder"


class GeocoderUnavailable(Exception):
    """The geocoding service is switched off or could not be reached."""


class Geocoder(Protocol):
    def geocode(self, address: str) -> tuple[float, float] | None:
        """(lat, lon) of the best match, None if nothing matches; may raise Unavailable."""
        ...


class NoGeocoder:
    """Geocoding switched off (``GEOCODER = none``)."""

    def geocode(self, address: str) -> tuple[float, float] | None:
        raise GeocoderUnavailable("geocoding is switched off")


class NominatimGeocoder:
    """OpenStreetMap Nominatim via geopy, biased to Vietnam, with a short timeout."""

    def __init__(self, timeout: float = 3.0, user_agent: str = "tourplanner") -> None:
        from geopy.geocoders import Nominatim

        self._nominatim = Nominatim(user_agent=user_agent, timeout=timeout)

    def geocode(self, address: str) -> tuple[float, float] | None:
        from geopy.exc import GeopyError

        try:
            found = self._nominatim.geocode(address, country_codes="vn", exactly_one=True)
        except (GeopyError, OSError, ValueError) as exc:
            log.info("geocoder unavailable: %s", exc)
            raise GeocoderUnavailable(str(exc)) from exc
        return None if found is None else (found.latitude, found.longitude)


def get_geocoder() -> Geocoder:
    """The app's geocoder: an injected one (tests) or the one named by ``GEOCODER``."""
    injected = current_app.extensions.get(EXTENSION_KEY)
    if injected is not None:
        return injected
    if current_app.config.get("GEOCODER", "nominatim") == "nominatim":
        geocoder: Geocoder = NominatimGeocoder(
            timeout=float(current_app.config.get("GEOCODER_TIMEOUT", 3.0))
        )
    else:
        geocoder = NoGeocoder()
    current_app.extensions[EXTENSION_KEY] = geocoder
    return geocoder


def locate(address: str) -> tuple[float, float]:
    """Coordinates of an address, or a 422 the user can act on."""
    try:
        found = get_geocoder().geocode(address)
    except GeocoderUnavailable:
        raise Unprocessable(
            "We cannot look up addresses right now: please pick a landmark or a point on the "
            "map as your start.",
            code="geocoder_unavailable",
            field="start.address",
        ) from None
    if found is None:
        raise Unprocessable(
            "No place matches that address: please pick a landmark or a point on the map.",
            code="address_not_found",
            field="start.address",
        )
    return found
