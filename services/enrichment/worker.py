"""The enrichment agent: news.extracted → news.enriched."""

from __future__ import annotations

from services.enrichment.enrich import Enricher
from shared.contracts import EnrichedArticle, ExtractedArticle, Stage, Topic, parse_json
from shared.settings import get_settings
from shared.stage import build_stage_app

enricher = Enricher()


def transform(payload: bytes) -> EnrichedArticle:
    return enricher.enrich(ExtractedArticle.model_validate(parse_json(payload)))


settings = get_settings()
app = build_stage_app(settings, Stage.ENRICHMENT, Topic.EXTRACTED, Topic.ENRICHED, transform)
