"""Elasticsearch plumbing: the one factory of Elasticsearch clients (the official async and sync
clients, and the options for a plain HTTP client), the start-up check, health, the index
template and the versioned index behind its alias, and `reindex`. The document's shape and
mapping belong to shared/contracts/document.py.

Only server-core features are used (standard analyzer, keyword fields, no scripts, no
percolator), so this runs unchanged on the local integ-test distribution and on any 8.19/9.x node.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from elastic_transport import TlsError
from elasticsearch import (
    ApiError,
    AsyncElasticsearch,
    AuthenticationException,
    AuthorizationException,
    Elasticsearch,
    TransportError,
)
from elasticsearch.serializer import OrjsonSerializer

from shared.contracts.document import INDEX_VERSION, MAPPINGS, DocField, add_words
from shared.contracts.history import ALERT_MAPPINGS, DELIVERY_MAPPINGS, alerts_alias, deliveries_alias
from shared.runtime.security import (
    ConnectionProblem,
    Unreachable,
    elasticsearch_auth_headers,
    elasticsearch_ssl_context,
    reason,
    ssl_error_in,
)
from shared.settings import Settings

log = logging.getLogger(__name__)


class JsonThroughOrjson(OrjsonSerializer):
    """orjson (a search answer with facets read in a fraction of json's time), with keys that
    are str subclasses (our `DocField` names) written as the strings they are."""

    def json_dumps(self, data: Any) -> bytes:
        return orjson.dumps(data, default=self.default, option=orjson.OPT_NON_STR_KEYS)


def client_options(settings: Settings) -> dict[str, Any]:
    """Credentials and trust for the official client: an API key, else a user and password; a
    CA file or a pinned certificate fingerprint (else certifi's CAs); JSON through orjson."""
    options: dict[str, Any] = {"request_timeout": 30, "retry_on_timeout": True,
                               "serializer": JsonThroughOrjson()}
    if settings.elasticsearch_api_key is not None:
        options["api_key"] = settings.elasticsearch_api_key.get_secret_value()
    elif settings.elasticsearch_username and settings.elasticsearch_password is not None:
        options["basic_auth"] = (settings.elasticsearch_username,
                                 settings.elasticsearch_password.get_secret_value())
    context = elasticsearch_ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    return options


def make_client(settings: Settings, **overrides: Any) -> AsyncElasticsearch:
    return AsyncElasticsearch(settings.elasticsearch_url, **{**client_options(settings), **overrides})


def make_sync_client(settings: Settings, **overrides: Any) -> Elasticsearch:
    return Elasticsearch(settings.elasticsearch_url, **{**client_options(settings), **overrides})


def http_options(settings: Settings) -> dict[str, Any]:
    """For an httpx client that talks to Elasticsearch's REST API itself (the benches' direct
    requests, the local stack's probes): base URL, credentials, trust."""
    context = elasticsearch_ssl_context(settings)
    return {"base_url": settings.elasticsearch_url, "headers": elasticsearch_auth_headers(settings),
            **({"verify": context} if context is not None else {})}


async def check_elasticsearch(settings: Settings, wait: float = 30.0, must_answer: bool = True) -> None:
    """Asks for the cluster's health as every client will, and raises `ConnectionProblem` with
    one line when credentials are missing or refused or the certificate is not trusted, or
    `Unreachable` when nothing answered within `wait` seconds (unless not `must_answer`: the
    monitor starts while Elasticsearch is away, to report that)."""
    url = settings.elasticsearch_url
    has_credentials = settings.elasticsearch_api_key is not None or settings.elasticsearch_username
    deadline = asyncio.get_running_loop().time() + wait
    while True:  # reading a pinned certificate needs the node up
        try:
            es = make_client(settings, retry_on_timeout=False, max_retries=0, request_timeout=5)
            break
        except Unreachable:
            if not must_answer:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(1.0)
    try:
        while True:
            try:
                await es.cluster.health(timeout="2s")
                return
            except AuthenticationException as exc:
                if not has_credentials:
                    raise ConnectionProblem(
                        f"Elasticsearch at {url} wants credentials: set NEWSFLOW_ELASTICSEARCH_API_KEY "
                        "(or _API_KEY_FILE), or NEWSFLOW_ELASTICSEARCH_USERNAME and _PASSWORD") from None
                raise ConnectionProblem(f"Elasticsearch at {url} refused the credentials "
                                        f"({_kind(settings)}): {_error_reason(exc)}") from None
            except AuthorizationException as exc:
                raise ConnectionProblem(f"Elasticsearch at {url}: the {_kind(settings)} lacks a "
                                        f"privilege: {_error_reason(exc)}") from None
            except ApiError:
                return  # it answered; a cluster-level error is not a connection problem
            except TransportError as exc:
                why = reason(exc)
                if isinstance(exc, TlsError) or ssl_error_in(exc):
                    raise ConnectionProblem(
                        f"Elasticsearch at {url}: {why}; name its CA in NEWSFLOW_ELASTICSEARCH_CA_FILE "
                        "or pin it with NEWSFLOW_ELASTICSEARCH_CA_FINGERPRINT") from None
                if not must_answer:
                    return
                if asyncio.get_running_loop().time() > deadline:
                    raise Unreachable(f"Elasticsearch unreachable at {url} after {wait:.0f}s: {why}"
                                      ) from None
            await asyncio.sleep(1.0)
    finally:
        await es.close()


def _kind(settings: Settings) -> str:
    return "API key" if settings.elasticsearch_api_key is not None else \
        f"user {settings.elasticsearch_username!r}"


def _error_reason(exc: ApiError) -> str:
    try:
        return str(exc.body["error"]["reason"])[:300]
    except (TypeError, KeyError):
        return str(exc.message)[:300]


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
            "settings": {"number_of_shards": 1, "number_of_replicas": settings.index_replicas,
                         "refresh_interval": "1s"},
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


async def ensure_history(es: AsyncElasticsearch, settings: Settings) -> None:
    """The alert history's templates: each daily index joins its alias as it is made."""
    for alias, mappings in ((alerts_alias(settings), ALERT_MAPPINGS),
                            (deliveries_alias(settings), DELIVERY_MAPPINGS)):
        await es.indices.put_index_template(
            name=f"{alias}-template", index_patterns=[f"{alias}-*"], priority=100,
            template={"settings": {"number_of_shards": 1, "number_of_replicas": settings.index_replicas,
                                   "refresh_interval": "1s"},
                      "mappings": mappings, "aliases": {alias: {}}})
        # Indices made before a field was added get it too (adding a field is always allowed).
        if (await es.indices.exists_alias(name=alias)).body:
            await es.indices.put_mapping(index=alias, properties=mappings["properties"])


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
            operations += [{"index": {"_index": target, "_id": hit["_id"]}}, add_words(hit["_source"])]
        response = await es.bulk(operations=operations)
        if response["errors"]:
            failed = [i["index"] for i in response["items"] if i["index"]["status"] >= 300]
            raise RuntimeError(f"{len(failed)} documents failed to copy, e.g. {failed[0]}")
        copied += len(hits)
        after = hits[-1]["sort"]
