"""The doors of issue 20 on the real stack, as the request and the answer: a large body without a
key, inside webhook addresses, the monitor without an ops key, a revoked key's subscriptions,
streams and feed, admins over everyone's subscriptions, quotas, feed tokens rotated and kept
out of the access log, webhook secrets sealed on the topic, and history pages by cursor."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from shared.contracts.topology import Topic, topic_name
from shared.runtime.kafka import make_reader, topic_partitions
from tests.stack import Pipeline, Receiver, auth, create_key, eventually, newsflow, subscribe


def _marker() -> str:
    return "zq" + "".join(chr(ord("a") + int(c, 16) % 26) for c in uuid.uuid4().hex[:10])


def _article(marker: str) -> dict[str, Any]:
    return {"title": f"{marker.capitalize()} council meets", "body": f"The {marker.capitalize()} "
            "council met on Tuesday to discuss the budget.", "format": "fields"}


async def _fresh_key(pipeline: Pipeline, *scopes: str) -> str:
    key = create_key(pipeline, f"doors {uuid.uuid4().hex[:6]}", *[a for s in scopes for a in ("--scope", s)])

    async def known() -> bool:
        answer = await pipeline.search.get("/subscriptions", headers=auth(key))
        return answer.status_code in (200, 403)

    await eventually(known, "the API to know the new key")
    return key


def _revoke(pipeline: Pipeline, key: str) -> None:
    key_id = key.split("_")[1]
    result = newsflow(pipeline, "keys", "revoke", key_id)
    assert result.returncode == 0, result.stderr


async def _post_huge(port: int, path: str) -> bytes:
    """Announces 100 MB and waits to be asked for it (Expect: 100-continue), as curl does: the
    answer must come before any of the body. No body byte is sent, because a server that closes
    with unread bytes in its socket resets the connection, and the reset can overtake the 413
    on the client's side (a flaky read, not a server fault)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     f"Expect: 100-continue\r\nContent-Length: {100_000_000}\r\n\r\n".encode())
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 10)  # the server closes after its answer
    finally:
        writer.close()


async def test_a_large_body_without_a_key_is_413_at_once(pipeline: Pipeline) -> None:
    settings = pipeline.settings
    for port, path in ((settings.search_port, "/subscriptions:preview"),
                       (settings.monitor_port, "/ops/deadletters:replay")):
        answer = await _post_huge(port, path)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b"the limit is" in answer
    assert (await pipeline.search.get("/health")).status_code == 200


@pytest.mark.parametrize("url", ["http://100.100.100.200/latest/meta-data/", "http://100.64.0.1/hook",
                                 "http://[2002:7f00:1::]/hook", "http://[fec0::1]/hook",
                                 "http://[::ffff:169.254.169.254]/"])
async def test_webhooks_on_inside_addresses_are_refused_without_telling_the_resolution(
        pipeline: Pipeline, url: str) -> None:
    key = await _fresh_key(pipeline)
    answer = await pipeline.search.post("/subscriptions", headers=auth(key),
                                        json={"name": "x", "query": _marker(), "webhook_url": url})
    assert answer.status_code == 400, answer.text
    message = answer.json()["error"]["message"]
    assert "refused" in message and "127.0.0.1" not in message and "resolves" not in message


async def test_the_monitor_takes_an_ops_key_except_for_metrics_and_health(pipeline: Pipeline) -> None:
    anonymous = httpx.AsyncClient(base_url=str(pipeline.monitor.base_url), timeout=30)
    subscriber = await _fresh_key(pipeline)  # read and alerts, not ops
    ops = await _fresh_key(pipeline, "ops")
    async with anonymous:
        async def ops_answer() -> int | None:
            status = (await anonymous.get("/ops/deadletters", headers=auth(ops))).status_code
            known = (await anonymous.get("/ops/deadletters", headers=auth(subscriber))).status_code
            return status if status == 200 and known == 403 else None

        await eventually(ops_answer, "the monitor to know both keys")
        for path in ("/ops/deadletters/1-0", "/ops/deadletters", "/ops/overview"):
            assert (await anonymous.get(path)).status_code == 401
            assert (await anonymous.get(path, headers=auth(subscriber))).status_code == 403
        replay = await anonymous.post("/ops/deadletters/1-0:replay", headers=auth(ops))
        assert replay.status_code == 403  # replays are an admin's
        assert (await anonymous.get("/health")).status_code == 200
        assert (await anonymous.get("/metrics/")).status_code == 200


