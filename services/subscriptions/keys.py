"""API keys: `nf_<key id>_<secret>`, shown once at creation; only the secret's SHA-256 is kept
(the secret is 192 random bits, so a fast hash is enough: there is nothing to brute-force)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from shared.contracts.alerts import ApiKey
from shared.contracts.messages import utcnow

PREFIX = "nf_"


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key(name: str) -> tuple[ApiKey, str]:
    key_id = "k" + secrets.token_hex(6)
    secret = secrets.token_urlsafe(24)
    return ApiKey(key_id=key_id, name=name, secret_sha256=_sha256(secret)), f"{PREFIX}{key_id}_{secret}"


def key_id_of(presented: str) -> str | None:
    if not presented.startswith(PREFIX) or presented.count("_") < 2:
        return None
    return presented[len(PREFIX):].split("_", 1)[0]


def verify(record: ApiKey | None, presented: str) -> bool:
    if record is None or record.revoked_at is not None:
        return False
    secret = presented[len(PREFIX):].split("_", 1)[1]
    return hmac.compare_digest(record.secret_sha256, _sha256(secret))


def revoked(record: ApiKey, at: datetime | None = None) -> ApiKey:
    return record.model_copy(update={"revoked_at": at or utcnow()})
