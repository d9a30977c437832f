"""python -m services.enrichment: news.extracted → news.analysed.

`analyse` (the NLP) runs in a child process under the stage's time budget
(shared/runtime/budget.py). It reads one article alone, so any number of these workers can
share the input's partitions; duplicates and stories are the linker's, after. The guard below
keeps the child (started with `spawn`) from starting a stage of its own.
"""

from __future__ import annotations

from typing import Any

from services.enrichment.enrich import analyse, warm
from shared.contracts.topology import Stage, spec
from shared.runtime.budget import IsolatedStep
from shared.runtime.stage import TopicSink, run_stage
from shared.settings import get_settings


async def make_sink(producer: Any, _consumer: Any) -> TopicSink:
    settings = get_settings()
    isolated = IsolatedStep(analyse, settings.stage_budget_seconds, warm=warm, name="enrichment")
    await isolated.start()  # the model loads before joining the consumer group
    return TopicSink(spec(Stage.ENRICHMENT), settings, None, producer, isolated=isolated)


if __name__ == "__main__":
    run_stage(spec(Stage.ENRICHMENT), make_sink)
