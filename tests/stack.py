"""Session fixtures on the real stack: a Kafka broker and an Elasticsearch node started by
deploy/local (or reused when already up), and every newsflow service as its own process.

Each session gets its own namespace (topics, consumer groups, index) and its own ports, so it
never sees the demo's data or another session's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import pytest
from aiohttp import web

from deploy.local.receivers import LOCAL_CHAT_PATTERNS, Mailbox, smtp_server
from deploy.local.services import Services, drop_namespace
from deploy.local.stack import Stack
from services.admin.cli import write_key
from shared.contracts.topology import Topic, topic_name
from shared.http.api_keys import new_key
from shared.runtime.elasticsearch import make_client
from shared.runtime.kafka import ensure_topics, make_reader, topic_partitions
from shared.settings import Settings, get_settings
from tests.conftest import REPO_ROOT

T = TypeVar("T")
DEADLINE = 90.0  # seconds any single condition may take on a loaded 2-core machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def eventually(check: Callable[[], Awaitable[T | None]], what: str,
                     timeout: float = DEADLINE) -> T:
    """Polls `check` until it returns something truthy, or fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = await check()
        except Exception as exc:  # not ready yet; keep the last error for the message
            last = exc
        if last and not isinstance(last, Exception):
            return last
        await asyncio.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last: {last!r}")


@dataclass
class Pipeline:
    settings: Settings
    services: Services
    ingest: httpx.AsyncClient  # with the session's admin key
    search: httpx.AsyncClient  # keyless: reading is open
    monitor: httpx.AsyncClient  # with the session's admin key
    admin_key: str

    async def submit(self, payload: dict[str, Any]) -> str:
        response = await self.ingest.post("/articles", json=payload)
        assert response.status_code == 202, response.text
        return str(response.json()["article_id"])

    async def article(self, article_id: str) -> dict[str, Any] | None:
        response = await self.search.get(f"/articles/{article_id}")
        return response.json() if response.status_code == 200 else None

    async def wait_for_article(self, article_id: str) -> dict[str, Any]:
        """Until a search can find the article (GET by id alone is real-time; search waits for
        the index refresh), then the article as the API returns it."""
        async def searchable() -> bool:
            return await self.count({"term": {"article_id": article_id}}, refresh=False) == 1

        await eventually(searchable, f"article {article_id} to be searchable")
        article = await self.article(article_id)
        assert article is not None
        return article

    async def count(self, query: dict[str, Any], refresh: bool = True) -> int:
        es = make_client(self.settings)
        try:
            if refresh:
                await es.indices.refresh(index=self.settings.index_alias)
            return int((await es.count(index=self.settings.index_alias, query=query))["count"])
        finally:
            await es.close()

    async def dead_letters(self) -> list[dict[str, Any]]:
        """Everything on the dead-letter topic so far: read up to each partition's end offset,
        since one fetch returns only the first megabyte and a big letter fills it."""
        topic = topic_name(self.settings, Topic.DEAD_LETTER)
        consumer = make_reader(self.settings)
        await consumer.start()
        try:
            partitions = await topic_partitions(consumer, topic)
            assert partitions, f"no partitions for {topic}"
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            letters: list[dict[str, Any]] = []
            deadline = time.monotonic() + DEADLINE
            while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
                assert time.monotonic() < deadline, "the dead-letter topic did not read to its end"
                batches = await consumer.getmany(*partitions, timeout_ms=1000)
                for records in batches.values():
                    letters.extend(json.loads(r.value) for r in records)
            return letters
        finally:
            await consumer.stop()


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """The real Kafka + Elasticsearch; stopped at the end only if this session started them.
    NEWSFLOW_TEST_BROKERS=3 runs the suite on a three-broker cluster instead (topics with RF 3)."""
    yield from _running(Stack(get_settings(), brokers=int(os.environ.get("NEWSFLOW_TEST_BROKERS", "1"))))


@pytest.fixture(scope="session")
def secure_stack() -> Iterator[Stack]:
    """Kafka on SASL_SSL with SCRAM-SHA-512 and Elasticsearch with security and TLS, beside the
    plain stack on ports of its own; started once per run, by the first test that needs it."""
    yield from _running(Stack(get_settings(), secure=True))


def _running(stack: Stack) -> Iterator[Stack]:
    was_running = all(k.running() for k in stack.kafkas) and stack.es.running()
    stack.up()
    yield stack
    if not was_running:
        stack.down()


@pytest.fixture(scope="session")
def mailbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mailbox]:
    """The tests' mail relay (a real SMTP server: STARTTLS, AUTH), for the whole session."""
    with smtp_server(tmp_path_factory.mktemp("smtp")) as box:
        yield box


@pytest.fixture(scope="session")
async def pipeline(stack: Stack, mailbox: Mailbox) -> AsyncIterator[Pipeline]:
    async with running_pipeline(stack, "test", mailbox.env()) as started:
        yield started


