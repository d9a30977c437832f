"""The constructs of the language, each defined once: its Elasticsearch clause, its in-process
predicate (the same answer for one article as the clause gives over the index), its candidate
keys for the alert matcher, and what it shows as the reason of a match.

A construct is built by a field spec (`shared/query/fields.py`) from a parsed term; it never
reads the query string again.
"""

from __future__ import annotations

import heapq
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import pairwise
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import OSA

from shared.contracts.document import DocField
from shared.query.article import ArticleView
from shared.text.languages import ENGLISH, LANGUAGES

Predicate = Callable[[ArticleView], bool]
STEM_FAMILIES = ("stem", "title-stem")
# A candidate key: (family, value). An article has the key when the family's reader (below)
# finds the value in it; a subscription is indexed under keys of which an article must have one.
Key = tuple[str, str]
Requirement = frozenset[Key] | None  # None: nothing required, checked for every article


@dataclass(frozen=True)
class Evidence:
    """Why a construct matched: the field and the words found there."""

    field: str
    terms: tuple[str, ...]


class Construct(ABC):
    __slots__ = ("_test",)  # the commonest constructs have slots too: a million subscriptions

    # Having one of its keys means matching (one word, one keyword): no predicate to run.
    certain: bool = False
    # How dear its predicate is, 0 (set look-ups) to 3 (positions, edit distances): an AND
    # tries its cheap children first, since any false one decides it.
    cost = 0

    def __init__(self) -> None:
        self._test: Predicate | None = None

    @property
    def test(self) -> Predicate:
        """Its predicate, built when first asked (as `Compiled.test`)."""
        test = self._test
        if test is None:
            test = self._test = self.predicate()
        return test

    @abstractmethod
    def clause(self) -> dict[str, Any]: ...

    @abstractmethod
    def predicate(self) -> Predicate: ...

    @abstractmethod
    def requirement(self, rarity: Mapping[str, float]) -> Requirement: ...

    def evidence(self, article: ArticleView) -> list[Evidence]:
        return []

    def highlight(self, fields: list[str]) -> list[dict[str, Any]]:
        """Clauses that mark this construct's words as written in title and body."""
        return []


def rarest(tokens: Sequence[str], rarity: Mapping[str, float]) -> str:
    """The token fewest articles have: by the given document frequencies, else the longest."""
    return min(tokens, key=lambda t: (rarity.get(t, 0.0), -len(t), t))


# ------------------------------------------------------------------ fuzzy words
def max_edits(word: str, fuzziness: str) -> int:
    """AUTO as Elasticsearch defines it (AUTO:3,6), by the word's length in code points."""
    if fuzziness != "AUTO":
        return int(fuzziness)
    return 0 if len(word) < 3 else 1 if len(word) < 6 else 2


def within_edits(word: str, candidates: Collection[str], edits: int) -> list[str]:
    """The candidates at most `edits` away from `word`: Lucene's fuzzy query counts an adjacent
    transposition as one edit and edits a substring at most once (optimal string alignment)."""
    if edits == 0:
        return [word] if word in candidates else []
    return [found for found, _, _ in process.extract_iter(word, candidates, scorer=OSA.distance,
                                                          score_cutoff=edits)]


def any_within_edits(word: str, candidates: Collection[str], edits: int) -> bool:
    if edits == 0:
        return word in candidates
    return process.extractOne(word, candidates, scorer=OSA.distance, score_cutoff=edits) is not None


@lru_cache(maxsize=65_536)
def deletions(word: str, depth: int) -> frozenset[str]:
    """The word with up to `depth` characters deleted: two words within d edits (transpositions
    included) share one of these at depth d (symmetric deletion, as SymSpell indexes)."""
    found = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1:] for w in frontier for i in range(len(w))}
        found |= frontier
    return frozenset(found)


