"""newsflow's query language, parsed here and compiled to Elasticsearch DSL.

    words                 all must match (in any word form: "sanction" finds "sanctions")
    "exact phrase"        the words in this order
    a OR b, a | b         either
    a AND b, +a           both (AND is also what a space means)
    NOT a, -a             not
    ( … )                 grouping
    title:word            in the title only; also title:"a phrase"
    person: org: place:   a canonical entity name ("org:U.N." finds United Nations)
    country:KP            ISO code or country name; topic:politics; source:Reuters; lang:en
    sanc*                 words starting with "sanc"
    Pyongyan~  word~2     fuzzy: up to AUTO (or 1, 2) typos

A pure module (no I/O): the search API and the keyword alerts share it. Errors raise
`QuerySyntaxError` with the character position and the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from shared.contracts.document import DocField, entity_text_field
from shared.text.canonical import canonical_name
from shared.text.countries import country_code
from shared.text.wordforms import stem_text

FIELDS = ("title", "person", "org", "place", "country", "topic", "source", "lang")
_ENTITY_FIELDS = {"person": entity_text_field(DocField.PEOPLE),
                  "org": entity_text_field(DocField.ORGANIZATIONS),
                  "place": entity_text_field(DocField.PLACES)}
_TEXT_FIELDS = [f"{DocField.TITLE_STEMS}^3", DocField.STEMS.value]
_RAW_FIELDS = [f"{DocField.TITLE}^3", DocField.BODY.value]


class QuerySyntaxError(ValueError):
    def __init__(self, reason: str, position: int) -> None:
        super().__init__(f"{reason} (at position {position})")
        self.reason = reason
        self.position = position


# ---------------------------------------------------------------- syntax tree
@dataclass
class Term:
    text: str
    position: int
    field: str | None = None
    kind: str = "word"  # word, phrase, prefix, fuzzy
    fuzziness: str = "AUTO"


@dataclass
class Not:
    child: Node


@dataclass
class And:
    children: list[Node] = field(default_factory=list)


@dataclass
class Or:
    children: list[Node] = field(default_factory=list)


Node = Term | Not | And | Or


# ---------------------------------------------------------------- tokens
@dataclass
class Token:
    kind: str  # LPAREN RPAREN AND OR NOT PLUS PHRASE WORD FIELD
    text: str
    position: int


_WORD_END = re.compile(r'[\s()"]')


def tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(query):
        char = query[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(Token("LPAREN" if char == "(" else "RPAREN", char, i))
            i += 1
        elif char == '"':
            end = query.find('"', i + 1)
            if end < 0:
                raise QuerySyntaxError("unterminated quote", i)
            tokens.append(Token("PHRASE", query[i + 1:end], i))
            i = end + 1
        elif char in "+-" and i + 1 < len(query) and not query[i + 1].isspace():
            tokens.append(Token("PLUS" if char == "+" else "NOT", char, i))
            i += 1
        elif char == "|":
            tokens.append(Token("OR", char, i))
            i += 1
        else:
            match = _WORD_END.search(query, i)
            end = match.start() if match else len(query)
            text = query[i:end]
            name, colon, rest = text.partition(":")
            if colon and name.lower() in FIELDS:
                tokens.append(Token("FIELD", name.lower(), i))
                i += len(name) + 1
                if rest == "" and (end >= len(query) or query[end].isspace() or query[end] == ")"):
                    raise QuerySyntaxError(f"'{name}:' needs a value", i)
                continue
            if colon and name and rest and name.isalpha():
                raise QuerySyntaxError(f"unknown field '{name}' (fields: {', '.join(FIELDS)})", i)
            kind = {"AND": "AND", "OR": "OR", "NOT": "NOT"}.get(text, "WORD")
            tokens.append(Token(kind, text, i))
            i = end
    return tokens


# ---------------------------------------------------------------- parser
MAX_DEPTH = 32  # parentheses and NOTs inside each other: deeper is refused, never recursed into


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = tokenize(query)
        self.index = 0
        self.depth = 0

    def deeper(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QuerySyntaxError(f"the query nests parentheses and NOTs more than {MAX_DEPTH} deep",
                                   token.position)

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> Node:
        if not self.tokens:
            raise QuerySyntaxError("the query is empty", 0)
        node = self.parse_or()
        extra = self.peek()
        if extra is not None:
            reason = "unbalanced ')'" if extra.kind == "RPAREN" else f"unexpected '{extra.text}'"
            raise QuerySyntaxError(reason, extra.position)
        return node

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.take()
            if self.peek() is None or self.peek().kind in ("OR", "AND", "RPAREN"):  # type: ignore[union-attr]
                raise QuerySyntaxError("OR needs something after it", token.position)
            children.append(self.parse_and())
        return children[0] if len(children) == 1 else Or(children)

    def parse_and(self) -> Node:
        children = [self.parse_unary()]
        while (token := self.peek()) is not None and token.kind not in ("OR", "RPAREN"):
            if token.kind == "AND":
                self.take()
                following = self.peek()
                if following is None or following.kind in ("OR", "AND", "RPAREN"):
                    raise QuerySyntaxError("AND needs something after it", token.position)
            children.append(self.parse_unary())
        return children[0] if len(children) == 1 else And(children)

    def parse_unary(self) -> Node:
        token = self.peek()
        if token is None:
            raise QuerySyntaxError("the query ends too early", len(self.query))
        if token.kind in ("NOT", "PLUS"):
            self.take()
            following = self.peek()
            if following is None or following.kind in ("OR", "AND", "RPAREN"):
                raise QuerySyntaxError(f"'{token.text}' needs something after it", token.position)
            self.deeper(token)
            child = self.parse_unary()
            self.depth -= 1
            return Not(child) if token.kind == "NOT" else child
        return self.parse_primary()

    def parse_primary(self) -> Node:
        token = self.take()
        if token.kind == "LPAREN":
            if self.peek() is not None and self.peek().kind == "RPAREN":  # type: ignore[union-attr]
                raise QuerySyntaxError("empty parentheses", token.position)
            self.deeper(token)
            node = self.parse_or()
            self.depth -= 1
            closing = self.peek()
            if closing is None or closing.kind != "RPAREN":
                raise QuerySyntaxError("'(' is never closed", token.position)
            self.take()
            return node
        if token.kind == "FIELD":
            value = self.peek()
            if value is None or value.kind not in ("WORD", "PHRASE"):
                raise QuerySyntaxError(f"'{token.text}:' needs a word or a \"phrase\"",
                                       token.position)
            return self.term(self.take(), token.text)
        if token.kind in ("WORD", "PHRASE"):
            return self.term(token, None)
        if token.kind in ("AND", "OR"):
            raise QuerySyntaxError(f"{token.text} needs something before it", token.position)
        raise QuerySyntaxError(f"unexpected '{token.text}'", token.position)

    def term(self, token: Token, field_name: str | None) -> Term:
        if token.kind == "PHRASE":
            if not token.text.strip():
                raise QuerySyntaxError("empty phrase", token.position)
            return Term(token.text, token.position, field_name, "phrase")
        text = token.text
        fuzzy = re.fullmatch(r"(.+?)~(\d?)", text)
        if fuzzy:
            if fuzzy.group(2) and int(fuzzy.group(2)) > 2:
                raise QuerySyntaxError("fuzziness is at most 2", token.position)
            return Term(fuzzy.group(1), token.position, field_name, "fuzzy",
                        fuzzy.group(2) or "AUTO")
        if "~" in text:
            raise QuerySyntaxError("'~' goes at the end of a word, with an optional 1 or 2",
                                   token.position)
        if text.endswith("*"):
            stem = text.rstrip("*")
            if len(stem) < 2 or "*" in stem:
                raise QuerySyntaxError("a prefix needs at least two letters before '*'",
                                       token.position)
            return Term(stem, token.position, field_name, "prefix")
        if "*" in text:
            raise QuerySyntaxError("'*' only goes at the end of a word", token.position)
        return Term(text, token.position, field_name, "word")


def parse(query: str) -> Node:
    return _Parser(query).parse()


def to_elasticsearch(query: str) -> dict[str, Any]:
    """Parse and compile in one step; every error is a QuerySyntaxError."""
    return compile_query(parse(query))


# ---------------------------------------------------------------- compiler
def compile_query(node: Node) -> dict[str, Any]:
    if isinstance(node, And):
        positives = [c for c in node.children if not isinstance(c, Not)]
        negatives = [c.child for c in node.children if isinstance(c, Not)]
        clause: dict[str, Any] = {"must": [compile_query(c) for c in positives] or [{"match_all": {}}]}
        if negatives:
            clause["must_not"] = [compile_query(c) for c in negatives]
        return {"bool": clause}
    if isinstance(node, Or):
        return {"bool": {"should": [compile_query(c) for c in node.children],
                         "minimum_should_match": 1}}
    if isinstance(node, Not):
        return {"bool": {"must": [{"match_all": {}}], "must_not": [compile_query(node.child)]}}
    return _compile_term(node)


def _compile_term(term: Term) -> dict[str, Any]:
    name = term.field
    if name in _ENTITY_FIELDS:
        value = canonical_name(term.text)
        if term.kind == "fuzzy":
            return {"match": {_ENTITY_FIELDS[name]: {"query": value, "fuzziness": term.fuzziness,
                                                     "operator": "and"}}}
        if term.kind == "prefix":
            return {"match_phrase_prefix": {_ENTITY_FIELDS[name]: value}}
        return {"match_phrase": {_ENTITY_FIELDS[name]: value}}
    if name == "country":
        return {"term": {DocField.COUNTRY_CODES: country_code_of(term)}}
    if name == "topic":
        label = term.text.lower()
        if term.kind == "prefix":
            return {"bool": {"should": [{"prefix": {DocField.TOPIC_LABELS: label}},
                                        {"prefix": {DocField.SUBTOPIC_LABELS: label}}]}}
        return {"bool": {"should": [{"term": {DocField.TOPIC_LABELS: label}},
                                    {"term": {DocField.SUBTOPIC_LABELS: label}}]}}
    if name == "source":
        return {"term": {DocField.SOURCE_NAME: {"value": term.text, "case_insensitive": True}}}
    if name == "lang":
        return {"term": {DocField.LANGUAGE: term.text.lower()}}
    stem_fields = [DocField.TITLE_STEMS.value] if name == "title" else _TEXT_FIELDS
    raw_fields = [DocField.TITLE.value] if name == "title" else _RAW_FIELDS
    if term.kind == "phrase":
        return {"multi_match": {"query": stem_text(term.text), "type": "phrase",
                                "fields": stem_fields}}
    if term.kind == "prefix":
        return {"multi_match": {"query": term.text.lower(), "type": "phrase_prefix",
                                "fields": raw_fields}}
    if term.kind == "fuzzy":
        return {"multi_match": {"query": term.text, "fields": raw_fields,
                                "fuzziness": term.fuzziness, "operator": "and"}}
    stemmed = stem_text(term.text)
    if not stemmed:  # punctuation only: nothing to match on
        raise QuerySyntaxError(f"'{term.text}' has no letters or digits", term.position)
    return {"multi_match": {"query": stemmed, "fields": stem_fields, "operator": "and"}}


def country_code_of(term: Term) -> str:
    code = country_code(term.text)
    if code is None:
        raise QuerySyntaxError(f"unknown country '{term.text.strip()}'", term.position)
    return code


def highlight_terms(node: Node) -> list[str]:
    """The words and phrases worth marking in results (not those under NOT, not field-only)."""
    if isinstance(node, (And, Or)):
        return [t for child in node.children for t in highlight_terms(child)]
    if isinstance(node, Not):
        return []
    if node.field in (None, "title"):
        return [node.text]
    return []
