"""What a client submits (the ingest API's input), and how it becomes a `RawArticle`.

The ingest API and the feed poller both submit through `accept_submission`, so a feed entry
meets the same validation and size limit as an API call.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

from shared.contracts.ids import article_id, canonical_url
from shared.contracts.messages import ContentFormat, RawArticle, SourceInfo
from shared.text.clean import clean_strings
from shared.text.dates import plausible_published_at


class Submission(BaseModel):
    """One article as a client sends it: plain text, HTML (ideally with its URL), or fields."""

    format: ContentFormat = Field(description="text: plain text; html: a web page; "
                                              "fields: title/body already separated")
    content: str | None = Field(default=None, description="the text or HTML (text, html)")
    url: str | None = Field(default=None, max_length=2048)
    title: str | None = Field(default=None, max_length=1000)
    body: str | None = Field(default=None, description="the article body (fields)")
    published_at: datetime | None = None
    authors: list[str] = Field(default_factory=list, max_length=50)
    language: str | None = Field(default=None, min_length=2, max_length=8)
    source: SourceInfo = Field(default_factory=SourceInfo)

    model_config = {"json_schema_extra": {"examples": [{
        "format": "text",
        "content": "Headline\nFirst paragraph of the story.",
        "source": {"name": "Example Wire"},
    }]}}

    @model_validator(mode="before")
    @classmethod
    def _clean(cls, data: Any) -> Any:
        return clean_strings(data)  # shared/text/clean.py: surrogates, NULs, zalgo runs

    @field_validator("published_at")
    @classmethod
    def _plausible(cls, value: datetime | None) -> datetime | None:
        return plausible_published_at(value)

    @model_validator(mode="after")
    def _has_content(self) -> Submission:
        if self.format in ("text", "html") and not (self.content and self.content.strip()):
            raise ValueError(f"format '{self.format}' needs a non-empty 'content'")
        if self.format == "fields" and not (self.body and self.body.strip()):
            raise ValueError("format 'fields' needs a non-empty 'body'")
        if self.url:
            canonical_url(self.url)  # raises ValueError with the reason
        return self

    def size(self) -> int:
        return len((self.content or "").encode()) + len((self.body or "").encode())

    def to_raw(self) -> RawArticle:
        identity = self.content if self.format != "fields" else f"{self.title or ''}\n{self.body}"
        return RawArticle(
            article_id=article_id(self.url, identity), format=self.format, url=self.url,
            content=self.content, title=self.title, body=self.body,
            published_at=self.published_at, authors=self.authors, language=self.language,
            source=self.source.model_copy(),
        )


class SubmissionTooLarge(ValueError):
    pass


def accept_submission(submission: Submission | dict[str, Any], max_bytes: int,
                      client: str | None = None) -> RawArticle:
    """Validates (pydantic's ValidationError), checks the size (SubmissionTooLarge) and makes
    the message; the submitting client is recorded unless the submission names one."""
    if not isinstance(submission, Submission):
        submission = Submission.model_validate(submission)
    size = submission.size()
    if size > max_bytes:
        raise SubmissionTooLarge(f"article is {size} bytes; the limit is {max_bytes}")
    raw = submission.to_raw()
    raw.source.client = raw.source.client or client
    return raw
