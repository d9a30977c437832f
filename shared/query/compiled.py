"""A parsed query with a construct at every leaf: compiled to Elasticsearch, to one in-process
predicate, and explained (which words matched, where)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from shared.query.article import ArticleView
from shared.query.constructs import Construct, Evidence, Predicate, Requirement
from shared.query.fields import FIELD_NAMES, spec_of
from shared.query.syntax import And, Near, Node, Not, Or, Term, parse

NodeKind = Literal["leaf", "and", "or", "not"]


@dataclass(slots=True)
class Compiled:
    kind: NodeKind
    construct: Construct | None = None
    source: Term | Near | None = None
    children: list[Compiled] = field(default_factory=list)
    _test: Predicate | None = field(init=False, repr=False, compare=False, default=None)

    @property
    def test(self) -> Predicate:
        """A closure per node, so matching does no dispatch on kinds (a million subscriptions
        are evaluated thousands of times a second); built when first asked, so a subscription
        that is never evaluated (having its key is matching) holds none."""
        test = self._test
        if test is None:
            test = self._test = self._predicate()
        return test

    def _predicate(self) -> Predicate:
        if self.kind == "leaf":
            assert self.construct is not None
            return self.construct.test
        children = self.children
        if self.kind == "and":  # cheap children first: a false one ends the AND
            children = sorted(children, key=lambda c: c.cost)
        tests = [child.test for child in children]
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

    @property
    def cost(self) -> int:
        if self.kind == "leaf":
            assert self.construct is not None
            return self.construct.cost
        return max(child.cost for child in self.children)

    def clause(self) -> dict[str, Any]:
        if self.kind == "leaf":
            assert self.construct is not None
            return self.construct.clause()
        if self.kind == "or":
            return {"bool": {"should": [c.clause() for c in self.children], "minimum_should_match": 1}}
        if self.kind == "not":
            return {"bool": {"must": [{"match_all": {}}], "must_not": [self.children[0].clause()]}}
        positives = [c for c in self.children if c.kind != "not"]
        negatives = [c.children[0] for c in self.children if c.kind == "not"]
        clause: dict[str, Any] = {"must": [c.clause() for c in positives] or [{"match_all": {}}]}
        if negatives:
            clause["must_not"] = [c.clause() for c in negatives]
        return {"bool": clause}

    def leaves(self) -> list[Compiled]:
        return [self] if self.kind == "leaf" else [leaf for c in self.children for leaf in c.leaves()]

    def positive_leaves(self, positive: bool = True) -> list[Compiled]:
        """Leaves that count for a match (under an even number of NOTs)."""
        if self.kind == "leaf":
            return [self] if positive else []
        flip = self.kind == "not"
        return [leaf for child in self.children for leaf in child.positive_leaves(positive != flip)]

    def requirement(self, rarity: Mapping[str, float]) -> Requirement:
        """Keys of which a matching article has at least one: for an AND, the cheapest child's;
        for an OR, every child's; nothing for a NOT."""
        if self.kind == "leaf":
            assert self.construct is not None
            return self.construct.requirement(rarity)
        if self.kind == "not":
            return None
        children = [child.requirement(rarity) for child in self.children]
        if self.kind == "or":
            if any(child is None for child in children):
                return None
            return frozenset().union(*(c for c in children if c is not None))
        known = [child for child in children if child is not None]
        if not known:
            return None
        return min(known, key=lambda r: (cost(r, rarity), len(r)))

    @property
    def certain(self) -> bool:
        """Having a key of its requirement means matching: one certain leaf or an OR of them."""
        if self.kind == "leaf":
            assert self.construct is not None
            return self.construct.certain
        return self.kind == "or" and all(c.kind == "leaf" and c.certain for c in self.children)


def cost(requirement: frozenset[tuple[str, str]], rarity: Mapping[str, float]) -> float:
    """How many articles a requirement lets through: stems by their document frequency, exact
    keys taken as selective, prefixes and fuzzy variants as broad."""
    def one(family: str, value: str) -> float:
        if family.partition("@")[0] in ("stem", "title-stem"):
            return rarity.get(value, 0.0)
        if family.startswith(("p2", "p3", "p4", "p5", "fz")):
            return 0.05
        return 0.001
    return sum(one(family, value) for family, value in requirement)


def compile_node(node: Node) -> Compiled:
    if isinstance(node, And):
        return Compiled("and", children=[compile_node(c) for c in node.children])
    if isinstance(node, Or):
        return Compiled("or", children=[compile_node(c) for c in node.children])
    if isinstance(node, Not):
        return Compiled("not", children=[compile_node(node.child)])
    field_name = node.left.field if isinstance(node, Near) else node.field
    return Compiled("leaf", construct=spec_of(field_name).build(node), source=node)


@dataclass(slots=True)
class Query:
    """A query string, parsed and compiled; every error is a QuerySyntaxError."""

    text: str
    root: Compiled

    @classmethod
    def parse(cls, text: str) -> Query:
        return cls(text, compile_node(parse(text, FIELD_NAMES)))

    def elasticsearch(self) -> dict[str, Any]:
        return self.root.clause()

    def highlight(self, fields: list[str]) -> list[dict[str, Any]]:
        return [c for leaf in self.root.positive_leaves() if leaf.construct is not None
                for c in leaf.construct.highlight(fields)]

    def explain(self, article: ArticleView) -> list[Evidence]:
        """What matched in the article: each counting leaf that matches, with its words."""
        found: list[Evidence] = []
        for leaf in self.root.positive_leaves():
            assert leaf.construct is not None
            if leaf.construct.test(article):
                for evidence in leaf.construct.evidence(article):
                    if evidence not in found:
                        found.append(evidence)
        return found


def snippet(text: str, terms: list[str], width: int = 160) -> str:
    """A short passage around the first of the terms in the text, or the text's start."""
    spots = [m.start() for term in terms if term
             for m in [re.search(rf"(?<!\w){re.escape(term)}", text, re.IGNORECASE)] if m]
    start = max(0, min(spots) - width // 3) if spots else 0
    passage = " ".join(text[start:start + width].split())
    return ("…" if start else "") + passage + ("…" if start + width < len(text) else "")
