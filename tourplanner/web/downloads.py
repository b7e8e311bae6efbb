"""Files the pages hand out (CSV reports, open data): one way to name and type them."""

from __future__ import annotations

from flask import Response


def attachment(text: str, filename: str, mimetype: str = "text/csv") -> Response:
    """``text`` as a download named ``filename``."""
    return Response(
        text,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
