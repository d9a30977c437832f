"""The query language's syntax: tokens, the parser and the tree it builds. No meaning here:
what a field or a construct matches is in `shared/query/fields.py`.

Errors raise `QuerySyntaxError` with the character position and the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

TermKind = Literal["word", "phrase", "prefix", "fuzzy"]
MAX_DEPTH = 32  # parentheses and NOTs inside each other: deeper is refused, never recursed into
MAX_DISTANCE = 50  # "a b"~N and NEAR/N: a wider window is a different question (AND)


class QuerySyntaxError(ValueError):
    def __init__(self, reason: str, position: int) -> None:
        super().__init__(f"{reason} (at position {position})")
        self.reason = reason
        self.position = position


# ---------------------------------------------------------------- syntax tree
@dataclass(frozen=True)
class Term:
    """A word, a phrase, a prefix (`sanc*`) or a fuzzy word (`Pyongyan~`), in a field or not."""

    text: str  # as written, without the trailing '*' or '~N'
    position: int
    field: str | None = None
    kind: TermKind = "word"
    fuzziness: str = "AUTO"  # fuzzy: "AUTO", "0", "1" or "2"
    slop: int | None = None  # phrase: "a b"~N, its words within N other words, in any order
    prefix_last: bool = False  # phrase: "a b*", its last word a prefix


@dataclass(frozen=True)
class Near:
    """`a NEAR/N b`: both within N other words of each other, in either order."""

    left: Term
    right: Term
    distance: int
    position: int


@dataclass
class Not:
    child: Node


@dataclass
class And:
    children: list[Node] = field(default_factory=list)


@dataclass
class Or:
    children: list[Node] = field(default_factory=list)


Node = Term | Near | Not | And | Or


# ---------------------------------------------------------------- tokens
@dataclass
class Token:
    kind: str  # LPAREN RPAREN AND OR NOT PLUS NEAR PHRASE WORD FIELD
    text: str
    position: int
    slop: int | None = None  # PHRASE followed by ~N; NEAR/N's N


_WORD_END = re.compile(r'[\s()"]')
_NEAR = re.compile(r"NEAR(?:/(\d+))?")


def _distance(digits: str, position: int) -> int:
    if int(digits) > MAX_DISTANCE:
        raise QuerySyntaxError(f"a distance is at most {MAX_DISTANCE} words", position)
    return int(digits)


def tokenize(query: str, fields: tuple[str, ...]) -> list[Token]:
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
            token = Token("PHRASE", query[i + 1:end], i)
            i = end + 1
            if query.startswith("~", i):
                digits = re.match(r"\d*", query[i + 1:]).group()  # type: ignore[union-attr]
                if not digits:
                    raise QuerySyntaxError('a phrase\'s \'~\' needs a distance: "a b"~5', i)
                token.slop = _distance(digits, i)
                i += 1 + len(digits)
            tokens.append(token)
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
            if colon and name.lower() in fields:
                tokens.append(Token("FIELD", name.lower(), i))
                i += len(name) + 1
                if rest == "" and (end >= len(query) or query[end].isspace() or query[end] == ")"):
                    raise QuerySyntaxError(f"'{name}:' needs a value", i)
                continue
            if colon and name and rest and name.isalpha():
                raise QuerySyntaxError(f"unknown field '{name}' (fields: {', '.join(fields)})", i)
            near = _NEAR.fullmatch(text)
            if near:
                if near.group(1) is None:
                    raise QuerySyntaxError("NEAR needs a distance: a NEAR/5 b", i)
                tokens.append(Token("NEAR", text, i, _distance(near.group(1), i)))
            else:
                tokens.append(Token({"AND": "AND", "OR": "OR", "NOT": "NOT"}.get(text, "WORD"), text, i))
            i = end
    return tokens


# ---------------------------------------------------------------- parser
class _Parser:
    def __init__(self, query: str, fields: tuple[str, ...]) -> None:
        self.query = query
        self.tokens = tokenize(query, fields)
        self.index = 0
        self.depth = 0

    def deeper(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QuerySyntaxError(f"the query nests parentheses and NOTs more than {MAX_DEPTH} deep",
                                   token.position)

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def peek_kind(self) -> str | None:
        token = self.peek()
        return None if token is None else token.kind

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
            if self.peek_kind() in (None, "OR", "AND", "RPAREN", "NEAR"):
                raise QuerySyntaxError("OR needs something after it", token.position)
            children.append(self.parse_and())
        return children[0] if len(children) == 1 else Or(children)

    def parse_and(self) -> Node:
        children = [self.parse_unary()]
        while (token := self.peek()) is not None and token.kind not in ("OR", "RPAREN"):
            if token.kind == "AND":
                self.take()
                if self.peek_kind() in (None, "OR", "AND", "RPAREN", "NEAR"):
                    raise QuerySyntaxError("AND needs something after it", token.position)
            children.append(self.parse_unary())
        return children[0] if len(children) == 1 else And(children)

    def parse_near(self) -> Node:
        """NEAR binds tighter than NOT: -a NEAR/3 b is NOT (a NEAR/3 b)."""
        left = self.parse_primary()
        token = self.peek()
        if token is None or token.kind != "NEAR":
            return left
        self.take()
        if self.peek_kind() in (None, "OR", "AND", "RPAREN", "NEAR", "NOT", "PLUS"):
            raise QuerySyntaxError("NEAR needs a word or a phrase after it", token.position)
        right = self.parse_primary()
        if not (isinstance(left, Term) and isinstance(right, Term)):
            raise QuerySyntaxError("NEAR joins two words, prefixes or phrases", token.position)
        if self.peek_kind() == "NEAR":
            raise QuerySyntaxError('NEAR joins two terms; for more, write "a b c"~5',
                                   self.take().position)
        if left.field != right.field:
            raise QuerySyntaxError("both sides of NEAR must be in the same field", token.position)
        assert token.slop is not None
        return Near(left, right, token.slop, token.position)

    def parse_unary(self) -> Node:
        token = self.peek()
        if token is None:
            raise QuerySyntaxError("the query ends too early", len(self.query))
        if token.kind in ("NOT", "PLUS"):
            self.take()
            if self.peek_kind() in (None, "OR", "AND", "RPAREN", "NEAR"):
                raise QuerySyntaxError(f"'{token.text}' needs something after it", token.position)
            self.deeper(token)
            child = self.parse_unary()
            self.depth -= 1
            return Not(child) if token.kind == "NOT" else child
        return self.parse_near()

    def parse_primary(self) -> Node:
        token = self.take()
        if token.kind == "LPAREN":
            if self.peek_kind() == "RPAREN":
                raise QuerySyntaxError("empty parentheses", token.position)
            self.deeper(token)
            node = self.parse_or()
            self.depth -= 1
            if self.peek_kind() != "RPAREN":
                raise QuerySyntaxError("'(' is never closed", token.position)
            self.take()
            return node
        if token.kind == "FIELD":
            if self.peek_kind() not in ("WORD", "PHRASE"):
                raise QuerySyntaxError(f"'{token.text}:' needs a word or a \"phrase\"",
                                       token.position)
            return self.term(self.take(), token.text)
        if token.kind in ("WORD", "PHRASE"):
            return self.term(token, None)
        if token.kind in ("AND", "OR", "NEAR"):
            raise QuerySyntaxError(f"{token.text} needs something before it", token.position)
        raise QuerySyntaxError(f"unexpected '{token.text}'", token.position)

    def term(self, token: Token, field_name: str | None) -> Term:
        if token.kind == "PHRASE":
            return _phrase(token, field_name)
        text = token.text
        fuzzy = re.fullmatch(r"(.+?)~(\d?)", text)
        if fuzzy:
            if fuzzy.group(2) and int(fuzzy.group(2)) > 2:
                raise QuerySyntaxError("fuzziness is at most 2", token.position)
            if "*" in fuzzy.group(1):
                raise QuerySyntaxError("a word is either a prefix (*) or fuzzy (~), not both",
                                       token.position)
            return Term(fuzzy.group(1), token.position, field_name, "fuzzy", fuzzy.group(2) or "AUTO")
        if "~" in text:
            raise QuerySyntaxError("'~' goes at the end of a word, with an optional 0, 1 or 2",
                                   token.position)
        if text.endswith("*"):
            return Term(_prefix(text, token.position), token.position, field_name, "prefix")
        if "*" in text:
            raise QuerySyntaxError("'*' only goes at the end of a word", token.position)
        return Term(text, token.position, field_name, "word")


def _prefix(text: str, position: int) -> str:
    stem = text[:-1]
    if stem != stem.rstrip():
        raise QuerySyntaxError("'*' goes right after a word", position)
    if len(stem.strip()) < 2 or "*" in stem:
        raise QuerySyntaxError("a prefix needs at least two letters before one '*'", position)
    return stem


def _phrase(token: Token, field_name: str | None) -> Term:
    text = token.text.strip()
    if not text:
        raise QuerySyntaxError("empty phrase", token.position)
    prefix_last = text.endswith("*")
    if prefix_last:
        text = _prefix(text, token.position)
    if "*" in text:
        raise QuerySyntaxError("in a phrase, only the last word can end in '*'", token.position)
    return Term(text, token.position, field_name, "phrase", slop=token.slop, prefix_last=prefix_last)


def parse(query: str, fields: tuple[str, ...]) -> Node:
    return _Parser(query, fields).parse()

