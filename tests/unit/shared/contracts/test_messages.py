from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from shared.contracts.headers import Header, article_id_of, header_value, headers_for, trail_of
from shared.contracts.messages import DeadLetter, RawArticle
from shared.contracts.topology import Stage
from shared.settings import Settings


def test_raw_article_round_trips_through_bytes() -> None:
    raw = RawArticle(article_id="c1", format="text", content="Title\nBody text.")
    again = RawArticle.model_validate_json(raw.to_bytes())
    assert again == raw


def test_dead_letter_keeps_binary_payloads_exactly() -> None:
    payload = b"\xff\x00not utf-8"
    letter = DeadLetter.for_payload(payload, stage=Stage.EXTRACTION, error="bad", error_type="X")
    assert letter.payload_encoding == "base64"
    assert DeadLetter.model_validate_json(letter.to_bytes()).original_payload() == payload


def test_dead_letter_keeps_text_payloads_readable() -> None:
    letter = DeadLetter.for_payload(b'{"a": 1}', stage=Stage.INDEXING, error="e", error_type="X")
    assert letter.payload_encoding == "utf-8"
    assert json.loads(letter.payload) == {"a": 1}


def test_article_id_comes_from_key_then_payload() -> None:
    assert article_id_of(b"k1", b'{"article_id": "p1"}') == "k1"
    assert article_id_of(None, b'{"article_id": "p1"}') == "p1"
    assert article_id_of(None, b"\xffjunk") is None
    assert article_id_of(None, b"[1, 2]") is None


def test_headers_carry_id_and_submission_time() -> None:
    submitted = datetime(2025, 12, 18, 9, 30, tzinfo=UTC)
    headers = headers_for("c1", submitted, Stage.EXTRACTION)
    assert header_value(headers, Header.ARTICLE_ID) == "c1"
    assert header_value(dict(headers), Header.SUBMITTED_AT) == "2025-12-18T09:30:00+00:00"


def test_each_stage_continues_the_trail_of_its_input() -> None:
    submitted = datetime(2025, 12, 18, 9, 30, tzinfo=UTC)
    before = time.time()
    ingest = headers_for("c1", submitted, Stage.INGEST)
    extraction = headers_for("c1", submitted, Stage.EXTRACTION, ingest)
    steps = trail_of(headers_for("c1", submitted, Stage.ENRICHMENT, extraction))
    assert [stage for stage, _ in steps] == ["ingest", "extraction", "enrichment"]
    times = [at for _, at in steps]
    assert before - 0.01 <= times[0] <= times[1] <= times[2] <= time.time() + 0.01
    assert trail_of([]) == [] and trail_of([("newsflow-trail", b"junk,x=1y")]) == []


def test_namespace_prefixes_topics_groups_and_index() -> None:
    plain, spaced = Settings(), Settings(namespace="Test-1")
    assert plain.topic("news.raw") == "news.raw" and plain.index_alias == "news"
    assert spaced.topic("news.raw") == "Test-1.news.raw"
    assert spaced.consumer_group("indexing") == "Test-1.newsflow-indexing"
    assert spaced.index_alias == "test-1-news"  # Elasticsearch wants lower case
