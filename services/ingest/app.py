"""POST /articles and POST /articles:batch → news.raw.

Validation happens here, so a client hears about a bad submission at once (4xx with a reason);
what passes is published with acks=all and idempotence, keyed by its deterministic article id.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Literal

from aiokafka import AIOKafkaProducer
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError, model_validator

from shared.contracts import ContentFormat, RawArticle, SourceInfo
from shared.http import error_response, install_error_handlers, kafka_reachable
from shared.ids import article_id, canonical_url
from shared.kafka import make_producer, publish_raw
from shared.settings import Settings, get_settings


class Submission(BaseModel):
    """One article as a client sends it: plain text, HTML (ideally with its URL), or fields."""

    format: ContentFormat = Field(description="text: plain text; html: a web page; "
                                              "fields: title/body already separated")
    content: str | None = Field(default=None, description="the text or HTML (text, html)")
    url: str | None = Field(default=None, max_length=2048)
    title: str | None = Field(default=None, max_length=1000)
    body: str | None = Field(default=None, description="the article body (fields)")
    published_at: datetime | None = None
    authors: list[str] = Field(default_factory=list, max_length=50)
    language: str | None = Field(default=None, min_length=2, max_length=8)
    source: SourceInfo = Field(default_factory=SourceInfo)

    model_config = {"json_schema_extra": {"examples": [{
        "format": "text",
        "content": "Headline\nFirst paragraph of the story.",
        "source": {"name": "Example Wire"},
    }]}}

    @model_validator(mode="after")
    def _has_content(self) -> Submission:
        if self.format in ("text", "html") and not (self.content and self.content.strip()):
            raise ValueError(f"format '{self.format}' needs a non-empty 'content'")
        if self.format == "fields" and not (self.body and self.body.strip()):
            raise ValueError("format 'fields' needs a non-empty 'body'")
        if self.url:
            canonical_url(self.url)  # raises ValueError with the reason
        return self

    def to_raw(self) -> RawArticle:
        identity = self.content if self.format != "fields" else f"{self.title or ''}\n{self.body}"
        return RawArticle(
            article_id=article_id(self.url, identity), format=self.format, url=self.url,
            content=self.content, title=self.title, body=self.body,
            published_at=self.published_at, authors=self.authors, language=self.language,
            source=self.source,
        )


class Accepted(BaseModel):
    article_id: str
    status: Literal["accepted"] = "accepted"


class BatchItemResult(BaseModel):
    index: int
    status: Literal["accepted", "rejected"]
    article_id: str | None = None
    reason: str | None = None


class BatchResult(BaseModel):
    accepted: int
    rejected: int
    results: list[BatchItemResult]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    state: dict[str, AIOKafkaProducer] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        producer = make_producer(settings)
        await producer.start()
        state["producer"] = producer
        yield
        await producer.stop()

    app = FastAPI(title="newsflow ingest", version="0.1.0", lifespan=lifespan,
                  description="Submit news articles to the newsflow pipeline.")
    install_error_handlers(app)

    @app.middleware("http")
    async def limit_size(request: Request, call_next: Any) -> Any:
        # Refuse oversized bodies before reading them.
        length = request.headers.get("content-length")
        limit = settings.max_body_bytes * (settings.max_batch_items if "batch" in request.url.path else 1)
        if length and length.isdigit() and int(length) > limit:
            return error_response(413, "too_large", f"request body is {length} bytes; "
                                                     f"the limit is {limit}")
        return await call_next(request)

    async def accept(submission: Submission, request: Request) -> RawArticle:
        raw = submission.to_raw()
        # Every article records who sent it: the client named in the source, else its agent.
        raw.source.client = raw.source.client or request.headers.get("user-agent")
        await publish_raw(state["producer"], settings, raw)
        return raw

    def check_size(submission: Submission) -> str | None:
        size = len((submission.content or "").encode()) + len((submission.body or "").encode())
        if size > settings.max_body_bytes:
            return f"article is {size} bytes; the limit is {settings.max_body_bytes}"
        return None

    @app.post("/articles", status_code=202, response_model=Accepted,
              responses={413: {"description": "article too large"},
                         422: {"description": "invalid submission, with the reason"}})
    async def submit(submission: Submission, request: Request) -> Any:
        if reason := check_size(submission):
            return error_response(413, "too_large", reason)
        raw = await accept(submission, request)
        return Accepted(article_id=raw.article_id)

    @app.post("/articles:batch", response_model=BatchResult)
    async def submit_batch(items: list[dict[str, Any]], request: Request) -> Any:
        """Each item is validated on its own: one bad item never rejects the others."""
        if len(items) > settings.max_batch_items:
            return error_response(413, "too_large", f"{len(items)} items; the limit is "
                                                     f"{settings.max_batch_items}")
        results = []
        for index, item in enumerate(items):
            try:
                submission = Submission.model_validate(item)
            except ValidationError as exc:
                errors = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'item'}: {e['msg']}"
                                   for e in exc.errors())
                results.append(BatchItemResult(index=index, status="rejected", reason=errors))
                continue
            if reason := check_size(submission):
                results.append(BatchItemResult(index=index, status="rejected", reason=reason))
                continue
            raw = await accept(submission, request)
            results.append(BatchItemResult(index=index, status="accepted", article_id=raw.article_id))
        accepted = sum(r.status == "accepted" for r in results)
        return BatchResult(accepted=accepted, rejected=len(results) - accepted, results=results)

    @app.get("/health")
    async def health() -> JSONResponse:
        kafka_ok = await kafka_reachable(settings.kafka_bootstrap)
        return JSONResponse({"status": "ok" if kafka_ok else "degraded",
                             "kafka": "ok" if kafka_ok else "unreachable"},
                            status_code=200 if kafka_ok else 503)

    return app