# Deletion variants are made for words of up to this many letters (a 32-letter word has 529
# at depth 2; a pasted URL would have thousands); a fuzzy word that could match a longer one
# is checked for every article instead.
FUZZY_KEY_LETTERS = 32


# ------------------------------------------------------------------ key families
ValueReader = Callable[[ArticleView], list[Collection[str]]]


def article_values(article: ArticleView, family: str) -> Collection[str]:
    """The values an article has in one key family."""
    groups = value_reader(family)(article)
    return groups[0] if len(groups) == 1 else {v for group in groups for v in group}


@lru_cache(maxsize=256)
def value_reader(family: str) -> ValueReader:
    """What reads a family's values off an article, decided once per family, not per article.
    The values come in groups that may overlap, so that no union is built: the matcher
    intersects each group with its index's keys (in C, walking the smaller side)."""
    kind, _, source = family.partition(":")
    if kind in ("fz1", "fz2"):  # the words with up to 1 or 2 letters deleted
        depth, tokens = int(kind[2]), _tokens(source)
        return lambda a: [deletions(t, depth) for t in tokens(a) if len(t) <= FUZZY_KEY_LETTERS]
    one = values_reader(family)
    return lambda a: [one(a)]


@lru_cache(maxsize=256)
def values_reader(family: str) -> Callable[[ArticleView], Collection[str]]:
    """The same for a family whose values are one collection (all but the fuzzy variants)."""
    if "@" in family:  # "stem@de": the stems of an article stemmed in German, else none
        plain, _, language = family.partition("@")
        inner = values_reader(plain)
        return lambda a: inner(a) if a.stems_language == language else ()
    kind, _, source = family.partition(":")
    fixed: dict[str, Callable[[ArticleView], Collection[str]]] = {
        "stem": lambda a: a.stem_set,
        "title-stem": lambda a: a.title_stem_set,
        "topic": lambda a: a.topic_labels,
        "source": lambda a: () if a.source_name is None else (a.source_name.lower(),),
        "facet": lambda a: a.keywords[source],
    }
    if kind in fixed:
        return fixed[kind]
    tokens = _tokens(source)
    if kind in ("entity", "fz0"):
        return tokens
    if kind in ("p2", "p3", "p4", "p5"):  # the words' first 2 … 5 letters
        length = int(kind[1])
        return lambda a: {t[:length] for t in tokens(a) if len(t) >= length}
    raise ValueError(f"unknown key family {family!r}")


def _tokens(source: str) -> Callable[[ArticleView], Collection[str]]:
    if source == "words":
        return lambda a: a.word_set()
    return lambda a: a.entity_tokens[source]


PREFIX_KEY_LETTERS = 5  # a prefix is keyed by its first 2 to 5 letters: up to 5, its key is exact


def prefix_key(source: str, prefix: str) -> Key:
    length = min(len(prefix), PREFIX_KEY_LETTERS)
    return f"p{length}:{source}", prefix[:length]


def fuzzy_keys(source: str, word: str, edits: int) -> Requirement:
    if len(word) + edits > FUZZY_KEY_LETTERS:
        return None
    if edits == 0:
        return frozenset({(f"entity:{source}" if source != "words" else "fz0:words", word)})
    return frozenset((f"fz{edits}:{source}", v) for v in deletions(word, edits))


