"""Security headers on every response (filled in by the headers work of issue #10)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the after-request hook that sets the headers."""
