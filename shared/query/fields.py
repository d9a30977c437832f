"""One spec per query field: which constructs it takes and how it builds them. Adding a field
is one `FieldSpec` in `FIELDS`; the parser, search, alerts and the page's help read this table.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass

from shared.contracts.document import DocField, entity_text_field
from shared.query.article import ENTITY_FIELDS, standard_tokens
from shared.query.constructs import (
    Construct,
    EntityFuzzy,
    EntityName,
    Form,
    Fuzzy,
    Keyword,
    KeywordPrefix,
    Operand,
    Phrase,
    Prefix,
    Proximity,
    TextTarget,
    Words,
    any_form,
    max_edits,
)
from shared.query.syntax import Near, QuerySyntaxError, Term
from shared.text.canonical import canonical_name
from shared.text.countries import country_code
from shared.text.languages import LANGUAGES
from shared.text.wordforms import stem_text, words

ALL_LANGUAGES = frozenset(LANGUAGES)


@dataclass(frozen=True)
class FieldSpec:
    name: str  # "" for text in no field
    meaning: str
    example: str
    build: Callable[[Term | Near], Construct]


def _forms(parts: list[tuple[str, int]]) -> list[tuple[tuple[tuple[str, ...], ...], frozenset[str]]]:
    """The parts' stems (each part: its text and its position in the query) in each language
    (shared/text/languages.py): each distinct combination once, English first, with the
    languages that give it. A query does not know which language it will meet."""
    combinations: dict[tuple[tuple[str, ...], ...], set[str]] = {}
    for code in LANGUAGES:
        combination = tuple(tuple(standard_tokens(stem_text(text, code))) for text, _ in parts)
        for (text, position), stems in zip(parts, combination, strict=True):
            if not stems:
                raise QuerySyntaxError(f"'{text}' has no letters or digits", position)
        combinations.setdefault(combination, set()).add(code)
    # Interned (stems repeat across a million subscriptions, language sets are a handful).
    return [(tuple(tuple(sys.intern(stem) for stem in stems) for stems in combination),
             _language_set(frozenset(codes))) for combination, codes in combinations.items()]


@functools.cache
def _language_set(codes: frozenset[str]) -> frozenset[str]:
    return codes


def _one_word(text: str, position: int, what: str) -> str:
    """The word as the index holds it; a prefix or a fuzzy word is one word."""
    tokens = standard_tokens(" ".join(words(text)))
    if len(tokens) != 1:
        raise QuerySyntaxError(f"{what} is one word ('{text}' is {len(tokens)})", position)
    return tokens[0]


def _check_operand(term: Term) -> None:
    if term.kind == "fuzzy":
        raise QuerySyntaxError("a fuzzy word cannot go inside NEAR", term.position)
    if term.kind != "prefix" and (term.slop is not None or term.prefix_last):
        raise QuerySyntaxError('inside NEAR, a phrase is exact: no ~N and no *', term.position)


@dataclass(frozen=True)
class _Part:
    """One part of a proximity: words (one Operand of stems) or a word prefix."""

    text: str
    position: int
    prefix: bool = False


def _proximity(target: TextTarget, parts: list[_Part], slop: int, ordered: bool, text: str
               ) -> Construct:
    """The parts within the slop, their words in each language's forms; a single part is a
    word (or a prefix), not a proximity."""
    words_parts = [(p.text, p.position) for p in parts if not p.prefix]
    forms: list[Form] = []
    for combination, languages in _forms(words_parts) if words_parts else [((), ALL_LANGUAGES)]:
        stems = iter(combination)
        operands = [Operand(prefix=_one_word(p.text, p.position, "a prefix")) if p.prefix
                    else Operand(stems=next(stems)) for p in parts]
        if len(operands) > 1:
            forms.append(Form(Proximity(target, operands, slop, ordered, text), languages))
        elif operands[0].prefix is not None:
            return Prefix(target, operands[0].prefix)
        else:
            forms.append(Form(Words(target, list(operands[0].stems), text), languages))
    return any_form(forms)


def _text(target: TextTarget) -> Callable[[Term | Near], Construct]:
    def build(term: Term | Near) -> Construct:
        if isinstance(term, Near):
            _check_operand(term.left)
            _check_operand(term.right)
            parts = [_Part(t.text, t.position, t.kind == "prefix") for t in (term.left, term.right)]
            return _proximity(target, parts, term.distance, False, f"{term.left.text} {term.right.text}")
        if term.kind == "prefix":
            return Prefix(target, _one_word(term.text, term.position, "a prefix"))
        if term.kind == "fuzzy":
            word = _one_word(term.text, term.position, "a fuzzy word")
            return Fuzzy(target, word, max_edits(word, term.fuzziness))
        if term.kind == "word" or (term.slop is None and not term.prefix_last):
            kind = Words if term.kind == "word" else Phrase
            return any_form([Form(kind(target, list(stems), term.text), languages)
                             for (stems,), languages in _forms([(term.text, term.position)])])
        words_of = term.text.split()
        parts = [_Part(w, term.position, prefix=term.prefix_last and n == len(words_of) - 1)
                 for n, w in enumerate(words_of)]
        slop = 0 if term.slop is None else term.slop
        return _proximity(target, parts, slop, term.slop is None, term.text.rstrip("*"))
    return build


def _plain(term: Term | Near, name: str) -> Term:
    if isinstance(term, Near) or term.slop is not None:
        raise QuerySyntaxError(f"proximity is for text, not for '{name}:'", term.position)
    return term


def _entity(name: str) -> Callable[[Term | Near], Construct]:
    source = ENTITY_FIELDS[name].value
    es_field = entity_text_field(ENTITY_FIELDS[name])

    def build(term: Term | Near) -> Construct:
        term = _plain(term, name)
        if term.kind == "fuzzy":
            word = _one_word(term.text, term.position, "a fuzzy word")
            return EntityFuzzy(es_field, source, word, max_edits(word, term.fuzziness))
        if term.kind == "prefix" or term.prefix_last:
            tokens = standard_tokens(term.text)
            if not tokens:
                raise QuerySyntaxError(f"'{term.text}' has no letters or digits", term.position)
            return EntityName(es_field, source, tokens, prefix_last=True)
        tokens = standard_tokens(canonical_name(term.text))
        if not tokens:
            raise QuerySyntaxError(f"'{term.text}' has no letters or digits", term.position)
        return EntityName(es_field, source, tokens)
    return build


def _exact(term: Term | Near, name: str, prefix_ok: bool = False) -> Term:
    term = _plain(term, name)
    if term.kind == "fuzzy" or (not prefix_ok and (term.kind == "prefix" or term.prefix_last)):
        raise QuerySyntaxError(f"'{name}:' takes an exact value", term.position)
    return term


def _country(term: Term | Near) -> Construct:
    term = _exact(term, "country")
    code = country_code(term.text)
    if code is None:
        raise QuerySyntaxError(f"unknown country '{term.text.strip()}'", term.position)
    return Keyword([DocField.COUNTRY_CODES.value], f"facet:{DocField.COUNTRY_CODES}", code, "country")


_TOPIC_FIELDS = [DocField.TOPIC_LABELS.value, DocField.SUBTOPIC_LABELS.value]


def _topic(term: Term | Near) -> Construct:
    term = _exact(term, "topic", prefix_ok=True)
    if term.kind == "prefix" or term.prefix_last:
        return KeywordPrefix(_TOPIC_FIELDS, "topic", term.text.lower(), "topic")
    return Keyword(_TOPIC_FIELDS, "topic", term.text.lower(), "topic")


def _source(term: Term | Near) -> Construct:
    term = _exact(term, "source", prefix_ok=True)
    fields = [DocField.SOURCE_NAME.value]
    if term.kind == "prefix" or term.prefix_last:
        return KeywordPrefix(fields, "source", term.text.lower(), "source", case_insensitive=True)
    return Keyword(fields, "source", term.text.lower(), "source", case_insensitive=True)


def _language(term: Term | Near) -> Construct:
    term = _exact(term, "lang")
    return Keyword([DocField.LANGUAGE.value], f"facet:{DocField.LANGUAGE}", term.text.lower(), "lang")


TEXT = FieldSpec("", "title and body", "sanctions", _text(TextTarget(False, "text")))
FIELDS: dict[str, FieldSpec] = {spec.name: spec for spec in (
    FieldSpec("title", "in the title only", 'title:"peace talks"', _text(TextTarget(True, "title"))),
    FieldSpec("person", "a person's canonical name, its words in order", 'person:"Kim Jong Un"',
              _entity("person")),
    FieldSpec("org", "an organisation's canonical name (org:U.N. finds United Nations)",
              'org:"United Nations"', _entity("org")),
    FieldSpec("place", "a place's canonical name", "place:Seoul", _entity("place")),
    FieldSpec("country", "an ISO code or a country name", "country:KP", _country),
    FieldSpec("topic", "a topic or subtopic label; topic:econ* its prefix", "topic:politics", _topic),
    FieldSpec("source", "the source's name, any case; source:Reu* its prefix", "source:Reuters",
              _source),
    FieldSpec("lang", "the article's language code", "lang:en", _language),
)}
FIELD_NAMES = tuple(FIELDS)


def spec_of(name: str | None) -> FieldSpec:
    return TEXT if name is None else FIELDS[name]