# ------------------------------------------------------------------ text: words and phrases
@dataclass(frozen=True)
class TextTarget:
    """Where a text construct looks: the title only, or title and body (the title boosted)."""

    title_only: bool
    label: str  # the query field's name in evidence: "title" or "text"

    @property
    def stem_family(self) -> str:
        """The key family of its stems (the title's are among the body's: `stems` holds both)."""
        return "title-stem" if self.title_only else "stem"

    @property
    def stem_fields(self) -> list[str]:
        return [DocField.TITLE_STEMS.value] if self.title_only else \
            [f"{DocField.TITLE_STEMS}^3", DocField.STEMS.value]

    def either(self, build: Callable[[str, str, float], dict[str, Any]]) -> dict[str, Any]:
        """One clause per field (stems field, its words field, boost), any of them matching."""
        title = (DocField.TITLE_STEMS.value, DocField.TITLE_WORDS.value, 3.0)
        pairs = [title] if self.title_only else [title, (DocField.STEMS.value, DocField.WORDS.value, 1.0)]
        clauses = [build(stems, words, boost) for stems, words, boost in pairs]
        return clauses[0] if len(clauses) == 1 else {"bool": {"should": clauses, "minimum_should_match": 1}}

    def positions(self, article: ArticleView) -> list[tuple[dict[str, list[int]], list[str]]]:
        """(stem → positions, words) per field, the words at the same positions as the stems."""
        title = (article.title_positions, article.title_words)
        return [title] if self.title_only else [title, (article.stem_positions, article.words)]


def _words_at(words: list[str], positions: Iterable[int], limit: int = 3) -> list[str]:
    found: list[str] = []
    for p in positions:
        if p < len(words) and words[p] not in found:
            found.append(words[p])
            if len(found) == limit:
                break
    return found


class Words(Construct):
    """Every word, in some word form, in one field (title or body-with-title)."""

    __slots__ = ("certain", "stems", "target", "text")

    def __init__(self, target: TextTarget, stems: list[str], text: str) -> None:
        self.target, self.stems, self.text = target, stems, text
        self.certain = len(stems) == 1
        super().__init__()

    def clause(self) -> dict[str, Any]:
        return {"multi_match": {"query": " ".join(self.stems), "fields": self.target.stem_fields,
                                "operator": "and"}}

    def predicate(self) -> Predicate:
        stems, title_only = self.stems, self.target.title_only
        if len(stems) == 1:
            stem = stems[0]
            if title_only:
                return lambda a: stem in a.title_stem_set
            return lambda a: stem in a.title_stem_set or stem in a.stem_set
        if title_only:
            return lambda a: all(s in a.title_stem_set for s in stems)
        return lambda a: all(s in a.title_stem_set for s in stems) or all(s in a.stem_set for s in stems)

    def requirement(self, rarity: Mapping[str, float]) -> Requirement:
        return frozenset({(self.target.stem_family, rarest(self.stems, rarity))})

    def evidence(self, article: ArticleView) -> list[Evidence]:
        for positions, words in self.target.positions(article):
            if all(s in positions for s in self.stems):
                found = [w for s in self.stems for w in _words_at(words, positions[s], 1)]
                return [Evidence("title" if words is article.title_words else self.target.label,
                                 tuple(found))]
        return []

    def highlight(self, fields: list[str]) -> list[dict[str, Any]]:
        return [{"multi_match": {"query": self.text, "fields": fields, "type": "phrase"}}]


class Phrase(Construct):
    """The words' stems one after another, in one field."""

    cost = 1

    def __init__(self, target: TextTarget, stems: list[str], text: str) -> None:
        self.target, self.stems, self.text = target, stems, text
        super().__init__()

    def clause(self) -> dict[str, Any]:
        return {"multi_match": {"query": " ".join(self.stems), "type": "phrase",
                                "fields": self.target.stem_fields}}

    def predicate(self) -> Predicate:
        stems, title_only = self.stems, self.target.title_only
        if len(stems) == 1:
            return Words(self.target, stems, self.text).test
        pairs = list(pairwise(stems))
        if len(pairs) == 1:  # most phrases: their one pair of neighbours, looked up
            pair = pairs[0]
            if title_only:
                return lambda a: pair in a.title_bigrams
            return lambda a: pair in a.title_bigrams or pair in a.stem_bigrams

        def within(bigrams: set[tuple[str, str]], positions: dict[str, list[int]]) -> bool:
            return all(p in bigrams for p in pairs) and bool(_phrase_starts(stems, positions))
        if title_only:
            return lambda a: within(a.title_bigrams, a.title_positions)
        return lambda a: within(a.title_bigrams, a.title_positions) or \
            within(a.stem_bigrams, a.stem_positions)

    def requirement(self, rarity: Mapping[str, float]) -> Requirement:
        return frozenset({(self.target.stem_family, rarest(self.stems, rarity))})

    def evidence(self, article: ArticleView) -> list[Evidence]:
        for positions, words in self.target.positions(article):
            starts = _phrase_starts(self.stems, positions)
            if starts:
                found = words[starts[0]:starts[0] + len(self.stems)]
                return [Evidence("title" if words is article.title_words else self.target.label,
                                 (" ".join(found),))]
        return []

    def highlight(self, fields: list[str]) -> list[dict[str, Any]]:
        return [{"multi_match": {"query": self.text, "fields": fields, "type": "phrase"}}]


