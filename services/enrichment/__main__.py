"""python -m services.enrichment: news.extracted → news.enriched."""

from __future__ import annotations

import logging
from typing import Any

from services.enrichment.enrich import Enricher, nlp
from services.enrichment.memory import InProcessMemory
from services.enrichment.refill import refill_from_index
from shared.contracts.topology import Stage, spec
from shared.runtime.elasticsearch import make_client
from shared.runtime.stage import TopicSink, run_stage
from shared.settings import get_settings

log = logging.getLogger("services.enrichment")
settings = get_settings()
stage = spec(Stage.ENRICHMENT)


async def make_sink(producer: Any, _consumer: Any) -> TopicSink:
    nlp()  # load the model before joining the consumer group, not on the first message
    memory = InProcessMemory()
    es = make_client(settings)
    try:
        await refill_from_index(memory, es, settings)
    except Exception as exc:  # a cold start is better than no start; say so loudly
        log.error("could not refill duplicates and stories from Elasticsearch: %s", exc)
    finally:
        await es.close()
    return TopicSink(stage, settings, Enricher(memory).enrich, producer)


run_stage(stage, make_sink)
