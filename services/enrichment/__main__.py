import asyncio
import logging

from services.enrichment.enrich import nlp
from services.enrichment.worker import app, enricher, settings
from shared.search_index import make_client
from shared.stage import run_stage

log = logging.getLogger("services.enrichment")


async def warm_up() -> None:
    es = make_client(settings)
    try:
        await enricher.warm_up(es, settings)
    except Exception as exc:  # a cold start is better than no start; say so loudly
        log.error("could not warm up duplicates and stories from Elasticsearch: %s", exc)
    finally:
        await es.close()


nlp()  # load the model before joining the consumer group, not on the first message
asyncio.run(warm_up())
run_stage(app, settings)
