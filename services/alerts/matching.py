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
from collections.abc import Mapping, Sequence
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


@dataclass
class CompiledTerm:
    term: Term
    tokens: list[str]  # analysed words (stems for text, name words for entities)
    value: str = ""  # the keyword value for exact fields

    def matches(self, article: ArticleView) -> bool:
        name, kind = self.term.field, self.term.kind
        if name in ENTITY_FIELDS:
            return any(_in_order(self.tokens, tokens) for tokens in article.entities[ENTITY_FIELDS[name]])
        if name == "country":
            return self.value in article.keywords[DocField.COUNTRY_CODES]
        if name == "topic":
            if kind == "prefix":
                return any(label.startswith(self.value) for label in article.topic_labels)
            return self.value in article.topic_labels
        if name == "source":
            return article.source_name is not None and article.source_name.lower() == self.value
        if name == "lang":
            return self.value in article.keywords[DocField.LANGUAGE]
        fields = [(article.title_positions, article.title_stem_set)] if name == "title" else \
            [(article.title_positions, article.title_stem_set), (article.stem_positions, article.stem_set)]
        if kind == "phrase" and len(self.tokens) > 1:
            return any(_phrase_in(self.tokens, positions) for positions, _ in fields)
        return any(all(t in words for t in self.tokens) for _, words in fields)


@dataclass
class Compiled:
    """A node tree whose leaves are compiled terms."""

    kind: str  # term, and, or, not
    term: CompiledTerm | None = None
    children: list[Compiled] = field(default_factory=list)

    def matches(self, article: ArticleView) -> bool:
        if self.kind == "term":
            assert self.term is not None
            return self.term.matches(article)
        if self.kind == "and":
            return all(child.matches(article) for child in self.children)
        if self.kind == "or":
            return any(child.matches(article) for child in self.children)
        return not self.children[0].matches(article)


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
        if article.is_duplicate:
            return False
        for name, values in self.filters.items():
            present = article.keywords[FACETS[name].value]
            if not all(value in present for value in values):
                return False
        return self.root is None or self.root.matches(article)