def _phrase_starts(tokens: Sequence[str], positions: Mapping[str, list[int]]) -> list[int]:
    """Where the tokens start one after another."""
    following = [positions.get(token) for token in tokens]
    if any(p is None for p in following):
        return []
    first, rest = following[0], [set(p) for p in following[1:] if p is not None]
    assert first is not None
    return [start for start in first if all(start + i in later for i, later in enumerate(rest, 1))]


@dataclass(frozen=True, slots=True)
class Form:
    """A term's construct in the word forms of some languages: it applies to articles whose
    text was stemmed in one of them (`stems_language`, shared/text/languages.py)."""

    construct: Construct
    languages: frozenset[str]


class AnyForm(Construct):
    """One query term in the word forms of every language: the same construct built once per
    distinct form, each matching only articles stemmed in a language that gives that form, so
    "ratifiera" finds French "ratifier" but not English "ratified" (whose English stem happens
    to be the French one), and an English query reads English articles exactly as before."""

    __slots__ = ("certain", "cost", "forms")

    def __init__(self, forms: Sequence[Form]) -> None:
        self.forms = list(forms)
        # Its stem keys name the language (below): having one means the form matches.
        self.certain = all(f.construct.certain for f in self.forms)
        self.cost = max(f.construct.cost for f in self.forms)
        super().__init__()

    def clause(self) -> dict[str, Any]:
        return {"bool": {"should": [{"bool": {"must": [f.construct.clause()], **_in_languages(f.languages)}}
                                    for f in self.forms], "minimum_should_match": 1}}

    def predicate(self) -> Predicate:
        # The forms split the languages between them: one form's test per language, looked up.
        test_of = {language: f.construct.test for f in self.forms for language in f.languages}
        get = test_of.get
        return lambda a: (test := get(a.stems_language)) is not None and test(a)

    def requirement(self, rarity: Mapping[str, float]) -> Requirement:
        """Each form's keys, its stems keyed in each of its languages ("stem@de")."""
        keys: set[Key] = set()
        for form in self.forms:
            found = form.construct.requirement(rarity)
            if found is None:
                return None
            keys |= {(_tagged(family, language), value) if family in STEM_FAMILIES else (family, value)
                     for family, value in found for language in form.languages}
        return frozenset(keys)

    def evidence(self, article: ArticleView) -> list[Evidence]:
        return next((found for f in self.forms
                     if article.stems_language in f.languages and f.construct.test(article)
                     for found in [f.construct.evidence(article)] if found), [])

    def highlight(self, fields: list[str]) -> list[dict[str, Any]]:
        # The forms differ in stems only; they mark the same words as written.
        return self.forms[0].construct.highlight(fields)


@cache
def _tagged(family: str, language: str) -> str:
    """A stem family keyed in one language ("stem@de"), one string however many keys have it."""
    return f"{family}@{language}"


