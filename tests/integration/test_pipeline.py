"""The whole pipeline on the real stack: HTTP in, Kafka through four workers, search out."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid

import httpx
import pytest

from shared.contracts.topology import Topic, consuming_stages, topic_name
from shared.runtime.kafka import consumer_lag, make_producer
from tests.stack import Pipeline, auth, create_key, eventually

pytestmark = pytest.mark.integration

SEED_000_TITLE = "Breaking the Deadlock? S. Korean Adviser Urges UN Chief to Visit Pyongyang"


def _text(content: str) -> dict[str, object]:
    return {"format": "text", "content": content, "source": {"name": "tests"}}


def _story(marker: str) -> str:
    return (f"Harbour strike ends in {marker}\n"
            f"Dock workers in {marker} returned to work on Monday after a two-week strike. "
            "Union leaders said the new contract raised wages by six percent.")


async def _pipeline_idle(pipeline: Pipeline) -> bool:
    lags = [await consumer_lag(pipeline.settings, stage) for stage in consuming_stages()]
    return all(lag == 0 for lag in lags)


async def test_seeds_become_searchable_with_entities(
    pipeline: Pipeline, seed_000: str, seed_004: str
) -> None:
    id_000 = await pipeline.submit(_text(seed_000))
    id_004 = await pipeline.submit(_text(seed_004))
    article_000 = await pipeline.wait_for_article(id_000)
    article_004 = await pipeline.wait_for_article(id_004)

    assert article_000["title"] == SEED_000_TITLE
    assert {"Antonio Guterres", "Wi Sung-lac"} <= set(article_000["people"])
    assert {"Jeffrey Feltman", "Rex Tillerson"} <= set(article_004["people"])
    assert article_000["language"] == "en"

    response = await pipeline.search.get("/search", params={"q": "Guterres Pyongyang"})
    assert response.status_code == 200
    body = response.json()
    assert id_000 in [hit["id"] for hit in body["results"]]
    people_facet = {bucket["value"] for bucket in body["facets"]["people"]}
    assert {"Antonio Guterres", "Wi Sung-lac"} <= people_facet
    hit = next(hit for hit in body["results"] if hit["id"] == id_000)
    assert "<mark>" in json.dumps(hit["highlights"])


async def test_facet_filter_narrows_results(pipeline: Pipeline, seed_000: str, seed_004: str) -> None:
    id_000 = await pipeline.submit(_text(seed_000))
    id_004 = await pipeline.submit(_text(seed_004))
    await pipeline.wait_for_article(id_000)
    await pipeline.wait_for_article(id_004)
    response = await pipeline.search.get("/search", params={"person": "Jeffrey Feltman"})
    ids = [hit["id"] for hit in response.json()["results"]]
    assert id_004 in ids and id_000 not in ids


async def test_same_article_twice_is_one_document(pipeline: Pipeline) -> None:
    content = _story(f"Port-{uuid.uuid4().hex[:6]}")
    first = await pipeline.submit(_text(content))
    second = await pipeline.submit(_text(content))
    assert first == second
    await pipeline.wait_for_article(first)
    await eventually(lambda: _pipeline_idle(pipeline), "every stage to catch up")
    assert await pipeline.count({"term": {"article_id": first}}) == 1


@pytest.mark.parametrize(("payload", "reason"), [
    ({"format": "text"}, "needs a non-empty 'content'"),
    ({"format": "text", "content": "   "}, "needs a non-empty 'content'"),
    ({"format": "fields", "title": "No body"}, "needs a non-empty 'body'"),
    ({"format": "pdf", "content": "x"}, "format"),
    ({"format": "html", "content": "<p>x</p>", "url": "ftp://example.com/a"}, "not an http(s) URL"),
])
async def test_malformed_submissions_get_4xx_with_reason(
    pipeline: Pipeline, payload: dict[str, object], reason: str
) -> None:
    response = await pipeline.ingest.post("/articles", json=payload)
    assert response.status_code == 422
    assert reason in response.json()["error"]["message"]


async def test_not_json_gets_4xx(pipeline: Pipeline) -> None:
    response = await pipeline.ingest.post(
        "/articles", content=b"\xff\xfe not json", headers={"Content-Type": "application/json"}
    )
    assert 400 <= response.status_code < 500
    assert response.json()["error"]["message"]


async def test_oversized_submission_gets_413(pipeline: Pipeline) -> None:
    huge = "word " * (pipeline.settings.max_body_bytes // 5 + 10)
    response = await pipeline.ingest.post("/articles", json=_text(huge))
    assert response.status_code == 413
    assert "limit" in response.json()["error"]["message"]


async def test_batch_rejects_only_the_bad_items(pipeline: Pipeline) -> None:
    good = _text(_story(f"Batchton-{uuid.uuid4().hex[:6]}"))
    response = await pipeline.ingest.post("/articles:batch", json=[good, {"format": "text"}])
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (1, 1)
    assert body["results"][1]["status"] == "rejected" and body["results"][1]["reason"]
    await pipeline.wait_for_article(body["results"][0]["article_id"])


async def test_poison_messages_are_dead_lettered_and_the_pipeline_keeps_flowing(
    pipeline: Pipeline,
) -> None:
    binary_payload = b"\xff{not json " + uuid.uuid4().hex.encode()
    empty_id = f"empty-{uuid.uuid4().hex[:6]}"
    producer = make_producer(pipeline.settings)
    await producer.start()
    try:
        await producer.send_and_wait(topic_name(pipeline.settings, Topic.RAW), binary_payload)
        await producer.send_and_wait(
            topic_name(pipeline.settings, Topic.RAW),
            json.dumps({"article_id": empty_id, "format": "text", "content": "x",
                        "submitted_at": "2025-01-01T00:00:00Z"}).encode(),
        )
        await producer.send_and_wait(topic_name(pipeline.settings, Topic.ENRICHED), b"[1, 2, 3]")
    finally:
        await producer.stop()

    # Other tests dead-letter too: wait for these three letters by what they carry.
    def is_binary(letter: dict[str, object]) -> bool:
        return (letter["payload_encoding"] == "base64"
                and base64.b64decode(str(letter["payload"])) == binary_payload)

    async def these_letters() -> list[dict[str, object]] | None:
        letters = await pipeline.dead_letters()
        found = [next((d for d in letters if is_binary(d)), None),
                 next((d for d in letters if d.get("article_id") == empty_id), None),
                 next((d for d in letters
                       if d["payload"] == "[1, 2, 3]" and d["stage"] == "indexing"), None)]
        return [d for d in found if d] if all(found) else None

    binary, empty, indexing = await eventually(these_letters, "three dead letters")
    assert binary["stage"] == empty["stage"] == "extraction"
    assert binary["error"] and binary["error_type"] and binary["offset"] is not None
    assert "no article text" in str(empty["error"])
    assert json.loads(str(empty["payload"]))["article_id"] == empty_id  # original payload kept
    assert indexing["error"] and indexing["offset"] is not None

    # And the stages still work after the poison.
    article_id = await pipeline.submit(_text(_story(f"Aftertown-{uuid.uuid4().hex[:6]}")))
    await pipeline.wait_for_article(article_id)


@pytest.mark.parametrize("stage", ["enrichment", "indexing"])
async def test_worker_killed_mid_stream_resumes_without_loss_or_duplicates(
    pipeline: Pipeline, stage: str
) -> None:
    marker = f"Killtest{uuid.uuid4().hex[:6]}"
    worker = pipeline.services.processes[stage]
    ids = [await pipeline.submit(_text(_story(f"{marker} {n}"))) for n in range(15)]
    worker.kill()  # SIGKILL: no clean shutdown, no final commit
    ids += [await pipeline.submit(_text(_story(f"{marker} {n}"))) for n in range(15, 30)]
    await asyncio.sleep(0)  # let the submissions go before the restart (no timing assumed)
    pipeline.services.start(stage)

    async def all_indexed() -> bool:
        query = {"terms": {"article_id": ids}}
        return await pipeline.count(query) == len(ids)

    await eventually(all_indexed, f"all {len(ids)} articles after restarting {stage}",
                     timeout=180)
    await eventually(lambda: _pipeline_idle(pipeline), "every stage to catch up", timeout=180)
    # Nothing twice: one document per id, and no stray documents for the marker.
    hits = await pipeline.count({"match_phrase": {"title": marker}})
    assert hits == len(ids) == len(set(ids))


async def test_html_too_complex_to_parse_is_dead_lettered_and_the_next_article_flows(
        pipeline: Pipeline) -> None:
    page = "<html><body>" + "<p>x</p>" * (pipeline.settings.max_html_elements + 10) + "</body></html>"
    response = await pipeline.ingest.post("/articles", json={"format": "html", "content": page})
    assert response.status_code == 202
    bad_id = response.json()["article_id"]
    good_id = await pipeline.submit(_text(_story(f"Afterton-{uuid.uuid4().hex[:6]}")))
    await pipeline.wait_for_article(good_id)

    async def letter() -> dict[str, object] | None:
        return next((d for d in await pipeline.dead_letters() if d.get("article_id") == bad_id), None)

    found = await eventually(letter, "the too-complex page's dead letter")
    assert found["stage"] == "extraction" and found["error_type"] == "TooComplex"
    assert json.loads(str(found["payload"]))["content"] == page  # replayable as it came


async def test_an_article_whose_extraction_outgrows_a_message_is_trimmed_not_lost(
        pipeline: Pipeline) -> None:
    """2.6 million quote characters: escaped, the body and its lead were 10.4 MB together."""
    content = "Quotes\n" + '"' * 2_600_000
    article_id = await pipeline.submit({"format": "text", "content": content})
    article = await pipeline.wait_for_article(article_id)
    assert "lead" in article["trimmed"]
    assert len(article["body"]) == 2_600_000


async def test_a_write_blocked_index_is_waited_out_not_dead_lettered(pipeline: Pipeline) -> None:
    """A write block refuses every document (403 per item): the index's state, not the
    documents'. The article waits, uncommitted, and is indexed once the block is lifted."""
    from shared.runtime.elasticsearch import make_client

    es = make_client(pipeline.settings)
    index = pipeline.settings.index_alias
    await es.indices.put_settings(index=index, settings={"index.blocks.write": True})
    try:
        article_id = await pipeline.submit(_text(_story(f"Blockville-{uuid.uuid4().hex[:6]}")))

        async def held_by_the_indexer() -> bool:
            groups = (await pipeline.monitor.get("/ops/groups")).json()["groups"]
            return any(g["stage"] == "indexing" and g["lag"] >= 1 for g in groups)

        await eventually(held_by_the_indexer, "the article waiting at the indexer")
        assert await pipeline.article(article_id) is None
    finally:
        await es.indices.put_settings(index=index, settings={"index.blocks.write": False})
        await es.close()
    await pipeline.wait_for_article(article_id)
    assert not [d for d in await pipeline.dead_letters() if d.get("article_id") == article_id]


