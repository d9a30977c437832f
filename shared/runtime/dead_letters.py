"""The one dead-letter path: `InvalidMessage` (bad data: dead-lettered with the error, the
stage, the source and the original payload), `DeadLetterPolicy` (the limits that halt a
broken stage instead) and the one builder and sender of letters. The rules themselves are
written once, for users, in docs/architecture.md ("Dead-letter policy")."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiokafka.errors import MessageSizeTooLargeError

from shared.contracts.headers import Header, Headers, article_id_of
from shared.contracts.messages import DeadLetter
from shared.contracts.topology import Stage, Topic, topic_name
from shared.runtime.retry import until_acknowledged
from shared.settings import Settings

log = logging.getLogger(__name__)

_MAX_ERROR_CHARS = 2000


class Record(Protocol):
    """What the runtime needs of a consumed message (aiokafka's ConsumerRecord has it)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


class InvalidMessage(Exception):
    """This message can never be processed as it is: dead-letter it and move on."""

    def __init__(self, reason: str, error_type: str | None = None) -> None:
        super().__init__(reason)
        self.error_type = error_type


class StageHalted(RuntimeError):
    """Too many invalid messages: the stage is broken, not the data."""


@dataclass(frozen=True)
class DeadLetterLimit:
    max_consecutive: int
    max_ratio: float
    window: int

    @classmethod
    def from_settings(cls, settings: Settings) -> DeadLetterLimit:
        return cls(settings.dead_letter_max_consecutive, settings.dead_letter_max_ratio,
                   settings.dead_letter_window)


class DeadLetterPolicy:
    def __init__(self, limit: DeadLetterLimit) -> None:
        self.limit = limit
        self.consecutive = 0
        self.recent: deque[bool] = deque(maxlen=limit.window)  # True: invalid

    def record_valid(self) -> None:
        self.consecutive = 0
        self.recent.append(False)

    def record_invalid(self, error: BaseException) -> None:
        """Counts one invalid message; raises StageHalted when that crosses a limit."""
        self.consecutive += 1
        self.recent.append(True)
        if self.consecutive > self.limit.max_consecutive:
            raise StageHalted(f"{self.consecutive} invalid messages in a row (limit "
                              f"{self.limit.max_consecutive}); last error: {error}")
        if len(self.recent) == self.limit.window:
            ratio = sum(self.recent) / len(self.recent)
            if ratio > self.limit.max_ratio:
                raise StageHalted(f"{ratio:.0%} of the last {len(self.recent)} messages were "
                                  f"invalid (limit {self.limit.max_ratio:.0%}); last error: {error}")


def build_dead_letter(record: Record, stage: Stage, error: BaseException,
                      article_id: str | None = None) -> DeadLetter:
    error_type = getattr(error, "error_type", None) or type(error).__name__
    return DeadLetter.for_payload(
        record.value, stage=stage, error=str(error)[:_MAX_ERROR_CHARS], error_type=error_type,
        article_id=article_id or article_id_of(record.key, record.value),
        source_topic=record.topic, partition=record.partition, offset=record.offset,
    )


def dead_letter_headers(letter: DeadLetter, original: Sequence[tuple[str, bytes]] = ()) -> Headers:
    """The original message's headers (its submitted-at and stage), then the error context."""
    context = {
        Header.ERROR_STAGE: letter.stage.value,
        Header.ERROR_TYPE: letter.error_type,
        Header.ERROR_MESSAGE: letter.error[:500],
        Header.ERROR_TOPIC: letter.source_topic,
        Header.ERROR_PARTITION: letter.partition,
        Header.ERROR_OFFSET: letter.offset,
        Header.ARTICLE_ID: letter.article_id,
    }
    kept = [(name, value) for name, value in original if name not in {h.value for h in context}]
    return kept + [(name.value, str(value).encode()) for name, value in context.items()
                   if value is not None]


class Producer(Protocol):
    async def send_and_wait(self, topic: str, value: bytes | None = None, key: bytes | None = None,
                            partition: Any = None, timestamp_ms: Any = None,
                            headers: Any = None) -> Any: ...


class DeadLetterSender:
    """Sends dead letters, always with headers. A broker outage is waited out (it is not the
    letter's fault; SIGTERM meanwhile raises Stopping, so nothing is committed); the caller
    commits only after this returns.

    A letter whose payload would not fit a broker message goes without it (`payload_omitted`):
    its source topic, partition and offset still point at the original."""

    def __init__(self, producer: Producer, settings: Settings) -> None:
        self.producer = producer
        self.topic = topic_name(settings, Topic.DEAD_LETTER)
        # Room for the error, the fields and the headers beside the payload.
        self.max_payload_bytes = settings.max_message_bytes - 64_000
        self.sent = 0

    async def send(self, letter: DeadLetter, original_headers: Sequence[tuple[str, bytes]] = (),
                   stop: asyncio.Event | None = None) -> None:
        key = letter.article_id.encode() if letter.article_id else None
        headers = dead_letter_headers(letter, original_headers)
        if len(letter.payload) > self.max_payload_bytes:
            letter = letter.without_payload()
        while True:
            try:
                async for attempt in until_acknowledged("dead-letter send", stop):
                    with attempt:
                        await self.producer.send_and_wait(self.topic, letter.to_bytes(), key=key,
                                                          headers=headers)
                break
            except MessageSizeTooLargeError:
                if letter.payload_omitted:
                    raise  # cannot happen with an empty payload; never drop it silently
                letter = letter.without_payload()
        self.sent += 1
        log.warning("dead letter from %s: %s: %s (article %s, %s[%s]@%s)", letter.stage,
                    letter.error_type, letter.error[:300], letter.article_id,
                    letter.source_topic, letter.partition, letter.offset)