def _in_languages(languages: frozenset[str]) -> dict[str, Any]:
    """The filter to articles stemmed in these languages. A document indexed before the field
    existed has none and was stemmed in English: the English form's filter excludes the other
    languages rather than requiring "en"."""
    if ENGLISH.code in languages:
        others = sorted(set(LANGUAGES) - languages)
        return {"must_not": [{"terms": {DocField.STEMS_LANGUAGE.value: others}}]} if others else {}
    return {"filter": [{"terms": {DocField.STEMS_LANGUAGE.value: sorted(languages)}}]}


def any_form(forms: Sequence[Form]) -> Construct:
    """The construct alone when every language gives the same form."""
    return forms[0].construct if len(forms) == 1 else AnyForm(forms)


# ------------------------------------------------------------------ text: prefixes and fuzzy words
class Prefix(Construct):
    """Some word (unstemmed) starting with the prefix: every such word, however many the index
    holds (a constant-score rewrite visits them all, no top-N cut)."""

    cost = 1

    def __init__(self, target: TextTarget, prefix: str) -> None:
        self.target, self.prefix = target, prefix
        self.certain = not target.title_only and len(prefix) <= PREFIX_KEY_LETTERS
        super().__init__()

    def clause(self) -> dict[str, Any]:
        return self.target.either(lambda _, words, boost: {"prefix": {words: {
            "value": self.prefix, "rewrite": "constant_score", "boost": boost}}})

    def predicate(self) -> Predicate:
        prefix, title_only = self.prefix, self.target.title_only
        return lambda a: bool(a.words_starting(prefix, title_only))

    def requirement(self, rarity: Mapping[str, float]) -> Requirement:
        return frozenset({prefix_key("words", self.prefix)})

    def evidence(self, article: ArticleView) -> list[Evidence]:
        in_title = article.words_starting(self.prefix, True)
        found = in_title or article.words_starting(self.prefix, self.target.title_only)
        return [Evidence("title" if in_title else self.target.label, tuple(found[:5]))] if found else []

    def highlight(self, fields: list[str]) -> list[dict[str, Any]]:
        return [{"multi_match": {"query": self.prefix, "fields": fields, "type": "phrase_prefix"}}]


class Fuzzy(Construct):
    """Some word (unstemmed) within the allowed edits of the given one."""

    cost = 3

    def __init__(self, target: TextTarget, word: str, edits: int) -> None:
        self.target, self.word, self.edits = target, word, edits
        super().__init__()

    def clause(self) -> dict[str, Any]:
        return self.target.either(lambda _, words, boost: {"fuzzy": {words: {
            "value": self.word, "fuzziness": self.edits, "transpositions": True,
            "prefix_length": 0, "rewrite": "constant_score", "boost": boost}}})

    def predicate(self) -> Predicate:
        word, edits, title_only = self.word, self.edits, self.target.title_only
        if edits == 0:
            return lambda a: word in a.word_set(title_only)
        low, high = len(word) - edits, len(word) + edits  # an edit changes the length by one at most
        return lambda a: any_within_edits(word, a.words_of_length(low, high, title_only), edits)

    def requirement(self, rarity: Mapping[str, float]) -> Requirement:
        return fuzzy_keys("words", self.word, self.edits)

    def evidence(self, article: ArticleView) -> list[Evidence]:
        in_title = within_edits(self.word, article.word_set(True), self.edits)
        found = in_title or within_edits(self.word, article.word_set(self.target.title_only),
                                         self.edits)
        if not found:
            return []
        return [Evidence("title" if in_title else self.target.label, tuple(sorted(found)[:5]))]

    def highlight(self, fields: list[str]) -> list[dict[str, Any]]:
        return [{"multi_match": {"query": self.word, "fields": fields, "fuzziness": self.edits}}]