async def test_a_document_elasticsearch_rejects_goes_to_dead_letters(pipeline: Pipeline) -> None:
    """A term too long for a keyword field is the document's fault: dead-lettered at once."""
    producer = make_producer(pipeline.settings)
    await producer.start()
    article = {"article_id": f"immense-{uuid.uuid4().hex[:6]}", "title": "T", "body": "B",
               "submitted_at": "2025-01-01T00:00:00Z", "language": "x" * 40_000}
    try:
        await producer.send_and_wait(topic_name(pipeline.settings, Topic.ENRICHED),
                                     json.dumps(article).encode(), key=article["article_id"].encode())
    finally:
        await producer.stop()

    async def rejected() -> dict[str, object] | None:
        letters = await pipeline.dead_letters()
        return next((d for d in letters if d.get("article_id") == article["article_id"]), None)

    letter = await eventually(rejected, "the rejected document's dead letter")
    assert letter["stage"] == "indexing" and letter["error_type"] == "elasticsearch:400"
    assert "immense" in str(letter["error"]) or "max_bytes" in str(letter["error"])


async def test_facets_show_canonical_names_and_enrichment(
    pipeline: Pipeline, seed_000: str, seed_004: str
) -> None:
    ids = [await pipeline.submit(_text(seed_000)), await pipeline.submit(_text(seed_004))]
    articles = [await pipeline.wait_for_article(i) for i in ids]
    response = await pipeline.search.get("/search", params={"q": "Korea", "size": 50})
    facets = response.json()["facets"]
    organizations = {bucket["value"] for bucket in facets["organizations"]}
    assert "United Nations" in organizations
    assert not {"UN", "U.N."} & organizations
    assert {"KP", "KR", "US"} <= {bucket["value"] for bucket in facets["countries"]}
    assert "politics" in {bucket["value"] for bucket in facets["topics"]}
    filtered = await pipeline.search.get("/search", params={"country": "KP", "topic": "politics"})
    assert set(ids) <= {hit["id"] for hit in filtered.json()["results"]}
    assert articles[0]["story_id"] == articles[1]["story_id"]
    assert articles[0]["keywords"] and articles[0]["tone"] is not None


