"""What in-process matching reads of one index document, prepared once per article.

Every token list is what Elasticsearch's standard tokenizer makes of the document's fields:
`stems`/`title_stems` (Snowball stems), `words`/`title_words` (the same words unstemmed, at the
same positions) and the `.text` sub-field of each entity name. Both are our own
space-separated tokens (shared/text/wordforms.py), so the standard tokenizer only lower-cases
them; the regex below repeats what it does to the rest (letters and digits joined across a
single apostrophe, dot or colon between them, digits across a comma).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping
from functools import cached_property
from itertools import pairwise
from typing import Any

from shared.contracts.document import FACETS, DocField

KEYWORD_IGNORE_ABOVE = 512  # shared/contracts/index_fields.py: longer keyword values are not indexed
ENTITY_IGNORE_ABOVE = 256
ENTITY_FIELDS = {"person": DocField.PEOPLE, "org": DocField.ORGANIZATIONS, "place": DocField.PLACES}
_TOKEN = re.compile(r"\w+(?:(?:[.'’:]|(?<=\d),(?=\d))\w+)*")


def standard_tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def _path(doc: Mapping[str, Any], dotted: str) -> Any:
    value: Any = doc
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def positions_of(tokens: list[str]) -> dict[str, list[int]]:
    """token → its positions, ascending."""
    found: dict[str, list[int]] = {}
    for position, token in enumerate(tokens):
        found.setdefault(token, []).append(position)
    return found


def _by_length(words: frozenset[str]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for word in words:
        found.setdefault(len(word), []).append(word)
    return found


class ArticleView:
    """The document's token lists, sets and positions, each computed on first use: an article
    that only plain-word subscriptions look at never has its unstemmed words tokenised."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.doc = doc
        self.stems = standard_tokens(doc.get(DocField.STEMS) or "")
        self.title_stems = standard_tokens(doc.get(DocField.TITLE_STEMS) or "")
        self.stem_set = set(self.stems)
        self.title_stem_set = set(self.title_stems)
        self.is_duplicate = bool(doc.get(DocField.IS_DUPLICATE))
        # Whose stemmer made the stems; none: indexed before languages had their own (English).
        self.stems_language = doc.get(DocField.STEMS_LANGUAGE) or "en"
        keywords: dict[str, set[str]] = {}
        for facet in FACETS.values():
            value = _path(doc, facet.value)
            values = value if isinstance(value, list) else [] if value is None else [value]
            keywords[facet.value] = {str(v) for v in values}
        self.keywords = keywords
        source = _path(doc, DocField.SOURCE_NAME)
        self.source_name = (source if isinstance(source, str) and len(source) <= KEYWORD_IGNORE_ABOVE
                            else None)
        self.topic_labels = (set(doc.get(DocField.TOPIC_LABELS, []))
                             | set(doc.get(DocField.SUBTOPIC_LABELS, [])))

    @classmethod
    def of(cls, doc: Mapping[str, Any]) -> ArticleView:
        return cls(doc)

    @cached_property
    def entities(self) -> dict[str, list[list[str]]]:
        """Entity field → the tokens of each name (a phrase never runs across two names)."""
        return {f.value: [standard_tokens(name) for name in self.doc.get(f.value, [])
                          if len(name) <= ENTITY_IGNORE_ABOVE]
                for f in ENTITY_FIELDS.values()}

    @cached_property
    def entity_tokens(self) -> dict[str, set[str]]:
        return {name: {t for tokens in names for t in tokens} for name, names in self.entities.items()}

    @cached_property
    def words(self) -> list[str]:
        return standard_tokens(self.doc.get(DocField.WORDS) or "")

    @cached_property
    def title_words(self) -> list[str]:
        return standard_tokens(self.doc.get(DocField.TITLE_WORDS) or "")

    @cached_property
    def stem_bigrams(self) -> set[tuple[str, str]]:
        """Stems one after the other: a two-word phrase is one look-up."""
        return set(pairwise(self.stems))

    @cached_property
    def title_bigrams(self) -> set[tuple[str, str]]:
        return set(pairwise(self.title_stems))

    @cached_property
    def stem_positions(self) -> dict[str, list[int]]:
        return positions_of(self.stems)

    @cached_property
    def title_positions(self) -> dict[str, list[int]]:
        return positions_of(self.title_stems)

    def word_set(self, title_only: bool = False) -> frozenset[str]:
        return self._title_word_set if title_only else self._word_set

    @cached_property
    def _word_set(self) -> frozenset[str]:
        return frozenset(self.words)

    @cached_property
    def _title_word_set(self) -> frozenset[str]:
        return frozenset(self.title_words)

    def words_of_length(self, low: int, high: int, title_only: bool = False) -> list[str]:
        """The distinct words of `low` to `high` letters: what a fuzzy word can be near (made
        once per article and range: every fuzzy subscription of a length asks the same)."""
        key = (low, high, title_only)
        found = self._of_length.get(key)
        if found is None:
            by_length = self._title_by_length if title_only else self._by_length
            found = self._of_length[key] = [w for length in range(low, high + 1)
                                            for w in by_length.get(length, ())]
        return found

    @cached_property
    def _of_length(self) -> dict[tuple[int, int, bool], list[str]]:
        return {}

    @cached_property
    def _by_length(self) -> dict[int, list[str]]:
        return _by_length(self._word_set)

    @cached_property
    def _title_by_length(self) -> dict[int, list[str]]:
        return _by_length(self._title_word_set)

    @cached_property
    def _sorted_words(self) -> list[str]:
        return sorted(self._word_set)

    @cached_property
    def _sorted_title_words(self) -> list[str]:
        return sorted(self._title_word_set)

    def words_starting(self, prefix: str, title_only: bool = False) -> list[str]:
        """The distinct words that start with `prefix`, by bisection of the sorted words."""
        ordered = self._sorted_title_words if title_only else self._sorted_words
        start = bisect.bisect_left(ordered, prefix)
        end = start
        while end < len(ordered) and ordered[end].startswith(prefix):
            end += 1
        return ordered[start:end]

    @cached_property
    def word_positions(self) -> dict[str, list[int]]:
        return positions_of(self.words)

    @cached_property
    def title_word_positions(self) -> dict[str, list[int]]:
        return positions_of(self.title_words)

    def prefix_positions(self, prefix: str, title_only: bool = False) -> list[int]:
        """Where a word starting with `prefix` stands, ascending."""
        positions = self.title_word_positions if title_only else self.word_positions
        found = [p for word in self.words_starting(prefix, title_only) for p in positions[word]]
        return sorted(found)

    def text(self, title_only: bool = False) -> str:
        title = str(self.doc.get(DocField.TITLE) or "")
        return title if title_only else f"{title}\n{self.doc.get(DocField.BODY) or ''}"
