"""Email through the deployment's SMTP relay (aiosmtplib): STARTTLS (or implicit TLS) with
the relay's certificate verified, a login when one is configured, a text and an HTML part
(Jinja2 templates beside this module, the HTML one autoescaped), and a one-click unsubscribe
link (RFC 8058: `List-Unsubscribe` with `List-Unsubscribe-Post`), which removes this
destination from its subscription. The connection goes to the relay's address as the
outbound policy checked it.

The relay's answers: accepted is delivered; a 5xx refusing the recipient means the address
is gone (the destination is disabled); a 5xx refusing the message itself is dead-lettered
now; 4xx (greylisting, a full queue), a dropped connection or a failed login are retried."""

from __future__ import annotations

import ssl
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from functools import cache
from pathlib import Path
from typing import Any

import aiosmtplib
from email_validator import EmailNotValidError, validate_email
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.delivery.channels.base import Channel, InvalidDestination, Outcome, Outgoing, Result
from services.delivery.channels.explain import explanation, headline
from shared.contracts.alerts import AlertEvent
from shared.http.outbound import RefusedAddress
from shared.runtime.metrics import DELIVERY_ATTEMPTS, DELIVERY_SECONDS

TEMPLATES = Path(__file__).with_name("templates")


@cache
def _templates() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                       keep_trailing_newline=True)


def _view(alert: AlertEvent, name: str) -> dict[str, Any]:
    samples = alert.volume.samples if alert.volume else []
    return {"headline": headline(alert, name), "url": alert.url, "why": explanation(alert),
            "source": alert.source or "unknown source", "snippet": alert.snippet,
            "published": f"{alert.published_at:%d %b %Y %H:%M} UTC" if alert.published_at else None,
            "samples": [s.model_dump() for s in samples]}


def subject(outgoing: Outgoing) -> str:
    name = outgoing.subscription.name
    if outgoing.digest:
        return f"{len(outgoing.alerts)} alerts for {name}"
    return f"[{name}] {headline(outgoing.alerts[0], name)}"


def message(outgoing: Outgoing, sender: str) -> EmailMessage:
    context = {"digest": outgoing.digest, "name": outgoing.subscription.name,
               "subject": subject(outgoing), "unsubscribe_url": outgoing.unsubscribe_url,
               "alerts": [_view(a, outgoing.subscription.name) for a in outgoing.alerts]}
    email = EmailMessage()
    email["Subject"] = context["subject"]
    email["From"] = sender
    email["To"] = outgoing.target
    email["Date"] = formatdate(outgoing.at.timestamp(), usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    email["Message-ID"] = make_msgid(idstring=outgoing.message_id, domain=domain)
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to this
    email["X-Newsflow-Alert-Id"] = outgoing.message_id  # the same on every retry
    if outgoing.unsubscribe_url:
        email["List-Unsubscribe"] = f"<{outgoing.unsubscribe_url}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email.set_content(_templates().get_template("email.txt").render(context))
    email.add_alternative(_templates().get_template("email.html").render(context), subtype="html")
    return email


class EmailChannel(Channel):
    name = "email"
    unsubscribe_link = True

    async def check(self, target: str) -> str:
        if not self.settings.smtp_host:
            raise InvalidDestination("email is not configured on this deployment (NEWSFLOW_SMTP_HOST)")
        try:
            return validate_email(target, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise InvalidDestination(f"not an email address: {exc}") from exc

    def _tls(self) -> ssl.SSLContext:
        ca = self.settings.smtp_ca_file
        return ssl.create_default_context(cafile=str(ca) if ca else None)

    async def send(self, outgoing: Outgoing) -> Result:
        settings = self.settings
        if not settings.smtp_host:
            return Result(Outcome.RETRY, "email is not configured (NEWSFLOW_SMTP_HOST)")
        started = time.perf_counter()
        try:
            return await self._send(outgoing)
        finally:
            DELIVERY_SECONDS.labels(self.name).observe(time.perf_counter() - started)

    async def _send(self, outgoing: Outgoing) -> Result:
        settings = self.settings
        assert settings.smtp_host is not None
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        email = message(outgoing, settings.smtp_from)
        try:
            sock = await self.policy.open_socket(settings.smtp_host, settings.smtp_port)
        except RefusedAddress as exc:
            DELIVERY_ATTEMPTS.labels(self.name, "refused").inc()
            return Result(Outcome.RETRY, f"SMTP relay refused: {exc}")
        except (OSError, TimeoutError) as exc:
            DELIVERY_ATTEMPTS.labels(self.name, "error").inc()
            return Result(Outcome.RETRY, f"SMTP relay unreachable: {type(exc).__name__}: {exc}")
        client = aiosmtplib.SMTP(
            # A duplicate: the transport closes its own descriptor when it is done, and ours
            # is closed below at once (closing the one the transport holds, before it lets go,
            # would hand its number to the next socket while still registered).
            hostname=settings.smtp_host, sock=sock.dup(),
            use_tls=settings.smtp_security == "tls", start_tls=settings.smtp_security == "starttls",
            tls_context=self._tls(), username=settings.smtp_username, password=password,
            timeout=settings.smtp_timeout_seconds)
        try:
            async with client:
                _, answer = await client.send_message(email)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            DELIVERY_ATTEMPTS.labels(self.name, "failed").inc()
            first = exc.recipients[0]
            reason = f"the relay refused {outgoing.target}: {first.code} {first.message}"
            return Result(Outcome.GONE if first.code >= 500 else Outcome.RETRY, reason, first.code)
        except (aiosmtplib.SMTPAuthenticationError, aiosmtplib.SMTPHeloError) as exc:
            DELIVERY_ATTEMPTS.labels(self.name, "failed").inc()
            return Result(Outcome.RETRY, f"the relay refused us: {exc.code} {exc.message}", exc.code)
        except aiosmtplib.SMTPResponseException as exc:
            DELIVERY_ATTEMPTS.labels(self.name, "failed").inc()
            reason = f"the relay refused the message: {exc.code} {exc.message}"
            return Result(Outcome.FAILED if exc.code >= 500 else Outcome.RETRY, reason, exc.code)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            DELIVERY_ATTEMPTS.labels(self.name, "error").inc()
            return Result(Outcome.RETRY, f"{type(exc).__name__}: {exc}")
        finally:
            sock.close()
        DELIVERY_ATTEMPTS.labels(self.name, "delivered").inc()
        return Result(Outcome.DELIVERED, answer, 250)
