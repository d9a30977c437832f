"""raw → extracted, as pure functions (the agent in worker.py only moves bytes).

Each format gives title, body and metadata its own way; then one pass over the text adds what
the text itself says: dateline, dates, quotes and language.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from typing import Any, Literal

import trafilatura

from services.extraction.cleanup import clean_paragraphs
from services.extraction.plain_text import derive_title, parse_plain_text
from services.extraction.text_facts import (
    byline_authors,
    find_dates,
    find_quotes,
    is_byline,
    parse_dateline,
)
from shared.contracts.messages import ExtractedArticle, RawArticle
from shared.text.dates import parse_iso, plausible_published_at
from shared.text.language import detect_language

_MIN_BODY_CHARS = 20
_HTML_LANG = re.compile(r"<html\b[^>]*?\blang=[\"']?([a-zA-Z]{2,3})\b")
_HTML_HEAD_CHARS = 5000
# fast: no readability/jusText fallback passes; no date search through the whole text (we find
# dates in the text ourselves). On the 181-page benchmark this is both more accurate and faster
# than trafilatura's defaults (bench/extraction_quality.py).
_TRAFILATURA_OPTIONS: dict[str, Any] = {
    "with_metadata": True, "include_comments": False, "fast": True,
    # The publication instant as the page's metadata gives it (JSON-LD datePublished,
    # article:published_time), with its time and offset; htmldate's default keeps the day only.
    "date_extraction_params": {"extensive_search": False, "original_date": True,
                               "outputformat": "%Y-%m-%dT%H:%M:%S%z"},
}


class TooComplex(ValueError):
    """More HTML elements than the stage's limit: parsing it would outlast any budget."""


def html_elements(html: str) -> int:
    """Opening tags, counted cheaply (str.count is C): `<` not followed by `/`."""
    return html.count("<") - html.count("</")


def extract_article(raw: RawArticle, max_html_elements: int | None = None) -> ExtractedArticle:
    if raw.format == "html" and max_html_elements is not None:
        elements = html_elements(raw.content or "")
        if elements > max_html_elements:
            raise TooComplex(f"the HTML has {elements} elements; the limit is {max_html_elements} "
                             "(NEWSFLOW_MAX_HTML_ELEMENTS)")
    common: dict[str, Any] = {
        "article_id": raw.article_id, "url": raw.url, "source": raw.source,
        "submitted_at": raw.submitted_at, "authors": raw.authors,
        "published_at": raw.published_at, "language": raw.language,
        "published_precision": "time" if raw.published_at else None,
    }
    if raw.format == "html":
        article = _from_html(raw.content or "", raw.url, common)
    elif raw.format == "text":
        article = _from_text(raw.content or "", raw.title, common)
    else:
        article = _from_fields(raw.title, raw.body or "", common)
    if len(article.body) < _MIN_BODY_CHARS:
        raise ValueError(f"no article text found (body has {len(article.body)} characters)")
    return _add_text_facts(article)


def _from_text(content: str, given_title: str | None, common: dict[str, Any]) -> ExtractedArticle:
    structure = parse_plain_text(content)
    return ExtractedArticle(
        **common, title=given_title or structure.title,
        title_derived=structure.title_derived and not given_title,
        subtitle=structure.subtitle, lead=structure.lead, body=structure.body,
        headings=structure.headings, ai_generated=structure.disclaimer is not None,
        disclaimer=structure.disclaimer, related=structure.related,
    )


def _from_fields(title: str | None, body: str, common: dict[str, Any]) -> ExtractedArticle:
    paragraphs = [p.strip() for p in body.strip().split("\n\n") if p.strip()]
    lead = paragraphs[0] if paragraphs else None
    return ExtractedArticle(
        **common, title=title or derive_title(lead or body), title_derived=not title,
        lead=lead, body="\n\n".join(paragraphs),
    )


def _from_html(html: str, url: str | None, common: dict[str, Any]) -> ExtractedArticle:
    document = trafilatura.bare_extraction(html, url=url, **_TRAFILATURA_OPTIONS)
    if document is None:
        raise ValueError("no article text found in the HTML")
    data = document.as_dict() if hasattr(document, "as_dict") else dict(document)
    title = (data.get("title") or "").strip()
    paragraphs = clean_paragraphs((data.get("text") or "").split("\n"), title)
    fields = dict(common)
    if data.get("author") and not fields["authors"]:
        fields["authors"] = [a.strip() for a in str(data["author"]).split(";") if a.strip()]
    if data.get("date") and not fields["published_at"]:
        fields["published_at"], fields["published_precision"] = published_from_metadata(
            str(data["date"]))
    fields["language"] = fields["language"] or data.get("language") or _declared_language(html)
    fields["url"] = fields["url"] or data.get("url")
    return ExtractedArticle(
        **fields,
        title=title or (derive_title(paragraphs[0]) if paragraphs else ""),
        title_derived=not title, subtitle=data.get("description") or None,
        lead=paragraphs[0] if paragraphs else None, body="\n\n".join(paragraphs),
        site_name=data.get("sitename") or None, canonical_url=data.get("url") or None,
        image=data.get("image") or None,
    )


def _add_text_facts(article: ExtractedArticle) -> ExtractedArticle:
    paragraphs = article.body.split("\n\n")
    # "By Jane Doe" on a line of its own, then "LONDON — …": the writers, then the story.
    if len(paragraphs) > 1 and is_byline(paragraphs[0]):
        byline = paragraphs.pop(0)
        article.authors = article.authors or byline_authors(byline)
        article.lead, article.body = paragraphs[0], "\n\n".join(paragraphs)
    dateline, lead = parse_dateline(paragraphs[0])
    if dateline:
        paragraphs[0] = lead
        article.lead, article.body, article.dateline = lead, "\n\n".join(paragraphs), dateline
        if article.published_at is None and dateline.date_text:
            # A dateline's date is the filing date; its year is the submission's.
            found = find_dates(dateline.date_text, article.submitted_at)
            if found and found[0].date:
                article.published_at = datetime.combine(found[0].date, time(), UTC)
                article.published_precision = "day"
    text = "\n".join(t for t in (article.subtitle, article.body) if t)
    article.dates = find_dates(text, article.published_at)
    article.quotes = find_quotes(paragraphs)
    article.language = article.language or detect_language(f"{article.title}\n{article.body}")
    return article


def _declared_language(html: str) -> str | None:
    """The page's own <html lang="…">: free to read, and right on news sites far more often
    than a guess from a few sentences."""
    match = _HTML_LANG.search(html[:_HTML_HEAD_CHARS])
    return match.group(1).lower() if match else None


def published_from_metadata(value: str) -> tuple[datetime | None, Literal["day", "time"] | None]:
    """htmldate's "2026-02-11T08:30:00+0100" → that instant in UTC, to the second. A source
    that gave a day alone comes back as "…T00:00:00" with no offset: its midnight, UTC, said
    to be a day. A time with no offset is read as UTC (what a feed means by it, mostly)."""
    try:
        parsed = parse_iso(value)
    except ValueError:
        return None, None
    day_only = len(value.strip()) == 10 or value.strip().endswith("T00:00:00")
    instant = plausible_published_at(parsed.astimezone(UTC))
    if instant is None:
        return None, None
    return instant, "day" if day_only else "time"
