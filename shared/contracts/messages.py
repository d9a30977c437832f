"""The messages that flow between the stages, as pydantic models (JSON on the wire).

Every service imports these; none redefines them. Fields that the news index searches or
facets on carry an `IndexAs` marker (shared/contracts/index_fields.py): adding an indexed field
is one line here, and `document.py` builds the mapping from it.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from datetime import date as date_type
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.index_fields import (
    BOOLEAN,
    DATE,
    DISABLED,
    ENTITY,
    EXACT,
    FLOAT,
    INTEGER,
    KEYWORD,
    STORED_ONLY,
    TEXT,
    TEXT_STORED_ONLY,
    TEXT_WITH_RAW,
    URL,
)
from shared.contracts.topology import Stage


def utcnow() -> datetime:
    return datetime.now(UTC)


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")
    # Fields that may be emptied, in this order, when the message would not fit the broker's
    # message limit (see `to_bytes_within`); a message too large without them is dead-lettered.
    TRIMMABLE: ClassVar[tuple[str, ...]] = ()

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    def to_bytes_within(self, limit: int) -> bytes | None:
        """The message as bytes, at most `limit` of them: when too large, the TRIMMABLE fields
        are emptied one by one (and named in `trimmed`) until it fits; None if it never does."""
        data = self.to_bytes()
        for name in self.TRIMMABLE:
            if len(data) <= limit:
                break
            value = getattr(self, name, None)
            if value:
                setattr(self, name, [] if isinstance(value, list) else None)
                self.trimmed = [*getattr(self, "trimmed", []), name]
                data = self.to_bytes()
        return data if len(data) <= limit else None


class SourceInfo(BaseModel):
    """Where a submission came from."""

    name: Annotated[str | None, KEYWORD] = None  # publisher or site name, e.g. "Reuters"
    feed_url: Annotated[str | None, URL] = None
    client: Annotated[str | None, KEYWORD] = None  # API client or tool that submitted it


ContentFormat = Literal["text", "html", "fields"]


class RawArticle(Message):
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
    text: Annotated[str, TEXT]
    speaker: Annotated[str | None, KEYWORD] = None  # None when the text does not say who


class DateMention(BaseModel):
    text: Annotated[str, KEYWORD]  # as written: "Dec. 18, 2025", "Tuesday"
    # None when it cannot be pinned down (a weekday, no publication date).
    date: Annotated[date_type | None, DATE] = None


class Dateline(BaseModel):
    place: Annotated[str | None, KEYWORD] = None  # None: "(Bloomberg) -- " names no place
    agency: Annotated[str | None, KEYWORD] = None
    date_text: Annotated[str | None, STORED_ONLY] = None


class ExtractedArticle(Message):
    """extraction → enrichment: clean text and metadata."""

    # What goes first when an article would not fit a broker message: what the body repeats or
    # what was found in it, never the body.
    TRIMMABLE: ClassVar[tuple[str, ...]] = ("related", "quotes", "dates", "headings", "lead")

    article_id: Annotated[str, EXACT]
    url: Annotated[str | None, URL] = None
    title: Annotated[str, TEXT_WITH_RAW]
    # True when the source had no title and we made one from the lead.
    title_derived: Annotated[bool, BOOLEAN] = False
    subtitle: Annotated[str | None, TEXT] = None
    lead: Annotated[str | None, TEXT] = None
    body: Annotated[str, TEXT]
    headings: Annotated[list[str], TEXT] = Field(default_factory=list)
    ai_generated: Annotated[bool, BOOLEAN] = False  # the text says it was written by a machine
    disclaimer: Annotated[str | None, TEXT_STORED_ONLY] = None  # that statement, kept out of the body
    # "Related Articles" items, kept out of the body.
    related: Annotated[list[str], TEXT] = Field(default_factory=list)
    published_at: Annotated[datetime | None, DATE] = None
    # "day" when the source gave a date and no time (published_at is then its midnight, UTC);
    # "time" when it gave the instant; None when published_at is unknown.
    published_precision: Annotated[Literal["day", "time"] | None, KEYWORD] = None
    authors: Annotated[list[str], ENTITY] = Field(default_factory=list)
    site_name: Annotated[str | None, KEYWORD] = None
    canonical_url: Annotated[str | None, URL] = None
    image: Annotated[str | None, STORED_ONLY] = None  # the page's lead image
    language: Annotated[str | None, EXACT] = None  # declared by the source, else detected
    dateline: Dateline | None = None
    quotes: list[Quote] = Field(default_factory=list)
    dates: list[DateMention] = Field(default_factory=list)
    source: SourceInfo = Field(default_factory=SourceInfo)
    submitted_at: Annotated[datetime, DATE]
    extracted_at: Annotated[datetime, DATE] = Field(default_factory=utcnow)
    # The TRIMMABLE lists emptied so that the article fits a broker message.
    trimmed: Annotated[list[str], KEYWORD] = Field(default_factory=list)


class Entity(BaseModel):
    name: str  # canonical name within the article
    mentions: int = 1


class Country(BaseModel):
    code: Annotated[str, EXACT]  # ISO 3166-1 alpha-2
    name: Annotated[str, KEYWORD]
    mentions: Annotated[int, INTEGER] = 1


class Keyword(BaseModel):
    text: Annotated[str, ENTITY]
    score: Annotated[float, FLOAT]  # relevance, 0..1, higher is more relevant


class TopicScore(BaseModel):
    label: Annotated[str, EXACT]
    code: Annotated[str | None, EXACT] = None  # IPTC Media Topic code, for top-level topics
    parent: Annotated[str | None, EXACT] = None  # the top-level label, for subtopics
    score: Annotated[float, FLOAT]  # confidence, 0..1


class Tone(BaseModel):
    """VADER sentiment over the article's sentences: compound in -1..1."""

    compound: Annotated[float, FLOAT]
    positive: Annotated[float, FLOAT]
    negative: Annotated[float, FLOAT]
    neutral: Annotated[float, FLOAT]


