"""Packages in the JSON API: the public read API and the agency endpoints (Bearer API key)."""
