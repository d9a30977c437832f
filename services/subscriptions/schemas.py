"""The subscriptions API's request and response shapes, and their checks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from services.search_api.answers import Hit
from services.subscriptions.destinations import DestinationIn
from shared.contracts.alerts import LEGACY_WEBHOOK, Digest, NotifyOn, Subscription, SubscriptionKind
from shared.contracts.document import FILTER_PARAMS
from shared.http.errors import ApiError
from shared.query import QuerySyntaxError, SubscriptionQuery

Filters = dict[str, list[Annotated[str, Field(min_length=1, max_length=200)]]]


class SubscriptionIn(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: SubscriptionKind = Field("news", description="news: articles matching the query; volume: "
                                   "when the number of matching articles spikes; ops: the monitor's "
                                   "notices (a stage leaving OK, dead letters growing)")
    query: Annotated[str | None, Field(max_length=1000, examples=['Feltman OR Guterres'])] = None
    filters: Filters = Field(default_factory=dict, description="person, org, place, country, "
                             "topic, lang, source → values (all required)")
    notify_on: NotifyOn = Field("story", description="story: once per story; article: every "
                                "article; breaking: once a story has breaking_sources independent "
                                "sources within breaking_minutes, then its growth as updates")
    breaking_sources: Annotated[int, Field(ge=2, le=20)] = 3
    breaking_minutes: Annotated[int, Field(ge=5, le=1440)] = 60
    active: bool = True
    destinations: list[DestinationIn] = Field(default_factory=list, description=(
        "where alerts go (none: the history, the live stream and the feed only)"))
    webhook_url: HttpUrl | None = Field(None, description="shorthand for one webhook destination")
    digest: Digest = "immediate"
    max_alerts_per_hour: Annotated[int | None, Field(ge=1, le=10_000)] = None


class SubscriptionPatch(BaseModel):
    name: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    query: Annotated[str | None, Field(max_length=1000)] = None
    filters: Filters | None = None
    notify_on: NotifyOn | None = None
    breaking_sources: Annotated[int | None, Field(ge=2, le=20)] = None
    breaking_minutes: Annotated[int | None, Field(ge=5, le=1440)] = None
    active: bool | None = None
    destinations: list[DestinationIn] | None = Field(None, description=(
        "the new list; a destination already there (same channel and target) keeps its id, "
        "secret, health and unsubscribe link"))
    webhook_url: HttpUrl | None = Field(None, description="shorthand: this URL becomes the "
                                        "subscription's one webhook destination")
    reenable: list[str] = Field(default_factory=list, description="destination ids whose "
                                "failures are forgotten (a disabled destination is enabled again)")
    digest: Digest | None = None
    max_alerts_per_hour: Annotated[int | None, Field(ge=1, le=10_000)] = None


class PreviewIn(BaseModel):
    kind: Literal["news", "volume"] = Field("news", description="volume: the spikes the rule would "
                                            "have told over the last week, and the hourly counts")
    query: Annotated[str | None, Field(max_length=1000)] = None
    filters: Filters = Field(default_factory=dict)


def facet_filters(filters: Filters) -> dict[str, list[str]]:
    """The API's short filter names → the index's facet names; unknown names are a 400."""
    unknown = sorted(set(filters) - set(FILTER_PARAMS))
    if unknown:
        raise ApiError(400, "bad_filter", f"unknown filter {unknown[0]!r} "
                       f"(filters: {', '.join(FILTER_PARAMS)})")
    return {FILTER_PARAMS[name]: values for name, values in filters.items() if values}


def short_filters(filters: dict[str, list[str]]) -> dict[str, list[str]]:
    back = {facet: short for short, facet in FILTER_PARAMS.items()}
    return {back.get(name, name): values for name, values in filters.items()}


def check_query(query: str | None, filters: dict[str, list[str]]) -> SubscriptionQuery:
    """Refused at subscription time when the matcher could not answer exactly as search does."""
    try:
        return SubscriptionQuery.compile(query, filters)
    except QuerySyntaxError as exc:
        raise ApiError(400, "bad_query", exc.reason, {"position": exc.position}) from exc


def subscription_out(subscription: Subscription, destinations: list[dict[str, Any]], base_url: str,
                     feed_token: str) -> dict[str, Any]:
    out = subscription.model_dump(mode="json", exclude={"destinations", "feed_token",
                                                        "feed_token_sha256", "owner"})
    out["filters"] = short_filters(subscription.filters)
    out["destinations"] = destinations
    sid = subscription.subscription_id
    out["links"] = {
        "alerts": f"{base_url}/subscriptions/{sid}/alerts",
        "stream": f"{base_url}/subscriptions/{sid}/stream",
        "feed": f"{base_url}/feeds/{feed_token}",
    }
    return out


class DeliveryOut(BaseModel):
    destination_id: str = LEGACY_WEBHOOK  # a state recorded before destinations: the webhook's
    channel: str = "webhook"
    state: str
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_status: int | None = None
    reason: str | None = None
    digest_id: str | None = None


# What the subscriptions API answers (OpenAPI shows these).

class DestinationStatus(BaseModel):
    enabled: bool
    disabled_reason: str | None = None
    consecutive_failures: int = 0


class DestinationOut(BaseModel):
    destination_id: str
    channel: str
    target: str = Field(description="as its owner sees it: a secret URL's secret part hidden")
    created_at: datetime
    status: DestinationStatus
    secret: str | None = Field(None, description="a new webhook destination's signing secret, "
                               "in the answer that made it only")


class SubscriptionLinks(BaseModel):
    alerts: str
    stream: str
    feed: str = Field(description="the Atom feed; its token is the credential, no key needed")


class SubscriptionOut(BaseModel):
    subscription_id: str
    name: str
    kind: SubscriptionKind
    query: str | None
    filters: dict[str, list[str]]
    notify_on: NotifyOn
    breaking_sources: int
    breaking_minutes: int
    active: bool
    digest: Digest
    max_alerts_per_hour: int
    created_at: datetime
    updated_at: datetime
    destinations: list[DestinationOut]
    links: SubscriptionLinks
    owner: str | None = Field(None, description="the owner's key id, when an admin reads "
                              "another key's subscription")
    webhook_secret: str | None = Field(None, description="the first new webhook's secret, shown once")


class SubscriptionList(BaseModel):
    subscriptions: list[SubscriptionOut]


class SecretRotated(BaseModel):
    destination_id: str
    webhook_secret: str
    previous_valid_until: datetime


class FeedRotated(BaseModel):
    feed: str


class AlertUpdate(BaseModel):
    article_id: str | None = None
    title: str | None = None
    url: str | None = None
    matched_at: datetime | None = None


class AlertEntry(BaseModel):
    """An alert in the history: the alert event's fields (shared/contracts/alerts.py's
    AlertEvent: article, story, what matched, the snippet …), its later updates and its state
    at each destination."""

    model_config = ConfigDict(extra="allow")

    alert_id: str
    subscription_id: str
    kind: str = Field(description="match, volume, breaking or ops")
    updates: list[AlertUpdate]
    deliveries: list[DeliveryOut] = Field(description="one per destination")


class AlertPage(BaseModel):
    alerts: list[AlertEntry]
    next_cursor: str | None


class DayCount(BaseModel):
    date: str
    count: int


class NewsPreview(BaseModel):
    days: int
    articles: int
    stories: int
    per_day: list[DayCount]
    examples: list[Hit]


class Spike(BaseModel):
    window: str
    at: datetime
    count: int
    baseline: float
    threshold: float


class HourReading(BaseModel):
    hour: datetime
    count: int
    baseline: float
    threshold: float


class RuleWindow(BaseModel):
    window: str
    baseline_windows: int
    factor: float
    min_count: int


class VolumePreview(BaseModel):
    days: int
    articles: int
    spikes: list[Spike]
    spikes_per_window: dict[str, int]
    rule: list[RuleWindow]
    hourly: list[HourReading]