async def test_near_duplicates_are_indexed_flagged_and_hidden_by_default(
    pipeline: Pipeline,
) -> None:
    marker = f"Dupeton{uuid.uuid4().hex[:6]}"
    body = " ".join(f"The council of {marker} met for the {n}th time to discuss the harbour."
                    for n in range(12))
    original = await pipeline.submit({"format": "fields", "title": f"{marker} council meets",
                                      "body": body, "url": f"https://a.example/{marker}"})
    await pipeline.wait_for_article(original)
    copy = await pipeline.submit({"format": "fields", "title": f"{marker} council meets again",
                                  "body": body, "url": f"https://b.example/{marker}"})
    flagged = await pipeline.wait_for_article(copy)
    # Same body, another title: not the same text, but nearly.
    assert (flagged["duplicate_of"], flagged["duplicate_kind"]) == (original, "near")
    hidden = await pipeline.search.get("/search", params={"q": marker})
    assert [hit["id"] for hit in hidden.json()["results"]] == [original]
    shown = await pipeline.search.get("/search", params={"q": marker, "hide_duplicates": "false"})
    assert {hit["id"] for hit in shown.json()["results"]} == {original, copy}


async def test_stories_continue_after_an_enrichment_restart(
    pipeline: Pipeline, seed_000: str, seed_004: str
) -> None:
    """The restarted worker rebuilds its stories from the index, so the second seed still joins
    the first one's story (submitted under fresh URLs, so these are new articles)."""
    marker = uuid.uuid4().hex[:8]
    first = await pipeline.submit({**_text(seed_000), "url": f"https://s.example/{marker}/000"})
    first_story = (await pipeline.wait_for_article(first))["story_id"]
    pipeline.services.processes["enrichment"].kill()
    pipeline.services.start("enrichment")
    second = await pipeline.submit({**_text(seed_004), "url": f"https://s.example/{marker}/004"})
    assert (await pipeline.wait_for_article(second))["story_id"] == first_story


