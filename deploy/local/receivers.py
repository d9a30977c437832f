"""Local receivers for the alert channels' tests and benchmarks.

A mail relay: a real SMTP server
(aiosmtpd, a development dependency, in its own thread) with STARTTLS on a certificate from the
local CA (deploy/local/secrets.py), AUTH required after it, and every accepted message kept in
memory; `refuse[address]` answers that recipient with a code (550: unknown mailbox, 451: try
later).

Slack and Teams: the URL patterns that make a local HTTP receiver's URLs acceptable as their
incoming webhooks (`LOCAL_CHAT_PATTERNS`, as environment for the services)."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from deploy.local.secrets import Material

USER, PASSWORD = "newsflow", "relay-password"
# aiosmtpd warns on every login that an attribute it reads itself is deprecated.
logging.getLogger("mail.log").setLevel(logging.ERROR)
LOCAL_CHAT_PATTERNS = {
    "NEWSFLOW_SLACK_WEBHOOK_PATTERNS": json.dumps(
        [r"http://127\.0\.0\.1:\d+/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+"]),
    "NEWSFLOW_TEAMS_WEBHOOK_PATTERNS": json.dumps(
        [r"http://127\.0\.0\.1:\d+/workflows/[0-9a-f]+/triggers/\w+/paths/invoke\?\S+"]),
}


@dataclass
class Mailbox:
    port: int
    ca_file: Path
    messages: list[EmailMessage] = field(default_factory=list)
    refuse: dict[str, int] = field(default_factory=dict)
    logins: list[str] = field(default_factory=list)
    tls_sessions: int = 0
    received_at: dict[int, float] = field(default_factory=dict)  # id(message) → perf_counter()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]

    def env(self) -> dict[str, str]:
        """What a deliverer needs to use this relay (NEWSFLOW_SMTP_*)."""
        return {"NEWSFLOW_SMTP_HOST": "127.0.0.1", "NEWSFLOW_SMTP_PORT": str(self.port),
                "NEWSFLOW_SMTP_USERNAME": USER, "NEWSFLOW_SMTP_PASSWORD": PASSWORD,
                "NEWSFLOW_SMTP_CA_FILE": str(self.ca_file),
                "NEWSFLOW_SMTP_FROM": "newsflow alerts <alerts@newsflow.example>"}


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        code = self.box.refuse.get(address)
        if code:
            return f"{code} {'no such mailbox' if code >= 500 else 'try again later'}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if session.ssl is not None:
            self.box.tls_sessions += 1
        parsed = message_from_bytes(envelope.content, policy=default)
        assert isinstance(parsed, EmailMessage)
        self.box.received_at[id(parsed)] = time.perf_counter()
        self.box.messages.append(parsed)
        return "250 Message accepted"


def _authenticator(box: Mailbox) -> Any:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login.decode() == USER \
            and data.password.decode() == PASSWORD
        if ok:
            box.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)  # not handled: the server answers 535
    return check


@contextlib.contextmanager
def smtp_server(material_root: Path) -> Iterator[Mailbox]:
    material = Material(material_root)
    material.ensure()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(material.cert("smtp"), material.key("smtp"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    box = Mailbox(port, material.ca)
    controller = Controller(_Handler(box), hostname="127.0.0.1", port=port, tls_context=context,
                            require_starttls=True, auth_required=True, auth_require_tls=True,
                            authenticator=_authenticator(box))
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
