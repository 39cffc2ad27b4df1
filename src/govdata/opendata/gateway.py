"""How messages reach public accounts: verification codes and application outcomes.

The operator configures one gateway per channel. The embedded profile has no mail server
or SMS provider, so its default writes the message to the log (WARNING, one clear line)
for the operator to read out; production sets ``opendata_mail_gateway=smtp`` and/or
``opendata_sms_gateway=http``. A gateway that cannot deliver raises ``ServiceUnavailable``
so the action that wanted to send rolls back (no code is stored that nobody received).
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

import httpx

from govdata.config import Settings
from govdata.core.errors import ServiceUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outgoing:
    """One message to one address (an e-mail address or a mainland mobile number)."""

    to: str
    subject: str
    body: str


class Gateway(Protocol):
    def send(self, message: Outgoing) -> None: ...


def _unavailable(channel: str, exc: Exception) -> ServiceUnavailable:
    log.error("open-data %s gateway failed: %s", channel, exc)
    return ServiceUnavailable(
        "消息发送失败，请稍后重试",
        "The message could not be sent; try again later",
        code="opendata_gateway_failed",
        details={"channel": channel},
    )


class LogGateway:
    """Writes the message to the log; nothing leaves the node."""

    def __init__(self, channel: str) -> None:
        self.channel = channel

    def send(self, message: Outgoing) -> None:
        log.warning(
            "open-data %s message to %s: %s — %s",
            self.channel,
            message.to,
            message.subject,
            message.body,
        )


class SmtpGateway:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def build(self, message: Outgoing) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.settings.opendata_smtp_from
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail.set_content(message.body)
        return mail

    def send(self, message: Outgoing) -> None:
        s = self.settings
        try:
            with smtplib.SMTP(
                s.opendata_smtp_host, s.opendata_smtp_port, timeout=s.opendata_smtp_timeout
            ) as smtp:
                if s.opendata_smtp_starttls:
                    smtp.starttls()
                if s.opendata_smtp_user:
                    smtp.login(s.opendata_smtp_user, s.opendata_smtp_password)
                smtp.send_message(self.build(message))
        except (OSError, smtplib.SMTPException) as exc:
            raise _unavailable("mail", exc) from exc


class HttpSmsGateway:
    """POSTs ``{"mobile", "subject", "text"}`` as JSON to the provider's URL with a bearer token."""

    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self.transport = transport

    def send(self, message: Outgoing) -> None:
        s = self.settings
        if not s.opendata_sms_url:
            raise _unavailable("sms", RuntimeError("opendata_sms_url is not set"))
        try:
            with httpx.Client(timeout=10.0, transport=self.transport) as client:
                response = client.post(
                    s.opendata_sms_url,
                    json={"mobile": message.to, "subject": message.subject, "text": message.body},
                    headers={"Authorization": f"Bearer {s.opendata_sms_token}"},
                )
                response.raise_for_status()
        except httpx.HTTPError as exc:
            raise _unavailable("sms", exc) from exc


def for_address(settings: Settings, address: str) -> Gateway:
    """The gateway of the address's channel: e-mail addresses contain an @."""
    if "@" in address:
        return (
            SmtpGateway(settings)
            if settings.opendata_mail_gateway == "smtp"
            else (LogGateway("mail"))
        )
    if settings.opendata_sms_gateway == "http":
        return HttpSmsGateway(settings)
    return LogGateway("sms")


def send(settings: Settings, message: Outgoing) -> None:
    for_address(settings, message.to).send(message)
