"""What every channel is: `check` a destination when a subscription is made, `send` one alert
or digest to it. The deliverer does the rest the same way for every channel (states, retries,
rate limits, digests, dead letters, disabling), so a channel is only its format and its
transport, and what its receiver's answers mean."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

import aiohttp

from shared.contracts.alerts import AlertEvent, Destination, Subscription
from shared.http.outbound import OutboundPolicy
from shared.settings import Settings


class InvalidDestination(ValueError):
    """A destination that cannot be one: the API's 400, with this as the reason."""


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"  # try again on the schedule (never sooner than `retry_after`)
    GONE = "gone"  # the receiver says it no longer exists: the destination is disabled
    FAILED = "failed"  # will never succeed as it is (refused for good): dead-lettered now


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    reason: str | None = None
    status: int | None = None  # the receiver's answer code (HTTP or SMTP), when there was one
    retry_after: float | None = None


@dataclass(frozen=True)
class Outgoing:
    """One message to one destination: an alert, or a digest of several."""

    message_id: str  # the alert or digest id: what a receiver deduplicates on
    subscription: Subscription
    destination: Destination
    target: str  # unsealed
    alerts: list[AlertEvent]
    digest: bool
    at: datetime
    unsubscribe_url: str | None = None  # email

    def about(self) -> dict[str, Any]:
        return {"subscription_id": self.subscription.subscription_id,
                "subscription_name": self.subscription.name, "query": self.subscription.query}


class Channel:
    """A channel's base: subclasses name themselves, say whether the target is a secret, and
    implement `check` and `send`. One instance per deliverer (and one for the API's checks)."""

    name: ClassVar[str]
    target_is_secret: ClassVar[bool] = False  # sealed on the topic, masked in answers
    signed: ClassVar[bool] = False  # has signing secrets of its own (webhook)
    unsubscribe_link: ClassVar[bool] = False  # carries a one-click unsubscribe link (email)

    def __init__(self, settings: Settings, policy: OutboundPolicy,
                 session: aiohttp.ClientSession | None = None) -> None:
        self.settings = settings
        self.policy = policy
        self.session = session

    async def check(self, target: str) -> str:
        """The target as it will be stored (normalised), or InvalidDestination with why."""
        raise NotImplementedError

    async def send(self, outgoing: Outgoing) -> Result:
        raise NotImplementedError

    def shown(self, target: str) -> str:
        """How the owner sees the target in answers (a secret URL with its secret part hidden)."""
        return target