# ------------------------------------------------------------------ text: proximity
@dataclass(frozen=True)
class Operand:
    """One part of a proximity: stems one after another, or a word prefix (one position)."""

    stems: tuple[str, ...] = ()
    prefix: str | None = None

    @property
    def length(self) -> int:
        return 1 if self.prefix is not None else len(self.stems)

    def span(self, stems_field: str, words_field: str) -> dict[str, Any]:
        if self.prefix is not None:
            return {"span_field_masking": {"field": stems_field, "query": {"span_multi": {
                "match": {"prefix": {words_field: {"value": self.prefix}}}}}}}
        terms = [{"span_term": {stems_field: stem}} for stem in self.stems]
        return terms[0] if len(terms) == 1 else \
            {"span_near": {"clauses": terms, "slop": 0, "in_order": True}}

    def starts(self, positions: Mapping[str, list[int]], article: ArticleView, title_only: bool
               ) -> list[int]:
        if self.prefix is not None:
            return article.prefix_positions(self.prefix, title_only)
        if len(self.stems) == 1:
            return positions.get(self.stems[0], [])
        return _phrase_starts(self.stems, positions)

    def at(self, position: int, stems: list[str], words: list[str]) -> bool:
        """Whether this part stands at the position (stems and words: one field's tokens)."""
        if self.prefix is not None:
            return position < len(words) and words[position].startswith(self.prefix)
        return stems[position:position + len(self.stems)] == list(self.stems)


@dataclass
class _Cell:
    starts: list[int]
    length: int
    index: int = 0


def unordered_within(cells: list[_Cell], slop: int) -> tuple[int, int] | None:
    """Lucene's unordered span-near: starting from each part's first match, the part that starts
    first moves to its next match until the window (first start to last end) holds the parts
    with at most `slop` positions not covered by them; parts may overlap. Returns the first
    such window (start, end), or None."""
    if any(not cell.starts for cell in cells):
        return None
    total = sum(cell.length for cell in cells)
    heap = [(cell.starts[0], cell.starts[0] + cell.length, n) for n, cell in enumerate(cells)]
    heapq.heapify(heap)
    max_end = max(end for _, end, _ in heap)
    while True:
        start, _, n = heap[0]
        if max_end - start - total <= slop:
            return start, max_end
        cell = cells[n]
        cell.index += 1
        if cell.index == len(cell.starts):
            return None
        following = cell.starts[cell.index]
        heapq.heapreplace(heap, (following, following + cell.length, n))
        max_end = max(max_end, following + cell.length)


def nearest_within(first: list[int], second: list[int], slop: int) -> tuple[int, int] | None:
    """unordered_within for two one-word parts, by one merge of their ascending positions: the
    first pair at most slop + 1 apart (a shared position, the same word twice, counts too)."""
    i = j = 0
    while i < len(first) and j < len(second):
        a, b = first[i], second[j]
        if abs(a - b) <= slop + 1:
            return min(a, b), max(a, b) + 1
        if a < b:
            i += 1
        else:
            j += 1
    return None


