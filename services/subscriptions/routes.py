"""/subscriptions: create, list, read, change, delete, rotate a webhook's secret or the feed
token, history; /unsubscribe: an email's one-click link. Secrets are sealed before they go on
the topic and shown once, in the answer that made them."""

from __future__ import annotations

import html
import secrets
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse

from services.subscriptions.auth import KeyDep, StoreDep, is_admin, owned
from services.subscriptions.destinations import (
    DestinationIn,
    Destinations,
    new_webhook_secret,
    sealed_secret,
)
from services.subscriptions.history import HistoryDep
from services.subscriptions.schemas import (
    AlertPage,
    FeedRotated,
    SecretRotated,
    SubscriptionIn,
    SubscriptionList,
    SubscriptionOut,
    SubscriptionPatch,
    check_query,
    facet_filters,
    subscription_out,
)
from services.subscriptions.store import AlertStore
from shared.contracts.alerts import ApiKey, Subscription, token_sha256
from shared.contracts.messages import utcnow
from shared.http.errors import ApiError
from shared.http.settings_dep import SettingsDep
from shared.settings import Settings

router = APIRouter(tags=["alerts"])
SECRET_OVERLAP = timedelta(hours=24)  # an old secret still signs this long after a rotation


def new_feed_token(store: AlertStore) -> dict[str, str]:
    """The row's fields for a new feed token, and the token itself under `token`."""
    token = secrets.token_urlsafe(24)
    return {"feed_token": store.sealer.seal(token), "feed_token_sha256": token_sha256(token),
            "token": token}


def base_url(request: Request, settings: Settings) -> str:
    return (settings.public_url or str(request.base_url)).rstrip("/")


def get_destinations(request: Request, _store: StoreDep) -> Destinations:
    found: Destinations = request.app.state.destinations  # made beside the store
    return found


DestinationsDep = Annotated[Destinations, Depends(get_destinations)]


def _wanted(destinations: list[DestinationIn], webhook_url: Any) -> list[DestinationIn]:
    """`webhook_url` is shorthand for one webhook destination."""
    if webhook_url is None:
        return destinations
    return [*(d for d in destinations if d.channel != "webhook"),
            DestinationIn(channel="webhook", target=str(webhook_url))]


def _answer(store: AlertStore, views: Destinations, subscription: Subscription, request: Request,
            settings: Settings, key: ApiKey | None = None,
            new_secrets: dict[str, str] | None = None) -> dict[str, Any]:
    answer = subscription_out(subscription, views.shown(subscription), base_url(request, settings),
                              store.sealer.open(subscription.feed_token))
    if key is not None and subscription.owner != key.key_id:
        answer["owner"] = subscription.owner  # an admin looking at someone else's
    for shown in answer["destinations"]:
        secret = (new_secrets or {}).get(shown["destination_id"])
        if secret:
            shown["secret"] = secret  # shown this once
            answer.setdefault("webhook_secret", secret)  # the first new webhook's, as before
    return answer


@router.post("/subscriptions", status_code=201, summary="Create a subscription",
             response_model=SubscriptionOut,
             responses={400: {"description": "a query alerts cannot match exactly, or a "
                              "destination that cannot be one (and why)"},
                        401: {"description": "no or bad API key"}})
