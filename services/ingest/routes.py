"""POST /articles and POST /articles:batch → news.raw.

Validation happens here, so a client hears about a bad submission at once (4xx with a reason);
what passes is published with acks=all and idempotence, keyed by its deterministic article id.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Request
from pydantic import BaseModel, ValidationError

from services.ingest.deps import IngestKeyDep, Publisher, PublisherDep
from shared.contracts.alerts import ApiKey
from shared.contracts.messages import RawArticle
from shared.contracts.submission import Submission, SubmissionTooLarge, accept_submission
from shared.http.errors import ApiError
from shared.http.settings_dep import SettingsDep
from shared.settings import Settings

log = logging.getLogger(__name__)
router = APIRouter(tags=["articles"])
RETRY_AFTER_SECONDS = 5


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


def _client(request: Request) -> str | None:
    # Every article records who sent it: the client named in the source, else its agent.
    return request.headers.get("user-agent")


def _accept(item: Submission | dict[str, Any], settings: Settings, request: Request,
            key: ApiKey | None) -> RawArticle:
    """With a key, its name is the submitting client, whatever the submission claims."""
    raw = accept_submission(item, settings.max_body_bytes, _client(request))
    if key is not None:
        raw.source.client = key.name
    return raw


async def _publish(publisher: Publisher, raw: RawArticle, settings: Settings,
                   accepted_before: int = 0) -> None:
    """Publishes within the deadline, else 503 with Retry-After: a client must never hang for
    as long as a broker outage lasts. Resubmitting is safe: article ids are deterministic."""
    try:
        await asyncio.wait_for(publisher.publish(raw), settings.publish_timeout_seconds)
    except (TimeoutError, KafkaError) as exc:
        log.warning("publish failed: %r", exc)
        kept = f"; the {accepted_before} items before it were accepted" if accepted_before else ""
        raise ApiError(503, "unavailable",
                       f"the broker did not acknowledge within {settings.publish_timeout_seconds:g}s"
                       f"{kept}; retry (resubmitting is safe: article ids are deterministic)",
                       headers={"Retry-After": str(RETRY_AFTER_SECONDS)}) from None


@router.post("/articles", status_code=202, response_model=Accepted,
             responses={401: {"description": "no API key, or an unknown one"},
                        403: {"description": "the key has no ingest scope"},
                        413: {"description": "article too large"},
                        422: {"description": "invalid submission, with the reason"},
                        503: {"description": "the broker is unavailable; see Retry-After"}})
async def submit(submission: Submission, request: Request, settings: SettingsDep,
                 publisher: PublisherDep, key: IngestKeyDep) -> Any:
    try:
        raw = _accept(submission, settings, request, key)
    except SubmissionTooLarge as exc:
        raise ApiError(413, "too_large", str(exc)) from None
    await _publish(publisher, raw, settings)
    return Accepted(article_id=raw.article_id)


@router.post("/articles:batch", response_model=BatchResult,
             responses={413: {"description": "too many items, or over the batch's byte limit"},
                        503: {"description": "the broker is unavailable; see Retry-After"}})
async def submit_batch(items: list[Any], request: Request, settings: SettingsDep,
                       publisher: PublisherDep, key: IngestKeyDep) -> Any:
    """Each item is validated on its own: one bad item never rejects the others."""
    if len(items) > settings.max_batch_items:
        raise ApiError(413, "too_large", f"{len(items)} items; the limit is {settings.max_batch_items}")
    results = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            results.append(BatchItemResult(index=index, status="rejected",
                                           reason=f"item: not an object but {type(item).__name__}"))
            continue
        try:
            raw = _accept(item, settings, request, key)
        except ValidationError as exc:
            errors = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'item'}: {e['msg']}"
                               for e in exc.errors())
            results.append(BatchItemResult(index=index, status="rejected", reason=errors))
            continue
        except SubmissionTooLarge as exc:
            results.append(BatchItemResult(index=index, status="rejected", reason=str(exc)))
            continue
        await _publish(publisher, raw, settings, sum(r.status == "accepted" for r in results))
        results.append(BatchItemResult(index=index, status="accepted", article_id=raw.article_id))
    accepted = sum(r.status == "accepted" for r in results)
    return BatchResult(accepted=accepted, rejected=len(results) - accepted, results=results)
