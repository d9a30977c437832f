"""Alerts as they come: Server-Sent Events (per subscription, or all of a key's) and an Atom
feed per subscription behind an unguessable token.

An event's id is its offset in the owner's partition of `news.alerts`, so a client that
reconnects with `Last-Event-ID` gets exactly what it missed. Pings keep proxies from closing
an idle stream; a client that stops reading is dropped after the send timeout, and one too
far behind (its queue full) is dropped too, instead of being buffered forever.
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
from services.subscriptions.routes import base_url
from services.subscriptions.store import AlertStore, Entry, Listener
from shared.http.errors import ApiError
from shared.http.settings_dep import SettingsDep

router = APIRouter(tags=["alerts"])


def _event(entry: Entry) -> dict[str, Any]:
    return {"id": str(entry.offset), "event": entry.kind,
            "data": json.dumps(entry.event.model_dump(mode="json", exclude={"owner"}))}


async def _events(store: AlertStore, owner: str, subscription_id: str | None,
                  last_event_id: int, request: Request) -> AsyncIterator[dict[str, Any]]:
    listener = Listener(owner)
    store.log.listeners.add(listener)  # before the backlog: nothing falls between the two
    try:
        sent = last_event_id
        for entry in store.log.since(owner, last_event_id):
            if subscription_id in (None, entry.event.subscription_id):
                sent = entry.offset
                yield _event(entry)
        while not listener.overflowed:
            try:
                entry = await asyncio.wait_for(listener.queue.get(), timeout=1.0)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                continue
            if entry.offset > sent and subscription_id in (None, entry.event.subscription_id):
                sent = entry.offset
                yield _event(entry)
    finally:
        store.log.listeners.discard(listener)


def _last_id(value: str | None) -> int:
    try:
        return int(value) if value else -1
    except ValueError as exc:
        raise ApiError(400, "bad_last_event_id", "Last-Event-ID must be an event id we sent") from exc


@router.get("/subscriptions/{subscription_id}/stream", summary="Live alerts (Server-Sent Events)")
async def stream_one(subscription_id: str, key: KeyDep, store: StoreDep, settings: SettingsDep,
                     request: Request,
                     last_event_id: Annotated[str | None, Header()] = None) -> EventSourceResponse:
    owned(store, key, subscription_id)
    return EventSourceResponse(
        _events(store, key.key_id, subscription_id, _last_id(last_event_id), request),
        ping=settings.sse_ping_seconds, send_timeout=settings.sse_send_timeout_seconds)


@router.get("/alerts/stream", summary="Live alerts of all this key's subscriptions (SSE)")
async def stream_all(key: KeyDep, store: StoreDep, settings: SettingsDep, request: Request,
                     last_event_id: Annotated[str | None, Header()] = None) -> EventSourceResponse:
    return EventSourceResponse(
        _events(store, key.key_id, None, _last_id(last_event_id), request),
        ping=settings.sse_ping_seconds, send_timeout=settings.sse_send_timeout_seconds)


FEED_ENTRIES = 50


@router.get("/feeds/{token}", summary="A subscription's alerts as an Atom feed (no key: the "
            "token in the link is the secret)", response_class=Response)
async def atom_feed(token: str, store: StoreDep, settings: SettingsDep, request: Request) -> Response:
    subscription = next((s for s in store.subscriptions.values() if s.feed_token == token), None)
    if subscription is None:
        raise ApiError(404, "not_found", "no such feed")
    feed = FeedGenerator()
    feed.id(f"urn:newsflow:subscription:{subscription.subscription_id}")
    feed.title(f"newsflow alerts: {subscription.name}")
    feed.link(href=str(request.url), rel="self")
    feed.updated(subscription.updated_at)
    alerts = store.log.of_subscription(subscription.owner, subscription.subscription_id)
    for logged in reversed(alerts[:FEED_ENTRIES]):  # feedgen prepends: oldest first in
        event = logged.first.event
        entry = feed.add_entry()
        entry.id(f"urn:newsflow:alert:{event.alert_id}")
        entry.title(event.title or event.article_id)
        # Text submissions have no URL of their own: the article in this API stands in.
        entry.link(href=event.url or f"{base_url(request, settings)}/articles/{event.article_id}")
        entry.summary(event.summary or "")
        entry.published(event.published_at or event.matched_at)
        entry.updated(logged.updates[-1].event.matched_at if logged.updates else event.matched_at)
    return Response(feed.atom_str(pretty=True), media_type="application/atom+xml")