class EnrichedArticle(ExtractedArticle):
    """enrichment → indexing: the article plus what we learned about it."""

    language: Annotated[str | None, EXACT] = None
    people: Annotated[list[Entity], ENTITY] = Field(default_factory=list)
    organizations: Annotated[list[Entity], ENTITY] = Field(default_factory=list)
    places: Annotated[list[Entity], ENTITY] = Field(default_factory=list)
    events: Annotated[list[Entity], ENTITY] = Field(default_factory=list)
    countries: list[Country] = Field(default_factory=list)
    primary_country: Annotated[str | None, EXACT] = None
    keywords: list[Keyword] = Field(default_factory=list)
    topics: list[TopicScore] = Field(default_factory=list)
    tone: Tone | None = None
    # Of the normalised text: equal hashes are exact duplicates.
    content_hash: Annotated[str | None, EXACT] = None
    minhash: list[int] = Field(default_factory=list)  # signature for near-duplicate search
    duplicate_of: Annotated[str | None, EXACT] = None  # the article this one repeats, if any
    duplicate_kind: Annotated[Literal["exact", "near"] | None, EXACT] = None
    story_id: Annotated[str | None, EXACT] = None
    # Title and body as Snowball stems (shared/text/wordforms.py), for word-form matching.
    stems: Annotated[str | None, TEXT] = None
    title_stems: Annotated[str | None, TEXT] = None
    enriched_at: Annotated[datetime, DATE] = Field(default_factory=utcnow)
    # Component → version, for provenance.
    models: Annotated[dict[str, str], DISABLED] = Field(default_factory=dict)


class LinkRecord(Message):
    """linker → news.links: what the linker decided for one article and what later articles are
    compared with. The table of these is the linker's memory: a restarted or standby linker
    replays it, in order, to the state the last decision was made in."""

    article_id: str
    content_hash: str
    minhash: list[int] = Field(default_factory=list)
    duplicate_of: str | None = None
    duplicate_kind: Literal["exact", "near"] | None = None
    story_id: str
    # What a story is matched on: canonical entities (and country codes), keyword stems.
    entities: list[str] = Field(default_factory=list)
    terms: list[str] = Field(default_factory=list)
    linked_at: datetime = Field(default_factory=utcnow)


class DeadLetter(Message):
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
    # True when the payload itself would not fit a broker message: it is left out, and
    # source_topic/partition/offset point at the original (kept for the topic's retention).
    payload_omitted: bool = False
    failed_at: datetime = Field(default_factory=utcnow)

    @classmethod
    def for_payload(cls, payload: bytes | None, **fields: Any) -> DeadLetter:
        raw = payload or b""
        try:
            return cls(payload=raw.decode("utf-8"), **fields)
        except UnicodeDecodeError:
            return cls(payload=base64.b64encode(raw).decode(), payload_encoding="base64", **fields)

    def without_payload(self) -> DeadLetter:
        return self.model_copy(update={"payload": "", "payload_encoding": "utf-8",
                                       "payload_omitted": True})

    def original_payload(self) -> bytes:
        if self.payload_encoding == "base64":
            return base64.b64decode(self.payload)
        return self.payload.encode()