async def create(body: SubscriptionIn, key: KeyDep, store: StoreDep, settings: SettingsDep,
                 views: DestinationsDep, request: Request) -> Any:
    filters = facet_filters(body.filters)
    if body.kind != "ops":
        check_query(body.query, filters)
    elif body.query or filters:
        raise ApiError(400, "bad_query", "ops subscriptions take no query or filters")
    destinations, new_secrets = await views.checked(_wanted(body.destinations, body.webhook_url), [])
    mine = sum(1 for s in store.subscriptions.values() if s.owner == key.key_id)
    if mine >= settings.max_subscriptions_per_key:
        raise ApiError(429, "quota_exceeded", f"this key has {mine} subscriptions, the most one "
                       "key may have (NEWSFLOW_MAX_SUBSCRIPTIONS_PER_KEY); delete one first")
    feed = new_feed_token(store)
    subscription = Subscription(
        subscription_id="sub_" + secrets.token_hex(8), owner=key.key_id, name=body.name, kind=body.kind,
        query=body.query, filters=filters, notify_on=body.notify_on, active=body.active,
        breaking_sources=body.breaking_sources, breaking_minutes=body.breaking_minutes,
        destinations=destinations, digest=body.digest,
        max_alerts_per_hour=body.max_alerts_per_hour or settings.alert_max_per_hour,
        feed_token=feed["feed_token"], feed_token_sha256=feed["feed_token_sha256"])
    await store.save(subscription)
    return _answer(store, views, subscription, request, settings, new_secrets=new_secrets)


@router.get("/subscriptions", summary="This key's subscriptions (an admin's: everyone's, with "
            "all=true, or one owner's)", response_model=SubscriptionList)
async def list_subscriptions(key: KeyDep, store: StoreDep, settings: SettingsDep, views: DestinationsDep,
                             request: Request, all: bool = False, owner: str | None = None) -> Any:
    if (all or owner) and not is_admin(key):
        raise ApiError(403, "forbidden", "only an admin key lists other keys' subscriptions")
    wanted = owner or (None if all else key.key_id)
    chosen = sorted((s for s in store.subscriptions.values() if wanted in (None, s.owner)),
                    key=lambda s: s.created_at)
    return {"subscriptions": [_answer(store, views, s, request, settings, key) for s in chosen]}


@router.get("/subscriptions/{subscription_id}", summary="One subscription",
            response_model=SubscriptionOut)
async def read(subscription_id: str, key: KeyDep, store: StoreDep, settings: SettingsDep,
               views: DestinationsDep, request: Request) -> Any:
    return _answer(store, views, owned(store, key, subscription_id), request, settings, key)


@router.patch("/subscriptions/{subscription_id}", summary="Change a subscription",
              response_model=SubscriptionOut)
async def change(subscription_id: str, body: SubscriptionPatch, key: KeyDep, store: StoreDep,
                 settings: SettingsDep, views: DestinationsDep, request: Request) -> Any:
    current = owned(store, key, subscription_id)
    given = body.model_dump(exclude_unset=True,
                            exclude={"filters", "destinations", "webhook_url", "reenable"})
    # null clears the query (filters alone may remain); for the other fields it means "unchanged"
    update: dict[str, Any] = {k: v for k, v in given.items() if v is not None or k == "query"}
    if body.filters is not None:
        update["filters"] = facet_filters(body.filters)
    if current.kind != "ops":
        check_query(update.get("query", current.query), update.get("filters", current.filters))
    new_secrets: dict[str, str] = {}
    destinations = current.destinations
    if body.destinations is not None or body.webhook_url is not None:
        wanted = body.destinations if body.destinations is not None else [
            DestinationIn(channel=d.channel, target=views.target_of(d)) for d in current.destinations]
        destinations, new_secrets = await views.checked(_wanted(wanted, body.webhook_url),
                                                        current.destinations)
    unknown = sorted(set(body.reenable) - {d.destination_id for d in destinations})
    if unknown:
        raise ApiError(400, "bad_destination", f"no destination {unknown[0]} to re-enable")
    destinations = [d.model_copy(update={"generation": d.generation + 1})
                    if d.destination_id in body.reenable else d for d in destinations]
    subscription = current.model_copy(update={**update, "destinations": destinations,
                                              "updated_at": utcnow()})
    await store.save(subscription)
    return _answer(store, views, subscription, request, settings, key, new_secrets)


@router.delete("/subscriptions/{subscription_id}", status_code=204, summary="Delete a subscription")
async def delete(subscription_id: str, key: KeyDep, store: StoreDep) -> Response:
    owned(store, key, subscription_id)
    await store.delete(subscription_id)
    return Response(status_code=204)