class Proximity(Construct):
    """`"a b"~N` and `a NEAR/N b`: the parts in any order with at most N other words between
    them (span_near, in_order false); `"a b*"`: the parts one after another (slop 0, in order)."""

    cost = 2

    def __init__(self, target: TextTarget, operands: list[Operand], slop: int, ordered: bool,
                 text: str) -> None:
        self.target, self.operands, self.slop, self.ordered, self.text = \
            target, operands, slop, ordered, text
        super().__init__()

    def clause(self) -> dict[str, Any]:
        return self.target.either(lambda stems, words, boost: {"span_near": {
            "clauses": [o.span(stems, words) for o in self.operands], "slop": self.slop,
            "in_order": self.ordered, "boost": boost}})

    def _window(self, article: ArticleView, title: bool) -> tuple[int, int] | None:
        positions = article.title_positions if title else article.stem_positions
        if self.ordered:  # slop 0 in order: each part right after the one before, from the first's
            stems, words = (article.title_stems, article.title_words) if title else \
                (article.stems, article.words)
            offsets = [sum(o.length for o in self.operands[:i]) for i in range(len(self.operands))]
            width = offsets[-1] + self.operands[-1].length
            first, rest = self.operands[0], list(zip(offsets[1:], self.operands[1:], strict=True))
            return next(((s, s + width) for s in first.starts(positions, article, title)
                         if all(o.at(s + off, stems, words) for off, o in rest)), None)
        starts = [o.starts(positions, article, title) for o in self.operands]
        if len(starts) == 2 and self.operands[0].length == self.operands[1].length == 1:
            return nearest_within(starts[0], starts[1], self.slop)
        return unordered_within([_Cell(s, o.length) for s, o in zip(starts, self.operands, strict=True)],
                                self.slop)

    def predicate(self) -> Predicate:
        window, stems = self._window, {s for o in self.operands for s in o.stems}
        # Every stem present first: a set look-up each, before any positions are read.
        if self.target.title_only:
            return lambda a: stems <= a.title_stem_set and window(a, True) is not None
        return lambda a: (stems <= a.title_stem_set and window(a, True) is not None) or \
            (stems <= a.stem_set and window(a, False) is not None)

    def requirement(self, rarity: Mapping[str, float]) -> Requirement:
        stems = [s for o in self.operands for s in o.stems]
        if stems:
            return frozenset({(self.target.stem_family, rarest(stems, rarity))})
        prefix = next(o.prefix for o in self.operands if o.prefix is not None)
        return frozenset({prefix_key("words", prefix)})

    def evidence(self, article: ArticleView) -> list[Evidence]:
        for title in (True, False) if not self.target.title_only else (True,):
            window = self._window(article, title)
            if window is not None:
                words = article.title_words if title else article.words
                return [Evidence("title" if title else self.target.label,
                                 (" ".join(words[window[0]:window[1]]),))]
        return []

    def highlight(self, fields: list[str]) -> list[dict[str, Any]]:
        return [{"multi_match": {"query": self.text, "fields": fields}}]


# ------------------------------------------------------------------ entities
class EntityName(Construct):
    """Words in order inside one entity name (of people, organisations or places); the last a
    prefix when `prefix_last` (`person:Mac*`, `org:"European Cent*"`)."""

    cost = 1

    def __init__(self, es_field: str, source: str, tokens: list[str], prefix_last: bool = False
                 ) -> None:
        self.es_field, self.source, self.tokens, self.prefix_last = es_field, source, tokens, prefix_last
        self.certain = len(tokens) == 1 and not prefix_last
        super().__init__()

    def clause(self) -> dict[str, Any]:
        if not self.prefix_last:
            return {"match_phrase": {self.es_field: " ".join(self.tokens)}}
        last = {"prefix": {self.es_field: {"value": self.tokens[-1], "rewrite": "constant_score"}}}
        if len(self.tokens) == 1:
            return last
        spans: list[dict[str, Any]] = [{"span_term": {self.es_field: t}} for t in self.tokens[:-1]]
        spans.append({"span_multi": {"match": {"prefix": {self.es_field: {"value": self.tokens[-1]}}}}})
        return {"span_near": {"clauses": spans, "slop": 0, "in_order": True}}

    def _matches(self, words: list[str]) -> bool:
        tokens, n = self.tokens, len(self.tokens)
        if not self.prefix_last:
            return any(words[i:i + n] == tokens for i in range(len(words) - n + 1))
        head, last = tokens[:-1], tokens[-1]
        return any(words[i:i + n - 1] == head and words[i + n - 1].startswith(last)
                   for i in range(len(words) - n + 1))

    def predicate(self) -> Predicate:
        source, matches = self.source, self._matches
        if len(self.tokens) == 1 and not self.prefix_last:
            token = self.tokens[0]
            return lambda a: token in a.entity_tokens[source]
        return lambda a: any(matches(words) for words in a.entities[source])

    def requirement(self, rarity: Mapping[str, float]) -> Requirement:
        whole = self.tokens[:-1] if self.prefix_last else self.tokens
        if whole:
            return frozenset({(f"entity:{self.source}", rarest(whole, rarity))})
        return frozenset({prefix_key(self.source, self.tokens[-1])})

    def evidence(self, article: ArticleView) -> list[Evidence]:
        names = [name for name, words in zip(
            [n for n in article.doc.get(self.source, []) if len(n) <= 256],
            article.entities[self.source], strict=False) if self._matches(words)]
        return [Evidence(self.source, tuple(names[:3]))] if names else []


