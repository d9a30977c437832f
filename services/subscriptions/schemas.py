"""The subscriptions API's request and response shapes, and their checks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, HttpUrl

from shared.contracts.alerts import Digest, NotifyOn, Subscription, SubscriptionKind
from shared.contracts.document import FILTER_PARAMS
from shared.http.errors import ApiError
from shared.query import QuerySyntaxError, SubscriptionQuery

Filters = dict[str, list[Annotated[str, Field(min_length=1, max_length=200)]]]


class SubscriptionIn(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: SubscriptionKind = Field("news", description="news: articles matching the query; ops: "
                                   "the monitor's notices (a stage leaving OK, dead letters growing)")
    query: Annotated[str | None, Field(max_length=1000, examples=['Feltman OR Guterres'])] = None
    filters: Filters = Field(default_factory=dict, description="person, org, place, country, "
                             "topic, lang, source → values (all required)")
    notify_on: NotifyOn = "story"
    active: bool = True
    webhook_url: HttpUrl | None = None
    digest: Digest = "immediate"
    max_alerts_per_hour: Annotated[int | None, Field(ge=1, le=10_000)] = None


class SubscriptionPatch(BaseModel):
    name: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    query: Annotated[str | None, Field(max_length=1000)] = None
    filters: Filters | None = None
    notify_on: NotifyOn | None = None
    active: bool | None = None
    webhook_url: HttpUrl | None = None
    remove_webhook: bool = False
    reenable_webhook: bool = Field(False, description="clear a disabled endpoint's failures")
    digest: Digest | None = None
    max_alerts_per_hour: Annotated[int | None, Field(ge=1, le=10_000)] = None


class PreviewIn(BaseModel):
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


def subscription_out(subscription: Subscription, endpoint: Any, base_url: str,
                     feed_token: str) -> dict[str, Any]:
    out = subscription.model_dump(mode="json", exclude={"webhook_secrets", "feed_token",
                                                        "feed_token_sha256", "owner"})
    out["filters"] = short_filters(subscription.filters)
    sid = subscription.subscription_id
    out["links"] = {
        "alerts": f"{base_url}/subscriptions/{sid}/alerts",
        "stream": f"{base_url}/subscriptions/{sid}/stream",
        "feed": f"{base_url}/feeds/{feed_token}",
    }
    current = endpoint if endpoint is not None and \
        endpoint.webhook_generation == subscription.webhook_generation else None
    out["webhook_status"] = None if subscription.webhook_url is None else {
        "enabled": current is None or current.disabled_reason is None,
        "disabled_reason": current.disabled_reason if current else None,
        "consecutive_failures": current.consecutive_failures if current else 0,
    }
    return out


class DeliveryOut(BaseModel):
    state: str
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_status: int | None = None
    reason: str | None = None
    digest_id: str | None = None
