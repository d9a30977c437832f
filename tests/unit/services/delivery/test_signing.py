"""Signatures against the Standard Webhooks reference test vector, and through a rotation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.delivery.signing import signature_header, webhook_headers
from shared.contracts.alerts import WebhookSecret

# From the Standard Webhooks specification's reference implementations.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = '{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_reference_vector_is_reproduced() -> None:
    at = datetime.fromtimestamp(VECTOR_TIMESTAMP, UTC)
    assert signature_header([WebhookSecret(secret=VECTOR_SECRET)], VECTOR_ID, at, VECTOR_BODY) \
        == VECTOR_SIGNATURE


def test_during_a_rotation_both_secrets_sign_and_either_verifies() -> None:
    now = datetime.now(UTC)
    new = WebhookSecret(secret="whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY")
    old = WebhookSecret(secret=VECTOR_SECRET, expires_at=now + timedelta(hours=24))
    headers = webhook_headers([new, old], "al_1", now, '{"a": 1}')
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (new, old):
        Webhook(secret.secret).verify('{"a": 1}', headers)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "WllZWVlZWVlZWVlZWVlZWVlZWVlZWVlZ").verify('{"a": 1}', headers)


def test_an_expired_secret_no_longer_signs() -> None:
    now = datetime.now(UTC)
    old = WebhookSecret(secret=VECTOR_SECRET, expires_at=now - timedelta(seconds=1))
    new = WebhookSecret(secret="whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY")
    headers = webhook_headers([new, old], "al_1", now, "{}")
    assert len(headers["webhook-signature"].split(" ")) == 1
    with pytest.raises(WebhookVerificationError):
        Webhook(VECTOR_SECRET).verify("{}", headers)
