"""The extraction agent: news.raw → news.extracted."""

from __future__ import annotations

from services.extraction.extract import extract_article
from shared.contracts import ExtractedArticle, RawArticle, Stage, Topic, parse_json
from shared.settings import get_settings
from shared.stage import build_stage_app


def transform(payload: bytes) -> ExtractedArticle:
    return extract_article(RawArticle.model_validate(parse_json(payload)))


settings = get_settings()
app = build_stage_app(settings, Stage.EXTRACTION, Topic.RAW, Topic.EXTRACTED, transform)
