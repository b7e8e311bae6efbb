"""Security plumbing shared by the web and API layers: request-rate limits and the client's
address (``limits``), response headers (``headers``) and the audit log (``audit``).

The threat model and each defence with its test: ``docs/security.md``.
"""
