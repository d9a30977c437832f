"""python -m services.indexing: news.enriched → Elasticsearch, in bulk."""

from __future__ import annotations

from typing import Any

from services.indexing.sink import BulkIndexSink
from shared.contracts.topology import Stage, spec
from shared.runtime.elasticsearch import check_elasticsearch, ensure_index, make_client
from shared.runtime.stage import BatchBounds, run_stage
from shared.settings import get_settings

settings = get_settings()


async def make_sink(_producer: Any, _consumer: Any) -> BulkIndexSink:
    await check_elasticsearch(settings)
    es = make_client(settings)
    await ensure_index(es, settings)
    return BulkIndexSink(settings, es)


run_stage(spec(Stage.INDEXING), make_sink, BatchBounds(
    settings.index_batch_size, settings.index_batch_seconds, settings.index_linger_seconds))
