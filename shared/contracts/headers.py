"""Kafka message headers: what every stage's output carries, and what a dead letter adds.

The dead-letter headers follow Kafka Connect's `__connect.errors.*` context headers, so a tool
can read why and where a message failed without parsing its payload.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

from shared.contracts.topology import Stage

SCHEMA_VERSION = 1

Headers = list[tuple[str, bytes]]


class Header(StrEnum):
    ARTICLE_ID = "newsflow-article-id"
    SUBMITTED_AT = "newsflow-submitted-at"  # ISO time of ingest, for end-to-end latency
    SCHEMA = "newsflow-schema"
    STAGE = "newsflow-stage"
    # When each stage sent the article on, oldest first: "ingest=<epoch ms>,extraction=<ms>,…"
    # (each stage adds itself to its input's trail), so the time spent in every stage can be
    # read off any message.
    TRAIL = "newsflow-trail"
    # Set on dead letters only.
    ERROR_STAGE = "newsflow-error-stage"
    ERROR_TYPE = "newsflow-error-type"
    ERROR_MESSAGE = "newsflow-error-message"
    ERROR_TOPIC = "newsflow-error-topic"
    ERROR_PARTITION = "newsflow-error-partition"
    ERROR_OFFSET = "newsflow-error-offset"
    # Set on a message sent back from the dead-letter topic: the letter's id.
    REPLAY_OF = "newsflow-replay-of"


def headers_for(article_id: str, submitted_at: datetime, stage: Stage, inbound: Any = None) -> Headers:
    """`inbound`: the input message's headers, whose trail this output continues."""
    earlier = header_value(inbound, Header.TRAIL)
    step = f"{stage.value}={time.time_ns() // 1_000_000}"
    return [
        (Header.ARTICLE_ID.value, article_id.encode()),
        (Header.SUBMITTED_AT.value, submitted_at.isoformat().encode()),
        (Header.SCHEMA.value, str(SCHEMA_VERSION).encode()),
        (Header.STAGE.value, stage.value.encode()),
        (Header.TRAIL.value, (f"{earlier},{step}" if earlier else step).encode()),
    ]


def trail_of(headers: Any) -> list[tuple[str, float]]:
    """The trail as (stage, epoch seconds) pairs, oldest first; [] when absent or unreadable."""
    steps = []
    for item in (header_value(headers, Header.TRAIL) or "").split(","):
        stage, _, millis = item.partition("=")
        if stage and millis.isdigit():
            steps.append((stage, int(millis) / 1000))
    return steps


def header_value(headers: Any, name: Header) -> str | None:
    """Reads one header from a list of (name, bytes) pairs or a mapping."""
    items: Iterable[tuple[str, Any]] = headers.items() if isinstance(headers, dict) else (headers or [])
    for key, value in items:
        if key == name.value:
            return value.decode() if isinstance(value, bytes) else str(value)
    return None


def article_id_of(key: bytes | None, payload: bytes | None) -> str | None:
    """The article a message is about: its key, else the payload's `article_id` if readable."""
    if key:
        return key.decode(errors="replace")
    try:
        found = json.loads(payload or b"").get("article_id")
    except (ValueError, AttributeError):
        return None
    return str(found) if found else None
