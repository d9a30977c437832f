"""A subscription's query and facet filters, matched in process against one article with the
same answers `GET /search` gives over the index (the property test in
tests/integration/test_alerts_match_search.py proves it on the real Elasticsearch)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from shared.contracts.document import FACETS
from shared.query.article import ArticleView
from shared.query.compiled import Compiled, Query, cost
from shared.query.constructs import Evidence, Key, Predicate, Requirement, latin_only
from shared.query.syntax import Near, QuerySyntaxError

_KEYWORD_FIELDS = ("country", "topic", "source", "lang")


class NotExact(QuerySyntaxError):
    """What alerts refuse although search answers it: words in scripts Elasticsearch's standard
    tokenizer cuts into single characters (Chinese, Japanese, Thai…), which one article's
    tokens cannot reproduce."""


def _check_scripts(query: Query) -> None:
    for leaf in query.root.leaves():
        source = leaf.source
        parts = [source.left, source.right] if isinstance(source, Near) else [source]
        for term in parts:
            if term is not None and term.field not in _KEYWORD_FIELDS and not latin_only(term.text):
                raise NotExact("alerts match words in Latin script only", term.position)


@dataclass(slots=True)
class SubscriptionQuery:
    query: str | None
    filters: dict[str, list[str]]  # facet name (as in FACETS) → values, all required
    parsed: Query | None

    @classmethod
    def compile(cls, query: str | None, filters: Mapping[str, Sequence[str]] | None = None
                ) -> SubscriptionQuery:
        wanted = {name: list(values) for name, values in (filters or {}).items() if values}
        unknown = set(wanted) - set(FACETS)
        if unknown:
            raise NotExact(f"unknown filter {sorted(unknown)[0]!r} (filters: {', '.join(FACETS)})", 0)
        if not (query and query.strip()) and not wanted:
            raise NotExact("a subscription needs a query or a filter", 0)
        parsed = Query.parse(query) if query and query.strip() else None
        if parsed is not None:
            _check_scripts(parsed)
            for leaf in parsed.root.leaves():
                leaf.source = None  # read only by the check: a million subscriptions hold less
        return cls(query, wanted, parsed)

    @property
    def root(self) -> Compiled | None:
        return None if self.parsed is None else self.parsed.root

    def matches(self, article: ArticleView) -> bool:
        return not article.is_duplicate and self.test(article)

    @property
    def test(self) -> Predicate:
        """Filters and query as one closure, duplicates aside (the index checks those once)."""
        root = self.root.test if self.root is not None else None
        required = [(FACETS[name].value, values) for name, values in self.filters.items()]
        if not required:
            return root or (lambda a: True)

        def test(article: ArticleView) -> bool:
            for keyword, values in required:
                present = article.keywords[keyword]
                if not all(value in present for value in values):
                    return False
            return root is None or root(article)
        return test

    def requirement(self, rarity: Mapping[str, float]) -> Requirement:
        options: list[frozenset[Key]] = [frozenset({(f"facet:{FACETS[name].value}", values[0])})
                                         for name, values in self.filters.items()]
        if self.root is not None and (query_requirement := self.root.requirement(rarity)) is not None:
            options.append(query_requirement)
        if not options:
            return None
        return min(options, key=lambda r: (cost(r, rarity), len(r)))

    @property
    def certain(self) -> bool:
        """Having one of the requirement's keys is matching (a word, a keyword, an OR of them)."""
        return not self.filters and self.root is not None and self.root.certain

    def explain(self, article: ArticleView) -> list[Evidence]:
        found = self.parsed.explain(article) if self.parsed is not None else []
        return found + [Evidence(name, tuple(values)) for name, values in self.filters.items()]
