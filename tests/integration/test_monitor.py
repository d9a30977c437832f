"""Ops monitoring on the real stack: lag in messages and seconds while a stage is stopped, the
group's status, latency percentiles, and a dead letter replayed after its cause is gone."""

from __future__ import annotations

import asyncio
import json
import uuid
from subprocess import CompletedProcess
from typing import Any

import httpx
import pytest
from playwright.async_api import async_playwright, expect
from prometheus_client.parser import text_string_to_metric_families
from standardwebhooks.webhooks import Webhook

from tests.conftest import REPO_ROOT
from tests.integration.test_alerts import _article, _marker
from tests.integration.test_search_page import CHROMIUM_ARGS, _chromium
from tests.stack import Pipeline, Receiver, auth, create_key, eventually, newsflow, subscribe

pytestmark = pytest.mark.integration


async def _group(pipeline: Pipeline, stage: str) -> dict[str, Any]:
    groups = (await pipeline.monitor.get("/ops/groups")).json()["groups"]
    return next(g for g in groups if g["stage"] == stage)


async def test_lag_rises_while_enrichment_is_stopped_and_falls_after_it_restarts(
        pipeline: Pipeline) -> None:
    worker = pipeline.services.processes["enrichment"]
    worker.stop()
    try:
        for _ in range(3):
            await pipeline.submit(_article(_marker()))

        async def behind() -> dict[str, Any] | None:
            group = await _group(pipeline, "enrichment")
            stopped = [p for p in group["partitions"] if p["status"] == "STOP"]
            return group if group["lag"] >= 3 and group["lag_seconds"] >= 2 and stopped else None

        group = await eventually(behind, "enrichment's lag and STOP status")
        assert group["status"] == "ERR" and group["workers"] == []
    finally:
        pipeline.services.start("enrichment")

    async def caught_up() -> dict[str, Any] | None:
        group = await _group(pipeline, "enrichment")
        return group if group["lag"] == 0 and group["status"] == "OK" and group["workers"] else None

    group = await eventually(caught_up, "enrichment to catch up")
    assert group["lag_seconds"] == 0


async def test_topics_and_latency_views(pipeline: Pipeline) -> None:
    article_id = await pipeline.submit(_article(_marker()))
    await pipeline.wait_for_article(article_id)

    async def measured() -> dict[str, Any] | None:
        latency = (await pipeline.monitor.get("/ops/latency")).json()["latency"]
        wanted = ("extraction", "enrichment", "linking", "indexing", "ingest_to_indexed")
        return latency if all(latency.get(k, {}).get("count") for k in wanted) else None

    latency = await eventually(measured, "latency for every stage")
    assert 0 < latency["extraction"]["p50"] <= latency["extraction"]["p99"]
    assert latency["ingest_to_indexed"]["p50"] >= latency["enrichment"]["p50"]
    topics = {t["topic"]: t for t in (await pipeline.monitor.get("/ops/topics")).json()["topics"]}
    assert topics["news.raw"]["partitions"] == pipeline.settings.topic_partitions
    raw = topics["news.raw"]
    assert raw["retained"] >= 1 and raw["newest_at"] is not None and raw["oldest_at"] is not None
    assert raw["oldest_at"] <= raw["newest_at"]


async def _dead_lettered(pipeline: Pipeline, stage: str) -> tuple[str, str, dict[str, Any]]:
    """An article the stage dead-letters (a failure injected for its marker), then the stage
    restarted without the failure: (marker, article id, the letter in the dead-letter view)."""
    marker = _marker()
    worker = pipeline.services.processes[stage]
    worker.stop()
    pipeline.services.start(stage, {"NEWSFLOW_INJECT_FAILURE": f"{stage}:{marker}"})
    try:
        article_id = await pipeline.submit(_article(marker))

        async def letter() -> dict[str, Any] | None:
            page = (await pipeline.monitor.get("/ops/deadletters", params={
                "stage": stage, "error_type": "InjectedFailure"})).json()
            return next((x for x in page["letters"] if x["article_id"] == article_id), None)

        found = await eventually(letter, f"the {stage} letter in the dead-letter view")
    finally:
        worker.stop()
        pipeline.services.start(stage)  # the bug is gone
    return marker, article_id, found


