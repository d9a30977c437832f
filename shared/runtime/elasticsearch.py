"""Elasticsearch plumbing: the client, health, the index template and the versioned index behind
its alias, and `reindex`. The document's shape and mapping belong to shared/contracts/document.py.

Only server-core features are used (standard analyzer, keyword fields, no scripts, no
percolator), so this runs unchanged on the local integ-test distribution and on any 8.19/9.x node.
"""

from __future__ import annotations

import logging
from typing import Any

from elasticsearch import AsyncElasticsearch

from shared.contracts.document import INDEX_VERSION, MAPPINGS, DocField
from shared.settings import Settings

log = logging.getLogger(__name__)

def make_client(settings: Settings) -> AsyncElasticsearch:
    return AsyncElasticsearch(settings.elasticsearch_url, request_timeout=30, retry_on_timeout=True)


async def elasticsearch_status(es: AsyncElasticsearch) -> str | None:
    """The cluster's health colour, or None when it does not answer."""
    try:
        health = await es.cluster.health(timeout="2s")
        return str(health["status"])
    except Exception:
        return None


def index_name(settings: Settings, version: int = INDEX_VERSION) -> str:
    return f"{settings.index_alias}-v{version}"


async def ensure_index(es: AsyncElasticsearch, settings: Settings) -> str:
    """Installs the template and creates `<alias>-v1` behind the alias if no index has it yet.

    Idempotent; returns the concrete index the alias points to."""
    alias = settings.index_alias
    await es.indices.put_index_template(
        name=f"{alias}-template",
        index_patterns=[f"{alias}-v*"],
        template={
            "settings": {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "1s"},
            "mappings": MAPPINGS,
        },
        priority=100,
    )
    if await es.indices.exists_alias(name=alias):
        current = next(iter((await es.indices.get_alias(name=alias)).body))
        # New fields are added in place; a changed field needs a new index version instead.
        await es.indices.put_mapping(index=current, properties=MAPPINGS["properties"])
        return current
    index = index_name(settings)
    if not await es.indices.exists(index=index):
        try:
            await es.indices.create(index=index, aliases={alias: {"is_write_index": True}})
            log.info("created index %s behind alias %s", index, alias)
        except Exception as exc:  # another worker created it first
            if "resource_already_exists_exception" not in str(exc):
                raise
    else:
        await es.indices.put_alias(index=index, name=alias)
    return index


async def reindex(es: AsyncElasticsearch, settings: Settings, page_size: int = 1000) -> tuple[str, str, int]:
    """Builds the next index version from the current one and swaps the alias in one atomic
    step, so searches never see a missing or half-built index. Copies by search_after and bulk
    (the server core has no _reindex API). Documents indexed into the old version while the
    copy runs are caught by a final pass over what changed since the copy started."""
    alias = settings.index_alias
    old = await ensure_index(es, settings)
    version = int(old.rsplit("-v", 1)[1]) + 1
    new = index_name(settings, version)
    await es.indices.create(index=new)  # the template gives it the current mappings
    started = (await es.search(index=old, size=0, aggs={"last": {"max": {"field": DocField.INDEXED_AT}}}))
    copied = await _copy(es, old, new, {"match_all": {}}, page_size)
    await es.indices.update_aliases(actions=[
        {"remove": {"index": old, "alias": alias}},
        {"add": {"index": new, "alias": alias, "is_write_index": True}},
    ])
    since = started["aggregations"]["last"].get("value_as_string")
    if since:  # late writes that went to the old index during the copy
        copied += await _copy(es, old, new, {"range": {DocField.INDEXED_AT: {"gt": since}}}, page_size)
    await es.indices.refresh(index=new)
    return old, new, copied


async def _copy(es: AsyncElasticsearch, source: str, target: str, query: dict[str, Any],
                page_size: int) -> int:
    copied, after = 0, None
    while True:
        page = await es.search(index=source, size=page_size, query=query,
                               sort=[{DocField.ARTICLE_ID: "asc"}], search_after=after)
        hits = page["hits"]["hits"]
        if not hits:
            return copied
        operations: list[dict[str, Any]] = []
        for hit in hits:
            operations += [{"index": {"_index": target, "_id": hit["_id"]}}, hit["_source"]]
        response = await es.bulk(operations=operations)
        if response["errors"]:
            failed = [i["index"] for i in response["items"] if i["index"]["status"] >= 300]
            raise RuntimeError(f"{len(failed)} documents failed to copy, e.g. {failed[0]}")
        copied += len(hits)
        after = hits[-1]["sort"]
