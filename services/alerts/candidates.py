"""Which subscriptions an article can possibly match, without looping over all of them.

As Lucene's Monitor and the percolator do, each subscription is indexed by the terms it
requires: for an AND, one positive child's requirement is enough (the most selective one);
for an OR, one requirement from every child; a NOT, a bare topic prefix, or an OR with such a
child requires nothing, and those subscriptions go to a small always-checked list. An article
is then checked only against the subscriptions indexed under a key it has, plus that list.
A subscription is never missed: its chosen keys are a necessary condition of matching.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from services.alerts.matching import ENTITY_FIELDS, ArticleView, Compiled, Predicate, SubscriptionQuery
from shared.contracts.document import FACETS

Key = tuple[str, str]
# A requirement: the article must have at least one of these keys. None: no requirement.
Requirement = frozenset[Key] | None


def _term_keys(compiled: Compiled, rarity: Mapping[str, float]) -> Requirement:
    term = compiled.term
    assert term is not None
    name = term.term.field
    if name in ENTITY_FIELDS:
        return frozenset({(f"entity:{ENTITY_FIELDS[name].value}", _rarest(term.tokens, rarity))})
    if name == "country":
        return frozenset({("facet:countries", term.value)})
    if name == "topic":
        return None if term.term.kind == "prefix" else frozenset({("topic", term.value)})
    if name == "source":
        return frozenset({("source", term.value)})
    if name == "lang":
        return frozenset({("facet:language", term.value)})
    # Text: every word is required (and, or in the phrase); the title's stems are in `stems`.
    return frozenset({("stem", _rarest(term.tokens, rarity))})


def _rarest(tokens: list[str], rarity: Mapping[str, float]) -> str:
    """The token fewest articles have: by the given document frequencies, else the longest."""
    return min(tokens, key=lambda t: (rarity.get(t, 0.0), -len(t), t))


def _cost(requirement: frozenset[Key], rarity: Mapping[str, float]) -> float:
    # Exact fields are usually selective; stems cost by how common they are.
    return sum(rarity.get(value, 0.0) if kind == "stem" else 0.001 for kind, value in requirement)


def requirement(compiled: Compiled, rarity: Mapping[str, float]) -> Requirement:
    if compiled.kind == "term":
        return _term_keys(compiled, rarity)
    if compiled.kind == "not":
        return None
    children = [requirement(child, rarity) for child in compiled.children]
    if compiled.kind == "or":
        if any(child is None for child in children):
            return None
        return frozenset().union(*(c for c in children if c is not None))
    known = [child for child in children if child is not None]
    if not known:
        return None
    return min(known, key=lambda r: (_cost(r, rarity), len(r)))


def subscription_requirement(subscription: SubscriptionQuery,
                             rarity: Mapping[str, float]) -> Requirement:
    options: list[frozenset[Key]] = [
        frozenset({(f"facet:{name}", values[0])}) for name, values in subscription.filters.items()]
    if subscription.root is not None:
        query_requirement = requirement(subscription.root, rarity)
        if query_requirement is not None:
            options.append(query_requirement)
    if not options:
        return None
    return min(options, key=lambda r: (_cost(r, rarity), len(r)))


def article_keys(article: ArticleView) -> set[Key]:
    keys: set[Key] = {("stem", stem) for stem in article.stem_set}
    for field, names in article.entities.items():
        keys |= {(f"entity:{field}", token) for tokens in names for token in tokens}
    for name, facet in FACETS.items():
        keys |= {(f"facet:{name}", value) for value in article.keywords[facet.value]}
    keys |= {("topic", label) for label in article.topic_labels}
    if article.source_name is not None:
        keys.add(("source", article.source_name.lower()))
    return keys


def _plain_word(node: Compiled) -> bool:
    """One word in any text field: present in the article's stems exactly when it matches."""
    term = node.term
    return node.kind == "term" and term is not None and term.term.field is None \
        and len(term.tokens) == 1


class SubscriptionIndex:
    def __init__(self, rarity: Mapping[str, float] | None = None) -> None:
        self.rarity = dict(rarity or {})
        self.by_key: dict[Key, set[str]] = defaultdict(set)
        self.always: set[str] = set()
        self.subscriptions: dict[str, SubscriptionQuery] = {}
        self.tests: dict[str, Predicate] = {}
        self.keys_of: dict[str, frozenset[Key]] = {}
        # Subscriptions that match every (non-duplicate) article having one of their keys: one
        # plain word, or an OR of plain words. Most candidates are these; they need no evaluation.
        self.certain: set[str] = set()

    def add(self, subscription_id: str, subscription: SubscriptionQuery) -> None:
        self.remove(subscription_id)
        self.subscriptions[subscription_id] = subscription
        self.tests[subscription_id] = subscription.test
        keys = subscription_requirement(subscription, self.rarity)
        if keys is None:
            self.always.add(subscription_id)
            return
        self.keys_of[subscription_id] = keys
        root = subscription.root
        if not subscription.filters and root is not None and (
                _plain_word(root) or (root.kind == "or" and all(map(_plain_word, root.children)))):
            self.certain.add(subscription_id)
        for key in keys:
            self.by_key[key].add(subscription_id)

    def remove(self, subscription_id: str) -> None:
        self.subscriptions.pop(subscription_id, None)
        self.tests.pop(subscription_id, None)
        self.always.discard(subscription_id)
        self.certain.discard(subscription_id)
        for key in self.keys_of.pop(subscription_id, frozenset()):
            self.by_key[key].discard(subscription_id)

    def candidates(self, article: ArticleView) -> set[str]:
        found = set(self.always)
        for key in article_keys(article):
            ids = self.by_key.get(key)
            if ids:
                found |= ids
        return found

    def matches(self, article: ArticleView) -> list[str]:
        return self.matches_among(article, self.candidates(article))

    def matches_among(self, article: ArticleView, candidates: set[str]) -> list[str]:
        if article.is_duplicate:
            return []
        certain, tests = self.certain, self.tests
        # In no particular order: an article's alerts are independent events with their own ids.
        return [sid for sid in candidates if sid in certain or tests[sid](article)]

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
