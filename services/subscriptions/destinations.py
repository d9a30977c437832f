"""A subscription's destinations as the API takes and shows them: each checked by its channel
when it is given (a malformed address, a Slack URL that is not an incoming-webhook URL, an
address the outbound policy refuses: a 400 with the channel's reason, never a delivery that
fails later), secrets made and sealed, and each shown with its delivery health."""

from __future__ import annotations

import base64
import secrets
from typing import Annotated, Any

from pydantic import BaseModel, Field

from services.delivery.channels import CHANNELS, Channel, InvalidDestination, make_channels
from services.subscriptions.store import AlertStore
from shared.contracts.alerts import (
    LEGACY_WEBHOOK,
    Destination,
    EndpointHealth,
    Subscription,
    WebhookSecret,
    endpoint_key,
    token_sha256,
)
from shared.http.errors import ApiError
from shared.settings import Settings


class DestinationIn(BaseModel):
    channel: Annotated[str, Field(description=f"one of: {', '.join(CHANNELS)}",
                                  examples=["email"])]
    target: Annotated[str, Field(min_length=1, max_length=2000, description=(
        "webhook: an http(s) URL; email: an address; slack: an incoming-webhook URL "
        "(https://hooks.slack.com/services/…); teams: a Workflows or incoming-webhook URL"),
        examples=["desk@example.org"])]


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def sealed_secret(store: AlertStore, secret: str) -> WebhookSecret:
    return WebhookSecret(secret=store.sealer.seal(secret))


class Destinations:
    """The API's view of the channels (checks only: no session, nothing is sent from here)."""

    def __init__(self, settings: Settings, store: AlertStore) -> None:
        self.settings = settings
        self.store = store
        self.channels: dict[str, Channel] = make_channels(settings)

    def channel(self, name: str) -> Channel:
        found = self.channels.get(name)
        if found is None:
            raise ApiError(400, "bad_destination", f"unknown channel {name!r} (channels: "
                           f"{', '.join(self.channels)})")
        return found

    def target_of(self, destination: Destination) -> str:
        """The destination's target in the clear."""
        channel = self.channels.get(destination.channel)
        secret = channel is not None and channel.target_is_secret
        return self.store.sealer.open(destination.target) if secret else destination.target

    async def checked(self, wanted: list[DestinationIn], current: list[Destination],
                      ) -> tuple[list[Destination], dict[str, str]]:
        """The destinations as they will be stored, and the webhook secrets made for new ones
        (shown once, by destination id). One that matches a current destination (channel and
        target) is that destination, with its id, secrets, health and unsubscribe link."""
        if len(wanted) > self.settings.max_destinations:
            raise ApiError(400, "bad_destination", f"{len(wanted)} destinations; a subscription "
                           f"has at most {self.settings.max_destinations}")
        kept = {(d.channel, self.target_of(d)): d for d in current}
        chosen: list[Destination] = []
        shown: dict[str, str] = {}
        seen: set[tuple[str, str]] = set()
        for position, item in enumerate(wanted):
            channel = self.channel(item.channel)
            try:
                target = await channel.check(item.target.strip())
            except InvalidDestination as exc:
                raise ApiError(400, "bad_destination", f"destination {position + 1} ({item.channel}): "
                               f"{exc}", {"position": position, "channel": item.channel}) from exc
            if (item.channel, target) in seen:
                continue  # the same destination twice: once
            seen.add((item.channel, target))
            existing = kept.get((item.channel, target))
            if existing is not None:
                chosen.append(existing)
                continue
            secret = new_webhook_secret() if channel.signed else None
            token = secrets.token_urlsafe(24) if channel.unsubscribe_link else None
            destination = Destination(
                destination_id="dst_" + secrets.token_hex(6), channel=item.channel,
                target=self.store.sealer.seal(target) if channel.target_is_secret else target,
                secrets=[sealed_secret(self.store, secret)] if secret else [],
                unsubscribe_token=self.store.sealer.seal(token) if token else None,
                unsubscribe_token_sha256=token_sha256(token) if token else None)
            if secret:
                shown[destination.destination_id] = secret
            chosen.append(destination)
        return chosen, shown

    def shown_target(self, destination: Destination) -> str:
        """The target as its owner sees it (a secret URL with its secret part hidden)."""
        channel = self.channels.get(destination.channel)
        target = self.target_of(destination)
        return channel.shown(target) if channel else target

    def health(self, subscription: Subscription, destination: Destination) -> EndpointHealth | None:
        found = self.store.endpoints.get(endpoint_key(subscription.subscription_id,
                                                      destination.destination_id))
        if found is None and destination.destination_id == LEGACY_WEBHOOK:
            found = self.store.endpoints.get(subscription.subscription_id)
        return found if found is not None and found.generation == destination.generation else None

    def shown(self, subscription: Subscription) -> list[dict[str, Any]]:
        out = []
        for destination in subscription.destinations:
            health = self.health(subscription, destination)
            out.append({
                "destination_id": destination.destination_id, "channel": destination.channel,
                "target": self.shown_target(destination),
                "created_at": destination.created_at.isoformat(),
                "status": {"enabled": health is None or health.disabled_reason is None,
                           "disabled_reason": health.disabled_reason if health else None,
                           "consecutive_failures": health.consecutive_failures if health else 0}})
        return out