async def test_a_dead_letter_is_browsed_inspected_and_replayed_once_after_the_fix(
        pipeline: Pipeline) -> None:
    marker, article_id, found = await _dead_lettered(pipeline, "enrichment")
    detail = (await pipeline.monitor.get(f"/ops/deadletters/{found['id']}")).json()
    assert marker in detail["payload"] and "injected failure" in detail["error"]
    assert detail["headers"]["newsflow-error-stage"] == "enrichment" and detail["replay"] is None
    assert await pipeline.article(article_id) is None

    replayed = await pipeline.monitor.post(f"/ops/deadletters/{found['id']}:replay")
    assert replayed.status_code == 200, replayed.text
    again = await pipeline.monitor.post(f"/ops/deadletters/{found['id']}:replay")
    assert again.status_code == 409  # not twice by accident
    await pipeline.wait_for_article(article_id)
    assert await pipeline.count({"term": {"article_id": article_id}}) == 1

    async def indexed() -> bool:
        detail = (await pipeline.monitor.get(f"/ops/deadletters/{found['id']}")).json()
        return detail["replay"] is not None and detail["replay"]["state"] == "indexed"

    await eventually(indexed, "the replay to show as indexed")
    stats = (await pipeline.monitor.get("/ops/deadletters/stats")).json()
    assert stats["by_stage"]["enrichment"]["InjectedFailure"] >= 1
    assert (await pipeline.monitor.get(f"/ops/deadletters/x{uuid.uuid4().hex}")).status_code == 404


# What the metrics table of docs/operations.md documents, per kind of service.
STAGE_METRICS = {"newsflow_messages_processed", "newsflow_messages_dead_lettered",
                 "newsflow_batch_processing_seconds"}
HTTP_METRICS = {"newsflow_http_requests", "newsflow_http_request_duration_seconds"}
MONITOR_METRICS = {"newsflow_consumer_lag_messages", "newsflow_consumer_lag_seconds",
                   "newsflow_group_status", "newsflow_topic_end_offset", "newsflow_stage_latency_seconds",
                   "newsflow_live_workers", "newsflow_dead_letters"}
EXTRA = {"indexing": {"newsflow_bulk_documents", "newsflow_bulk_retries"},
         "alerting": {"newsflow_alerts_matched"}, "delivery": {"newsflow_delivery_attempts"}}


async def test_every_service_serves_parseable_metrics_with_the_documented_names(
        pipeline: Pipeline) -> None:
    article_id = await pipeline.submit(_article(_marker()))
    await pipeline.wait_for_article(article_id)

    async def all_workers() -> list[dict[str, Any]] | None:
        groups = (await pipeline.monitor.get("/ops/groups")).json()["groups"]
        ready = all(g["workers"] and g["workers"][0]["metrics_port"] for g in groups)
        return groups if ready else None

    groups = await eventually(all_workers, "every stage's worker with its metrics port")
    targets: dict[str, tuple[str, set[str]]] = {
        g["stage"]: (f"http://127.0.0.1:{g['workers'][0]['metrics_port']}/metrics",
                     STAGE_METRICS | EXTRA.get(g["stage"], set())) for g in groups}
    settings = pipeline.settings
    for service, port, wanted in (("ingest", settings.ingest_port, HTTP_METRICS),
                                  ("search_api", settings.search_port, HTTP_METRICS),
                                  ("monitor", settings.monitor_port, HTTP_METRICS | MONITOR_METRICS)):
        targets[service] = (f"http://127.0.0.1:{port}/metrics/", wanted)
    async with httpx.AsyncClient(timeout=10, follow_redirects=True) as client:
        for service, (url, wanted) in targets.items():
            response = await client.get(url)
            assert response.status_code == 200, (service, url)
            families = {f.name: f for f in text_string_to_metric_families(response.text)}
            assert wanted <= set(families), (service, wanted - set(families))
            if service in ("extraction", "enrichment", "indexing", "alerting"):  # saw the article
                stages = {s.labels.get("stage") for s in families["newsflow_messages_processed"].samples}
                assert service in stages, (service, stages)
        monitor = (await client.get(targets["monitor"][0])).text
    assert 'newsflow_group_status{stage="enrichment"}' in monitor


async def test_status_and_deadletters_commands(pipeline: Pipeline) -> None:
    async def all_ok() -> CompletedProcess[str] | None:
        shown = await asyncio.to_thread(newsflow, pipeline, "status")
        return shown if shown.returncode == 0 else None  # 1 while a stage is not OK

    shown = await eventually(all_ok, "`newsflow status` to exit 0")
    for stage in ("extraction", "enrichment", "indexing", "alerting", "delivery"):
        assert stage in shown.stdout
    as_json = await asyncio.to_thread(newsflow, pipeline, "status", "--json")
    assert {g["status"] for g in json.loads(as_json.stdout)["groups"]} == {"OK"}, as_json.stdout
    listed = await asyncio.to_thread(newsflow, pipeline, "deadletters", "list", "--stage", "enrichment")
    assert listed.returncode == 0 and "InjectedFailure" in listed.stdout, listed.stdout + listed.stderr
    refused = await asyncio.to_thread(newsflow, pipeline, "deadletters", "replay")
    assert refused.returncode == 2


