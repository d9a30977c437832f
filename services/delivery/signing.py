"""Standard Webhooks signatures (https://www.standardwebhooks.com), by the reference library:
`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one per secret still valid, space-separated,
so a receiver keeps verifying through a secret rotation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from standardwebhooks.webhooks import Webhook

from shared.contracts.alerts import WebhookSecret


def _as_is(secret: str) -> str:
    return secret


def signature_header(secrets: list[WebhookSecret], message_id: str, at: datetime, body: str,
                     unseal: Callable[[str], str] = _as_is) -> str:
    valid = [s for s in secrets if s.expires_at is None or s.expires_at > at]
    return " ".join(Webhook(unseal(s.secret)).sign(message_id, at, body) for s in valid)


def webhook_headers(secrets: list[WebhookSecret], message_id: str, at: datetime,
                    body: str, unseal: Callable[[str], str] = _as_is) -> dict[str, str]:
    return {
        "webhook-id": message_id,  # the receiver's idempotency key: the same on every retry
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature_header(secrets, message_id, at, body, unseal),
        "content-type": "application/json",
        "user-agent": "newsflow-webhooks/1",
    }