async def test_publishing_takes_an_ingest_key_whose_name_is_the_client(pipeline: Pipeline) -> None:
    story = _text(_story(f"Keyton-{uuid.uuid4().hex[:6]}")) | {"source": {"name": "Reuters",
                                                                         "client": "spoofed"}}
    async with httpx.AsyncClient(base_url=pipeline.ingest.base_url, timeout=30) as anonymous:
        refused = await anonymous.post("/articles", json=story)
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthenticated"
        reader = await asyncio.to_thread(create_key, pipeline, "a reader")
        key = await asyncio.to_thread(create_key, pipeline, "wire desk", "--scope", "ingest")

        async def accepted() -> str | None:
            answer = await anonymous.post("/articles", json=story, headers=auth(key))
            return str(answer.json()["article_id"]) if answer.status_code == 202 else None

        article_id = await eventually(accepted, "the ingest API to know the new key")
        forbidden = await anonymous.post("/articles", json=story, headers=auth(reader))
        assert forbidden.status_code == 403
    article = await pipeline.wait_for_article(article_id)
    assert article["source"] == {"name": "Reuters", "client": "wire desk"}


async def test_logs_hold_no_keys_and_no_article_text(pipeline: Pipeline) -> None:
    marker = f"Secretword{uuid.uuid4().hex[:10]}"
    article_id = await pipeline.submit(_text(_story(marker)))
    await pipeline.wait_for_article(article_id)
    secret = pipeline.admin_key.split("_", 2)[2]  # nf_<key id>_<secret>; the secret may hold "_"
    logs = list(pipeline.services.processes["ingest"].state_dir.glob("*.log"))
    assert len(logs) >= 7
    for log in logs:
        text = log.read_text(errors="replace")
        assert secret not in text and marker not in text, log.name
