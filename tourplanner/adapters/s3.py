"""A small client for S3-compatible object storage (AWS S3, MinIO, Garage, Ceph, R2...).

Only what the photo store needs: put, get, head and delete one object, path-style addressed
(``<endpoint>/<bucket>/<key>``, which every S3-compatible server accepts), signed with AWS
Signature Version 4. Plain ``urllib`` from the standard library: a full SDK would bring half a
dozen pinned packages for four requests.
"""

from __future__ import annotations

import hashlib
import hmac
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime

SERVICE = "s3"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class S3Error(RuntimeError):
    """The store answered with an error (or could not be reached)."""


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    region: str = "us-east-1"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _quote(path: str) -> str:
    return urllib.parse.quote(path, safe="/-_.~")


def sign(
    method: str,
    url: str,
    headers: dict[str, str],
    payload_sha256: str,
    credentials: Credentials,
    *,
    now: datetime,
) -> dict[str, str]:
    """The request's headers with ``x-amz-date``, ``x-amz-content-sha256`` and the SigV4
    ``Authorization`` added. ``headers`` must include ``host``; all of them are signed."""
    parts = urllib.parse.urlsplit(url)
    amz_date = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    signed = {k.lower(): " ".join(str(v).split()) for k, v in headers.items()}
    signed["x-amz-date"] = amz_date
    signed["x-amz-content-sha256"] = payload_sha256
    names = sorted(signed)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    canonical_query = "&".join(
        f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
        for k, v in sorted(query)
    )
    canonical = "\n".join(
        [
            method,
            _quote(parts.path or "/"),
            canonical_query,
            "".join(f"{name}:{signed[name]}\n" for name in names),
            ";".join(names),
            payload_sha256,
        ]
    )
    scope = f"{day}/{credentials.region}/{SERVICE}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(("AWS4" + credentials.secret_access_key).encode(), day)
    for part in (credentials.region, SERVICE, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    signed["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={credentials.access_key_id}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return signed


class S3Client:
    """One bucket of an S3-compatible store."""

    def __init__(
        self, endpoint: str, bucket: str, credentials: Credentials, *, timeout: float = 20.0
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.bucket = bucket
        self.credentials = credentials
        self.timeout = timeout

    def _request(
        self, method: str, key: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        url = f"{self.endpoint}/{self.bucket}/{_quote(key)}"
        base = {"host": urllib.parse.urlsplit(url).netloc, **(headers or {})}
        digest = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
        signed = sign(method, url, base, digest, self.credentials, now=datetime.now(UTC))
        signed.pop("host")  # urllib sets it itself, to the same value
        request = urllib.request.Request(
            url, data=body if method == "PUT" else None, headers=signed, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                if exc.code == 404:
                    return 404, b""
                raise S3Error(f"{method} {key}: HTTP {exc.code} {exc.read()[:300]!r}") from None
        except OSError as exc:
            raise S3Error(f"{method} {key}: {exc}") from None

    def put(self, key: str, data: bytes, content_type: str, cache_control: str) -> None:
        headers = {
            "content-type": content_type,
            "content-length": str(len(data)),
            "cache-control": cache_control,
        }
        self._request("PUT", key, data, headers)

    def get(self, key: str) -> bytes | None:
        status, body = self._request("GET", key)
        return None if status == 404 else body

    def exists(self, key: str) -> bool:
        status, _body = self._request("HEAD", key)
        return status != 404

    def delete(self, key: str) -> None:
        self._request("DELETE", key)