async def test_revoking_a_key_stops_its_subscriptions_streams_and_feed(
        pipeline: Pipeline, receiver: Receiver) -> None:
    doomed, control = await _fresh_key(pipeline), await _fresh_key(pipeline)
    marker = _marker()
    gone = await subscribe(pipeline, doomed, name="doomed", query=marker,
                           webhook_url=receiver.url(f"gone-{marker}"))
    await subscribe(pipeline, control, name="control", query=marker,
                    webhook_url=receiver.url(f"kept-{marker}"))
    feed = gone["links"]["feed"].split(str(pipeline.search.base_url).rstrip("/"))[-1]
    assert (await pipeline.search.get(feed)).status_code == 200

    opened = asyncio.Event()

    async def stream_until_closed() -> str:
        async with pipeline.search.stream("GET", "/alerts/stream", headers=auth(doomed),
                                          timeout=httpx.Timeout(60)) as response:
            assert response.status_code == 200
            opened.set()
            async for _ in response.aiter_lines():
                pass
        return "closed"

    streaming = asyncio.create_task(stream_until_closed())
    await asyncio.wait_for(opened.wait(), 30)
    await asyncio.to_thread(_revoke, pipeline, doomed)
    assert await asyncio.wait_for(streaming, 30) == "closed"  # the open stream ends

    async def feed_gone() -> bool | None:
        return True if (await pipeline.search.get(feed)).status_code == 404 else None

    await eventually(feed_gone, "the revoked key's feed to answer 404")
    assert (await pipeline.search.get("/subscriptions", headers=auth(doomed))).status_code == 401
    await pipeline.submit(_article(marker))

    async def control_alerted() -> bool | None:
        return True if receiver.requests.get(f"kept-{marker}") else None

    await eventually(control_alerted, "the other key's alert")
    # The same article went through the same matcher and deliverer: the revoked one got nothing.
    assert not receiver.requests.get(f"gone-{marker}")


async def test_admins_list_pause_and_delete_anyones_subscriptions(pipeline: Pipeline) -> None:
    owner = await _fresh_key(pipeline)
    created = await subscribe(pipeline, owner, name="theirs", query=_marker())
    sid = created["subscription_id"]
    admin = {"Authorization": f"Bearer {pipeline.admin_key}"}
    assert (await pipeline.search.get("/subscriptions?all=true", headers=auth(owner))).status_code == 403
    everyone = (await pipeline.search.get("/subscriptions?all=true", headers=admin)).json()
    listed = next(s for s in everyone["subscriptions"] if s["subscription_id"] == sid)
    assert listed["owner"] == owner.split("_")[1]
    paused = await pipeline.search.patch(f"/subscriptions/{sid}", headers=admin, json={"active": False})
    assert paused.status_code == 200 and paused.json()["active"] is False
    assert (await pipeline.search.get(f"/subscriptions/{sid}", headers=auth(owner))).json()["active"] is False
    assert (await pipeline.search.delete(f"/subscriptions/{sid}", headers=admin)).status_code == 204
    assert (await pipeline.search.get(f"/subscriptions/{sid}", headers=auth(owner))).status_code == 404


