"""The answer cache: the same bodies at the same generation only, bounded by entries and
bytes, the least recently used let go first."""

from __future__ import annotations

from services.search_api.cache import AnswerCache, request_key


def test_an_answer_is_found_only_by_its_bodies_and_generation() -> None:
    cache = AnswerCache()
    key = request_key({"query": {"match": {"text": "oil"}}}, {"size": 0})
    cache.put(key, 7, b'{"total": 3}')
    assert cache.get(key, 7) == b'{"total": 3}'
    assert cache.get(key, 8) is None  # a shard refreshed since: not this answer
    assert cache.get(request_key({"query": {"match": {"text": "gas"}}}, {"size": 0}), 7) is None
    assert request_key({"a": 1, "b": 2}) == request_key({"b": 2, "a": 1})  # key order is not a request
    assert (cache.hits, cache.misses) == (1, 2)


def test_entries_and_bytes_are_bounded_least_recently_used_first() -> None:
    cache = AnswerCache(max_entries=2, max_bytes=10_000)
    for name in ("a", "b"):
        cache.put(name, 1, b"x" * 10)
    cache.get("a", 1)  # a is now the most recent
    cache.put("c", 1, b"x" * 10)
    assert set(cache.entries) == {("a", 1), ("c", 1)}
    big = AnswerCache(max_entries=100, max_bytes=10_000)
    big.put("huge", 1, b"x" * 200)  # over a hundredth of the budget: not kept
    for n in range(60):
        big.put(str(n), 1, b"x" * 90)
    assert "huge" not in {k for k, _ in big.entries} and big.size <= 10_000
