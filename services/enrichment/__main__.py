"""python -m services.enrichment: news.extracted → news.enriched.

`analyse` (the NLP) runs in a child process under the stage's time budget
(shared/runtime/budget.py); duplicates and stories are decided here, against this worker's
memory. The guard below keeps the child (started with `spawn`) from starting a stage of its own.
"""

from __future__ import annotations

import logging
from typing import Any

from services.enrichment.enrich import Enricher, analyse, warm
from services.enrichment.memory import InProcessMemory
from services.enrichment.refill import refill_from_index
from shared.contracts.topology import Stage, spec
from shared.runtime.budget import IsolatedStep
from shared.runtime.elasticsearch import make_client
from shared.runtime.stage import TopicSink, run_stage
from shared.settings import get_settings

log = logging.getLogger("services.enrichment")


async def make_sink(producer: Any, _consumer: Any) -> TopicSink:
    settings = get_settings()
    isolated = IsolatedStep(analyse, settings.stage_budget_seconds, warm=warm, name="enrichment")
    await isolated.start()  # the model loads before joining the consumer group
    memory = InProcessMemory()
    es = make_client(settings)
    try:
        await refill_from_index(memory, es, settings)
    except Exception as exc:  # a cold start is better than no start; say so loudly
        log.error("could not refill duplicates and stories from Elasticsearch: %s", exc)
    finally:
        await es.close()
    return TopicSink(spec(Stage.ENRICHMENT), settings, Enricher(memory).decide, producer,
                     isolated=isolated)


if __name__ == "__main__":
    run_stage(spec(Stage.ENRICHMENT), make_sink)
