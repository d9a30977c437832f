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
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field, model_validator

from shared.contracts.messages import Message, utcnow

# story: one alert per story; article: one per article; breaking: one when a story reaches
# `breaking_sources` independent sources within `breaking_minutes` (services/alerts/breaking.py).
NotifyOn = Literal["story", "article", "breaking"]
# "news": matches articles; "volume": alerts when the number of matching articles spikes
# (services/alerts/volume.py); "ops": the monitor's notices (a stage leaving OK or coming back,
# dead letters growing), delivered the same way.
SubscriptionKind = Literal["news", "volume", "ops"]
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


# A destination made from a row written before destinations (its webhook_url): its id.
LEGACY_WEBHOOK = "dst_webhook"


class Destination(BaseModel):
    """Where a subscription's alerts go: one channel (services/delivery/channels/) and its
    target there. A target that is itself a credential (a Slack or Teams webhook URL) is
    sealed on the topic, as the signing secrets are."""

    destination_id: str
    channel: str  # a channel's name: webhook, email, slack, teams
    target: str  # the URL or address, sealed when the channel says it is a secret
    secrets: list[WebhookSecret] = Field(default_factory=list)  # signing secrets (webhook)
    # Bumped when the owner re-enables it: failures of an older generation no longer count.
    generation: int = 0
    # A one-click unsubscribe link's token (email), sealed, and its SHA-256 to look it up by.
    unsubscribe_token: str | None = None
    unsubscribe_token_sha256: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Subscription(Message):
    subscription_id: str
    owner: str  # the key id that created it: only that key sees and changes it
    name: str
    kind: SubscriptionKind = "news"
    query: str | None = None
    filters: dict[str, list[str]] = Field(default_factory=dict)  # facet name → values (AND)
    notify_on: NotifyOn = "story"
    breaking_sources: int = 3
    breaking_minutes: int = 60
    active: bool = True
    destinations: list[Destination] = Field(default_factory=list)
    digest: Digest = "immediate"
    max_alerts_per_hour: int = 60  # per destination; the rest roll into an hourly digest
    feed_token: str  # the Atom feed's secret, sealed on the topic
    # Its SHA-256, which the feed route looks the token up by (None on rows from before).
    feed_token_sha256: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @model_validator(mode="before")
    @classmethod
    def _webhook_as_destination(cls, data: Any) -> Any:
        """A row from before destinations: its webhook becomes the one destination."""
        if isinstance(data, dict) and data.get("webhook_url") and "destinations" not in data:
            data = {**data, "destinations": [{
                "destination_id": LEGACY_WEBHOOK, "channel": "webhook", "target": data["webhook_url"],
                "secrets": data.get("webhook_secrets") or [],
                "generation": data.get("webhook_generation") or 0}]}
        return data

    def destination(self, destination_id: str) -> Destination | None:
        return next((d for d in self.destinations if d.destination_id == destination_id), None)


class MatchedTerms(BaseModel):
    """Why an alert fired: a field of the article and the words of the query found there."""

    field: str  # text, title, people, organizations, places, country, topic, source, lang, or a filter
    terms: list[str]


AlertKind = Literal["match", "volume", "breaking"]


class SampleArticle(BaseModel):
    article_id: str
    title: str
    url: str | None = None
    source: str | None = None


class SpikeFacts(BaseModel):
    """Why a volume alert fired (services/alerts/volume.py: the rule)."""

    window: Literal["hour", "day"]
    count: int  # matching articles in the last window
    baseline: float  # matching articles per window, on average, over the windows before it
    baseline_windows: int  # how many windows the baseline averages (12 hours, 14 days)
    threshold: float  # what `count` had to reach: the larger of the minimum and factor * baseline
    top_entities: list[str] = Field(default_factory=list)
    top_sources: list[str] = Field(default_factory=list)
    samples: list[SampleArticle] = Field(default_factory=list)


class BreakingFacts(BaseModel):
    """Why a breaking alert fired (services/alerts/breaking.py): the story's independent
    sources, in the order they came, within the subscription's window."""

    sources: list[str]
    needed: int
    within_minutes: int
    first_at: datetime  # the first of those sources' articles (submitted)


