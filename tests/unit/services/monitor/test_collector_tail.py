"""One bad record on a tailed topic does not end the monitor's latency tracking."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from services.monitor.collector import Collector
from shared.contracts.topology import Topic, topic_name
from shared.settings import Settings
from tests.fakes import FakeRecord

SETTINGS = Settings(namespace="unit")


class OnceTail:
    def __init__(self, records: list[FakeRecord]) -> None:
        self.batches = [{"tp": records}]

    async def getmany(self, **_: Any) -> dict[str, list[FakeRecord]]:
        if self.batches:
            return self.batches.pop()
        await asyncio.sleep(0.01)
        return {}


async def test_a_bad_record_is_skipped_and_the_next_observed() -> None:
    collector = Collector(SETTINGS)
    topic = topic_name(SETTINGS, Topic.RAW)
    bad = FakeRecord(topic, 0, 0, b"a1", b"{}")
    bad.timestamp = None  # type: ignore[attr-defined]  # what a broken producer might leave
    good = FakeRecord(topic, 0, 1, b"a2", b"{}")
    good.timestamp = int(time.time() * 1000)  # type: ignore[attr-defined]
    collector._tail = OnceTail([bad, good])  # type: ignore[assignment]
    task = asyncio.create_task(collector._tailing())
    try:
        async with asyncio.timeout(5):
            while collector.topics[Topic.RAW].newest_at is None:
                await asyncio.sleep(0.01)
        assert not task.done()  # still tailing
    finally:
        task.cancel()
