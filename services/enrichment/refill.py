"""Start-up: fill enrichment's memory from the recent articles of the news index, oldest
first, a page at a time (search_after), so a restarted worker forgets nothing it indexed."""

from __future__ import annotations

import logging
from typing import Any

from services.enrichment.memory import REMEMBERED_FIELDS, ArticleMemory, Remembered
from shared.contracts.document import DocField
from shared.settings import Settings

log = logging.getLogger(__name__)

REFILL_DAYS = 7
REFILL_ARTICLES = 20_000
REFILL_PAGE = 2_000


async def refill_from_index(memory: ArticleMemory, es: Any, settings: Settings) -> int:
    if not await es.indices.exists_alias(name=settings.index_alias):
        return 0
    loaded, after = 0, None
    while loaded < REFILL_ARTICLES:
        page = await es.search(
            index=settings.index_alias, size=min(REFILL_PAGE, REFILL_ARTICLES - loaded),
            source_includes=REMEMBERED_FIELDS,
            query={"range": {DocField.DATE.value: {"gte": f"now-{REFILL_DAYS}d"}}},
            sort=[{DocField.DATE.value: "asc"}, {DocField.ARTICLE_ID.value: "asc"}], search_after=after,
        )
        hits = page["hits"]["hits"]
        if not hits:
            break
        for hit in hits:
            memory.remember(Remembered.from_document(hit["_source"]))
        loaded += len(hits)
        after = hits[-1]["sort"]
    log.info("memory refilled from %d recent articles", loaded)
    return loaded