async def test_quotas_on_subscriptions_and_streams(pipeline: Pipeline) -> None:
    key = await _fresh_key(pipeline)
    limit = pipeline.settings.max_subscriptions_per_key
    nothing = _marker()  # matches no article: these subscriptions cost the matcher nothing
    for n in range(limit):
        await subscribe(pipeline, key, name=f"q{n}", query=nothing)
    over = await pipeline.search.post("/subscriptions", headers=auth(key),
                                      json={"name": "one more", "query": nothing})
    assert over.status_code == 429 and over.json()["error"]["code"] == "quota_exceeded"

    streams: list[Any] = []
    try:
        for _ in range(pipeline.settings.max_streams_per_key):
            context = pipeline.search.stream("GET", "/alerts/stream", headers=auth(key),
                                             timeout=httpx.Timeout(60))
            response = await context.__aenter__()
            assert response.status_code == 200
            streams.append(context)

        async def refused() -> str | None:
            async with pipeline.search.stream("GET", "/alerts/stream", headers=auth(key)) as answer:
                return answer.headers.get("retry-after") if answer.status_code == 429 else None

        assert await eventually(refused, "the stream over the quota to be refused")
    finally:
        for context in streams:
            await context.__aexit__(None, None, None)


async def test_feed_tokens_rotate_and_stay_out_of_the_access_log(pipeline: Pipeline) -> None:
    key = await _fresh_key(pipeline)
    created = await subscribe(pipeline, key, name="feed", query=_marker())
    base = str(pipeline.search.base_url).rstrip("/")
    old = created["links"]["feed"].removeprefix(base)
    assert (await pipeline.search.get(old)).status_code == 200
    rotated = await pipeline.search.post(f"/subscriptions/{created['subscription_id']}/feed:rotate",
                                         headers=auth(key))
    new = rotated.json()["feed"].removeprefix(base)
    assert (await pipeline.search.get(old)).status_code == 404
    assert (await pipeline.search.get(new)).status_code == 200
    log = pipeline.services.processes["search_api"].log_file.read_text()
    assert "/feeds/<token>" in log
    for token in (old, new):
        assert token.rsplit("/", 1)[1] not in log


async def test_webhook_secrets_and_feed_tokens_are_sealed_on_the_topic(
        pipeline: Pipeline, receiver: Receiver) -> None:
    key = await _fresh_key(pipeline)
    created = await subscribe(pipeline, key, name="sealed", query=_marker(),
                              webhook_url=receiver.url("sealed"))
    secret, token = created["webhook_secret"], created["links"]["feed"].rsplit("/", 1)[1]
    reader = make_reader(pipeline.settings)
    await reader.start()
    try:
        partitions = await topic_partitions(reader, topic_name(pipeline.settings, Topic.SUBSCRIPTIONS))
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        ends = await reader.end_offsets(partitions)
        rows: list[bytes] = []
        while any([await reader.position(tp) < end for tp, end in ends.items()]):
            for records in (await reader.getmany(timeout_ms=1000)).values():
                rows.extend(r.value for r in records if r.key == created["subscription_id"].encode())
    finally:
        await reader.stop()
    assert rows
    for row in rows:
        assert secret.encode() not in row and secret.removeprefix("whsec_").encode() not in row
        assert token.encode() not in row and b"fernet:" in row


async def test_history_pages_follow_a_cursor(pipeline: Pipeline) -> None:
    key = await _fresh_key(pipeline)
    marker = _marker()
    created = await subscribe(pipeline, key, name="pages", query=marker, notify_on="article")
    for n in range(3):
        await pipeline.submit({**_article(marker), "title": f"{marker.capitalize()} council meets, day {n}"})
    path = f"/subscriptions/{created['subscription_id']}/alerts"

    async def three() -> dict[str, Any] | None:
        answer = (await pipeline.search.get(path, params={"size": 3}, headers=auth(key))).json()
        return answer if len(answer["alerts"]) == 3 else None

    everything = await eventually(three, "three alerts in the history")
    first = (await pipeline.search.get(path, params={"size": 2}, headers=auth(key))).json()
    assert first["next_cursor"]
    second = (await pipeline.search.get(path, params={"size": 2, "cursor": first["next_cursor"]},
                                        headers=auth(key))).json()
    assert second["next_cursor"] is None
    ids = [a["alert_id"] for a in first["alerts"] + second["alerts"]]
    assert ids == [a["alert_id"] for a in everything["alerts"]] and len(set(ids)) == 3
    bad = await pipeline.search.get(path, params={"cursor": "not-a-cursor"}, headers=auth(key))
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_cursor"