@router.post("/subscriptions/{subscription_id}/secret:rotate",
             summary="New signing secret for a webhook destination; the old one keeps signing "
                     "for 24 hours", response_model=SecretRotated)
async def rotate_secret(subscription_id: str, key: KeyDep, store: StoreDep,
                        destination_id: Annotated[str | None, Query(description=(
                            "the webhook destination (needed when there are several)"))] = None,
                        ) -> Any:
    current = owned(store, key, subscription_id)
    hooks = [d for d in current.destinations if d.channel == "webhook"
             and destination_id in (None, d.destination_id)]
    if not hooks:
        raise ApiError(409, "no_webhook", "this subscription has no such webhook destination")
    if len(hooks) > 1:
        raise ApiError(409, "which_webhook", "this subscription has several webhook destinations: "
                       "name one with destination_id")
    hook = hooks[0]
    now = utcnow()
    kept = [s.model_copy(update={"expires_at": s.expires_at or now + SECRET_OVERLAP})
            for s in hook.secrets if s.expires_at is None or s.expires_at > now]
    secret = new_webhook_secret()
    rotated = hook.model_copy(update={"secrets": [sealed_secret(store, secret), *kept]})
    await store.save(current.model_copy(update={
        "destinations": [rotated if d is hook else d for d in current.destinations], "updated_at": now}))
    return {"destination_id": hook.destination_id, "webhook_secret": secret,
            "previous_valid_until": now + SECRET_OVERLAP}


@router.post("/subscriptions/{subscription_id}/feed:rotate",
             summary="New feed link; the old one answers 404 from now on", response_model=FeedRotated)
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
            response_model=AlertPage,
            responses={503: {"description": "the alert history (Elasticsearch) is unavailable"}})
async def history(subscription_id: str, key: KeyDep, store: StoreDep, alert_history: HistoryDep,
                  size: Annotated[int, Query(ge=1, le=200)] = 20,
                  cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
                  ) -> Any:
    owned(store, key, subscription_id)
    alerts, next_cursor = await alert_history.page(subscription_id, size, cursor)
    return {"alerts": alerts, "next_cursor": next_cursor}


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{title}"
                        f"</title></head><body style='font-family:sans-serif;max-width:36em;margin:3em "
                        f"auto'><h1>{title}</h1>{body}</body></html>", status_code=status)


@router.get("/unsubscribe/{token}", response_class=HTMLResponse,
            summary="An email's unsubscribe link: a page asking to confirm (mail scanners that "
                    "follow links change nothing)")
async def unsubscribe_page(token: str, store: StoreDep, views: DestinationsDep) -> HTMLResponse:
    found = store.by_unsubscribe_token(token)
    if found is None:
        return _page("Nothing to stop", "<p>This link was used already, or its subscription is "
                     "gone.</p>", 404)
    subscription, destination_id = found
    destination = subscription.destination(destination_id)
    address = html.escape(views.target_of(destination)) if destination else ""
    return _page("Stop these emails?", f"<p>Alerts of &ldquo;{html.escape(subscription.name)}&rdquo; "
                 f"to {address}.</p><form method=post><button>Unsubscribe</button></form>")


@router.post("/unsubscribe/{token}", response_class=HTMLResponse,
             summary="One-click unsubscribe (RFC 8058): the email destination is removed")
async def unsubscribe(token: str, store: StoreDep) -> HTMLResponse:
    found = store.by_unsubscribe_token(token)
    if found is None:
        return _page("Nothing to stop", "<p>This link was used already, or its subscription is "
                     "gone.</p>", 404)
    subscription, destination_id = found
    await store.save(subscription.model_copy(update={
        "destinations": [d for d in subscription.destinations if d.destination_id != destination_id],
        "updated_at": utcnow()}))
    return _page("Unsubscribed", f"<p>No more emails of &ldquo;{html.escape(subscription.name)}"
                 "&rdquo; to this address.</p>")
