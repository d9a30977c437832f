"""Secrets at rest on the topics (webhook signing secrets, feed tokens), sealed with Fernet
(`cryptography`: AES-128-CBC with an HMAC-SHA256, a maintained, reviewed construction) so that
reading `news.subscriptions` is not enough to sign as newsflow or to read a feed.

Keys rotate with `MultiFernet`: NEWSFLOW_SECRETS_KEY is a comma-separated list, the first key
seals and every key opens. Rotation: put a new key first, restart, run `newsflow keys reseal`
(every row sealed again with the new key), then drop the old key.

A sealed value is `fernet:<token>`; a value without the prefix is a row written before sealing
and is read as it is (and sealed the next time its row is written).
"""

from __future__ import annotations

import contextlib
import os
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from shared.settings import Settings

PREFIX = "fernet:"


class SealingError(Exception):
    """A sealed value no configured key opens: NEWSFLOW_SECRETS_KEY differs between services."""


def _local_key(settings: Settings) -> str:
    """The laptop's key: made once (the first process to need it wins the race), then read."""
    path = settings.cache_dir / "state" / "secrets.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as out:
                out.write(Fernet.generate_key().decode())
    return path.read_text().strip()


@lru_cache(maxsize=8)
def _box(keys: str) -> MultiFernet:
    return MultiFernet([Fernet(key.strip().encode()) for key in keys.split(",") if key.strip()])


class Sealer:
    def __init__(self, settings: Settings) -> None:
        configured = settings.secrets_key.get_secret_value() if settings.secrets_key else None
        try:
            self.box = _box(configured or _local_key(settings))
        except ValueError as exc:
            raise SealingError("NEWSFLOW_SECRETS_KEY must be Fernet keys (32 url-safe base64 "
                               "bytes each, comma-separated)") from exc

    def seal(self, secret: str) -> str:
        return PREFIX + self.box.encrypt(secret.encode()).decode()

    def open(self, value: str) -> str:
        if not value.startswith(PREFIX):
            return value  # written before sealing
        try:
            return self.box.decrypt(value.removeprefix(PREFIX).encode()).decode()
        except InvalidToken as exc:
            raise SealingError("a sealed secret opens with none of NEWSFLOW_SECRETS_KEY's keys "
                               "(is it the same for every service?)") from exc

    def reseal(self, value: str) -> str:
        """Sealed with the first key (a value from before sealing gets sealed)."""
        return self.seal(self.open(value))
