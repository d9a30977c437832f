"""raw → extracted, as pure functions (the agent in worker.py only moves bytes)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import trafilatura

from services.extraction.plain_text import derive_title, parse_plain_text
from shared.contracts import ExtractedArticle, RawArticle

_MIN_BODY_CHARS = 20


def extract_article(raw: RawArticle) -> ExtractedArticle:
    common: dict[str, Any] = {
        "article_id": raw.article_id, "url": raw.url, "source": raw.source,
        "submitted_at": raw.submitted_at, "authors": raw.authors,
        "published_at": raw.published_at, "language": raw.language,
    }
    if raw.format == "html":
        article = _from_html(raw.content or "", raw.url, common)
    elif raw.format == "text":
        structure = parse_plain_text(raw.content or "")
        article = ExtractedArticle(
            **common, title=raw.title or structure.title,
            title_derived=structure.title_derived and not raw.title,
            subtitle=structure.subtitle, lead=structure.lead, body=structure.body,
            headings=structure.headings, ai_generated=structure.disclaimer is not None,
            disclaimer=structure.disclaimer, related=structure.related,
        )
    else:
        body = (raw.body or "").strip()
        paragraphs = [p.strip() for p in body.split("\n\n") if p.strip()]
        lead = paragraphs[0] if paragraphs else None
        article = ExtractedArticle(
            **common, title=raw.title or derive_title(body), title_derived=not raw.title,
            lead=lead, body=body,
        )
    if len(article.body) < _MIN_BODY_CHARS:
        raise ValueError(f"no article text found (body has {len(article.body)} characters)")
    return article


def _from_html(html: str, url: str | None, common: dict[str, Any]) -> ExtractedArticle:
    document = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, favor_precision=False
    )
    if document is None:
        raise ValueError("no article text found in the HTML")
    data = document.as_dict() if hasattr(document, "as_dict") else dict(document)
    body = (data.get("text") or "").strip()
    paragraphs = [p for p in body.split("\n") if p.strip()]
    title = (data.get("title") or "").strip()
    fields = dict(common)
    if data.get("author") and not fields["authors"]:
        fields["authors"] = [a.strip() for a in str(data["author"]).split(";") if a.strip()]
    if data.get("date") and not fields["published_at"]:
        fields["published_at"] = _parse_date(str(data["date"]))
    if data.get("language") and not fields["language"]:
        fields["language"] = data["language"]
    if data.get("url") and not fields["url"]:
        fields["url"] = data["url"]
    return ExtractedArticle(
        **fields,
        title=title or (derive_title(paragraphs[0]) if paragraphs else ""),
        title_derived=not title, subtitle=(data.get("description") or None),
        lead=paragraphs[0] if paragraphs else None, body="\n\n".join(paragraphs),
        site_name=data.get("sitename") or None,
    )


def _parse_date(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