class EntityFuzzy(Construct):
    """A word of some entity name within the allowed edits."""

    cost = 3

    def __init__(self, es_field: str, source: str, word: str, edits: int) -> None:
        self.es_field, self.source, self.word, self.edits = es_field, source, word, edits
        super().__init__()

    def clause(self) -> dict[str, Any]:
        return {"fuzzy": {self.es_field: {"value": self.word, "fuzziness": self.edits,
                                          "transpositions": True, "prefix_length": 0,
                                          "rewrite": "constant_score"}}}

    def predicate(self) -> Predicate:
        word, edits, source = self.word, self.edits, self.source
        return lambda a: any_within_edits(word, a.entity_tokens[source], edits)

    def requirement(self, rarity: Mapping[str, float]) -> Requirement:
        return fuzzy_keys(self.source, self.word, self.edits)

    def evidence(self, article: ArticleView) -> list[Evidence]:
        found = within_edits(self.word, article.entity_tokens[self.source], self.edits)
        return [Evidence(self.source, tuple(sorted(found)[:3]))] if found else []


# ------------------------------------------------------------------ keywords
class _OnKeywords(Construct):
    """A value looked for in one or more keyword fields (any of them), any case for sources."""

    def __init__(self, es_fields: list[str], family: str, value: str, label: str,
                 case_insensitive: bool = False) -> None:
        self.es_fields, self.family, self.value, self.label = es_fields, family, value, label
        self.case_insensitive = case_insensitive
        super().__init__()

    def _clause(self, query: str, **options: Any) -> dict[str, Any]:
        if self.case_insensitive:
            options["case_insensitive"] = True
        value: Any = {"value": self.value, **options} if options else self.value
        clauses = [{query: {name: value}} for name in self.es_fields]
        return clauses[0] if len(clauses) == 1 else {"bool": {"should": clauses}}


class Keyword(_OnKeywords):
    """An exact keyword value (a country code, a language, a topic label)."""

    certain = True

    def clause(self) -> dict[str, Any]:
        return self._clause("term")

    def predicate(self) -> Predicate:
        read, value = values_reader(self.family), self.value
        return lambda a: value in read(a)

    def requirement(self, rarity: Mapping[str, float]) -> Requirement:
        return frozenset({(self.family, self.value)})

    def evidence(self, article: ArticleView) -> list[Evidence]:
        return [Evidence(self.label, (self.value,))] if self.test(article) else []


class KeywordPrefix(_OnKeywords):
    """A keyword value starting with the prefix (`topic:econ*`, `source:Reu*`). Keyword prefixes
    rewrite with a constant score over every value: no cut."""

    cost = 1

    def clause(self) -> dict[str, Any]:
        return self._clause("prefix", rewrite="constant_score")

    def _found(self, article: ArticleView) -> list[str]:
        return sorted(v for v in article_values(article, self.family) if v.startswith(self.value))

    def predicate(self) -> Predicate:
        return lambda a: bool(self._found(a))

    def requirement(self, rarity: Mapping[str, float]) -> Requirement:
        return None  # few subscriptions, few values: checked for every article

    def evidence(self, article: ArticleView) -> list[Evidence]:
        found = self._found(article)
        return [Evidence(self.label, tuple(found[:3]))] if found else []


def latin_only(text: str) -> bool:
    return not any(c.isalpha() and not unicodedata.name(c, "").startswith("LATIN") for c in text)
