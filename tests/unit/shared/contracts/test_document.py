"""The index document: mapping built from the contract's markers, flattening, hit summaries."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.contracts.document import (
    FACETS,
    HIDDEN_FIELDS,
    LIST_EXCLUDES,
    LIST_FIELDS,
    MAPPINGS,
    summarize_hit,
    to_document,
)
from shared.contracts.messages import EnrichedArticle, Entity, ExtractedArticle


def test_document_flattens_entities_and_picks_a_date() -> None:
    submitted = datetime(2025, 12, 18, tzinfo=UTC)
    article = EnrichedArticle(
        article_id="c1", title="T", body="B", submitted_at=submitted,
        people=[Entity(name="Antonio Guterres", mentions=2)],
    )
    document = to_document(article)
    assert document["people"] == ["Antonio Guterres"]
    assert document["date"] == submitted.isoformat()




def test_mapping_comes_from_the_field_markers() -> None:
    properties = MAPPINGS["properties"]
    assert MAPPINGS["dynamic"] is False
    raw = {"type": "keyword", "ignore_above": 512}
    assert properties["title"] == {"type": "text", "fields": {"raw": raw}}
    assert properties["people"]["type"] == "keyword" and "text" in properties["people"]["fields"]
    # Nested models become objects with their own marked fields.
    assert properties["dateline"]["properties"]["place"]["type"] == "keyword"
    assert properties["tone"]["properties"]["compound"] == {"type": "float"}
    # Fields the document adds for facets and sorting.
    assert properties["country_codes"] == {"type": "keyword"}
    assert properties["date"] == {"type": "date"}
    # Unmarked fields stay in _source only.
    assert "minhash" not in properties


def test_every_marked_message_field_is_mapped_and_every_facet_exists() -> None:
    fields = set(EnrichedArticle.model_fields) | set(ExtractedArticle.model_fields)
    unmapped = {name for name in fields if name not in MAPPINGS["properties"]}
    assert unmapped == {"minhash"}
    for field in FACETS.values():
        top = field.value.split(".")[0]
        assert top in MAPPINGS["properties"], field


def test_lists_leave_out_bodies_and_machine_fields() -> None:
    assert set(HIDDEN_FIELDS) <= set(LIST_EXCLUDES) and "body" in LIST_EXCLUDES
    assert not set(LIST_EXCLUDES) & set(LIST_FIELDS)
    assert not {"related", "quotes", "dates", "body"} & set(LIST_FIELDS)
    hit = {"_id": "a1", "_score": 1.5, "_source": {"title": "T", "people": ["P"],
                                                   "source": {"name": "Wire"}, "country_codes": ["KP"]},
           "highlight": {"title": ["<mark>T</mark>"]}}
    summary = summarize_hit(hit)
    assert summary["id"] == "a1" and summary["source"] == "Wire" and summary["countries"] == ["KP"]
    assert summary["highlights"] == {"title": ["<mark>T</mark>"]}
