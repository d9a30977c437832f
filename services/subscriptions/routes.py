"""/subscriptions: create, list, read, change, delete, rotate the webhook secret or the feed
token, history. Secrets are sealed before they go on the topic and shown once, in the answer
that made them."""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from services.subscriptions.auth import KeyDep, StoreDep, is_admin, owned
from services.subscriptions.history import HistoryDep
from services.subscriptions.schemas import (
    SubscriptionIn,
    SubscriptionPatch,
    check_query,
    facet_filters,
    subscription_out,
)
from services.subscriptions.store import AlertStore
from shared.contracts.alerts import ApiKey, Subscription, WebhookSecret, token_sha256
from shared.contracts.messages import utcnow
from shared.http.errors import ApiError
from shared.http.outbound import OutboundPolicy, RefusedAddress
from shared.http.settings_dep import SettingsDep
from shared.settings import Settings

router = APIRouter(tags=["alerts"])
SECRET_OVERLAP = timedelta(hours=24)  # an old secret still signs this long after a rotation


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def sealed_secret(store: AlertStore, secret: str) -> WebhookSecret:
    return WebhookSecret(secret=store.sealer.seal(secret))


def new_feed_token(store: AlertStore) -> dict[str, str]:
    """The row's fields for a new feed token, and the token itself under `token`."""
    token = secrets.token_urlsafe(24)
    return {"feed_token": store.sealer.seal(token), "feed_token_sha256": token_sha256(token),
            "token": token}


def base_url(request: Request, settings: Settings) -> str:
    return (settings.public_url or str(request.base_url)).rstrip("/")


async def check_webhook(url: str, settings: Settings) -> None:
    try:
        await OutboundPolicy(settings.outbound_allow).resolve(url)
    except RefusedAddress as exc:
        raise ApiError(400, "webhook_refused", f"webhook URL refused: {exc}") from exc


def _answer(store: AlertStore, subscription: Subscription, request: Request,
            settings: Settings, key: ApiKey | None = None) -> dict[str, Any]:
    answer = subscription_out(subscription, store.endpoint(subscription.subscription_id),
                              base_url(request, settings), store.sealer.open(subscription.feed_token))
    if key is not None and subscription.owner != key.key_id:
        answer["owner"] = subscription.owner  # an admin looking at someone else's
    return answer


@router.post("/subscriptions", status_code=201, summary="Create a subscription",
             responses={400: {"description": "a query alerts cannot match exactly, or a refused "
                              "webhook URL"}, 401: {"description": "no or bad API key"}})
async def create(body: SubscriptionIn, key: KeyDep, store: StoreDep, settings: SettingsDep,
                 request: Request) -> Any:
    filters = facet_filters(body.filters)
    if body.kind == "news":
        check_query(body.query, filters)
    elif body.query or filters:
        raise ApiError(400, "bad_query", "ops subscriptions take no query or filters")
    webhook = str(body.webhook_url) if body.webhook_url else None
    if webhook:
        await check_webhook(webhook, settings)
    mine = sum(1 for s in store.subscriptions.values() if s.owner == key.key_id)
    if mine >= settings.max_subscriptions_per_key:
        raise ApiError(429, "quota_exceeded", f"this key has {mine} subscriptions, the most one "
                       "key may have (NEWSFLOW_MAX_SUBSCRIPTIONS_PER_KEY); delete one first")
    secret = new_webhook_secret() if webhook else None
    feed = new_feed_token(store)
    subscription = Subscription(
        subscription_id="sub_" + secrets.token_hex(8), owner=key.key_id, name=body.name, kind=body.kind,
        query=body.query, filters=filters, notify_on=body.notify_on, active=body.active,
        webhook_url=webhook, webhook_secrets=[sealed_secret(store, secret)] if secret else [],
        digest=body.digest, max_alerts_per_hour=body.max_alerts_per_hour or settings.alert_max_per_hour,
        feed_token=feed["feed_token"], feed_token_sha256=feed["feed_token_sha256"])
    await store.save(subscription)
    answer = _answer(store, subscription, request, settings)
    if secret:
        answer["webhook_secret"] = secret  # shown this once
    return answer


@router.get("/subscriptions", summary="This key's subscriptions (an admin's: everyone's, with "
            "all=true, or one owner's)")
async def list_subscriptions(key: KeyDep, store: StoreDep, settings: SettingsDep, request: Request,
                             all: bool = False, owner: str | None = None) -> Any:
    if (all or owner) and not is_admin(key):
        raise ApiError(403, "forbidden", "only an admin key lists other keys' subscriptions")
    wanted = owner or (None if all else key.key_id)
    chosen = sorted((s for s in store.subscriptions.values() if wanted in (None, s.owner)),
                    key=lambda s: s.created_at)
    return {"subscriptions": [_answer(store, s, request, settings, key) for s in chosen]}


