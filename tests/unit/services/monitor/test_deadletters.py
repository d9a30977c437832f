"""The monitor's dead-letter view is bounded: the newest letters' summaries only, payloads
left on the topic."""

from __future__ import annotations

from services.monitor.deadletters import DeadLetterStore
from shared.contracts.messages import DeadLetter
from shared.contracts.topology import Stage
from shared.settings import Settings
from tests.fakes import FakeRecord


def letter_record(offset: int) -> FakeRecord:
    letter = DeadLetter.for_payload(b"x" * 50_000, stage=Stage.EXTRACTION, error="e" * 2000,
                                    error_type="Bad", article_id=f"a{offset}")
    record = FakeRecord("unit.news.deadletter", 0, offset, None, letter.to_bytes())
    record.timestamp = 1_700_000_000_000 + offset  # type: ignore[attr-defined]
    return record


def test_only_the_newest_summaries_are_kept_without_payloads() -> None:
    store = DeadLetterStore(Settings(namespace="unit", monitor_max_letters=10))
    for offset in range(25):
        store.apply_record(letter_record(offset))
    assert list(store.letters) == [f"0-{n}" for n in range(15, 25)]
    kept = store.letters["0-24"].letter
    assert kept.payload == "" and len(kept.error) == 300
    assert store.counts()["total"] == 10
    assert store.follower.last == 3  # each of the 4 partitions read from its last 3 records
