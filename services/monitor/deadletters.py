"""The dead-letter view: every letter on `news.deadletter` (followed from its start), counts
per stage and error type over time, and replays.

A replay sends the letter's original payload back to its source topic under its original key
(the article id, so the pipeline's writes stay idempotent) with the original headers and a
`newsflow-replay-of` header naming the letter, and records it in `news.replays`: the same
letter is not replayed twice unless asked (`force`). Its outcome: "failed again" when a new
letter carries the replay header, "indexed" when the article's document was written after
the replay, else "pending".
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from shared.contracts.headers import Header, header_value
from shared.contracts.messages import DeadLetter
from shared.contracts.ops import Replay
from shared.contracts.topology import Topic
from shared.runtime.kafka import fetch_message
from shared.runtime.metrics import DEAD_LETTERS
from shared.runtime.tables import Table, TopicFollower, write_row
from shared.settings import Settings

ERROR_HEADERS = {h.value for h in Header if h.name.startswith("ERROR_")}


@dataclass
class Letter:
    letter_id: str  # <partition>-<offset> on the dead-letter topic
    letter: DeadLetter
    headers: list[tuple[str, bytes]]
    at: float  # when it was dead-lettered (message time)

    @property
    def replay_of(self) -> str | None:
        return header_value(self.headers, Header.REPLAY_OF)

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


class DeadLetterStore:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.letters: dict[str, Letter] = {}
        self.order: list[str] = []  # arrival order
        self.retried_by: dict[str, str] = {}  # replayed letter id → the letter its replay made
        self.replays = Table(settings, Topic.REPLAYS, Replay)
        self.follower = TopicFollower(settings, Topic.DEAD_LETTER, self.apply_record)

    def apply_record(self, record: Any) -> None:
        letter_id = f"{record.partition}-{record.offset}"
        if letter_id in self.letters or record.value is None:
            return
        with contextlib.suppress(ValidationError):
            letter = Letter(letter_id, DeadLetter.model_validate_json(record.value),
                            list(record.headers or []), record.timestamp / 1000)
            self.letters[letter_id] = letter
            self.order.append(letter_id)
            DEAD_LETTERS.labels(letter.letter.stage.value).inc()
            if letter.replay_of:
                self.retried_by[letter.replay_of] = letter_id

    async def start(self) -> None:
        await self.replays.start()
        await self.follower.start()

    async def stop(self) -> None:
        await self.follower.stop()
        await self.replays.stop()

    def query(self, stage: str | None = None, error_type: str | None = None,
              since: float | None = None, until: float | None = None) -> list[Letter]:
        """Newest first."""
        found = []
        for letter_id in reversed(self.order):
            letter = self.letters[letter_id]
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

    async def replay(self, producer: Any, letter_id: str, force: bool = False) -> Replay:
        found = self.letters.get(letter_id)
        if found is None:
            raise ReplayRefused(404, "not_found", f"no dead letter {letter_id}")
        letter = found.letter
        if not letter.source_topic:
            raise ReplayRefused(409, "not_replayable", "this letter has no source topic (a webhook "
                                "delivery failure is retried by the deliverer, not replayed)")
        earlier = self.replays.get(letter_id)
        if earlier is not None and not force:
            raise ReplayRefused(409, "already_replayed", f"replayed at {earlier.replayed_at.isoformat()}; "
                                "replay again with force=true")
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
        await producer.send_and_wait(letter.source_topic, payload,
                                     key=letter.article_id.encode() if letter.article_id else None,
                                     headers=headers)
        replay = Replay(letter_id=letter_id, source_topic=letter.source_topic,
                        article_id=letter.article_id, replays=(earlier.replays + 1) if earlier else 1)
        await write_row(producer, self.settings, Topic.REPLAYS, letter_id, replay)
        self.replays.apply(letter_id, replay)
        return replay
