"""The linker's memory: a linker rebuilt from the recorded decisions (as a restarted or standby
linker reads them from `news.links`) continues stories and duplicates exactly, and a replayed
article gets its recorded answer back."""

from __future__ import annotations

from datetime import UTC, datetime

from services.enrichment.enrich import analyse
from services.extraction.extract import extract_article
from services.linking.link import Linker
from services.linking.memory import Memory
from shared.contracts.messages import EnrichedArticle, ExtractedArticle, LinkRecord, RawArticle


def _analysed(article_id: str, text: str) -> EnrichedArticle:
    return analyse(extract_article(RawArticle(article_id=article_id, format="text", content=text)))


def _rebuilt(records: list[LinkRecord]) -> Linker:
    memory = Memory()
    for record in records:  # through the wire format, as the table carries them
        memory.remember(LinkRecord.model_validate_json(record.to_bytes()))
    return Linker(memory)


def test_a_rebuilt_linker_continues_stories_and_duplicates(seed_000: str, seed_004: str) -> None:
    first, record = Linker().link(_analysed("c0", seed_000))
    after_restart = _rebuilt([record])
    second = after_restart.linked(_analysed("c4", seed_004))
    assert second.story_id == first.story_id
    copy = analyse(ExtractedArticle(article_id="copy", title=first.title, body=first.body,
                                    submitted_at=datetime.now(UTC)))
    again = after_restart.linked(copy)
    assert (again.duplicate_of, again.duplicate_kind) == ("c0", "exact")


def test_a_replayed_article_gets_its_recorded_decision(seed_000: str) -> None:
    original = _analysed("o", seed_000)
    copy = original.model_copy(update={"article_id": "c"})
    linker = Linker()
    linker.link(original)
    _, recorded = linker.link(copy)
    assert (recorded.duplicate_of, recorded.duplicate_kind) == ("o", "exact")
    # Replayed after a crash, on a linker that already knows it: the same answer, not "itself".
    replayed = _rebuilt([linker.memory.decisions["o"], recorded]).linked(copy.model_copy())
    assert (replayed.duplicate_of, replayed.story_id) == ("o", recorded.story_id)


def test_a_changed_text_under_the_same_id_is_decided_again(seed_000: str, seed_004: str) -> None:
    linker = Linker()
    _, before = linker.link(_analysed("x", seed_000))
    _, after = linker.link(_analysed("x", seed_004))
    assert after.content_hash != before.content_hash
    assert linker.memory.decisions["x"].content_hash == after.content_hash
