"""Every search route's HTTP behaviour without the stack: FastAPI's TestClient, with the news
index replaced by a fake that answers like Elasticsearch (or fails like it)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.search_api.app import create_app
from services.search_api.cache import AnswerCache
from services.search_api.deps import get_news_index, health_checks
from services.search_api.news_index import unavailable
from shared.http.errors import ApiError
from shared.settings import Settings


def hit(article_id: str, **source: Any) -> dict[str, Any]:
    return {"_id": article_id, "_score": 1.0, "_source": {"title": f"Title {article_id}", **source},
            "sort": [1.0, article_id]}


def response(hits: list[dict[str, Any]], aggregations: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"took": 3, "hits": {"total": {"value": len(hits)}, "hits": hits},
            "aggregations": aggregations or {}}


class FakeNewsIndex:
    alias = "news"
    cache: AnswerCache | None = None
    refreshes = 0  # the index's refresh generation

    def __init__(self, articles: dict[str, dict[str, Any]] | None = None,
                 hits: list[dict[str, Any]] | None = None, down: bool = False) -> None:
        self.articles = articles or {}
        self.hits = hits or []
        self.down = down
        self.bodies: list[dict[str, Any]] = []
        self.cached: list[bool] = []
        self.closed: list[str] = []

    async def close_pit(self, pit_id: str) -> None:
        self.closed.append(pit_id)

    async def search(self, body: dict[str, Any], request_cache: bool = False) -> dict[str, Any]:
        if self.down:
            raise unavailable()
        self.bodies.append(body)
        self.cached.append(request_cache)
        return response(self.hits[: body.get("size", 10)])

    async def search_in(self, pit_id: str | None, body: dict[str, Any]) -> dict[str, Any]:
        if pit_id == "expired":
            raise ApiError(400, "bad_cursor", "the cursor has expired; search again")
        return {**(await self.search(body)), "pit_id": "pit-1"}

    async def article(self, article_id: str) -> dict[str, Any]:
        if self.down:
            raise unavailable()
        if article_id not in self.articles:
            raise ApiError(404, "not_found", f"no article with id {article_id!r}")
        return {"id": article_id, **self.articles[article_id]}

    async def bounds(self) -> dict[str, Any]:
        return {"aggregations": {"first": {"value": None}, "last": {"value": None}}}

    async def generation(self) -> int:
        return self.refreshes


def client_with(index: FakeNewsIndex, states: dict[str, str] | None = None) -> TestClient:
    app = create_app(Settings(namespace="unit"))
    app.dependency_overrides[get_news_index] = lambda: index

    async def checks() -> dict[str, str]:
        return states or {"kafka": "ok", "elasticsearch": "green"}

    app.dependency_overrides[health_checks] = checks
    return TestClient(app)  # not as a context manager: no lifespan, no Elasticsearch client


def assert_error(answer: Any, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["status"] == status and error["code"] == code and error["message"]
    return dict(error)


def test_search_answers_results_and_a_cursor() -> None:
    index = FakeNewsIndex(hits=[hit("a1"), hit("a2")])
    answer = client_with(index).get("/search", params={"q": "peace talks", "size": 2})
    assert answer.status_code == 200
    body = answer.json()
    assert [r["id"] for r in body["results"]] == ["a1", "a2"] and body["next_cursor"]
    assert index.bodies[0]["size"] == 2  # the query module built the body, not the handler


@pytest.mark.parametrize(("params", "status", "code"), [
    ({"q": '"unterminated'}, 400, "bad_query"),
    ({"q": "title:"}, 400, "bad_query"),
    ({"from": "yesterday"}, 400, "bad_date"),
    ({"cursor": "not-a-cursor"}, 400, "bad_cursor"),
    ({"size": "101"}, 422, "invalid_request"),
    ({"sort": "random"}, 422, "invalid_request"),
    ({"q": "x" * 1001}, 422, "invalid_request"),
])
def test_search_refuses_bad_requests_with_the_reason(params: dict[str, str], status: int, code: str) -> None:
    assert_error(client_with(FakeNewsIndex()).get("/search", params=params), status, code)


def test_a_bad_query_says_where() -> None:
    error = assert_error(client_with(FakeNewsIndex()).get("/search", params={"q": "a AND"}), 400,
                         "bad_query")
    assert error["details"] == {"position": 2}


def test_an_expired_cursor_is_400() -> None:
    import base64
    import json
    cursor = base64.urlsafe_b64encode(json.dumps({"pit": "expired", "after": [1]}).encode()).decode()
    assert_error(client_with(FakeNewsIndex()).get("/search", params={"cursor": cursor}), 400,
                 "bad_cursor")


def test_article_found_and_not_found() -> None:
    client = client_with(FakeNewsIndex(articles={"a1": {"title": "T"}}))
    assert client.get("/articles/a1").json() == {"id": "a1", "title": "T"}
    assert_error(client.get("/articles/nope"), 404, "not_found")
    assert_error(client.get("/articles/nope/related"), 404, "not_found")


def test_related_puts_the_story_first() -> None:
    index = FakeNewsIndex(articles={"a1": {"title": "T", "story_id": "s1", "people": ["P"]}},
                          hits=[hit("a2", story_id="s1")])
    body = client_with(index).get("/articles/a1/related").json()
    assert body["story_id"] == "s1" and body["results"][0]["same_story"] is True


def test_unknown_story_is_404_and_a_known_one_lists_articles() -> None:
    assert_error(client_with(FakeNewsIndex()).get("/stories/s-none"), 404, "not_found")
    body = client_with(FakeNewsIndex(hits=[hit("a1"), hit("a2")])).get("/stories/s1").json()
    assert body["total"] == 2 and [a["id"] for a in body["articles"]] == ["a1", "a2"]


def test_suggest_needs_two_characters() -> None:
    assert_error(client_with(FakeNewsIndex()).get("/suggest", params={"prefix": "f"}), 422,
                 "invalid_request")
    assert client_with(FakeNewsIndex()).get("/suggest", params={"prefix": "fe"}).status_code == 200


@pytest.mark.parametrize("path", ["/search", "/articles/a1", "/stories/s1", "/suggest?prefix=fel"])
def test_elasticsearch_down_is_503_with_retry_after(path: str) -> None:
    answer = client_with(FakeNewsIndex(down=True)).get(path)
    assert_error(answer, 503, "unavailable")
    assert answer.headers["retry-after"] == "5"


def test_health_is_503_when_a_dependency_is_down() -> None:
    assert client_with(FakeNewsIndex()).get("/health").status_code == 200
    answer = client_with(FakeNewsIndex(), {"kafka": "unreachable", "elasticsearch": "green"}).get("/health")
    assert answer.status_code == 503 and answer.json()["status"] == "degraded"


def test_unknown_routes_have_the_error_shape() -> None:
    assert_error(client_with(FakeNewsIndex()).get("/nowhere"), 404, "not_found")
    assert_error(client_with(FakeNewsIndex()).post("/search"), 405, "method_not_allowed")


def test_the_page_is_served() -> None:
    answer = client_with(FakeNewsIndex()).get("/")
    assert answer.status_code == 200 and "<html" in answer.text.lower()


def test_subscriptions_answer_503_until_their_views_are_loaded() -> None:
    client = TestClient(create_app(Settings()))  # no lifespan: the alert store never started
    for method, path in (("GET", "/subscriptions"), ("POST", "/subscriptions"),
                         ("GET", "/feeds/x"), ("GET", "/alerts/stream")):
        answer = client.request(method, path, json={"name": "n", "query": "q"})
        assert answer.status_code == 503, (method, path, answer.text)
        assert answer.headers["retry-after"] == "2"


@pytest.mark.parametrize("params", [
    {"q": "(" * 250 + "a" + ")" * 250}, {"q": "-" * 999 + "a"},
    {"from": "2025-13-45"}, {"from": "2025-02-30"}, {"from": "0000-01-01"},
    {"to": "2025-01-01T::::"}, {"from": "2025-01-01T10:00:00+99:99"}, {"from": "now-99999999y"},
])
def test_hostile_search_parameters_are_400_not_500(params: dict[str, str]) -> None:
    answer = client_with(FakeNewsIndex()).get("/search", params=params)
    assert answer.status_code == 400, (params, answer.text)
    assert answer.json()["error"]["code"] in ("bad_query", "bad_date")


def test_far_relative_dates_do_not_overflow() -> None:
    assert client_with(FakeNewsIndex()).get("/search", params={"from": "now-99999y"}).status_code == 200


def test_hostile_suggest_prefixes_and_article_ids_are_4xx() -> None:
    api = client_with(FakeNewsIndex())
    assert api.get("/suggest", params={"prefix": "  "}).status_code == 400
    for article_id in ("x" * 5000, "a.b", ".", "a%2Fb"):
        assert api.get(f"/articles/{article_id}").status_code in (404, 422), article_id
        assert api.get(f"/articles/{article_id}/related").status_code in (404, 422), article_id


def test_the_last_page_of_a_cursor_closes_its_point_in_time() -> None:
    index = FakeNewsIndex(hits=[hit("a1"), hit("a2"), hit("a3")])
    client = client_with(index)
    first = client.get("/search", params={"q": "talks", "size": 2}).json()
    second = client.get("/search", params={"q": "talks", "size": 2, "cursor": first["next_cursor"]})
    assert second.json()["next_cursor"] is not None and index.closed == []  # a full page: more
    index.hits = index.hits[:1]
    last = client.get("/search", params={"q": "talks", "size": 2,
                                         "cursor": second.json()["next_cursor"]})
    assert last.status_code == 200 and last.json()["next_cursor"] is None
    assert index.closed == ["pit-1"]


def test_lists_fetch_only_the_fields_they_show() -> None:
    from shared.contracts.document import LIST_FIELDS

    index = FakeNewsIndex(hits=[hit("a1")])
    client_with(index).get("/search", params={"q": "talks"})
    results, facets = index.bodies
    assert results["_source"] == LIST_FIELDS and "aggs" not in results
    assert facets["size"] == 0 and "people" in facets["aggs"]
    assert index.cached == [False, True]  # only the facet request asks for the request cache


def test_reading_takes_a_read_key_only_when_the_deployment_says_so() -> None:
    from fastapi.testclient import TestClient

    from services.search_api.app import create_app
    from services.search_api.deps import get_news_index
    from shared.http.api_keys import new_key

    reader, reader_key = new_key("analyst", ["read"])
    publisher, publisher_key = new_key("wire", ["ingest"])
    app = create_app(Settings(namespace="unit", require_read_key=True))
    app.dependency_overrides[get_news_index] = lambda: FakeNewsIndex(hits=[hit("a1")])

    class Ring:
        def __init__(self) -> None:
            self.keys = {reader.key_id: reader, publisher.key_id: publisher}

    app.state.key_ring = Ring()
    client = TestClient(app)
    assert_error(client.get("/search", params={"q": "talks"}), 401, "unauthenticated")
    assert_error(client.get("/articles/a1", headers={"X-API-Key": publisher_key}), 403, "forbidden")
    answer = client.get("/search", params={"q": "talks"}, headers={"Authorization": f"Bearer {reader_key}"})
    assert answer.status_code == 200 and answer.json()["results"][0]["id"] == "a1"
    assert client_with(FakeNewsIndex(hits=[hit("a1")])).get("/search").status_code == 200  # open by default


def test_the_syntax_help_lists_every_field_of_the_language() -> None:
    body = client_with(FakeNewsIndex()).get("/search/syntax").json()
    assert [f["name"] for f in body["fields"]] == [
        "title", "person", "org", "place", "country", "topic", "source", "lang"]
    assert "NEAR/5" in body["help"] and "sanc*" in body["help"]


def test_a_first_page_is_answered_from_the_cache_until_a_refresh() -> None:
    index = FakeNewsIndex(hits=[hit("a1", title="Oil prices rise")])
    index.cache = AnswerCache()
    client = client_with(index)
    first = client.get("/search", params={"q": "oil"})
    again = client.get("/search", params={"q": "oil"})
    assert again.json() == first.json() and len(index.bodies) == 2  # hits and facets, once
    index.hits = [hit("a2", title="Oil prices fall"), *index.hits]
    assert client.get("/search", params={"q": "oil"}).json() == first.json()  # not refreshed yet
    index.refreshes += 1  # a shard refreshed: the new article is visible
    fresh = client.get("/search", params={"q": "oil"}).json()
    assert [r["id"] for r in fresh["results"]] == ["a2", "a1"] and len(index.bodies) == 4
    other = client.get("/search", params={"q": "gas"})
    assert other.status_code == 200 and len(index.bodies) == 6  # another request: not the cache's
    client.get("/search", params={"q": "oil", "cursor": first.json()["next_cursor"] or "x"})
