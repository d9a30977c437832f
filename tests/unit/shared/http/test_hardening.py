"""The doors every API shares, as requests and the answers they get: a body over the limit is
a 413 before any key is checked (search, monitor, ingest), an unknown Host is a 400 when hosts
are named (health and metrics stay open), /docs has the pages' CSP, feed tokens never reach
the access log, and a client that keeps presenting bad keys hears 429 with Retry-After."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import AsyncIterator, Mapping

import httpx
import pytest

from services.ingest.app import create_app as ingest_app
from services.monitor.app import create_app as monitor_app
from services.search_api.app import create_app as search_app
from shared.contracts.alerts import ApiKey
from shared.http.api_keys import FailedKeys, new_key
from shared.http.hardening import ScrubSecrets, install_access_log_scrubbing
from shared.settings import Settings

SETTINGS = Settings(namespace="unit", api_max_body_bytes=100_000)


def client(app: object, host: str = "testserver") -> httpx.AsyncClient:
    # No lifespan: nothing connects to Kafka or Elasticsearch; what answers is the middleware
    # and the routes' own checks.
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
                             base_url=f"http://{host}")


@pytest.mark.parametrize(("make", "path"), [
    (search_app, "/subscriptions:preview"), (search_app, "/subscriptions"),
    (monitor_app, "/ops/deadletters:replay"), (monitor_app, "/ops/deadletters/0-1:replay"),
])
async def test_a_large_body_is_refused_before_the_key_is_checked(make: object, path: str) -> None:
    async with client(make(SETTINGS)) as api:  # type: ignore[operator]
        answer = await api.post(path, content=b"x" * 200_000, headers={"content-type": "application/json"})
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"]["code"] == "too_large"


async def test_a_chunked_body_is_cut_off_at_the_limit() -> None:
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(10_000):  # 640 MB if it were all read
            sent += 1
            yield b"x" * 65_536

    async with client(search_app(SETTINGS)) as api:
        answer = await api.post("/subscriptions:preview", content=endless())
    assert answer.status_code == 413
    assert sent < 10  # the server stopped reading just past 100 KB


async def test_named_hosts_only_except_health_and_metrics() -> None:
    app = search_app(Settings(namespace="unit", allowed_hosts="news.example.org"))
    async with client(app, "rebinding.example") as api:
        assert (await api.get("/docs")).status_code == 400
        assert (await api.get("/metrics/")).status_code == 200
    async with client(app, "news.example.org") as api:
        assert (await api.get("/docs")).status_code == 200


async def test_docs_have_the_pages_content_security_policy() -> None:
    async with client(monitor_app(SETTINGS)) as api:
        answer = await api.get("/docs")
    policy = answer.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    inline = re.findall(r"<script>(.*?)</script>", answer.text, re.S)
    assert inline, "Swagger UI's configuration script"
    for script in inline:  # each inline script is allowed by its hash, and nothing else is
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";")[0]


def test_feed_tokens_are_scrubbed_from_the_access_log(caplog: pytest.LogCaptureFixture) -> None:
    install_access_log_scrubbing()
    access = logging.getLogger("uvicorn.access")
    assert any(isinstance(f, ScrubSecrets) for f in access.filters)
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET",
                    "/feeds/Zk3sEcReT-token_value?x=1", "1.1", 200)
    assert "Zk3sEcReT" not in caplog.text
    assert "/feeds/<token>?x=1" in caplog.text


class StubRing:
    def __init__(self, keys: Mapping[str, ApiKey]) -> None:
        self.keys = keys


async def test_bad_keys_are_throttled_with_retry_after() -> None:
    app = ingest_app(Settings(namespace="unit", failed_key_limit=3, failed_key_window_seconds=60))
    record, good = new_key("desk", ["ingest"])
    app.state.key_ring = StubRing({record.key_id: record})
    app.state.publisher = object()  # never reached: every request here stops at its key
    article = {"title": "T", "body": "B"}
    async with client(app) as api:
        for _ in range(3):
            wrong = {"X-API-Key": f"nf_{record.key_id}_wrong"}
            bad = await api.post("/articles", json=article, headers=wrong)
            assert bad.status_code == 401
        throttled = await api.post("/articles", json=article, headers={"X-API-Key": good})
        assert throttled.status_code == 429
        assert throttled.json()["error"]["code"] == "too_many_failed_keys"
        assert 0 < int(throttled.headers["retry-after"]) <= 60
        # A missing key does not count (a browser opening a page has none yet).
        assert (await api.get("/health")).status_code in (200, 503)


def test_failed_keys_forget_after_the_window_and_stay_bounded() -> None:
    now = [0.0]
    throttle = FailedKeys(limit=2, window_seconds=10, max_clients=3, clock=lambda: now[0])
    throttle.failed("a")
    throttle.failed("a")
    assert throttle.retry_after("a") == 10
    now[0] = 10.5
    assert throttle.retry_after("a") is None
    for client_address in "bcdef":
        throttle.failed(client_address)
    assert len(throttle.clients) == 3
