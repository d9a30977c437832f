"""The alert contracts: API keys, subscriptions, alert events and delivery states.

Keys, subscriptions and delivery states are *tables* on compacted topics (the last record per
message key is the truth, a null value deletes): every API instance, matcher and deliverer
materialises them from the topic, so they survive restarts and reach every instance.
Alert events are keyed by the owner's key id, so all of one owner's alerts keep their order
in one partition: a live stream can resume from an offset, a rate limit sees every alert.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from shared.contracts.messages import Message, utcnow

NotifyOn = Literal["story", "article"]
# "news": matches articles; "ops": the monitor's notices (a stage leaving OK or coming back,
# dead letters growing), delivered the same way.
SubscriptionKind = Literal["news", "ops"]
Digest = Literal["immediate", "hourly", "daily"]
DIGEST_SECONDS = {"hourly": 3600, "daily": 86400}


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def short_hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


# What a key may do (shared/http/api_keys.py); admin implies all.
KeyScope = Literal["ingest", "read", "alerts", "ops", "admin"]
DEFAULT_SCOPES: tuple[KeyScope, ...] = ("read", "alerts")  # a subscriber's; keys made before scopes


class ApiKey(Message):
    """An API key's record; the key itself (`nf_<key_id>_<secret>`) is shown once, never stored."""

    key_id: str
    name: str  # who it is for; recorded as the client of what it submits
    secret_sha256: str
    scopes: list[KeyScope] = Field(default_factory=lambda: list(DEFAULT_SCOPES))
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None


class WebhookSecret(BaseModel):
    secret: str  # whsec_<base64>, sealed on the topic (shared/runtime/sealing.py)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None  # set on the old secret when it is rotated


class Subscription(Message):
    subscription_id: str
    owner: str  # the key id that created it: only that key sees and changes it
    name: str
    kind: SubscriptionKind = "news"
    query: str | None = None
    filters: dict[str, list[str]] = Field(default_factory=dict)  # facet name → values (AND)
    notify_on: NotifyOn = "story"
    active: bool = True
    webhook_url: str | None = None
    webhook_secrets: list[WebhookSecret] = Field(default_factory=list)
    # Bumped when the owner changes the URL or re-enables it: failures of an older generation
    # no longer count against the endpoint.
    webhook_generation: int = 0
    digest: Digest = "immediate"
    max_alerts_per_hour: int = 60
    feed_token: str  # the Atom feed's secret, sealed on the topic
    # Its SHA-256, which the feed route looks the token up by (None on rows from before).
    feed_token_sha256: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class MatchedTerms(BaseModel):
    """Why an alert fired: a field of the article and the words of the query found there."""

    field: str  # text, title, people, organizations, places, country, topic, source, lang, or a filter
    terms: list[str]


class AlertEvent(Message):
    """matcher → news.alerts: one article matched one subscription."""

    alert_id: str  # subscription + story (notify_on story) or + article: replays repeat it
    subscription_id: str
    owner: str
    article_id: str
    story_id: str | None = None
    title: str
    url: str | None = None
    source: str | None = None
    language: str | None = None
    published_at: datetime | None = None
    summary: str | None = None
    matched: list[MatchedTerms] = Field(default_factory=list)
    snippet: str | None = None  # a short passage around the first word that matched
    submitted_at: datetime  # when the article entered the pipeline, for latency
    matched_at: datetime = Field(default_factory=utcnow)

    @staticmethod
    def make_id(subscription: Subscription, article_id: str, story_id: str | None) -> str:
        if subscription.notify_on == "story" and story_id:
            return "al_" + short_hash(subscription.subscription_id, "story", story_id)
        return "al_" + short_hash(subscription.subscription_id, "article", article_id)


class DeliveryState(StrEnum):
    PENDING = "pending"  # due now
    RETRYING = "retrying"  # failed, next attempt at `next_attempt_at`
    DELIVERED = "delivered"
    FAILED = "failed"  # retries exhausted, endpoint gone (410) or disabled: dead-lettered
    QUEUED = "queued"  # waits for the subscription's digest (or the rate limit's overflow)
    DIGESTED = "digested"  # went out inside digest `digest_id`


class Delivery(Message):
    """news.deliveries, keyed by alert id (or digest id): where one alert's delivery stands."""

    delivery_id: str  # the alert id, or a digest id; the webhook-id the receiver sees
    subscription_id: str
    owner: str
    state: DeliveryState
    alert: AlertEvent | None = None  # None for a digest
    digest_of: list[str] = Field(default_factory=list)  # a digest's alert ids
    # ... and the alerts themselves: the members' own rows expire once final.
    digest_alerts: list[AlertEvent] = Field(default_factory=list)
    digest_id: str | None = None  # the digest an alert went out in
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_status: int | None = None
    reason: str | None = None
    webhook_generation: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class EndpointHealth(Message):
    """news.endpoints, keyed by subscription id: consecutive failed alerts, and why the
    endpoint was disabled (the owner sees it on the subscription)."""

    subscription_id: str
    webhook_generation: int
    consecutive_failures: int = 0
    disabled_reason: str | None = None
    updated_at: datetime = Field(default_factory=utcnow)