@router.get("/subscriptions/{subscription_id}", summary="One subscription")
async def read(subscription_id: str, key: KeyDep, store: StoreDep, settings: SettingsDep,
               request: Request) -> Any:
    return _answer(store, owned(store, key, subscription_id), request, settings, key)


@router.patch("/subscriptions/{subscription_id}", summary="Change a subscription")
async def change(subscription_id: str, body: SubscriptionPatch, key: KeyDep, store: StoreDep,
                 settings: SettingsDep, request: Request) -> Any:
    current = owned(store, key, subscription_id)
    given = body.model_dump(exclude_unset=True,
                            exclude={"filters", "webhook_url", "remove_webhook", "reenable_webhook"})
    # null clears the query (filters alone may remain); for the other fields it means "unchanged"
    update: dict[str, Any] = {k: v for k, v in given.items() if v is not None or k == "query"}
    if body.filters is not None:
        update["filters"] = facet_filters(body.filters)
    if current.kind == "news":
        check_query(update.get("query", current.query), update.get("filters", current.filters))
    answer_secret = None
    if body.remove_webhook:
        update |= {"webhook_url": None, "webhook_secrets": []}
    elif body.webhook_url is not None and str(body.webhook_url) != current.webhook_url:
        await check_webhook(str(body.webhook_url), settings)
        update["webhook_url"] = str(body.webhook_url)
        update["webhook_generation"] = current.webhook_generation + 1
        if not current.webhook_secrets:
            answer_secret = new_webhook_secret()
            update["webhook_secrets"] = [sealed_secret(store, answer_secret)]
    if body.reenable_webhook:
        update["webhook_generation"] = current.webhook_generation + 1
    subscription = current.model_copy(update={**update, "updated_at": utcnow()})
    await store.save(subscription)
    answer = _answer(store, subscription, request, settings, key)
    if answer_secret:
        answer["webhook_secret"] = answer_secret
    return answer


@router.delete("/subscriptions/{subscription_id}", status_code=204, summary="Delete a subscription")
async def delete(subscription_id: str, key: KeyDep, store: StoreDep) -> Response:
    owned(store, key, subscription_id)
    await store.delete(subscription_id)
    return Response(status_code=204)


@router.post("/subscriptions/{subscription_id}/secret:rotate",
             summary="New webhook secret; the old one keeps signing for 24 hours")
async def rotate_secret(subscription_id: str, key: KeyDep, store: StoreDep) -> Any:
    current = owned(store, key, subscription_id)
    if current.webhook_url is None:
        raise ApiError(409, "no_webhook", "this subscription has no webhook")
    now = utcnow()
    kept = [s.model_copy(update={"expires_at": s.expires_at or now + SECRET_OVERLAP})
            for s in current.webhook_secrets if s.expires_at is None or s.expires_at > now]
    secret = new_webhook_secret()
    await store.save(current.model_copy(update={"webhook_secrets": [sealed_secret(store, secret), *kept],
                                                "updated_at": now}))
    return {"webhook_secret": secret, "previous_valid_until": now + SECRET_OVERLAP}


@router.post("/subscriptions/{subscription_id}/feed:rotate",
             summary="New feed link; the old one answers 404 from now on")
async def rotate_feed(subscription_id: str, key: KeyDep, store: StoreDep, settings: SettingsDep,
                      request: Request) -> Any:
    current = owned(store, key, subscription_id)
    feed = new_feed_token(store)
    await store.save(current.model_copy(update={
        "feed_token": feed["feed_token"], "feed_token_sha256": feed["feed_token_sha256"],
        "updated_at": utcnow()}))
    return {"feed": f"{base_url(request, settings)}/feeds/{feed['token']}"}


@router.get("/subscriptions/{subscription_id}/alerts",
            summary="Recent alerts, newest first, with each one's delivery state",
            responses={503: {"description": "the alert history (Elasticsearch) is unavailable"}})
async def history(subscription_id: str, key: KeyDep, store: StoreDep, alert_history: HistoryDep,
                  size: Annotated[int, Query(ge=1, le=200)] = 20,
                  cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
                  ) -> Any:
    owned(store, key, subscription_id)
    alerts, next_cursor = await alert_history.page(subscription_id, size, cursor)
    return {"alerts": alerts, "next_cursor": next_cursor}
