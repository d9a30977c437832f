"""Stage contracts: the messages that flow between the workers, and the names they flow on.

Every service imports these; none redefines them. Messages are JSON-encoded pydantic models.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from datetime import date as date_type
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.settings import Settings

SCHEMA_VERSION = 1


def utcnow() -> datetime:
    return datetime.now(UTC)


class Topic(StrEnum):
    """Logical topic names; `Settings.topic()` adds the namespace."""

    RAW = "news.raw"
    EXTRACTED = "news.extracted"
    ENRICHED = "news.enriched"
    DEAD_LETTER = "news.deadletter"


class Stage(StrEnum):
    INGEST = "ingest"
    EXTRACTION = "extraction"
    ENRICHMENT = "enrichment"
    INDEXING = "indexing"


class Header(StrEnum):
    """Kafka message headers set on every stage's output."""

    ARTICLE_ID = "newsflow-article-id"
    SUBMITTED_AT = "newsflow-submitted-at"  # ISO time of ingest, for end-to-end latency
    SCHEMA = "newsflow-schema"
    STAGE = "newsflow-stage"


def topic_configs(topic: Topic) -> dict[str, str]:
    """Per-topic broker configs: dead letters are kept longer so someone can look at them."""
    week_ms = 7 * 24 * 3600 * 1000
    retention = 4 * week_ms if topic is Topic.DEAD_LETTER else week_ms
    return {"retention.ms": str(retention), "cleanup.policy": "delete"}


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()


class SourceInfo(BaseModel):
    """Where a submission came from."""

    name: str | None = None  # publisher or site name, e.g. "Reuters"
    feed_url: str | None = None
    client: str | None = None  # API client or tool that submitted it


ContentFormat = Literal["text", "html", "fields"]


class RawArticle(_Message):
    """ingest → extraction: what was submitted, untouched."""

    article_id: str
    format: ContentFormat
    url: str | None = None
    content: str | None = None  # plain text or HTML, for the formats "text" and "html"
    # For the format "fields": already structured input.
    title: str | None = None
    body: str | None = None
    published_at: datetime | None = None
    authors: list[str] = Field(default_factory=list)
    language: str | None = None
    source: SourceInfo = Field(default_factory=SourceInfo)
    submitted_at: datetime = Field(default_factory=utcnow)


class Quote(BaseModel):
    text: str
    speaker: str | None = None  # None when the text does not say who


class DateMention(BaseModel):
    text: str  # as written: "Dec. 18, 2025", "Tuesday"
    date: date_type | None = None  # None when it cannot be pinned down (a weekday, no pub. date)


class Dateline(BaseModel):
    place: str
    agency: str | None = None
    date_text: str | None = None


class ExtractedArticle(_Message):
    """extraction → enrichment: clean text and metadata."""

    article_id: str
    url: str | None = None
    title: str
    title_derived: bool = False  # True when the source had no title and we made one from the lead
    subtitle: str | None = None
    lead: str | None = None
    body: str
    headings: list[str] = Field(default_factory=list)
    ai_generated: bool = False  # the text says it was written by a machine
    disclaimer: str | None = None  # that statement, kept out of the body
    related: list[str] = Field(default_factory=list)  # "Related Articles" items, kept out of the body
    published_at: datetime | None = None
    authors: list[str] = Field(default_factory=list)
    site_name: str | None = None
    canonical_url: str | None = None
    image: str | None = None  # the page's lead image
    language: str | None = None  # declared by the source, else detected
    dateline: Dateline | None = None
    quotes: list[Quote] = Field(default_factory=list)
    dates: list[DateMention] = Field(default_factory=list)
    source: SourceInfo = Field(default_factory=SourceInfo)
    submitted_at: datetime
    extracted_at: datetime = Field(default_factory=utcnow)


class Entity(BaseModel):
    name: str  # canonical name within the article
    mentions: int = 1


class Country(BaseModel):
    code: str  # ISO 3166-1 alpha-2
    name: str
    mentions: int = 1


class Keyword(BaseModel):
    text: str
    score: float  # relevance, 0..1, higher is more relevant


