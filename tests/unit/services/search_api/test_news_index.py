"""Elasticsearch's failures become API errors: unreachable → 503, a rejected query → 400 with
the root cause, a missing article → 404."""

from __future__ import annotations

from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import BadRequestError, NotFoundError
from elasticsearch import ConnectionError as ESConnectionError

from services.search_api.news_index import NewsIndex
from shared.http.errors import ApiError


def meta(status: int) -> ApiResponseMeta:
    return ApiResponseMeta(status=status, http_version="1.1", headers=HttpHeaders(), duration=0.0,
                           node=NodeConfig("http", "localhost", 9200))


class FailingClient:
    def __init__(self, error: Exception) -> None:
        self.error = error

    async def search(self, **_: Any) -> Any:
        raise self.error

    async def get(self, **_: Any) -> Any:
        raise self.error


async def failure(error: Exception, call: str = "search") -> ApiError:
    index = NewsIndex(FailingClient(error), "news")  # type: ignore[arg-type]
    with pytest.raises(ApiError) as raised:
        await (index.search({}) if call == "search" else index.article("a1"))
    return raised.value


async def test_unreachable_is_503() -> None:
    error = await failure(ESConnectionError("refused"))
    assert (error.status, error.code) == (503, "unavailable")


async def test_a_rejected_query_is_400_with_the_root_cause() -> None:
    body = {"error": {"root_cause": [{"reason": "too many clauses"}]}}
    error = await failure(BadRequestError("bad", meta(400), body))
    assert (error.status, error.code, error.details) == (400, "bad_query", "too many clauses")


async def test_a_missing_article_is_404_and_a_missing_index_is_503() -> None:
    missing = NotFoundError("missing", meta(404), {})
    assert (await failure(missing, "get")).status == 404
    assert (await failure(missing, "search")).status == 503
