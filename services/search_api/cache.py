"""An exact cache of search answers: the answer to a first page (results, facets, histogram)
kept under the request's Elasticsearch bodies and the index's refresh generation.

Why it is exact: what a search sees changes only when a shard refreshes (new, changed or
deleted documents become visible then), and `refresh.external_total`, summed over every copy
of every shard of the index, grows with each such refresh. An answer is served from the cache
only for the same bodies (relative dates are resolved to the minute before they are compiled,
so a body says exactly what it asks) at the same generation, read just before: had any shard
refreshed since the answer was made, the generation would differ. An answer is stored under
the generation read before its search; a refresh that lands during that search only makes the
stored answer unreachable (later requests read a newer generation), never stale.

Bounded by entries and by bytes, the least recently used let go first; a new generation makes
every older entry unreachable, and they age out.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

import orjson

from shared.runtime.metrics import SEARCH_CACHE


def request_key(*bodies: dict[str, Any]) -> str:
    encoded = orjson.dumps(bodies, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    return hashlib.sha256(encoded).hexdigest()


class AnswerCache:
    def __init__(self, max_entries: int = 10_000, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.entries: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self.size = 0
        self.hits = self.misses = 0

    def get(self, key: str, generation: int) -> bytes | None:
        found = self.entries.get((key, generation))
        if found is None:
            self.misses += 1
            SEARCH_CACHE.labels("miss").inc()
            return None
        self.entries.move_to_end((key, generation))
        self.hits += 1
        SEARCH_CACHE.labels("hit").inc()
        return found

    def put(self, key: str, generation: int, answer: bytes) -> None:
        if len(answer) > self.max_bytes // 100:
            return  # one answer may not push a hundred others out
        old = self.entries.pop((key, generation), None)
        if old is not None:
            self.size -= len(old)
        self.entries[(key, generation)] = answer
        self.size += len(answer)
        while len(self.entries) > self.max_entries or self.size > self.max_bytes:
            _, dropped = self.entries.popitem(last=False)
            self.size -= len(dropped)
