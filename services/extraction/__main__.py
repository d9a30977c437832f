"""python -m services.extraction: news.raw → news.extracted."""

from __future__ import annotations

from typing import Any

from services.extraction.extract import extract_article
from shared.contracts.topology import Stage, spec
from shared.runtime.stage import TopicSink, run_stage
from shared.settings import get_settings
from shared.text.language import load_model

settings = get_settings()
stage = spec(Stage.EXTRACTION)


async def make_sink(producer: Any, _consumer: Any) -> TopicSink:
    load_model()  # half a second now, not while the first article waits
    return TopicSink(stage, settings, extract_article, producer)


run_stage(stage, make_sink)
