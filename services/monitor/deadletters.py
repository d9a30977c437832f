"""The dead-letter view: the newest letters on `news.deadletter` (at most
`monitor_max_letters`, read from that far before each partition's end, so neither memory nor
start time grows with the topic's four weeks), counts per stage and error type over time, and
replays. Only a letter's summary is kept; its payload and headers are read from the topic when
someone opens or replays it.

A replay sends the letter's original payload back to its source topic under its original key
(the article id, so the pipeline's writes stay idempotent) with the original headers and a
`newsflow-replay-of` header naming the letter, and records it in `news.replays`: the same
letter is not replayed twice unless asked (`force`). Its outcome: "failed again" when a new
letter carries the replay header, "indexed" when the article's document was written after
the replay, else "pending".
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from shared.contracts.headers import Header, header_value
from shared.contracts.messages import DeadLetter
from shared.contracts.ops import Replay
from shared.contracts.topology import Topic, topic_name
from shared.runtime.kafka import fetch_message, make_reader, read_at
from shared.runtime.metrics import DEAD_LETTERS
from shared.runtime.tables import Table, TopicFollower, write_row
from shared.settings import Settings

ERROR_HEADERS = {h.value for h in Header if h.name.startswith("ERROR_")}


@dataclass
class Letter:
    letter_id: str  # <partition>-<offset> on the dead-letter topic
    letter: DeadLetter  # without its payload, the error cut to 300 characters
    replay_of: str | None
    at: float  # when it was dead-lettered (message time)

    @property
    def partition_offset(self) -> tuple[int, int]:
        partition, offset = self.letter_id.split("-")
        return int(partition), int(offset)

    def summary(self) -> dict[str, Any]:
        letter = self.letter
        return {"id": self.letter_id, "stage": letter.stage.value, "error_type": letter.error_type,
                "error": letter.error[:300], "article_id": letter.article_id,
                "source_topic": letter.source_topic, "partition": letter.partition,
                "offset": letter.offset, "at": datetime.fromtimestamp(self.at, UTC).isoformat(),
                "replay_of": self.replay_of}


class ReplayRefused(Exception):
    def __init__(self, status: int, code: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.code, self.reason = status, code, reason


@dataclass
class FullLetter:
    letter: DeadLetter
    headers: list[tuple[str, bytes]]


class DeadLetterStore:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.limit = settings.monitor_max_letters
        self.letters: OrderedDict[str, Letter] = OrderedDict()  # arrival order, oldest first
        self.retried_by: dict[str, str] = {}  # replayed letter id → the letter its replay made
        self.replays = Table(settings, Topic.REPLAYS, Replay)
        self.topic = topic_name(settings, Topic.DEAD_LETTER)
        per_partition = -(-self.limit // settings.topic_partitions)
        self.follower = TopicFollower(settings, Topic.DEAD_LETTER, self.apply_record, last=per_partition)
        self._reader: AIOKafkaConsumer | None = None  # for the payloads, made at the first read
        self._reading = asyncio.Lock()

    def apply_record(self, record: Any) -> None:
        letter_id = f"{record.partition}-{record.offset}"
        if letter_id in self.letters or record.value is None:
            return
        with contextlib.suppress(ValidationError):
            full = DeadLetter.model_validate_json(record.value)
            kept = full.model_copy(update={"payload": "", "error": full.error[:300]})
            letter = Letter(letter_id, kept, header_value(list(record.headers or []), Header.REPLAY_OF),
                            record.timestamp / 1000)
            self.letters[letter_id] = letter
            DEAD_LETTERS.labels(letter.letter.stage.value).inc()
            if letter.replay_of:
                self.retried_by[letter.replay_of] = letter_id
            while len(self.letters) > self.limit:
                dropped, _ = self.letters.popitem(last=False)
                self.retried_by.pop(dropped, None)

    async def full(self, letter_id: str) -> FullLetter | None:
        """The letter as it is on the topic (payload and headers), None when it is not in the
        view or the topic no longer holds it. One reader serves every read (a replay of a
        whole stage reads hundreds), one read at a time."""
        found = self.letters.get(letter_id)
        if found is None:
            return None
        async with self._reading:
            if self._reader is None:
                self._reader = make_reader(self.settings)
                await self._reader.start()
            record = await read_at(self._reader, self.topic, *found.partition_offset)
        if record is None or record.value is None:
            return None
        return FullLetter(DeadLetter.model_validate_json(record.value), list(record.headers or []))

    async def start(self) -> None:
        await self.replays.start()
        await self.follower.start()

    async def stop(self) -> None:
        await self.follower.stop()
        await self.replays.stop()
        if self._reader is not None:
            await self._reader.stop()

    def query(self, stage: str | None = None, error_type: str | None = None,
              since: float | None = None, until: float | None = None) -> list[Letter]:
        """Newest first."""
        found = []
        for letter in reversed(self.letters.values()):
            if (stage and letter.letter.stage.value != stage) or \
                    (error_type and letter.letter.error_type != error_type) or \
                    (since is not None and letter.at < since) or (until is not None and letter.at > until):
                continue
            found.append(letter)
        return found

    def counts(self, bucket_seconds: int = 300, buckets: int = 24, now: float = 0.0
               ) -> dict[str, Any]:
        """Letters per stage and error type, in all and per time bucket (newest last)."""
        totals: dict[str, dict[str, int]] = {}
        series: dict[str, list[int]] = {}
        start = (int(now) // bucket_seconds - buckets + 1) * bucket_seconds
        for letter in self.letters.values():
            stage, kind = letter.letter.stage.value, letter.letter.error_type
            totals.setdefault(stage, {}).setdefault(kind, 0)
            totals[stage][kind] += 1
            if letter.at >= start:
                row = series.setdefault(stage, [0] * buckets)
                row[min(buckets - 1, int(letter.at - start) // bucket_seconds)] += 1
        return {"total": len(self.letters), "by_stage": totals, "bucket_seconds": bucket_seconds,
                "series_start": start, "series": series}

    def outcome(self, letter_id: str, indexed_at: float | None) -> dict[str, Any] | None:
        replay = self.replays.get(letter_id)
        if replay is None:
            return None
        again = self.retried_by.get(letter_id)
        if again is not None:
            state = "failed again"
        elif indexed_at is not None and indexed_at >= replay.replayed_at.timestamp():
            state = "indexed"
        else:
            state = "pending"
        return {"replayed_at": replay.replayed_at.isoformat(), "replays": replay.replays,
                "state": state, "new_letter": again}

    def refusal(self, letter: DeadLetter, letter_id: str, force: bool) -> ReplayRefused | None:
        """Why this letter would not be replayed now, if it would not (a dry run asks too)."""
        if not letter.source_topic:
            return ReplayRefused(409, "not_replayable", "this letter has no source topic (a webhook "
                                 "delivery failure is retried by the deliverer, not replayed)")
        earlier = self.replays.get(letter_id)
        if earlier is not None and not force:
            return ReplayRefused(409, "already_replayed", f"replayed at {earlier.replayed_at.isoformat()}; "
                                 "replay again with force=true")
        return None

    async def replay(self, producer: Any, letter_id: str, force: bool = False) -> Replay:
        found = await self.full(letter_id)
        if found is None:
            raise ReplayRefused(404, "not_found", f"no dead letter {letter_id}")
        letter = found.letter
        refused = self.refusal(letter, letter_id, force)
        if refused is not None:
            raise refused
        assert letter.source_topic is not None  # a letter without one was refused just now
        earlier = self.replays.get(letter_id)
        headers = [(k, v) for k, v in found.headers
                   if k not in ERROR_HEADERS and k != Header.REPLAY_OF.value]
        headers.append((Header.REPLAY_OF.value, letter_id.encode()))
        payload = letter.original_payload()
        if letter.payload_omitted:  # too large to copy: the original is read where it was
            found_payload = await fetch_message(self.settings, letter.source_topic,
                                                letter.partition or 0, letter.offset or 0)
            if found_payload is None:
                raise ReplayRefused(409, "payload_expired", "this letter's original was too large "
                                    "to copy and its topic no longer holds it")
            payload = found_payload
        replay = Replay(letter_id=letter_id, source_topic=letter.source_topic,
                        article_id=letter.article_id, replays=(earlier.replays + 1) if earlier else 1)
        try:
            async with asyncio.timeout(self.settings.publish_timeout_seconds):
                await producer.send_and_wait(letter.source_topic, payload,
                                             key=letter.article_id.encode() if letter.article_id else None,
                                             headers=headers)
                await write_row(producer, self.settings, Topic.REPLAYS, letter_id, replay)
        except (TimeoutError, KafkaError) as exc:
            raise ReplayRefused(503, "unavailable", "Kafka did not acknowledge the replay in time; "
                                "try again") from exc
        self.replays.apply(letter_id, replay)
        return replay
