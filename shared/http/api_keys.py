"""API keys, one kind for every API: `nf_<key id>_<secret>`, shown once at creation; only the
secret's SHA-256 is kept (the secret is 192 random bits, so a fast hash is enough: there is
nothing to brute-force). Keys live in the compacted `news.apikeys` topic (`newsflow keys`), so
every service that checks them reads the same table.

Scopes: `ingest` (POST articles), `read` (search, when NEWSFLOW_REQUIRE_READ_KEY=1), `alerts`
(one's own subscriptions), `ops` (the monitor's API and page), `admin` (dead-letter replays,
everyone's subscriptions; implies every other scope).

A client that keeps presenting keys that are unknown or revoked is throttled: past
`failed_key_limit` in a window it hears 429 with Retry-After, whatever it presents, until the
window ends (a missing key does not count: a browser opening a page has none yet).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Header, Request

from shared.contracts.alerts import DEFAULT_SCOPES, ApiKey, KeyScope
from shared.contracts.messages import utcnow
from shared.contracts.topology import Topic
from shared.http.errors import ApiError, starting
from shared.runtime.kafka import ensure_topics
from shared.runtime.tables import Table
from shared.settings import Settings

PREFIX = "nf_"


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key(name: str, scopes: Sequence[KeyScope] = DEFAULT_SCOPES) -> tuple[ApiKey, str]:
    key_id = "k" + secrets.token_hex(6)
    secret = secrets.token_urlsafe(24)
    record = ApiKey(key_id=key_id, name=name, secret_sha256=_sha256(secret), scopes=list(scopes))
    return record, f"{PREFIX}{key_id}_{secret}"


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


def presented_key(authorization: str | None, x_api_key: str | None) -> str | None:
    """`X-API-Key: nf_...` or `Authorization: Bearer nf_...`."""
    if x_api_key:
        return x_api_key.strip()
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


def authorize(keys: Mapping[str, ApiKey] | None, presented: str | None, scope: KeyScope) -> ApiKey:
    """The key's record when it is known, not revoked and has `scope` (or admin); else 401
    (no key, an unknown or revoked one), 403 (a key without the scope) or 503 (keys not loaded
    yet). Every API answers alike."""
    if keys is None:
        raise starting("API keys are loading (or Kafka is unreachable)")
    if not presented:
        raise ApiError(401, "unauthenticated", "an API key is required "
                       "(Authorization: Bearer nf_... or X-API-Key)",
                       headers={"WWW-Authenticate": "Bearer"})
    key_id = key_id_of(presented)
    record = keys.get(key_id) if key_id else None
    if record is None or not verify(record, presented):
        raise ApiError(401, "bad_key", "this API key is unknown or revoked",
                       headers={"WWW-Authenticate": "Bearer"})
    if scope not in record.scopes and "admin" not in record.scopes:
        raise ApiError(403, "forbidden", f"this API key has no '{scope}' scope "
                       f"(it has {', '.join(record.scopes) or 'none'}); "
                       "create one with: newsflow keys create NAME --scope " + scope)
    return record


class FailedKeys:
    """Failed key attempts per client address, in fixed windows; at most `max_clients` kept
    (the least recently failing forgotten first), so a flood of addresses costs bounded memory."""

    def __init__(self, limit: int, window_seconds: float, max_clients: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.max_clients, self.clock = limit, window_seconds, max_clients, clock
        self.clients: OrderedDict[str, tuple[float, int]] = OrderedDict()  # → (window start, count)

    def retry_after(self, client: str) -> float | None:
        seen = self.clients.get(client)
        if seen is None:
            return None
        started, count = seen
        left = started + self.window - self.clock()
        if left <= 0:
            del self.clients[client]
            return None
        return left if count >= self.limit else None

    def failed(self, client: str) -> None:
        now = self.clock()
        started, count = self.clients.pop(client, (now, 0))
        if started + self.window <= now:
            started, count = now, 0
        self.clients[client] = (started, count + 1)
        while len(self.clients) > self.max_clients:
            self.clients.popitem(last=False)


def check_key(request: Request, keys: Mapping[str, ApiKey] | None, presented: str | None,
              scope: KeyScope) -> ApiKey:
    """`authorize`, behind the app's failed-key throttle (`app.state.failed_keys`)."""
    throttle: FailedKeys | None = getattr(request.app.state, "failed_keys", None)
    client = request.client.host if request.client else "unknown"
    wait = throttle.retry_after(client) if throttle else None
    if wait is not None:
        raise ApiError(429, "too_many_failed_keys", "too many unknown or revoked API keys from "
                       "this address; try again later", headers={"Retry-After": str(math.ceil(wait))})
    try:
        return authorize(keys, presented, scope)
    except ApiError as exc:
        if exc.code == "bad_key" and throttle is not None:
            throttle.failed(client)
        raise


class KeyRing:
    """The API-keys table, for a service that checks keys but keeps no other table."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.table = Table(settings, Topic.API_KEYS, ApiKey)

    async def start(self) -> None:
        await ensure_topics(self.settings)  # a reader of a missing topic would never see a key
        await self.table.start()

    async def stop(self) -> None:
        await self.table.stop()

    @property
    def keys(self) -> Mapping[str, ApiKey] | None:
        return self.table.rows if self.table.follower.caught_up.is_set() else None


def key_dependency(scope: KeyScope, required: Callable[[Settings], bool]) -> Any:
    """A FastAPI dependency: the caller's key (with `scope`) when `required(settings)`, else
    None. The app keeps its keys at `app.state.key_ring` (anything with a `keys` mapping)."""

    def current(request: Request, authorization: Annotated[str | None, Header()] = None,
                x_api_key: Annotated[str | None, Header()] = None) -> ApiKey | None:
        settings: Settings = request.app.state.settings
        if not required(settings):
            return None
        ring = getattr(request.app.state, "key_ring", None)
        return check_key(request, ring.keys if ring is not None else None,
                         presented_key(authorization, x_api_key), scope)

    return Depends(current)
