"""What the HTTP channels share: the POST through the outbound policy, and what an answer
means. 2xx is delivered; a channel names the codes that mean its receiver is gone for good
(disable the destination) and those that mean this message will never be taken (dead-letter
it now); anything else, a timeout or a refused address is tried again on the schedule,
honouring Retry-After."""

from __future__ import annotations

import json
import re
import time
from typing import Any, ClassVar

import aiohttp

from services.delivery.channels.base import Channel, InvalidDestination, Outcome, Result
from services.delivery.schedule import parse_retry_after
from shared.http.outbound import OutboundPolicy, RefusedAddress
from shared.runtime.metrics import DELIVERY_ATTEMPTS, DELIVERY_SECONDS
from shared.settings import Settings


class HttpChannel(Channel):
    gone: ClassVar[frozenset[int]] = frozenset({410})
    refused: ClassVar[frozenset[int]] = frozenset()  # this message will never be taken
    # The setting naming the URLs this channel's receivers have (an incoming-webhook URL of
    # one service, as regular expressions); None: any http(s) URL.
    patterns_setting: ClassVar[str | None] = None
    kind_of_url: ClassVar[str] = "URL"

    def __init__(self, settings: Settings, policy: OutboundPolicy,
                 session: aiohttp.ClientSession | None = None) -> None:
        super().__init__(settings, policy, session)
        named = getattr(settings, self.patterns_setting) if self.patterns_setting else []
        self.url_patterns: tuple[str, ...] = tuple(named)

    async def check(self, target: str) -> str:
        if self.url_patterns and not any(re.fullmatch(p, target) for p in self.url_patterns):
            raise InvalidDestination(f"not a {self.kind_of_url}")
        try:
            await self.policy.resolve(target)
        except RefusedAddress as exc:
            raise InvalidDestination(f"URL refused: {exc}") from exc
        return target

    async def post_json(self, url: str, payload: Any, headers: dict[str, str] | None = None,
                        body: str | None = None) -> Result:
        assert self.session is not None, "a sending channel has a session"
        data = (body if body is not None else json.dumps(payload)).encode()
        started = time.perf_counter()
        try:
            answer = await self.policy.post(self.session, url, data,
                                            {"content-type": "application/json",
                                             "user-agent": "newsflow-alerts/1", **(headers or {})})
        except RefusedAddress as exc:
            DELIVERY_ATTEMPTS.labels(self.name, "refused").inc()
            return Result(Outcome.RETRY, f"refused: {exc}")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            DELIVERY_ATTEMPTS.labels(self.name, "error").inc()
            return Result(Outcome.RETRY, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        finally:
            DELIVERY_SECONDS.labels(self.name).observe(time.perf_counter() - started)
        status = answer.status
        said = answer.body[:200].decode("utf-8", "replace").strip()
        reason = f"receiver answered {status}" + (f": {said}" if said and status >= 300 else "")
        if 200 <= status < 300 and self.taken(said):
            DELIVERY_ATTEMPTS.labels(self.name, "delivered").inc()
            return Result(Outcome.DELIVERED, status=status)
        if 200 <= status < 300:
            DELIVERY_ATTEMPTS.labels(self.name, "failed").inc()
            return Result(Outcome.RETRY, f"receiver answered {status} but did not take it: {said}", status)
        DELIVERY_ATTEMPTS.labels(self.name, "failed").inc()
        if status in self.gone:
            return Result(Outcome.GONE, reason, status)
        if status in self.refused:
            return Result(Outcome.FAILED, reason, status)
        return Result(Outcome.RETRY, reason, status,
                      parse_retry_after(answer.headers.get("Retry-After")))

    def taken(self, body: str) -> bool:
        """Whether a 2xx answer's body says the message was taken (a receiver that reports
        throttling with a 200 overrides this)."""
        return True

    def masked(self, target: str, keep: int) -> str:
        """The URL up to `keep` characters, the rest (its secret) hidden."""
        return target[:keep] + "…" if len(target) > keep else target