async def test_a_filtered_replay_lists_first_and_sends_with_execute(pipeline: Pipeline) -> None:
    _, article_id, found = await _dead_lettered(pipeline, "extraction")
    args = ("deadletters", "replay", "--stage", "extraction", "--error-type", "InjectedFailure")
    planned = await asyncio.to_thread(newsflow, pipeline, *args, "--json")
    plan = json.loads(planned.stdout)
    assert planned.returncode == 0 and plan["dry_run"] is True and found["id"] in plan["replayed"]
    detail = (await pipeline.monitor.get(f"/ops/deadletters/{found['id']}")).json()
    assert detail["replay"] is None  # listed, not sent
    done = await asyncio.to_thread(newsflow, pipeline, *args, "--execute")
    assert done.returncode == 0 and f"replayed {len(plan['replayed'])}" in done.stdout, done.stdout
    await pipeline.wait_for_article(article_id)


async def test_ops_page_shows_a_stopped_stage_and_replays_a_letter(pipeline: Pipeline) -> None:
    marker = _marker()
    extraction = pipeline.services.processes["extraction"]
    extraction.stop()
    pipeline.services.start("extraction", {"NEWSFLOW_INJECT_FAILURE": f"extraction:{marker}"})
    article_id = await pipeline.submit(_article(marker))

    async def lettered() -> dict[str, Any] | None:
        page = (await pipeline.monitor.get("/ops/deadletters", params={"stage": "extraction"})).json()
        return next((x for x in page["letters"] if x["article_id"] == article_id), None)

    letter = await eventually(lettered, "the extraction letter")
    extraction.stop()  # stays stopped until the page has shown it
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 1500, "height": 1000})
        await page.goto(f"http://127.0.0.1:{pipeline.settings.monitor_port}/")
        # Without a key the page shows nothing of the pipeline, and says what it needs.
        await expect(page.locator("#updated")).to_contain_text("an API key is required", timeout=20_000)
        assert await page.locator(".stage").count() == 0
        ops_key = create_key(pipeline, "ops desk", "--scope", "ops")
        await page.fill("#api-key", ops_key)
        await pipeline.submit(_article(_marker()))  # lag for the stopped stage
        stage = page.locator('.stage[data-stage="extraction"]')
        await expect(stage.locator(".status")).to_have_text("ERR", timeout=60_000)
        await expect(stage.locator(".workers")).to_have_text("0")
        pipeline.services.start("extraction")  # the fault is gone
        await expect(stage.locator(".status")).to_have_text("OK", timeout=60_000)

        row = page.locator(f'#letters tr[data-id="{letter["id"]}"]')
        await row.locator("a.inspect").click()
        await expect(page.locator("#letter")).to_contain_text("injected failure")
        await row.locator("button.replay").click()  # an ops key reads; replays are an admin's
        await expect(page.locator("#message")).to_contain_text("no 'admin' scope")
        await page.fill("#api-key", pipeline.admin_key)
        await row.locator("button.replay").click()
        await expect(page.locator("#message")).to_contain_text(f"Replayed {letter['id']}")
        await pipeline.wait_for_article(article_id)
        await expect(row.locator(".replay-state")).to_have_text("pending", timeout=20_000)
        await page.screenshot(path=str(REPO_ROOT / "test-output" / "screenshots" / "ops-page.png"))
        await browser.close()
    assert await pipeline.count({"term": {"article_id": article_id}}) == 1


async def test_ops_subscribers_get_a_signed_webhook_when_a_stage_leaves_ok_and_returns(
        pipeline: Pipeline, keys: tuple[str, str], receiver: Receiver) -> None:
    mine, _ = keys
    path = f"ops-{uuid.uuid4().hex[:8]}"
    created = await subscribe(pipeline, mine, name="ops", kind="ops", webhook_url=receiver.url(path))
    refused = await pipeline.search.post("/subscriptions", headers=auth(mine),
                                         json={"name": "x", "kind": "ops", "query": "a"})
    assert refused.status_code == 400

    def titles() -> list[str]:
        return [json.loads(r.body)["data"]["title"] for r in receiver.requests.get(path, [])]

    async def told(title: str) -> bool:
        return title in titles()

    pipeline.services.processes["extraction"].stop()
    try:
        await pipeline.submit(_article(_marker()))
        await eventually(lambda: told("extraction: OK → ERR"), "the ops webhook for ERR")
    finally:
        pipeline.services.start("extraction")
    await eventually(lambda: told("extraction: ERR → OK"), "the ops webhook for OK again")
    for request in receiver.requests[path]:
        Webhook(created["webhook_secret"]).verify(request.body, request.headers)
