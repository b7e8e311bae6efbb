"""Outgoing notification channels behind small interfaces: e-mail, webhook, SMS.

* :class:`SmtpMailer` sends with :mod:`smtplib`; :class:`LoggingMailer` only logs
  (``MAIL_ENABLED=0``). Both refuse an address or subject with control characters (CR/LF would
  inject headers) before anything is built.
* :class:`WebhookSender` POSTs JSON with :mod:`http.client` to a URL that passed
  :func:`check_webhook_url` (https, public addresses only) and signs it:
  ``X-Tourplanner-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` with the
  village's secret, plus ``X-Tourplanner-Delivery`` (the notification id: receivers can drop a
  repeated delivery). Receivers check it with :func:`verify`, which refuses a signature older
  (or newer) than :data:`REPLAY_WINDOW_SECONDS`. Redirects are never followed.
* :class:`LoggingSms` is the SMS adapter until a provider is chosen.

Every sender raises :class:`DeliveryError` on a failure worth retrying and
:class:`PermanentDeliveryError` when the message can never be sent as it is (a bad address, a
recipient the server refuses, a webhook URL that is not allowed); the outbox retries the first
with backoff and gives up on the second at once.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Protocol
from urllib.parse import SplitResult, urlsplit

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Tourplanner-Signature"
DELIVERY_HEADER = "X-Tourplanner-Delivery"
#: A receiver accepts a signature whose timestamp is at most this far from its own clock.
REPLAY_WINDOW_SECONDS = 300
MAX_ADDRESS_LENGTH = 254


class DeliveryError(Exception):
    """A send failed; the message may be retried."""

    permanent = False


class PermanentDeliveryError(DeliveryError):
    """The message can never be sent as it is: retrying would fail the same way."""

    permanent = True


class Mailer(Protocol):
    def send(self, to: str, subject: str, body: str, *, message_id: str) -> None: ...


class Webhook(Protocol):
    def post(self, url: str, secret: str, payload: dict[str, Any], *, delivery_id: str) -> None: ...


class Sms(Protocol):
    def send(self, to: str, text: str) -> None: ...


# --- e-mail --------------------------------------------------------------------------------


def _has_control(text: str) -> bool:
    return any(ord(c) < 32 or 127 <= ord(c) < 160 for c in text)


def check_mail_headers(to: str, subject: str) -> None:
    """Refuse what must never reach a mail header: control characters (CR/LF header injection),
    more than one address, or something that is not ``local@domain`` at all."""
    if _has_control(to) or _has_control(subject):
        raise PermanentDeliveryError("control character in the address or subject")
    local, at, domain = to.rpartition("@")
    if (
        not at
        or not local
        or "." not in domain
        or len(to) > MAX_ADDRESS_LENGTH
        or any(c in to for c in " ,;<>\"'()[]\\")
    ):
        raise PermanentDeliveryError("not a single e-mail address")


def _smtp_error(host: str, port: int, exc: smtplib.SMTPException) -> DeliveryError:
    """5xx answers are final (the server refuses this message); 4xx and the rest may pass later."""
    where = f"SMTP {host}:{port}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        if codes and all(500 <= code < 600 for code in codes):
            return PermanentDeliveryError(f"{where}: recipient refused {codes}")
        return DeliveryError(f"{where}: recipient refused for now {codes}")
    if isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600:
        return PermanentDeliveryError(f"{where}: {exc.smtp_code} {exc.smtp_error!r}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):  # e.g. a UTF-8 address, no SMTPUTF8
        return PermanentDeliveryError(f"{where}: {exc}")
    return DeliveryError(f"{where}: {exc}")


@dataclass
class SmtpMailer:
    host: str
    port: int
    sender: str
    timeout: float = 10.0

    def send(self, to: str, subject: str, body: str, *, message_id: str) -> None:
        check_mail_headers(to, subject)
        try:
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = self.sender, to, subject
            message["Message-ID"] = message_id
            message.set_content(body)
        except (ValueError, TypeError) as exc:  # the header policy refused a value
            raise PermanentDeliveryError(f"cannot build the message: {exc}") from exc
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.send_message(message)
        except smtplib.SMTPException as exc:
            raise _smtp_error(self.host, self.port, exc) from exc
        except (UnicodeError, ValueError) as exc:  # an address smtplib cannot encode
            raise PermanentDeliveryError(f"SMTP {self.host}:{self.port}: {exc}") from exc
        except OSError as exc:
            raise DeliveryError(f"SMTP {self.host}:{self.port}: {exc}") from exc


class LoggingMailer:
    def send(self, to: str, subject: str, body: str, *, message_id: str) -> None:
        check_mail_headers(to, subject)  # the same refusal as the real mailer
        log.info("mail (not sent, MAIL_ENABLED=0) to=%r subject=%r id=%s", to, subject, message_id)


# --- webhook signatures --------------------------------------------------------------------


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, *, timestamp: int) -> str:
    """The signature header's value: ``t=<timestamp>,v1=<hex HMAC-SHA256 of "<t>.<body>">``."""
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def verify(
    secret: str,
    header: str | None,
    body: bytes,
    *,
    now: float | None = None,
    window: float = REPLAY_WINDOW_SECONDS,
) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` and its timestamp is within ``window``
    seconds of ``now``: a captured request cannot be replayed later than that."""
    if not header:
        return False
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _eq, value = part.strip().partition("=")
        if name == "t" and value.isascii() and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > window:
        return False
    expected = _mac(secret, timestamp, body)
    return any(hmac.compare_digest(expected, c) for c in candidates)


# --- webhook destinations ------------------------------------------------------------------


class UnsafeWebhookUrl(ValueError):
    """The URL may not receive webhooks; ``code`` says why (for the settings form and logs)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class WebhookUnresolvable(UnsafeWebhookUrl):
    """The host name does not resolve now (perhaps only for now)."""


@dataclass(frozen=True)
class WebhookPolicy:
    """Where webhooks may go. Production: https and public addresses only."""

    allow_http: bool = False
    allow_private: bool = False


Resolver = Callable[..., Sequence[tuple[Any, ...]]]


def address_refusal(address: str, *, allow_private: bool) -> str | None:
    """Why ``address`` may not receive a webhook, or None when it may.

    Multicast, unspecified, reserved and link-local addresses (169.254.169.254 is the cloud
    metadata service) are always refused; loopback and private ranges only unless allowed.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved or ip.is_link_local:
        return f"{ip} is a multicast, unspecified, reserved or link-local address"
    if not ip.is_global and not allow_private:
        return f"{ip} is a loopback or private address"
    return None


def check_webhook_url(
    url: str, policy: WebhookPolicy, *, resolve: Resolver | None = None
) -> list[str]:
    """The addresses ``url`` resolves to, every one of them allowed; else :class:`UnsafeWebhookUrl`.

    Every resolved address must pass, not just one: a host that answers with a public and a
    private address would otherwise reach the private one on some attempts.
    """
    if _has_control(url) or " " in url:
        raise UnsafeWebhookUrl("the webhook URL contains spaces or control characters", "invalid")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeWebhookUrl("not a URL", "invalid") from None
    schemes = ("https", "http") if policy.allow_http else ("https",)
    if parts.scheme not in schemes:
        raise UnsafeWebhookUrl("the webhook URL must start with https://", "not_https")
    host = parts.hostname
    if not host:
        raise UnsafeWebhookUrl("the webhook URL has no host", "invalid")
    try:
        found = (resolve or socket.getaddrinfo)(
            host, port or _default_port(parts), type=socket.SOCK_STREAM
        )
    except (OSError, UnicodeError) as exc:
        raise WebhookUnresolvable(f"{host} does not resolve: {exc}", "unresolvable") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    if not addresses:
        raise WebhookUnresolvable(f"{host} does not resolve", "unresolvable")
    for address in addresses:
        why = address_refusal(address, allow_private=policy.allow_private)
        if why:
            raise UnsafeWebhookUrl(f"{host} resolves to {why}", "private_address")
    return addresses


def _default_port(parts: SplitResult) -> int:
    return 443 if parts.scheme == "https" else 80


def _connector(addresses: list[str], port: int) -> Callable[..., socket.socket]:
    """A ``create_connection`` replacement that only dials the addresses already checked."""

    def connect(_address: Any, timeout: Any = None, source_address: Any = None) -> socket.socket:
        error: OSError | None = None
        for address in addresses:
            try:
                return socket.create_connection((address, port), timeout, source_address)
            except OSError as exc:
                error = exc
        raise error or OSError("no address to connect to")

    return connect


def _pinned_connection(
    parts: SplitResult, addresses: list[str], timeout: float
) -> http.client.HTTPConnection:
    """A connection to ``parts.hostname`` that dials one of ``addresses`` and nothing else.

    Host header and TLS (SNI and certificate check) still use the host name; only the TCP
    connection is pinned. ``http.client`` is used rather than ``urllib`` because it follows no
    redirects and consults no proxy settings: nothing can send the request elsewhere.
    """
    host, port = parts.hostname or "", parts.port or _default_port(parts)
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            host, port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    # HTTPConnection.connect() dials through this attribute (HTTPSConnection wraps the socket
    # it returns in TLS for ``host``).
    connection._create_connection = _connector(addresses, port)  # type: ignore[attr-defined]
    return connection


#: Answers worth another attempt later; every other non-2xx answer is final.
RETRYABLE_STATUS = frozenset({408, 425, 429})


@dataclass
class WebhookSender:
    timeout: float = 5.0
    policy: WebhookPolicy = field(default_factory=WebhookPolicy)
    resolve: Resolver | None = None  # socket.getaddrinfo
    clock: Callable[[], float] = time.time

    def post(self, url: str, secret: str, payload: dict[str, Any], *, delivery_id: str) -> None:
        # Checked again right here, not only when the village saved the URL: DNS can change
        # after the check (or answer differently each time: DNS rebinding). Resolving once and
        # connecting to the address just checked, rather than checking and then letting the
        # HTTP client resolve the name again, leaves no window in which the name can change.
        try:
            addresses = check_webhook_url(url, self.policy, resolve=self.resolve)
        except WebhookUnresolvable as exc:
            raise DeliveryError(f"webhook: {exc}") from exc
        except UnsafeWebhookUrl as exc:
            raise PermanentDeliveryError(f"webhook refused: {exc}") from exc
        parts = urlsplit(url)
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "tourplanner-webhook/2",
            SIGNATURE_HEADER: sign(secret, body, timestamp=int(self.clock())),
            DELIVERY_HEADER: delivery_id,
        }
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection = _pinned_connection(parts, addresses, self.timeout)
        try:
            connection.request("POST", target, body=body, headers=headers)
            status = connection.getresponse().status
        except (OSError, http.client.HTTPException) as exc:  # timeouts and TLS errors included
            raise DeliveryError(f"webhook {parts.hostname}: {exc}") from exc
        finally:
            connection.close()
        if 200 <= status < 300:
            return
        if status >= 500 or status in RETRYABLE_STATUS:
            raise DeliveryError(f"webhook {parts.hostname}: HTTP {status}")
        # 3xx included: a redirect is not followed, and retrying gets the same answer.
        raise PermanentDeliveryError(f"webhook {parts.hostname}: HTTP {status}")


# --- SMS -----------------------------------------------------------------------------------


class LoggingSms:
    def send(self, to: str, text: str) -> None:
        log.info("sms (logging adapter) to=%r: %r", to, text)


@dataclass
class Notifiers:
    mailer: Mailer
    webhook: Webhook
    sms: Sms


def webhook_policy(config: Any) -> WebhookPolicy:
    """Production: https and public addresses. Plain http is allowed in the embedded set-up
    (a village trying the app on its own machine) and wherever private addresses are."""
    from tourplanner.config import is_embedded

    allow_private = bool(config.get("WEBHOOK_ALLOW_PRIVATE"))
    return WebhookPolicy(
        allow_http=allow_private or is_embedded(config), allow_private=allow_private
    )


def from_config(config: dict[str, Any]) -> Notifiers:
    """The real channels, as configured (``MAIL_ENABLED=0`` logs mail instead of sending)."""
    mailer: Mailer = (
        SmtpMailer(config["MAIL_SERVER"], int(config["MAIL_PORT"]), config["MAIL_SENDER"])
        if config.get("MAIL_ENABLED")
        else LoggingMailer()
    )
    webhook = WebhookSender(
        timeout=float(config.get("WEBHOOK_TIMEOUT_SECONDS", 5)), policy=webhook_policy(config)
    )
    return Notifiers(mailer=mailer, webhook=webhook, sms=LoggingSms())
