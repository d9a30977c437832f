"""Keyword alerts on the real stack: keys and ownership, the seeds' story alerting once (or per
article), signed webhooks through failures, a stopped matcher, the live stream and feed, the
preview, and alerts while Elasticsearch is down."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from typing import Any

import httpx
import pytest
from playwright.async_api import async_playwright, expect
from standardwebhooks.webhooks import Webhook

from deploy.local.stack import Stack
from shared.contracts.topology import Stage, spec
from shared.runtime.kafka import consumer_lag
from tests.conftest import REPO_ROOT
from tests.integration.test_search_page import CHROMIUM_ARGS, _chromium
from tests.stack import Pipeline, Receiver, auth, eventually, subscribe

pytestmark = pytest.mark.integration


def _text(content: str, url: str | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"format": "text", "content": content, "source": {"name": "tests"}}
    if url:
        payload["url"] = url
    return payload


def _marker() -> str:
    # A made-up word only this test's articles contain (letters only: alerts match words).
    return "zq" + "".join(chr(ord("a") + int(c, 16) % 26) for c in uuid.uuid4().hex[:10])


def _article(marker: str) -> dict[str, Any]:
    # Made-up names all through the text: articles of different tests must not look like
    # near-duplicates of each other (duplicates never alert).
    a, b, c = _marker().title(), _marker().title(), _marker().title()
    return _text(f"Port authority of {marker} reopens the harbour\nThe port authority of {marker} "
                 f"reopened the harbour on Tuesday, said {a} {b}. Repairs led by {c} to the "
                 f"breakwater of {marker} were finished early, {a} told the {c} council.")


async def _alerts_settled(pipeline: Pipeline) -> bool:
    stages = [spec(Stage.ALERTING), spec(Stage.DELIVERY), spec(Stage.ENRICHMENT), spec(Stage.EXTRACTION),
              spec(Stage.HISTORY), spec(Stage.DELIVERY_HISTORY)]
    return all([await consumer_lag(pipeline.settings, s) == 0 for s in stages])


async def test_keys_see_and_change_only_their_own_subscriptions(
        pipeline: Pipeline, keys: tuple[str, str]) -> None:
    mine, other = keys
    created = await subscribe(pipeline, mine, name="mine", query="Guterres")
    sid = created["subscription_id"]
    assert (await pipeline.search.get("/subscriptions")).status_code == 401
    assert (await pipeline.search.get("/subscriptions", headers=auth("nf_kzzz_nope"))).status_code == 401
    for method, path, body in (("GET", f"/subscriptions/{sid}", None),
                               ("PATCH", f"/subscriptions/{sid}", {"name": "stolen"}),
                               ("DELETE", f"/subscriptions/{sid}", None),
                               ("GET", f"/subscriptions/{sid}/alerts", None)):
        response = await pipeline.search.request(method, path, json=body, headers=auth(other))
        assert response.status_code == 404, (method, path, response.text)
    listed = (await pipeline.search.get("/subscriptions", headers=auth(other))).json()
    assert sid not in [s["subscription_id"] for s in listed["subscriptions"]]
    still = (await pipeline.search.get(f"/subscriptions/{sid}", headers=auth(mine))).json()
    assert still["name"] == "mine"
    changed = await pipeline.search.patch(f"/subscriptions/{sid}", headers=auth(mine),
                                          json={"name": "renamed", "active": False, "digest": None})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["active"], changed.json()["digest"]) == \
        ("renamed", False, "immediate")
    refused = await pipeline.search.patch(f"/subscriptions/{sid}", headers=auth(mine),
                                          json={"query": "北朝鮮"})
    assert refused.status_code == 400 and refused.json()["error"]["details"]["position"] == 0
    assert (await pipeline.search.delete(f"/subscriptions/{sid}", headers=auth(mine))).status_code == 204
    assert (await pipeline.search.get(f"/subscriptions/{sid}", headers=auth(mine))).status_code == 404


async def test_alerts_take_wildcards_and_proximity_and_refuse_what_search_refuses(
        pipeline: Pipeline, keys: tuple[str, str]) -> None:
    mine, _ = keys
    for query in ("tariff* AND country:CN", "flood~1 Portugal", '"peace talk*"', "sanc* NEAR/5 Russia"):
        accepted = await pipeline.search.post("/subscriptions", json={"name": "desk", "query": query},
                                              headers=auth(mine))
        assert accepted.status_code == 201, (query, accepted.text)
        await pipeline.search.delete(f"/subscriptions/{accepted.json()['subscription_id']}",
                                     headers=auth(mine))
    for body, code in (({"name": "x", "query": "北朝鮮"}, "bad_query"),  # cut into characters
                       ({"name": "x", "query": "peace NEAR/3 talks~"}, "bad_query"),
                       ({"name": "x", "query": "country:KP*"}, "bad_query"),
                       ({"name": "x", "query": "(unclosed"}, "bad_query"),
                       ({"name": "x"}, "bad_query"),
                       ({"name": "x", "query": "a", "filters": {"colour": ["red"]}}, "bad_filter"),
                       ({"name": "x", "query": "a", "webhook_url": "http://169.254.169.254/latest"},
                        "bad_destination"),
                       ({"name": "x", "query": "a", "webhook_url": "http://10.1.2.3/hook"},
                        "bad_destination")):
        response = await pipeline.search.post("/subscriptions", json=body, headers=auth(mine))
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"]["code"] == code


async def test_seeds_alert_once_per_story_or_once_per_article(
        pipeline: Pipeline, keys: tuple[str, str], receiver: Receiver, seed_000: str, seed_004: str,
) -> None:
    mine, _ = keys
    run = uuid.uuid4().hex[:8]
    per_story = await subscribe(pipeline, mine, name="story", query="Feltman OR Guterres",
                                webhook_url=receiver.url(f"story-{run}"))
    per_article = await subscribe(pipeline, mine, name="every", query="Feltman OR Guterres",
                                  notify_on="article", webhook_url=receiver.url(f"every-{run}"))
    # As other tests submit them: the same ids whichever test runs first (the subscriptions
    # are new, so an earlier pass of the seeds alerted nobody here).
    await pipeline.submit(_text(seed_000))
    await pipeline.submit(_text(seed_004))

    await eventually(lambda: receiver.has_at_least(f"every-{run}", 2), "two per-article alerts")
    await eventually(lambda: receiver.has_at_least(f"story-{run}", 1), "the story alert")
    await eventually(lambda: _alerts_settled(pipeline), "the alert stages to be idle")
    assert len(receiver.alert_ids(f"story-{run}")) == 1, [r.body for r in receiver.requests[f"story-{run}"]]
    assert len(set(receiver.alert_ids(f"every-{run}"))) == 2
    for path, subscription in ((f"story-{run}", per_story), (f"every-{run}", per_article)):
        for request in receiver.requests[path]:
            payload = Webhook(subscription["webhook_secret"]).verify(request.body, request.headers)
            assert payload["data"]["subscription_id"] == subscription["subscription_id"]
            # why it fired: the name found, where, and a passage around it
            found = {term for m in payload["data"]["matched"] for term in m["terms"]}
            assert found & {"feltman", "guterres"}, payload["data"]["matched"]
            assert re.search("Feltman|Guterres", payload["data"]["snippet"])

    async def in_history() -> dict[str, Any] | None:
        # The history is searched (refreshed each second): what the stage wrote shows soon after.
        history = (await pipeline.search.get(f"/subscriptions/{per_story['subscription_id']}/alerts",
                                             headers=auth(mine))).json()
        alerts = history["alerts"]
        settled = len(alerts) == 1 and alerts[0]["updates"] and alerts[0]["deliveries"]
        return history if settled else None

    history = await eventually(in_history, "the story's alert, its update and delivery in the history")
    assert len(history["alerts"]) == 1
    alert = history["alerts"][0]
    assert alert["alert_id"] == receiver.alert_ids(f"story-{run}")[0]
    assert len(alert["updates"]) == 1  # the second seed, counted on the story's alert
    assert [d["state"] for d in alert["deliveries"]] == ["delivered"]


async def test_receiver_failing_twice_gets_the_alert_once_signed_with_one_id(
        pipeline: Pipeline, keys: tuple[str, str], receiver: Receiver) -> None:
    mine, _ = keys
    marker = _marker()
    path = f"flaky-{marker}"
    receiver.fail[path] = 2
    created = await subscribe(pipeline, mine, name="flaky", query=marker, webhook_url=receiver.url(path))
    await pipeline.submit(_article(marker))

    await eventually(lambda: receiver.has_at_least(path, 3), "the third attempt")
    await eventually(lambda: _alerts_settled(pipeline), "the alert stages to be idle")
    ids = receiver.alert_ids(path)
    assert len(ids) == 3 and len(set(ids)) == 1
    for request in receiver.requests[path]:
        Webhook(created["webhook_secret"]).verify(request.body, request.headers)

    async def delivered() -> dict[str, Any] | None:
        history = (await pipeline.search.get(f"/subscriptions/{created['subscription_id']}/alerts",
                                             headers=auth(mine))).json()
        alerts = history["alerts"]
        states = alerts[0]["deliveries"] if alerts else []
        return alerts[0] if states and states[0]["state"] == "delivered" else None

    alert = await eventually(delivered, "the history to say delivered")
    assert alert["deliveries"][0]["attempts"] == 3 and alert["deliveries"][0]["channel"] == "webhook"


async def test_stopped_matcher_resumes_without_losing_or_repeating(
        pipeline: Pipeline, keys: tuple[str, str], receiver: Receiver) -> None:
    mine, _ = keys
    markers = [_marker() for _ in range(3)]
    path = f"restart-{markers[0]}"
    await subscribe(pipeline, mine, name="restart", query=" OR ".join(markers),
                    notify_on="article", webhook_url=receiver.url(path))
    matcher = pipeline.services.processes["alerts"]
    await pipeline.submit(_article(markers[0]))
    await eventually(lambda: receiver.has_at_least(path, 1), "the first alert")
    matcher.kill()  # SIGKILL: no goodbye, no final commit
    await pipeline.submit(_article(markers[1]))
    await pipeline.submit(_article(markers[2]))
    pipeline.services.start("alerts")
    await eventually(lambda: receiver.has_at_least(path, 3), "the alerts after the restart")
    await eventually(lambda: _alerts_settled(pipeline), "the alert stages to be idle")
    ids = receiver.alert_ids(path)
    assert len(ids) == 3 and len(set(ids)) == 3


async def test_live_stream_resumes_from_last_event_id_and_feed_lists_alerts(
        pipeline: Pipeline, keys: tuple[str, str]) -> None:
    mine, _ = keys
    markers = [_marker(), _marker()]
    created = await subscribe(pipeline, mine, name="live", query=" OR ".join(markers),
                              notify_on="article")
    sid = created["subscription_id"]
    url = f"/subscriptions/{sid}/stream"
    await pipeline.submit(_article(markers[0]))
    first = await _next_sse_event(pipeline, url, mine, None)
    assert first["event"] == "alert" and markers[0] in json.loads(first["data"])["title"]
    await pipeline.submit(_article(markers[1]))
    # Resuming after the first event gives the second, not the first again.
    second = await _next_sse_event(pipeline, url, mine, first["id"])
    assert markers[1] in json.loads(second["data"])["title"]
    assert int(second["id"]) > int(first["id"])

    feed_url = created["links"]["feed"].split(str(pipeline.search.base_url).rstrip("/"))[-1]

    async def both_in_feed() -> httpx.Response | None:
        feed = await pipeline.search.get(feed_url)
        text = feed.text.lower()
        return feed if all(m.lower() in text for m in markers[:2]) else None

    feed = await eventually(both_in_feed, "both alerts in the feed (from the alert history)")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/atom+xml")
    assert (await pipeline.search.get("/feeds/not-a-token")).status_code == 404


async def _next_sse_event(pipeline: Pipeline, url: str, key: str,
                          last_id: str | None) -> dict[str, str]:
    headers = auth(key) | ({"Last-Event-ID": last_id} if last_id else {})
    async with asyncio.timeout(90):
        async with pipeline.search.stream("GET", url, headers=headers,
                                          timeout=httpx.Timeout(90)) as response:
            assert response.status_code == 200
            event: dict[str, str] = {}
            async for line in response.aiter_lines():
                if not line:
                    if "data" in event:
                        return event
                    event = {}
                    continue
                name, _, value = line.partition(":")
                event[name] = value.strip()
    raise AssertionError("the stream ended")


async def test_preview_counts_the_last_seven_days(
        pipeline: Pipeline, keys: tuple[str, str]) -> None:
    mine, _ = keys
    marker = _marker()
    article_id = await pipeline.submit(_article(marker))
    await pipeline.wait_for_article(article_id)
    response = await pipeline.search.post("/subscriptions:preview", json={"query": marker},
                                          headers=auth(mine))
    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["articles"] == 1 and len(preview["per_day"]) == 7
    assert sum(day["count"] for day in preview["per_day"]) == 1
    assert [e["id"] for e in preview["examples"]] == [article_id]
    refused = await pipeline.search.post("/subscriptions:preview", json={"query": "harb* NEAR/2 x~"},
                                         headers=auth(mine))
    assert refused.status_code == 400


async def test_page_alert_me_lists_the_subscription_and_shows_alerts_live(
        pipeline: Pipeline, keys: tuple[str, str]) -> None:
    mine, _ = keys
    marker = _marker()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 1400, "height": 900})
        base = f"http://127.0.0.1:{pipeline.settings.search_port}"
        await page.goto(f"{base}/")
        await page.fill("#api-key", mine)
        await page.fill("#q", "北朝鮮")  # alerts refuse words cut into characters: the page says why
        await page.click("#alert-me")
        await expect(page.locator("#alert-status")).to_contain_text("Latin script")
        await page.fill("#q", marker)
        await page.click("#alert-me")
        await expect(page.locator("#alert-status")).to_contain_text(f"Alert created: {marker}")

        await page.goto(f"{base}/alerts")  # the key was kept in this browser
        await expect(page.locator(".subscription h2", has_text=marker)).to_be_visible()
        await expect(page.locator("#live-state")).to_have_text("live")
        await pipeline.submit(_article(marker))
        await expect(page.locator("#live-alerts li").first).to_contain_text(
            f"Port authority of {marker}", timeout=60_000)
        await page.screenshot(path=str(REPO_ROOT / "test-output" / "screenshots" / "alerts-page.png"))
        await browser.close()


async def test_alerts_arrive_while_elasticsearch_is_down(
        pipeline: Pipeline, keys: tuple[str, str], receiver: Receiver, stack: Stack) -> None:
    mine, _ = keys
    marker = _marker()
    path = f"no-es-{marker}"
    created = await subscribe(pipeline, mine, name="no es", query=marker, webhook_url=receiver.url(path))
    stream = f"/subscriptions/{created['subscription_id']}/stream"
    stack.es.stop()
    try:
        await pipeline.submit(_article(marker))
        await eventually(lambda: receiver.has_at_least(path, 1), "an alert with Elasticsearch down")
        # Streams go on without Elasticsearch too: resuming from the start of what is kept.
        event = await _next_sse_event(pipeline, stream, mine, "-1")
        assert marker in json.loads(event["data"])["title"]
        history = await pipeline.search.get(f"/subscriptions/{created['subscription_id']}/alerts",
                                            headers=auth(mine))
        assert history.status_code == 503 and history.json()["error"]["code"] == "history_unavailable"
    finally:
        await asyncio.to_thread(stack.up)
    assert len(receiver.alert_ids(path)) == 1

    async def caught_up() -> dict[str, Any] | None:
        answer = await pipeline.search.get(f"/subscriptions/{created['subscription_id']}/alerts",
                                           headers=auth(mine))
        alerts = answer.json().get("alerts") if answer.status_code == 200 else None
        return alerts[0] if alerts and alerts[0]["deliveries"] else None

    alert = await eventually(caught_up, "the history to catch up once Elasticsearch is back")
    assert alert["alert_id"] == receiver.alert_ids(path)[0]
    assert alert["deliveries"][0]["state"] == "delivered"