@contextlib.asynccontextmanager
async def running_pipeline(stack: Stack, prefix: str, extra_env: dict[str, str] | None = None,
                           ) -> AsyncIterator[Pipeline]:
    """Every service as its own process in a namespace of its own, on the given stack."""
    namespace = f"{prefix}-{uuid.uuid4().hex[:8]}"
    env = {
        **stack.client_env(),
        "NEWSFLOW_NAMESPACE": namespace,
        "NEWSFLOW_INGEST_PORT": str(free_port()),
        "NEWSFLOW_SEARCH_PORT": str(free_port()),
        "NEWSFLOW_MONITOR_PORT": str(free_port()),
        "NEWSFLOW_MONITOR_POLL_SECONDS": "1",
        "NEWSFLOW_HEARTBEAT_SECONDS": "1",
        "NEWSFLOW_INDEX_BATCH_SECONDS": "0.2",
        # The tests' webhook receiver listens on loopback, which the outbound policy refuses
        # unless named; retries come quickly so a failing receiver is tested in seconds.
        "NEWSFLOW_OUTBOUND_ALLOW": "127.0.0.1",
        "NEWSFLOW_DELIVERY_RETRY_SCHEDULE": "[0, 0.5, 0.5, 0.5]",
        "NEWSFLOW_DIGEST_CHECK_SECONDS": "1",
        **LOCAL_CHAT_PATTERNS,
        **(extra_env or {}),
    }
    settings = Settings(**{k.removeprefix("NEWSFLOW_").lower(): json.loads(v) if v.startswith("[") else v
                           for k, v in env.items()})
    # Publishing and replays need keys: one admin key for the session, as an operator makes it,
    # there before the services start; the CLI subprocesses find it in their environment.
    await ensure_topics(settings)
    record, admin_key = new_key(f"{prefix} session", ["admin"])
    await write_key(settings, record)
    env["NEWSFLOW_API_KEY"] = admin_key
    services = Services(settings, REPO_ROOT / "test-output" / namespace, env)
    try:
        services.up()
    except Exception:
        for process in services.processes.values():
            print(f"==> {process.name}\n{process.tail(60)}")
        services.down()
        raise
    # Idle connections are dropped before uvicorn's 5 s keep-alive ends: a connection the
    # server is closing just as a request goes out fails that request (httpx.ReadError).
    limits = httpx.Limits(keepalive_expiry=2.0)
    ingest = httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.ingest_port}", timeout=30,
                               headers=auth(admin_key), limits=limits)
    search = httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.search_port}", timeout=30,
                               limits=limits)
    monitor = httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.monitor_port}", timeout=30,
                                headers=auth(admin_key), limits=limits)
    try:
        yield Pipeline(settings, services, ingest, search, monitor, admin_key)
    finally:
        for client in (ingest, search, monitor):
            await client.aclose()
        services.down()
        await drop_namespace(settings)


# -- keyword alerts and ops notices: API keys and a local webhook receiver ---------------

@dataclass
class Received:
    headers: dict[str, str]
    body: str


@dataclass
class Receiver:
    """A local webhook receiver: records every request per path; `fail[path]` = how many
    requests to answer 500 before answering 200."""

    port: int
    requests: dict[str, list[Received]] = field(default_factory=dict)
    fail: dict[str, int] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    async def handle(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        self.requests.setdefault(path, []).append(Received(dict(request.headers), await request.text()))
        if self.fail.get(path, 0) > 0:
            self.fail[path] -= 1
            return web.Response(status=500, text="not now")
        return web.Response(status=200, text="ok")

    async def has_at_least(self, path: str, count: int) -> bool:
        """For `eventually`: `count` requests have reached `path`."""
        return len(self.requests.get(path, [])) >= count

    def alert_ids(self, path: str) -> list[str]:
        return [r.headers["webhook-id"] for r in self.requests.get(path, [])]


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    hooks = Receiver(free_port())
    app = web.Application()
    app.router.add_post("/{path:.*}", hooks.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", hooks.port).start()
    yield hooks
    await runner.cleanup()


def newsflow(pipeline: Pipeline, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The `newsflow` command, run as an operator would, against the pipeline (its namespace,
    ports and admin key), with `env` on top."""
    return subprocess.run([sys.executable, "-m", "services.admin", *args],
                          env={**os.environ, **pipeline.services.env, **env}, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)


def create_key(pipeline: Pipeline, name: str, *options: str) -> str:
    """Through the admin command, as an operator would."""
    result = newsflow(pipeline, "keys", "create", name, *options)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture(scope="module")
async def keys(pipeline: Pipeline) -> tuple[str, str]:
    first, second = create_key(pipeline, "desk A"), create_key(pipeline, "desk B")

    async def accepted() -> bool:
        for key in (first, second):
            response = await pipeline.search.get("/subscriptions", headers=auth(key))
            if response.status_code != 200:
                return False
        return True

    await eventually(accepted, "the API to know the new keys")
    return first, second


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def subscribe(pipeline: Pipeline, key: str, **body: Any) -> dict[str, Any]:
    response = await pipeline.search.post("/subscriptions", json=body, headers=auth(key))
    assert response.status_code == 201, response.text
    return dict(response.json())
