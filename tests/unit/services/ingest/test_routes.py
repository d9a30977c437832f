"""The ingest API's HTTP behaviour without the stack: TestClient with a fake publisher."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

from fastapi.testclient import TestClient

from services.ingest.app import create_app
from services.ingest.deps import get_publisher, health_checks
from shared.contracts.alerts import ApiKey
from shared.contracts.messages import RawArticle
from shared.http.api_keys import new_key, revoked
from shared.settings import Settings

SETTINGS = Settings(namespace="unit", max_body_bytes=2_000, max_batch_items=3,
                    max_batch_bytes=100_000, publish_timeout_seconds=0.2, require_ingest_key=False)
REQUEST_LIMIT = 2 * 2_000 + 64_000  # twice the text (JSON escapes) plus the other fields


class FakePublisher:
    def __init__(self, hang: bool = False) -> None:
        self.published: list[RawArticle] = []
        self.hang = hang

    async def publish(self, raw: RawArticle) -> None:
        if self.hang:  # a broker that never acknowledges
            await asyncio.Event().wait()
        self.published.append(raw)


def client_with(publisher: FakePublisher, kafka: str = "ok", settings: Settings = SETTINGS) -> TestClient:
    app = create_app(settings)
    app.dependency_overrides[get_publisher] = lambda: publisher

    async def checks() -> dict[str, str]:
        return {"kafka": kafka}

    app.dependency_overrides[health_checks] = checks
    return TestClient(app)


def text(content: str = "Headline\nFirst paragraph.", **extra: Any) -> dict[str, Any]:
    return {"format": "text", "content": content, **extra}


def test_an_article_is_published_with_its_id_and_client() -> None:
    publisher = FakePublisher()
    answer = client_with(publisher).post("/articles", json=text(), headers={"User-Agent": "t/1"})
    assert answer.status_code == 202
    (raw,) = publisher.published
    assert answer.json() == {"article_id": raw.article_id, "status": "accepted"}
    assert raw.source.client == "t/1"


def test_invalid_submissions_are_422_with_the_reason_and_nothing_is_published() -> None:
    publisher = FakePublisher()
    client = client_with(publisher)
    for payload in ({"format": "text"}, {"format": "pdf", "content": "x"},
                    text(url="ftp://example.com/a"), {"format": "fields", "title": "T"}):
        answer = client.post("/articles", json=payload)
        assert answer.status_code == 422, payload
        assert answer.json()["error"]["code"] == "invalid_request"
    assert client.post("/articles", content=b"{not json",
                       headers={"Content-Type": "application/json"}).status_code == 422
    assert publisher.published == []


def test_too_large_is_413_whether_declared_or_counted() -> None:
    client = client_with(FakePublisher())
    declared = client.post("/articles", content=b"x" * (REQUEST_LIMIT + 1),
                           headers={"Content-Type": "application/json"})
    assert declared.status_code == 413 and declared.json()["error"]["code"] == "too_large"
    counted = client.post("/articles", json=text("é" * 1_001))  # 2,002 bytes of text
    assert counted.status_code == 413


def test_a_batch_rejects_only_its_bad_items() -> None:
    publisher = FakePublisher()
    answer = client_with(publisher).post("/articles:batch", json=[
        text("One\nFirst."), {"format": "text"}, text("x" * 2_001)])
    assert answer.status_code == 200
    body = answer.json()
    assert (body["accepted"], body["rejected"]) == (1, 2)
    assert [r["status"] for r in body["results"]] == ["accepted", "rejected", "rejected"]
    assert "limit" in body["results"][2]["reason"] and len(publisher.published) == 1


def test_a_batch_over_the_item_limit_is_413() -> None:
    answer = client_with(FakePublisher()).post("/articles:batch", json=[text()] * 4)
    assert answer.status_code == 413 and "limit is 3" in answer.json()["error"]["message"]


def test_health_follows_kafka() -> None:
    assert client_with(FakePublisher()).get("/health").status_code == 200
    down = client_with(FakePublisher(), kafka="unreachable").get("/health")
    assert down.status_code == 503 and down.json()["kafka"] == "unreachable"


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit() -> None:
    sent = []

    def chunks() -> Iterator[bytes]:  # no Content-Length: the body must be counted
        for _ in range(1_000):
            sent.append(1)
            yield b"x" * 10_000

    answer = client_with(FakePublisher()).post("/articles", content=chunks(),
                                               headers={"Content-Type": "application/json"})
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "too_large"
    assert "limit is 68000" in answer.json()["error"]["message"]


def test_a_batch_has_a_byte_limit_of_its_own_and_the_same_item_limit_as_one_article() -> None:
    publisher = FakePublisher()
    client = client_with(publisher)
    exactly = text("Title\n" + "x" * 1_994)  # content of exactly max_body_bytes bytes
    assert len(exactly["content"].encode()) == 2_000
    assert client.post("/articles", json=exactly).status_code == 202
    batch = client.post("/articles:batch", json=[exactly])
    assert batch.status_code == 200 and batch.json()["accepted"] == 1
    big = client.post("/articles:batch", content=json.dumps([text("y" * 60_000)] * 2).encode(),
                      headers={"Content-Type": "application/json"})
    assert big.status_code == 413 and "limit is 100000" in big.json()["error"]["message"]


def test_a_batch_item_that_is_not_an_object_rejects_only_itself() -> None:
    publisher = FakePublisher()
    answer = client_with(publisher).post("/articles:batch", json=[text(), 7, None])
    assert answer.status_code == 200
    body = answer.json()
    assert (body["accepted"], body["rejected"]) == (1, 2)
    assert body["results"][1]["reason"] == "item: not an object but int"
    assert body["results"][2]["reason"] == "item: not an object but NoneType"


def test_lone_surrogates_are_replaced_not_a_500() -> None:
    publisher = FakePublisher()
    client = client_with(publisher)
    lone = '{"format": "fields", "title": "T", "body": "Body \\ud800 here.", "authors": ["A\\udfff"], ' \
           '"source": {"name": "W\\ud800"}}'
    answer = client.post("/articles", content=lone.encode(), headers={"Content-Type": "application/json"})
    assert answer.status_code == 202, answer.text
    (raw,) = publisher.published
    assert raw.body == "Body \ufffd here." and raw.authors == ["A\ufffd"]
    assert raw.source.name == "W\ufffd"
    # A valid pair written as two escapes is one character; a batch item is cleaned alike.
    pair = '[{"format": "text", "content": "Smile \\ud83d\\ude00\\nBody text here."}, {"format": 1}]'
    batch = client.post("/articles:batch", content=pair.encode(),
                        headers={"Content-Type": "application/json"})
    assert batch.status_code == 200 and batch.json()["accepted"] == 1
    assert publisher.published[-1].content == "Smile \U0001F600\nBody text here."
    # The connection still works afterwards.
    assert client.get("/health").status_code == 200


def test_zalgo_runs_are_cut_to_two_marks_a_character() -> None:
    publisher = FakePublisher()
    zalgo = "Se" + "\u0301" * 5000 + "oul is the capital."
    assert client_with(publisher).post("/articles", json=text(f"Title\n{zalgo}")).status_code == 202
    assert publisher.published[0].content == "Title\nSe\u0301\u0301oul is the capital."


def test_implausible_publication_dates_are_clamped() -> None:
    publisher = FakePublisher()
    client = client_with(publisher)
    for when in ("0001-01-01T00:00:00Z", "9999-12-31T00:00:00Z", "2025-06-01T08:30:00+01:00"):
        assert client.post("/articles", json=text(f"T\nBody {when}", published_at=when)).status_code == 202
    ancient, future, fine = (raw.published_at for raw in publisher.published)
    assert ancient is None
    assert future is not None and future.year < 3000
    assert fine is not None and fine.isoformat() == "2025-06-01T08:30:00+01:00"


def test_a_broker_that_does_not_acknowledge_gets_503_with_retry_after() -> None:
    client = client_with(FakePublisher(hang=True))
    answer = client.post("/articles", json=text())
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert answer.json()["error"]["code"] == "unavailable"
    batch = client.post("/articles:batch", json=[text()])
    assert batch.status_code == 503


class FakeKeyRing:
    def __init__(self, *records: ApiKey) -> None:
        self.keys = {record.key_id: record for record in records}


def test_with_keys_required_only_an_ingest_key_publishes_and_names_the_client() -> None:
    publisher = FakePublisher()
    settings = SETTINGS.model_copy(update={"require_ingest_key": True})
    ingest, ingest_key = new_key("Wire desk", ["ingest"])
    reader, reader_key = new_key("a reader", ["read", "alerts"])
    revoked_record, revoked_key = new_key("gone", ["ingest"])
    client = client_with(publisher, settings=settings)
    client.app.state.key_ring = FakeKeyRing(ingest, reader, revoked(revoked_record))  # type: ignore[attr-defined]
    spoof = text(source={"name": "Reuters", "client": "reuters-feed"})
    assert_error(client.post("/articles", json=spoof), 401, "unauthenticated")
    assert_error(client.post("/articles", json=spoof, headers={"X-API-Key": revoked_key}), 401, "bad_key")
    assert_error(client.post("/articles", json=spoof, headers={"X-API-Key": "nf_kzzz_nope"}), 401, "bad_key")
    forbidden = client.post("/articles:batch", json=[spoof],
                            headers={"Authorization": f"Bearer {reader_key}"})
    assert_error(forbidden, 403, "forbidden")
    assert "ingest" in forbidden.json()["error"]["message"]
    assert publisher.published == []
    accepted = client.post("/articles", json=spoof, headers={"Authorization": f"Bearer {ingest_key}"})
    assert accepted.status_code == 202
    assert publisher.published[0].source.client == "Wire desk"  # the key's name, not the claim


def test_keys_not_loaded_yet_is_503_not_401() -> None:
    settings = SETTINGS.model_copy(update={"require_ingest_key": True})
    answer = client_with(FakePublisher(), settings=settings).post(
        "/articles", json=text(), headers={"X-API-Key": "nf_k1_x"})
    assert_error(answer, 503, "starting")


def assert_error(answer: Any, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code


def test_the_api_docs_load_swagger_ui_from_this_server_not_a_cdn() -> None:
    client = client_with(FakePublisher())
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower() and "/docs-assets/swagger-ui-bundle.js" in page.text
    script = client.get("/docs-assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.text
    assert client.get("/docs-assets/swagger-ui.css").status_code == 200


def test_no_cross_origin_access_is_granted() -> None:
    from services.search_api.app import create_app as create_search_app

    for app in (client_with(FakePublisher()), TestClient(create_search_app(Settings(namespace="unit")))):
        preflight = app.options("/articles", headers={"Origin": "https://evil.example",
                                                      "Access-Control-Request-Method": "POST"})
        answer = app.get("/docs", headers={"Origin": "https://evil.example"})
        for response in (preflight, answer):
            assert not any(h.lower().startswith("access-control-") for h in response.headers)
