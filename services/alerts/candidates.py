"""Which subscriptions an article can possibly match, without looping over all of them.

As Lucene's Monitor and the percolator do, each subscription is indexed by the keys it
requires (shared/query/compiled.py: for an AND, its most selective child's; for an OR, every
child's; a NOT requires nothing). Each construct names its own keys: a word its rarest stem, a
prefix its first three letters, a fuzzy word its deletion variants, a keyword its value. An
article is checked only against the subscriptions indexed under a key it has, plus the few
that require nothing. A subscription is never missed: its keys are a necessary condition of
matching. Subscriptions asking the same query (and filters) share one compiled query, tested
once per article.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from shared.query import ArticleView, SubscriptionQuery
from shared.query.constructs import Key, Predicate, value_reader

QueryKey = tuple[str | None, tuple[tuple[str, tuple[str, ...]], ...]]


def query_key(query: str | None, filters: Mapping[str, Sequence[str]]) -> QueryKey:
    return query, tuple(sorted((name, tuple(values)) for name, values in filters.items() if values))


class Shared:
    """One distinct query and every subscription that asks it: popular queries repeat ("bitcoin",
    a leader's name), so a query is compiled, held and tested once however many ask it."""

    __slots__ = ("_test", "certain", "keys", "query", "subscribers")

    def __init__(self, query: SubscriptionQuery, keys: frozenset[Key] | None) -> None:
        self.query = query
        self._test: Predicate | None = None  # built when first asked: a certain query never is
        self.keys = None if keys is None else tuple(keys)  # a tuple: a third of a frozenset
        self.certain = keys is not None and query.certain
        self.subscribers: list[str] = []  # a list: most queries have one (a set costs three times more)

    @property
    def test(self) -> Predicate:
        test = self._test
        if test is None:
            test = self._test = self.query.test
        return test


# key family → value → the query having it, or the queries (most values have one: no set)
Families = dict[str, dict[str, "Shared | set[Shared]"]]


class SubscriptionIndex:
    def __init__(self, rarity: Mapping[str, float] | None = None) -> None:
        self.rarity = dict(rarity or {})
        self.queries: dict[QueryKey, Shared] = {}
        self.of: dict[str, Shared] = {}  # subscription id → its query
        # key family → value → queries; a family with no query is not kept, so an article's
        # values in it (its prefixes, its fuzzy variants) are never computed.
        self.by_family: Families = {}
        # The same for queries that match every (non-duplicate) article having one of their
        # keys (a word, a keyword, an OR of them): most matches are these, and they are
        # collected by set unions, with no evaluation.
        self.certain_by_family: Families = {}
        self.always: set[Shared] = set()

    def __len__(self) -> int:
        return len(self.of)

    def compiled(self, query: str | None, filters: Mapping[str, Sequence[str]]) -> SubscriptionQuery | None:
        """The query already held, if some subscription asks it: no need to compile it again."""
        shared = self.queries.get(query_key(query, filters))
        return None if shared is None else shared.query

    def query_of(self, subscription_id: str) -> SubscriptionQuery:
        return self.of[subscription_id].query

    def add(self, subscription_id: str, subscription: SubscriptionQuery) -> None:
        self.remove(subscription_id)
        key = query_key(subscription.query, subscription.filters)
        shared = self.queries.get(key)
        if shared is None:
            shared = self.queries[key] = Shared(subscription, subscription.requirement(self.rarity))
            if shared.keys is None:
                self.always.add(shared)
            else:
                families = self.certain_by_family if shared.certain else self.by_family
                for family, value in shared.keys:
                    values = families.setdefault(family, {})
                    bucket = values.get(value)
                    if bucket is None:
                        values[value] = shared
                    elif isinstance(bucket, Shared):
                        values[value] = {bucket, shared}
                    else:
                        bucket.add(shared)
        shared.subscribers.append(subscription_id)
        self.of[subscription_id] = shared

    def remove(self, subscription_id: str) -> None:
        shared = self.of.pop(subscription_id, None)
        if shared is None:
            return
        shared.subscribers.remove(subscription_id)
        if shared.subscribers:
            return
        del self.queries[query_key(shared.query.query, shared.query.filters)]
        self.always.discard(shared)
        families = self.certain_by_family if shared.certain else self.by_family
        for family, value in shared.keys or ():
            values = families[family]
            bucket = values[value]
            if isinstance(bucket, Shared):
                del values[value]
                if not values:
                    del families[family]
                continue
            bucket.discard(shared)
            if len(bucket) == 1:
                values[value] = next(iter(bucket))

    @staticmethod
    def _having_keys(article: ArticleView, families: Families) -> set[Shared]:
        found: set[Shared] = set()
        add = found.add
        for family, values in families.items():
            keys = values.keys()
            for group in value_reader(family)(article):
                for value in keys & group:
                    bucket = values[value]
                    if isinstance(bucket, Shared):
                        add(bucket)
                    else:
                        found |= bucket
        return found

    def candidates(self, article: ArticleView) -> set[str]:
        """Every subscription the article could match: those to check and the certain ones."""
        queries = self.always | self._having_keys(article, self.by_family) | \
            self._having_keys(article, self.certain_by_family)
        return {sid for shared in queries for sid in shared.subscribers}

    def matches(self, article: ArticleView) -> list[str]:
        """In no particular order: an article's alerts are independent events with their own ids."""
        if article.is_duplicate:
            return []
        found: list[str] = []
        for shared in self._having_keys(article, self.certain_by_family):
            found.extend(shared.subscribers)
        for shared in self.always | self._having_keys(article, self.by_family):
            if shared.test(article):
                found.extend(shared.subscribers)
        return found

    def brute_force(self, article: ArticleView) -> list[str]:
        return sorted(sid for sid, shared in self.of.items() if shared.query.matches(article))


def document_frequencies(articles: Iterable[ArticleView]) -> dict[str, float]:
    """Share of articles that have each stem: what makes a key rare."""
    counts: dict[str, int] = defaultdict(int)
    total = 0
    for article in articles:
        total += 1
        for stem in article.stem_set:
            counts[stem] += 1
    return {stem: n / max(total, 1) for stem, n in counts.items()}