class TopicScore(BaseModel):
    label: str
    code: str | None = None  # IPTC Media Topic code, for top-level topics
    parent: str | None = None  # the top-level label, for subtopics
    score: float  # confidence, 0..1


class Tone(BaseModel):
    """VADER sentiment over the article's sentences: compound in -1..1."""

    compound: float
    positive: float
    negative: float
    neutral: float


class EnrichedArticle(ExtractedArticle):
    """enrichment → indexing: the article plus what we learned about it."""

    language: str | None = None
    people: list[Entity] = Field(default_factory=list)
    organizations: list[Entity] = Field(default_factory=list)
    places: list[Entity] = Field(default_factory=list)
    events: list[Entity] = Field(default_factory=list)
    countries: list[Country] = Field(default_factory=list)
    primary_country: str | None = None
    keywords: list[Keyword] = Field(default_factory=list)
    topics: list[TopicScore] = Field(default_factory=list)
    tone: Tone | None = None
    content_hash: str | None = None  # of the normalised text: equal hashes are exact duplicates
    minhash: list[int] = Field(default_factory=list)  # signature for near-duplicate search
    duplicate_of: str | None = None  # the article this one repeats, if any
    duplicate_kind: Literal["exact", "near"] | None = None
    story_id: str | None = None
    stems: str | None = None  # title and body as Snowball stems, for word-form matching
    title_stems: str | None = None
    enriched_at: datetime = Field(default_factory=utcnow)
    models: dict[str, str] = Field(default_factory=dict)  # component → version, for provenance

    def to_document(self) -> dict[str, Any]:
        """The Elasticsearch document: entity lists flattened to names for faceting."""
        doc = self.model_dump(mode="json", exclude_none=True)
        for field in ("people", "organizations", "places", "events"):
            doc[field] = [entity.name for entity in getattr(self, field)]
        doc["country_codes"] = [country.code for country in self.countries]
        doc["topic_labels"] = [t.label for t in self.topics if t.parent is None]
        doc["subtopic_labels"] = [t.label for t in self.topics if t.parent is not None]
        doc["is_duplicate"] = self.duplicate_of is not None
        # One date to sort and facet on: publication when known, else when we received it.
        doc["date"] = (self.published_at or self.submitted_at).isoformat()
        doc["indexed_at"] = utcnow().isoformat()
        return doc


class DeadLetter(_Message):
    """Anything a stage could not handle, with enough to replay it."""

    stage: Stage
    error: str
    error_type: str
    article_id: str | None = None
    source_topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    # The original message bytes: as text when they decode as UTF-8, else base64.
    payload: str
    payload_encoding: Literal["utf-8", "base64"] = "utf-8"
    failed_at: datetime = Field(default_factory=utcnow)

    @classmethod
    def for_payload(cls, payload: bytes | None, **fields: Any) -> DeadLetter:
        raw = payload or b""
        try:
            return cls(payload=raw.decode("utf-8"), **fields)
        except UnicodeDecodeError:
            return cls(payload=base64.b64encode(raw).decode(), payload_encoding="base64", **fields)

    def original_payload(self) -> bytes:
        if self.payload_encoding == "base64":
            return base64.b64decode(self.payload)
        return self.payload.encode()


def headers_for(article_id: str, submitted_at: datetime, stage: Stage) -> list[tuple[str, bytes]]:
    return [
        (Header.ARTICLE_ID.value, article_id.encode()),
        (Header.SUBMITTED_AT.value, submitted_at.isoformat().encode()),
        (Header.SCHEMA.value, str(SCHEMA_VERSION).encode()),
        (Header.STAGE.value, stage.value.encode()),
    ]


def header_value(headers: Any, name: Header) -> str | None:
    """Reads one header from aiokafka's list of tuples or faust's mapping."""
    items = headers.items() if isinstance(headers, dict) else (headers or [])
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


def topic_name(settings: Settings, topic: Topic) -> str:
    return settings.topic(topic.value)


def parse_json(payload: bytes | None) -> Any:
    if not payload:
        raise ValueError("empty message")
    return json.loads(payload)
