"""Outgoing notification channels behind small interfaces: e-mail, webhook, SMS.

* :class:`SmtpMailer` sends with :mod:`smtplib`; :class:`LoggingMailer` only logs
  (``MAIL_ENABLED=0``).
* :class:`WebhookSender` POSTs JSON with :mod:`urllib` and signs it with HMAC-SHA256:
  ``X-Tourplanner-Signature: sha256=<hex>`` over ``f"{timestamp}.{body}"`` with the village's
  secret, ``X-Tourplanner-Timestamp`` (Unix seconds) and ``X-Tourplanner-Delivery`` (the
  notification id: receivers can drop a repeated delivery).
* :class:`LoggingSms` is the SMS adapter until a provider is chosen.

Every sender raises :class:`DeliveryError` on failure; the outbox retries with backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """A send failed; the message may be retried."""


class Mailer(Protocol):
    def send(self, to: str, subject: str, body: str, *, message_id: str) -> None: ...


class Webhook(Protocol):
    def post(self, url: str, secret: str, payload: dict[str, Any], *, delivery_id: str) -> None: ...


class Sms(Protocol):
    def send(self, to: str, text: str) -> None: ...


@dataclass
class SmtpMailer:
    host: str
    port: int
    sender: str
    timeout: float = 10.0

    def send(self, to: str, subject: str, body: str, *, message_id: str) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, to, subject
        message["Message-ID"] = message_id
        message.set_content(body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP {self.host}:{self.port}: {exc}") from exc


class LoggingMailer:
    def send(self, to: str, subject: str, body: str, *, message_id: str) -> None:
        log.info("mail (not sent, MAIL_ENABLED=0) to=%s subject=%s id=%s", to, subject, message_id)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``timestamp + "." + body`` with ``secret``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


@dataclass
class WebhookSender:
    timeout: float = 10.0

    def post(self, url: str, secret: str, payload: dict[str, Any], *, delivery_id: str) -> None:
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        timestamp = str(int(time.time()))
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "tourplanner-webhook/1",
                "X-Tourplanner-Timestamp": timestamp,
                "X-Tourplanner-Signature": sign(secret, timestamp, body),
                "X-Tourplanner-Delivery": delivery_id,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"webhook {url}: HTTP {exc.code}") from exc
        except (OSError, ValueError) as exc:
            raise DeliveryError(f"webhook {url}: {exc}") from exc
        if not 200 <= status < 300:
            raise DeliveryError(f"webhook {url}: HTTP {status}")


class LoggingSms:
    def send(self, to: str, text: str) -> None:
        log.info("sms (logging adapter) to=%s: %s", to, text)


@dataclass
class Notifiers:
    mailer: Mailer
    webhook: Webhook
    sms: Sms


def from_config(config: dict[str, Any]) -> Notifiers:
    """The real channels, as configured (``MAIL_ENABLED=0`` logs mail instead of sending)."""
    mailer: Mailer = (
        SmtpMailer(config["MAIL_SERVER"], int(config["MAIL_PORT"]), config["MAIL_SENDER"])
        if config.get("MAIL_ENABLED")
        else LoggingMailer()
    )
    return Notifiers(mailer=mailer, webhook=WebhookSender(), sms=LoggingSms())
