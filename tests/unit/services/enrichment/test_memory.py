"""Enrichment's memory: what an enriched article leaves in it, and what a refill from its
index document restores, are the same: a restarted worker continues stories and duplicates."""

from __future__ import annotations

from datetime import UTC, datetime

from services.enrichment.enrich import Enricher
from services.enrichment.memory import InProcessMemory, Remembered
from services.extraction.extract import extract_article
from shared.contracts.document import to_document
from shared.contracts.messages import ExtractedArticle, RawArticle


def test_a_refilled_memory_continues_stories_and_duplicates(seed_000: str, seed_004: str) -> None:
    first = Enricher().enrich(extract_article(RawArticle(article_id="c0", format="text",
                                                         content=seed_000)))
    refilled = InProcessMemory()
    refilled.remember(Remembered.from_document(to_document(first)))
    after_restart = Enricher(refilled)
    second = after_restart.enrich(extract_article(RawArticle(article_id="c4", format="text",
                                                             content=seed_004)))
    assert second.story_id == first.story_id
    copy = ExtractedArticle(article_id="copy", title=first.title, body=first.body,
                            submitted_at=datetime.now(UTC))
    again = after_restart.enrich(copy)
    assert (again.duplicate_of, again.duplicate_kind) == ("c0", "exact")


def test_the_enricher_only_talks_to_its_memory() -> None:
    class Recording(InProcessMemory):
        def __init__(self) -> None:
            super().__init__()
            self.remembered: list[Remembered] = []

        def remember(self, article: Remembered) -> None:
            self.remembered.append(article)
            super().remember(article)

    memory = Recording()
    Enricher(memory).enrich(ExtractedArticle(article_id="x", title="Talks in Geneva",
                                             body="Diplomats met in Geneva on Monday.",
                                             submitted_at=datetime.now(UTC)))
    (kept,) = memory.remembered
    assert kept.article_id == "x" and kept.is_original and kept.story_id and kept.content_hash
