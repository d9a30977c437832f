"""The ingest API: a small factory that wires the routes, the error shape, the request-size
limit and the Kafka producer (started at start-up, stopped at shutdown)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from services.ingest import routes
from services.ingest.deps import health_checks
from shared.contracts.messages import RawArticle
from shared.http.api_keys import KeyRing
from shared.http.docs import install_docs
from shared.http.errors import install_error_handlers
from shared.http.hardening import harden
from shared.http.health import health_router
from shared.runtime.kafka import make_producer, publish_raw
from shared.runtime.metrics import instrument_app
from shared.settings import Settings, get_settings

ENVELOPE_BYTES = 64_000  # a submission's fields besides its text


class KafkaPublisher:
    def __init__(self, producer: Any, settings: Settings) -> None:
        self.producer = producer
        self.settings = settings

    async def publish(self, raw: RawArticle) -> None:
        await publish_raw(self.producer, self.settings, raw)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        producer = make_producer(settings)
        await producer.start()
        app.state.publisher = KafkaPublisher(producer, settings)
        app.state.key_ring = KeyRing(settings)
        await app.state.key_ring.start()
        yield
        await app.state.key_ring.stop()
        await producer.stop()

    app = FastAPI(title="newsflow ingest", version="0.2.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Submit news articles to the newsflow pipeline.")
    app.state.settings = settings
    install_error_handlers(app)
    install_docs(app)
    instrument_app(app, "ingest")

    def body_limit(path: str) -> int:
        # An article's JSON may exceed its text by the other fields and by escapes.
        single = 2 * settings.max_body_bytes + ENVELOPE_BYTES
        return settings.max_batch_bytes if path.endswith(":batch") else single

    harden(app, settings, body_limit)

    app.include_router(routes.router)
    app.include_router(health_router(health_checks))
    return app
