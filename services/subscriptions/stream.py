"""Alerts as they come: Server-Sent Events (per subscription, or all of a key's) and an Atom
feed per subscription behind an unguessable token.

A revoked key's streams end at once and its feeds answer 404; a key has at most
NEWSFLOW_MAX_STREAMS_PER_KEY streams open. An event's id is its offset in the owner's
partition of `news.alerts`, so a client that reconnects with `Last-Event-ID` gets exactly
what it missed. Pings keep proxies from closing an idle stream; a client that stops reading
is dropped after the send timeout, and one too far behind (its queue full) is dropped too,
instead of being buffered forever.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response
from feedgen.feed import FeedGenerator
from sse_starlette import EventSourceResponse

from services.subscriptions.auth import KeyDep, StoreDep, owned
from services.subscriptions.history import HistoryDep
from services.subscriptions.routes import base_url
from services.subscriptions.store import AlertStore, Entry, Listener
from shared.http.errors import ApiError
from shared.http.settings_dep import SettingsDep

router = APIRouter(tags=["alerts"])


def _event(entry: Entry) -> dict[str, Any]:
    return {"id": str(entry.offset), "event": entry.kind,
            "data": json.dumps(entry.event.model_dump(mode="json", exclude={"owner"}))}


def _check_quota(store: AlertStore, owner: str, max_streams: int) -> None:
    """At most `max_streams` open per key (counted from the moment a stream starts)."""
    if store.open_streams.get(owner, 0) >= max_streams:
        raise ApiError(429, "quota_exceeded", f"this key has {max_streams} live streams open, the "
                       "most one key may have (NEWSFLOW_MAX_STREAMS_PER_KEY)",
                       headers={"Retry-After": "30"})


async def _events(store: AlertStore, owner: str, subscription_id: str | None,
                  last_event_id: int | None, request: Request) -> AsyncIterator[dict[str, Any]]:
    """A new stream starts at the end; one resuming (`Last-Event-ID`, -1 for the start of what
    is kept) reads its owner's partition from there first."""
    listener = Listener(owner)
    store.live.listeners.add(listener)  # before the backlog: nothing falls between the two
    store.open_streams[owner] = store.open_streams.get(owner, 0) + 1
    try:
        sent = -1 if last_event_id is None else last_event_id
        backlog = await store.since(owner, last_event_id) if last_event_id is not None else []
        for entry in backlog:
            if subscription_id in (None, entry.event.subscription_id):
                sent = entry.offset
                yield _event(entry)
        while not listener.overflowed and not listener.closed:
            try:
                entry = await asyncio.wait_for(listener.queue.get(), timeout=1.0)
            except TimeoutError:
                if await request.is_disconnected() or not store.key_live(owner):
                    return  # gone, or revoked before this stream was listening
                continue
            if listener.closed:
                return  # revoked while the entry waited
            if entry.offset > sent and subscription_id in (None, entry.event.subscription_id):
                sent = entry.offset
                yield _event(entry)
    finally:
        store.live.listeners.discard(listener)
        left = store.open_streams.pop(owner, 1) - 1
        if left > 0:
            store.open_streams[owner] = left


def _last_id(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError as exc:
        raise ApiError(400, "bad_last_event_id", "Last-Event-ID must be an event id we sent") from exc


# OpenAPI: what a stream answers (each event's data is an alert, as in the history).
EVENT_STREAM: dict[int | str, dict[str, Any]] = {200: {
    "description": "an event per alert (`id`: its offset, for Last-Event-ID)",
    "content": {"text/event-stream": {}}}}


@router.get("/subscriptions/{subscription_id}/stream", summary="Live alerts (Server-Sent Events)",
            response_class=EventSourceResponse, responses=EVENT_STREAM)
async def stream_one(subscription_id: str, key: KeyDep, store: StoreDep, settings: SettingsDep,
                     request: Request,
                     last_event_id: Annotated[str | None, Header()] = None) -> EventSourceResponse:
    subscription = owned(store, key, subscription_id)
    _check_quota(store, subscription.owner, settings.max_streams_per_key)
    return EventSourceResponse(
        _events(store, subscription.owner, subscription_id, _last_id(last_event_id), request),
        ping=settings.sse_ping_seconds, send_timeout=settings.sse_send_timeout_seconds)


@router.get("/alerts/stream", summary="Live alerts of all this key's subscriptions (SSE)",
            response_class=EventSourceResponse, responses=EVENT_STREAM)
async def stream_all(key: KeyDep, store: StoreDep, settings: SettingsDep, request: Request,
                     last_event_id: Annotated[str | None, Header()] = None) -> EventSourceResponse:
    _check_quota(store, key.key_id, settings.max_streams_per_key)
    return EventSourceResponse(
        _events(store, key.key_id, None, _last_id(last_event_id), request),
        ping=settings.sse_ping_seconds, send_timeout=settings.sse_send_timeout_seconds)


FEED_ENTRIES = 50


@router.get("/feeds/{token}", summary="A subscription's alerts as an Atom feed (no key: the "
            "token in the link is the secret)", response_class=Response,
            responses={200: {"description": "the newest alerts as Atom entries",
                             "content": {"application/atom+xml": {}}}})
async def atom_feed(token: str, store: StoreDep, alert_history: HistoryDep, settings: SettingsDep,
                    request: Request) -> Response:
    subscription = store.by_feed_token(token)
    if subscription is None:
        raise ApiError(404, "not_found", "no such feed")
    feed = FeedGenerator()
    feed.id(f"urn:newsflow:subscription:{subscription.subscription_id}")
    feed.title(f"newsflow alerts: {subscription.name}")
    feed.link(href=str(request.url), rel="self")
    feed.updated(subscription.updated_at)
    alerts, _ = await alert_history.page(subscription.subscription_id, FEED_ENTRIES)
    for alert in reversed(alerts):  # feedgen prepends: oldest first in
        entry = feed.add_entry()
        entry.id(f"urn:newsflow:alert:{alert['alert_id']}")
        entry.title(alert["title"] or alert["article_id"])
        # Text submissions have no URL of their own: the article in this API stands in.
        entry.link(href=alert.get("url") or f"{base_url(request, settings)}/articles/{alert['article_id']}")
        entry.summary(alert.get("summary") or "")
        entry.published(alert.get("published_at") or alert["matched_at"])
        entry.updated(alert["updates"][-1]["matched_at"] if alert["updates"] else alert["matched_at"])
    return Response(feed.atom_str(pretty=True), media_type="application/atom+xml")