class AlertEvent(Message):
    """matcher → news.alerts: one article matched one subscription (kind `match`), a query's
    volume spiked (`volume`, the article that crossed the threshold), or a story broke
    (`breaking`: the article that made it, then its later articles as updates)."""

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
    kind: AlertKind = "match"
    matched: list[MatchedTerms] = Field(default_factory=list)
    volume: SpikeFacts | None = None
    breaking: BreakingFacts | None = None
    snippet: str | None = None  # a short passage around the first word that matched
    submitted_at: datetime  # when the article entered the pipeline, for latency
    matched_at: datetime = Field(default_factory=utcnow)

    @staticmethod
    def make_id(subscription: Subscription, article_id: str, story_id: str | None) -> str:
        if subscription.notify_on in ("story", "breaking") and story_id:
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
    """news.deliveries, keyed by delivery id: where one alert's (or digest's) delivery to one
    destination stands."""

    delivery_id: str  # message id + "." + destination id (`delivery_key`)
    message_id: str = ""  # the alert id, or a digest id: the webhook-id the receiver sees
    destination_id: str = LEGACY_WEBHOOK
    channel: str = "webhook"
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
    generation: int = Field(0, validation_alias=AliasChoices("generation", "webhook_generation"))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @model_validator(mode="after")
    def _message_id_of_old_rows(self) -> Delivery:
        if not self.message_id:  # a row from before destinations: keyed by the alert id
            self.message_id = self.delivery_id
        return self


def delivery_key(message_id: str, destination_id: str) -> str:
    return f"{message_id}.{destination_id}"


def endpoint_key(subscription_id: str, destination_id: str) -> str:
    return f"{subscription_id}/{destination_id}"


class EndpointHealth(Message):
    """news.endpoints, keyed by `endpoint_key`: one destination's consecutive failed alerts,
    and why it was disabled (the owner sees it on the subscription)."""

    subscription_id: str
    destination_id: str = LEGACY_WEBHOOK
    generation: int = Field(validation_alias=AliasChoices("generation", "webhook_generation"))
    consecutive_failures: int = 0
    disabled_reason: str | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class StoryVoices(BaseModel):
    """A story's independent sources seen in one partition: voice → when it first came."""

    voices: dict[str, datetime] = Field(default_factory=dict)
    last_at: datetime  # the story's latest matching article here (old stories are let go)


class Spike(BaseModel):
    started: int  # the bucket it was told in (epoch seconds): its alert's id
    seen: datetime  # the last article at which the rule still held


class SignalSample(BaseModel):
    article_id: str
    title: str
    url: str | None = None
    source: str | None = None
    entities: list[str] = Field(default_factory=list)  # people, organisations, places (canonical)
    submitted_at: datetime


class SignalState(Message):
    """news.alert-signals, keyed `<subscription id>/<partition>`: what one matcher counted for a
    volume or breaking subscription from one partition of news.enriched, up to `offset` (a
    replayed record at or below it is not counted again)."""

    subscription_id: str
    partition: int
    offset: int
    # window name → bucket start (epoch seconds) → matching articles (volume)
    counts: dict[str, dict[int, int]] = Field(default_factory=dict)
    samples: list[SignalSample] = Field(default_factory=list)  # the latest, for spike alerts
    # window name → the spike going on, as this partition last saw it
    spiking: dict[str, Spike] = Field(default_factory=dict)
    stories: dict[str, StoryVoices] = Field(default_factory=dict)  # story id → voices (breaking)
    fired: list[str] = Field(default_factory=list)  # stories that broke (recent ones)
    updated_at: datetime = Field(default_factory=utcnow)


def shard_of(subscription_id: str, shards: int) -> int:
    """Which matcher shard holds a subscription: stable across processes and restarts."""
    if shards <= 1:
        return 0
    return int.from_bytes(hashlib.blake2b(subscription_id.encode(), digest_size=8).digest(), "big") % shards


def signal_key(subscription_id: str, partition: int) -> str:
    return f"{subscription_id}/{partition}"
