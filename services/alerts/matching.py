"""A subscription's query, evaluated in process against one enriched article with the same
answers as `GET /search` gives over the index.

The query is parsed by the search API's own parser (services/search_api/query_language.py) and
each construct is evaluated the way its compiled Elasticsearch clause matches:

- words and phrases match the article's Snowball stems (`stems`, `title_stems`) as the
  standard analyzer tokenises them: every word in one field (multi_match, operator and), or the
  words in order (phrase);
- `person:`/`org:`/`place:` match the canonical name's words in order inside one entity name
  (match_phrase on the analysed `.text` sub-field, whose values never run into each other);
- `country:`, `topic:`, `source:` (any case) and `lang:` are exact keyword matches, `topic:x*`
  a keyword prefix;
- facet filters are exact keyword matches (AND), and duplicates never match.

Prefix (`diplom*`) and fuzzy (`Pyongyan~`) words are refused (`NotExact`): Elasticsearch
expands them to at most 50 terms of the whole index, which no single article can reproduce.
Words in scripts the standard tokenizer segments differently (CJK, Thai, ...) are refused too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.search_api.query_language import (
    And,
    Node,
    Not,
    Or,
    QuerySyntaxError,
    Term,
    country_code_of,
    parse,
)
from shared.contracts.document import FACETS, DocField
from shared.text.canonical import canonical_name
from shared.text.wordforms import stem_text

_KEYWORD_IGNORE_ABOVE = 512  # shared/contracts/index_fields.py: longer keyword values are not indexed
ENTITY_FIELDS = {"person": DocField.PEOPLE, "org": DocField.ORGANIZATIONS, "place": DocField.PLACES}
_ENTITY_IGNORE_ABOVE = 256
# The standard tokenizer (UAX#29) for the text our pipeline produces: letters and digits, joined
# across a single apostrophe or dot between them ("don't", "u.n"), digits across a comma
# ("1,000"), lower-cased.
_TOKEN = re.compile(r"\w+(?:(?:[.'’:]|(?<=\d),(?=\d))\w+)*")


class NotExact(QuerySyntaxError):
    """A construct the matcher cannot evaluate exactly as search does: refused, not approximated."""


def standard_tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def _latin_only(text: str) -> bool:
    return not any(c.isalpha() and not unicodedata.name(c, "").startswith("LATIN") for c in text)


@dataclass
class ArticleView:
    """What matching reads of one index document, prepared once per article."""

    stems: list[str]
    title_stems: list[str]
    stem_set: set[str]
    title_stem_set: set[str]
    entities: dict[str, list[list[str]]]  # entity field → the tokens of each name
    keywords: dict[str, set[str]]  # facet field → its exact values
    source_name: str | None
    is_duplicate: bool
    topic_labels: set[str] = field(default_factory=set)
    # token → its positions, per text field: a phrase is checked from its first word's positions.
    stem_positions: dict[str, set[int]] = field(default_factory=dict)
    title_positions: dict[str, set[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, doc: Mapping[str, Any]) -> ArticleView:
        stems = standard_tokens(doc.get(DocField.STEMS) or "")
        title_stems = standard_tokens(doc.get(DocField.TITLE_STEMS) or "")
        entities = {f.value: [standard_tokens(name) for name in doc.get(f.value, [])
                              if len(name) <= _ENTITY_IGNORE_ABOVE]
                    for f in ENTITY_FIELDS.values()}
        keywords: dict[str, set[str]] = {}
        for facet in FACETS.values():
            value = _path(doc, facet.value)
            values = value if isinstance(value, list) else [] if value is None else [value]
            keywords[facet.value] = {str(v) for v in values}
        source = _path(doc, DocField.SOURCE_NAME)
        labels = set(doc.get(DocField.TOPIC_LABELS, [])) | set(doc.get(DocField.SUBTOPIC_LABELS, []))
        return cls(stems, title_stems, set(stems), set(title_stems), entities, keywords,
                   source if isinstance(source, str) and len(source) <= _KEYWORD_IGNORE_ABOVE else None,
                   bool(doc.get(DocField.IS_DUPLICATE)), labels, _positions(stems),
                   _positions(title_stems))


def _positions(tokens: list[str]) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for position, token in enumerate(tokens):
        found.setdefault(token, set()).add(position)
    return found


def _phrase_in(tokens: Sequence[str], positions: Mapping[str, set[int]]) -> bool:
    """The tokens one after another, found from the positions of each."""
    following = [positions.get(token) for token in tokens]
    if any(p is None for p in following):
        return False
    first, rest = following[0], following[1:]
    assert first is not None
    return any(all(start + i in later for i, later in enumerate(rest, 1) if later is not None)
               for start in first)


def _path(doc: Mapping[str, Any], dotted: str) -> Any:
    value: Any = doc
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _in_order(needle: Sequence[str], haystack: Sequence[str]) -> bool:
    n = len(needle)
    return any(haystack[i:i + n] == list(needle) for i in range(len(haystack) - n + 1))


Predicate = Callable[[ArticleView], bool]


@dataclass
class CompiledTerm:
    term: Term
    tokens: list[str]  # analysed words (stems for text, name words for entities)
    value: str = ""  # the keyword value for exact fields
    # Built once: a closure per construct, so matching an article does no dispatch on kinds
    # (100,000 subscriptions are evaluated thousands of times a second).
    test: Predicate = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.test = self._predicate()

    def matches(self, article: ArticleView) -> bool:
        return self.test(article)

    def _predicate(self) -> Predicate:
        name, kind, value, tokens = self.term.field, self.term.kind, self.value, self.tokens
        if name in ENTITY_FIELDS:
            entity_field = ENTITY_FIELDS[name].value
            if len(tokens) == 1:
                token = tokens[0]
                return lambda a: any(token in words for words in a.entities[entity_field])
            return lambda a: any(_in_order(tokens, words) for words in a.entities[entity_field])
        if name in ("country", "lang"):
            keyword = DocField.COUNTRY_CODES if name == "country" else DocField.LANGUAGE
            return lambda a: value in a.keywords[keyword]
        if name == "topic":
            if kind == "prefix":
                return lambda a: any(label.startswith(value) for label in a.topic_labels)
            return lambda a: value in a.topic_labels
        if name == "source":
            return lambda a: a.source_name is not None and a.source_name.lower() == value
        title_only = name == "title"
        if kind == "phrase" and len(tokens) > 1:
            if title_only:
                return lambda a: _phrase_in(tokens, a.title_positions)
            return lambda a: _phrase_in(tokens, a.title_positions) or _phrase_in(tokens, a.stem_positions)
        if len(tokens) == 1:
            token = tokens[0]
            if title_only:
                return lambda a: token in a.title_stem_set
            return lambda a: token in a.title_stem_set or token in a.stem_set
        if title_only:
            return lambda a: all(t in a.title_stem_set for t in tokens)
        return lambda a: all(t in a.title_stem_set for t in tokens) or all(t in a.stem_set for t in tokens)


@dataclass
class Compiled:
    """A node tree whose leaves are compiled terms."""

    kind: str  # term, and, or, not
    term: CompiledTerm | None = None
    children: list[Compiled] = field(default_factory=list)
    test: Predicate = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.test = self._predicate()

    def matches(self, article: ArticleView) -> bool:
        return self.test(article)

    def _predicate(self) -> Predicate:
        if self.kind == "term":
            assert self.term is not None
            return self.term.test
        tests = [child.test for child in self.children]
        if self.kind == "not":
            inner = tests[0]
            return lambda a: not inner(a)
        if len(tests) == 2:
            first, second = tests
            return (lambda a: first(a) and second(a)) if self.kind == "and" else \
                (lambda a: first(a) or second(a))
        if self.kind == "and":
            return lambda a: all(test(a) for test in tests)
        return lambda a: any(test(a) for test in tests)


def compile_node(node: Node) -> Compiled:
    if isinstance(node, And):
        return Compiled("and", children=[compile_node(c) for c in node.children])
    if isinstance(node, Or):
        return Compiled("or", children=[compile_node(c) for c in node.children])
    if isinstance(node, Not):
        return Compiled("not", children=[compile_node(node.child)])
    return Compiled("term", term=_compile_term(node))


def _compile_term(term: Term) -> CompiledTerm:
    name, kind = term.field, term.kind
    if name in ("country", "topic", "source", "lang"):
        if kind == "fuzzy" or (kind == "prefix" and name != "topic"):
            raise NotExact(f"'{name}:' takes an exact value in alerts", term.position)
        if name == "country":
            return CompiledTerm(term, [], country_code_of(term))
        return CompiledTerm(term, [], term.text.lower())
    if kind in ("prefix", "fuzzy"):
        what = "prefixes (word*)" if kind == "prefix" else "fuzzy words (word~)"
        raise NotExact(f"alerts cannot use {what}: search expands them over the whole index; "
                       "name the words instead", term.position)
    if not _latin_only(term.text):
        raise NotExact("alerts match words in Latin script only", term.position)
    if name in ENTITY_FIELDS:
        tokens = standard_tokens(canonical_name(term.text))
    else:
        tokens = standard_tokens(stem_text(term.text))
    if not tokens:
        raise NotExact(f"'{term.text}' has no letters or digits", term.position)
    return CompiledTerm(term, tokens)


@dataclass
class SubscriptionQuery:
    """A subscription's query and facet filters, ready to match (or refused at creation)."""

    query: str | None
    filters: dict[str, list[str]]  # facet name (as in FACETS) → values, all required
    root: Compiled | None

    @classmethod
    def compile(cls, query: str | None, filters: Mapping[str, Sequence[str]] | None = None
                ) -> SubscriptionQuery:
        wanted = {name: list(values) for name, values in (filters or {}).items() if values}
        unknown = set(wanted) - set(FACETS)
        if unknown:
            raise NotExact(f"unknown filter {sorted(unknown)[0]!r} (filters: {', '.join(FACETS)})", 0)
        if not (query and query.strip()) and not wanted:
            raise NotExact("a subscription needs a query or a filter", 0)
        root = compile_node(parse(query)) if query and query.strip() else None
        return cls(query, wanted, root)

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
