"""python -m services.indexing: news.enriched → Elasticsearch, in bulk."""

from __future__ import annotations

from services.indexing.sink import bounds, make_sink
from shared.contracts.topology import Stage, spec
from shared.runtime.stage import run_stage

if __name__ == "__main__":
    run_stage(spec(Stage.INDEXING), make_sink, bounds)
