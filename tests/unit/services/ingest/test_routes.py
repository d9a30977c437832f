"""The ingest API's HTTP behaviour without the stack: TestClient with a fake publisher."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from services.ingest.app import create_app
from services.ingest.deps import get_publisher, health_checks
from shared.contracts.messages import RawArticle
from shared.settings import Settings

SETTINGS = Settings(namespace="unit", max_body_bytes=2_000, max_batch_items=3)


class FakePublisher:
    def __init__(self) -> None:
        self.published: list[RawArticle] = []

    async def publish(self, raw: RawArticle) -> None:
        self.published.append(raw)


def client_with(publisher: FakePublisher, kafka: str = "ok") -> TestClient:
    app = create_app(SETTINGS)
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
    declared = client.post("/articles", content=b"x" * 2_500, headers={"Content-Type": "application/json"})
    assert declared.status_code == 413 and declared.json()["error"]["code"] == "too_large"
    counted = client.post("/articles", json=text("é" * 1_000))  # 2,000 bytes of text + a title
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
