"""The monitor's JSON API (and the ops page): topics, groups, latency, dead letters with replay.

Every /ops route takes a key with the ops scope (admin implies it; replays need admin);
/health and /metrics are open.

    GET  /ops/topics                      rates, partitions, retained messages, newest message
    GET  /ops/groups                      per stage: status, lag (messages, seconds), workers
    GET  /ops/latency                     p50/p95/p99 per stage and ingest → enriched/alerted/indexed
    GET  /ops/overview                    all of the above at once (the page and `newsflow status`)
    GET  /ops/deadletters                 browse: stage, error_type, since, until, page, size
    GET  /ops/deadletters/stats           counts per stage and error type, and over time
    GET  /ops/deadletters/{id}            one letter: payload, error, source, headers, replay
    POST /ops/deadletters/{id}:replay     send it back to its source topic (force=true: again)
    POST /ops/deadletters:replay          the same for every letter a filter selects
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Annotated, Any

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from services.monitor.collector import Collector
from services.monitor.deadletters import DeadLetterStore, Letter, ReplayRefused
from services.monitor.notify import OpsNotifier
from shared.contracts.alerts import ApiKey, Subscription
from shared.contracts.document import DocField
from shared.contracts.monitor import (
    Groups,
    Latency,
    LetterCounts,
    LetterDetail,
    LetterPage,
    LetterSummary,
    Overview,
    Refusal,
    ReplayBatch,
    ReplayDone,
    Topics,
)
from shared.contracts.topology import Topic
from shared.http.api_keys import KeyRing, key_dependency
from shared.http.docs import install_docs
from shared.http.errors import ApiError, install_error_handlers, starting
from shared.http.hardening import harden
from shared.http.health import health_router
from shared.http.pages import Page
from shared.http.settings_dep import SettingsDep
from shared.runtime.elasticsearch import make_client
from shared.runtime.kafka import kafka_reachable, make_producer
from shared.runtime.metrics import instrument_app
from shared.runtime.tables import Table
from shared.runtime.tasks import supervised
from shared.settings import Settings, get_settings
from shared.text.dates import parse_iso

log = logging.getLogger(__name__)
router = APIRouter(prefix="/ops", tags=["ops"])


def get_collector(request: Request) -> Collector:
    collector: Collector | None = getattr(request.app.state, "collector", None)
    if collector is None or not collector.ready.is_set():
        raise starting("the monitor is taking its first look")
    return collector


def get_letters(request: Request) -> DeadLetterStore:
    store: DeadLetterStore | None = getattr(request.app.state, "letters", None)
    if store is None:
        raise starting("the monitor is starting")
    return store


CollectorDep = Annotated[Collector, Depends(get_collector)]
LettersDep = Annotated[DeadLetterStore, Depends(get_letters)]


@router.get("/topics", summary="Per topic: rate, partitions, retained messages, newest message")
async def topics(collector: CollectorDep) -> Topics:
    return Topics(topics=collector.topics_view(time.time()))


@router.get("/groups", summary="Per stage's consumer group: Burrow status, lag in messages and seconds")
async def groups(collector: CollectorDep) -> Groups:
    return Groups(groups=collector.groups)


@router.get("/latency", summary="Time in each stage and end to end, last 5 minutes")
async def latency(collector: CollectorDep) -> Latency:
    return Latency(window_seconds=300, latency=collector.latency_view(time.time()))


@router.get("/overview", summary="Topics, groups, latency and dead-letter counts at once")
async def overview(collector: CollectorDep, letters: LettersDep) -> Overview:
    now = time.time()
    return Overview(at=now, topics=collector.topics_view(now), groups=collector.groups,
                    latency=collector.latency_view(now),
                    deadletters=LetterCounts.model_validate(letters.counts(now=now)))


def _time(value: str | None, name: str) -> float | None:
    if value is None:
        return None
    try:
        return parse_iso(value).timestamp()
    except ValueError as exc:
        raise ApiError(400, "bad_date", f"'{name}' must be an ISO date or time") from exc


class LetterFilter(BaseModel):
    stage: str | None = None
    error_type: str | None = None
    since: str | None = None
    until: str | None = None


@router.get("/deadletters/stats", summary="Dead letters per stage and error type, and over time",
            response_model=LetterCounts)
async def deadletter_stats(letters: LettersDep,
                           bucket_seconds: Annotated[int, Query(ge=10, le=86_400)] = 300) -> Any:
    return letters.counts(bucket_seconds=bucket_seconds, now=time.time())


@router.get("/deadletters", summary="Browse dead letters, newest first", response_model=LetterPage)
async def deadletters(letters: LettersDep, stage: str | None = None, error_type: str | None = None,
                      since: str | None = None, until: str | None = None,
                      page: Annotated[int, Query(ge=1)] = 1,
                      size: Annotated[int, Query(ge=1, le=200)] = 50) -> Any:
    found = letters.query(stage, error_type, _time(since, "since"), _time(until, "until"))
    chosen = found[(page - 1) * size: page * size]
    return {"total": len(found), "page": page, "size": size,
            "letters": [_summary(letters, letter) for letter in chosen]}


def _summary(letters: DeadLetterStore, letter: Letter) -> LetterSummary:
    replay = letters.outcome(letter.letter_id, None)
    return LetterSummary.model_validate(letter.summary() | {"replay": replay})


async def _indexed_at(request: Request, article_id: str | None) -> float | None:
    es = request.app.state.es
    if not article_id:
        return None
    try:
        found = await es.get(index=request.app.state.settings.index_alias, id=article_id,
                             source_includes=[DocField.INDEXED_AT])
    except Exception:
        return None
    value = found.get("_source", {}).get(DocField.INDEXED_AT)
    return parse_iso(value).timestamp() if value else None


@router.get("/deadletters/{letter_id}", summary="One dead letter in full", response_model=LetterDetail)
async def deadletter(letter_id: str, letters: LettersDep, request: Request) -> Any:
    summary = letters.letters.get(letter_id)
    found = await letters.full(letter_id)
    if summary is None or found is None:
        raise ApiError(404, "not_found", f"no dead letter {letter_id}")
    return {**summary.summary(), "error": found.letter.error,
            "payload": found.letter.payload, "payload_encoding": found.letter.payload_encoding,
            "headers": {k: v.decode(errors="replace") for k, v in found.headers},
            "replay": letters.outcome(letter_id, await _indexed_at(request, found.letter.article_id))}


# Replays write to the pipeline's topics: an admin key (NEWSFLOW_REQUIRE_ADMIN_KEY).
AdminKeyDep = Annotated[ApiKey | None, key_dependency("admin", lambda s: s.require_admin_key)]


@router.post("/deadletters/{letter_id}:replay", summary="Send a letter back to its source topic",
             response_model=ReplayDone)
async def replay_one(letter_id: str, letters: LettersDep, request: Request, _key: AdminKeyDep,
                     force: bool = False) -> Any:
    try:
        replay = await letters.replay(request.app.state.producer, letter_id, force)
    except ReplayRefused as exc:
        raise ApiError(exc.status, exc.code, exc.reason) from exc
    return replay.model_dump(mode="json")


@router.post("/deadletters:replay", summary="Replay every letter a filter selects (once each)")
async def replay_many(body: LetterFilter, letters: LettersDep, request: Request, _key: AdminKeyDep,
                      force: bool = False,
                      dry_run: Annotated[bool, Query(description="send nothing: list what would be "
                                                     "replayed and what refused")] = False,
                      ) -> ReplayBatch:
    found = letters.query(body.stage, body.error_type, _time(body.since, "since"), _time(body.until, "until"))
    replayed, chosen, refused = [], [], []
    for letter in found:
        try:
            if dry_run:
                refusal = letters.refusal(letter.letter, letter.letter_id, force)
                if refusal is not None:
                    raise refusal
            else:
                await letters.replay(request.app.state.producer, letter.letter_id, force)
            replayed.append(letter.letter_id)
            chosen.append(_summary(letters, letter))
        except ReplayRefused as exc:
            refused.append(Refusal(id=letter.letter_id, reason=exc.reason))
    return ReplayBatch(dry_run=dry_run, replayed=replayed, letters=chosen, refused=refused)


async def health_checks(settings: SettingsDep) -> dict[str, str]:
    return {"kafka": "ok" if await kafka_reachable(settings) else "unreachable"}


async def _notify(collector: Collector, letters: DeadLetterStore, notifier: OpsNotifier,
                  settings: Settings) -> None:
    """After each of the collector's polls: what changed goes to the ops subscriptions."""
    seen = -1
    while True:
        await asyncio.sleep(settings.monitor_poll_seconds / 2)
        if collector.polls == seen or not collector.groups:
            continue
        seen = collector.polls
        by_stage = {stage: sum(kinds.values()) for stage, kinds in letters.counts()["by_stage"].items()}
        try:
            await notifier.observe(collector.groups, by_stage)
        except KafkaError as exc:
            log.warning("monitor: ops notices not sent (%s)", exc)
        # Anything else is a bug: the supervisor logs it and starts this loop again.


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.es = make_client(settings)
        app.state.producer = make_producer(settings)
        await app.state.producer.start()
        app.state.collector = Collector(settings, app.state.es)
        await app.state.collector.start()
        app.state.letters = DeadLetterStore(settings)
        await app.state.letters.start()
        subscriptions = Table(settings, Topic.SUBSCRIPTIONS, Subscription)
        await subscriptions.start()
        app.state.key_ring = KeyRing(settings)
        await app.state.key_ring.start()
        notifier = OpsNotifier(settings, app.state.producer, subscriptions)
        notifying = supervised("ops notices", lambda: _notify(app.state.collector, app.state.letters,
                                                               notifier, settings))
        yield
        notifying.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await notifying
        await app.state.key_ring.stop()
        await subscriptions.stop()
        await app.state.letters.stop()
        await app.state.collector.stop()
        await app.state.producer.stop()
        await app.state.es.close()

    app = FastAPI(title="newsflow monitor", version="0.1.0", lifespan=lifespan, docs_url=None,
                  redoc_url=None, description=__doc__)
    app.state.settings = settings
    install_error_handlers(app)
    install_docs(app)
    instrument_app(app, "monitor")
    harden(app, settings)
    # Dead letters carry articles, headers and who submitted them: an ops key, unless turned off.
    app.include_router(router, dependencies=[key_dependency("ops", lambda s: s.require_ops_key)])
    app.include_router(health_router(health_checks))
    page = Page(resources.files("services.monitor").joinpath("static/ops.html").read_text())

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def ops_page() -> HTMLResponse:
        return page.response()

    return app

