"""Tour routes in the JSON API: ``GET /api/v1/routes`` and ``GET /api/v1/routes/<slug>``."""
