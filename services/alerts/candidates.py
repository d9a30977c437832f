"""Which subscriptions an article can possibly match, without looping over all of them.

As Lucene's Monitor and the percolator do, each subscription is indexed by the keys it
requires (shared/query/compiled.py: for an AND, its most selective child's; for an OR, every
child's; a NOT requires nothing). Each construct names its own keys: a word its rarest stem, a
prefix its first three letters, a fuzzy word its deletion variants, a keyword its value. An
article is checked only against the subscriptions indexed under a key it has, plus the few
that require nothing. A subscription is never missed: its keys are a necessary condition of
matching.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from shared.query import ArticleView, SubscriptionQuery
from shared.query.constructs import Key, Predicate, value_reader


class SubscriptionIndex:
    def __init__(self, rarity: Mapping[str, float] | None = None) -> None:
        self.rarity = dict(rarity or {})
        # key family → value → subscription ids; a family with no subscription is not kept, so
        # an article's values in it (its prefixes, its fuzzy variants) are never computed.
        self.by_family: dict[str, dict[str, set[str]]] = {}
        # The same for subscriptions that match every (non-duplicate) article having one of
        # their keys (a word, a keyword, an OR of them): most matches are these, and they are
        # collected by set unions, with no evaluation and no Python loop over them.
        self.certain_by_family: dict[str, dict[str, set[str]]] = {}
        self.always: set[str] = set()
        self.subscriptions: dict[str, SubscriptionQuery] = {}
        self.tests: dict[str, Predicate] = {}
        self.keys_of: dict[str, frozenset[Key]] = {}
        self.certain: set[str] = set()

    def add(self, subscription_id: str, subscription: SubscriptionQuery) -> None:
        self.remove(subscription_id)
        self.subscriptions[subscription_id] = subscription
        self.tests[subscription_id] = subscription.test
        keys = subscription.requirement(self.rarity)
        if keys is None:
            self.always.add(subscription_id)
            return
        self.keys_of[subscription_id] = keys
        families = self.by_family
        if subscription.certain:
            self.certain.add(subscription_id)
            families = self.certain_by_family
        for family, value in keys:
            families.setdefault(family, defaultdict(set))[value].add(subscription_id)

    def remove(self, subscription_id: str) -> None:
        self.subscriptions.pop(subscription_id, None)
        self.tests.pop(subscription_id, None)
        self.always.discard(subscription_id)
        families = self.certain_by_family if subscription_id in self.certain else self.by_family
        self.certain.discard(subscription_id)
        for family, value in self.keys_of.pop(subscription_id, frozenset()):
            values = families[family]
            values[value].discard(subscription_id)
            if not values[value]:
                del values[value]
                if not values:
                    del families[family]

    @staticmethod
    def _having_keys(article: ArticleView, families: dict[str, dict[str, set[str]]]) -> set[str]:
        found: set[str] = set()
        for family, values in families.items():
            keys = values.keys()
            for group in value_reader(family)(article):
                for value in keys & group:
                    found |= values[value]
        return found

    def candidates(self, article: ArticleView) -> set[str]:
        """Every subscription the article could match: those to check and the certain ones."""
        return self.always | self._having_keys(article, self.by_family) | \
            self._having_keys(article, self.certain_by_family)

    def matches(self, article: ArticleView) -> list[str]:
        """In no particular order: an article's alerts are independent events with their own ids."""
        if article.is_duplicate:
            return []
        tests = self.tests
        to_check = self.always | self._having_keys(article, self.by_family)
        return [*self._having_keys(article, self.certain_by_family),
                *(sid for sid in to_check if tests[sid](article))]

    def brute_force(self, article: ArticleView) -> list[str]:
        return sorted(sid for sid, sub in self.subscriptions.items() if sub.matches(article))


def document_frequencies(articles: Iterable[ArticleView]) -> dict[str, float]:
    """Share of articles that have each stem: what makes a key rare."""
    counts: dict[str, int] = defaultdict(int)
    total = 0
    for article in articles:
        total += 1
        for stem in article.stem_set:
            counts[stem] += 1
    return {stem: n / max(total, 1) for stem, n in counts.items()}
