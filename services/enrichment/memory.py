"""What enrichment remembers between articles (recent duplicates and stories), behind one
interface: the enrichment step asks it and tells it, and never reads Elasticsearch itself.

`InProcessMemory` keeps both in the worker's memory; services/enrichment/refill.py fills it
from the news index at start-up (every article stores what memory needs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from services.enrichment.dedup import DuplicateIndex, DuplicateKind
from services.enrichment.stories import StoryIndex
from shared.contracts.document import ENTITY_LISTS, DocField
from shared.text.wordforms import stems

# What a story is matched on: the canonical entities of these fields, and keyword stems.
STORY_ENTITY_FIELDS = (*ENTITY_LISTS, DocField.COUNTRY_CODES)


def story_features(names: dict[str, list[str]], keywords: list[str]) -> tuple[set[str], set[str]]:
    """Entities and terms, from the fields the index stores, so an article enriched now and
    one refilled from the index at start-up are matched alike."""
    entities = {name for field in STORY_ENTITY_FIELDS for name in names.get(field.value, [])}
    terms = {stem for keyword in keywords for stem in stems(keyword)}
    return entities, terms


@dataclass
class Remembered:
    """What memory keeps of one article."""

    article_id: str
    content_hash: str | None
    minhash: list[int]
    is_original: bool
    story_id: str | None
    entities: set[str] = field(default_factory=set)
    terms: set[str] = field(default_factory=set)

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Remembered:
        entities, terms = story_features(doc, [k["text"] for k in doc.get(DocField.KEYWORDS, [])])
        return cls(article_id=doc[DocField.ARTICLE_ID], content_hash=doc.get(DocField.CONTENT_HASH),
                   minhash=doc.get(DocField.MINHASH) or [],
                   is_original=doc.get(DocField.DUPLICATE_OF) is None,
                   story_id=doc.get(DocField.STORY_ID), entities=entities, terms=terms)


# The stored fields `Remembered.from_document` reads.
REMEMBERED_FIELDS = [DocField.ARTICLE_ID.value, DocField.CONTENT_HASH.value, DocField.MINHASH.value,
                     DocField.DUPLICATE_OF.value, DocField.STORY_ID.value, DocField.KEYWORDS.value,
                     *(f.value for f in STORY_ENTITY_FIELDS)]


class ArticleMemory(Protocol):
    def find_duplicate(self, article_id: str, digest: str, minhash: list[int]
                       ) -> tuple[str | None, DuplicateKind | None]: ...

    def choose_story(self, article_id: str, entities: set[str], terms: set[str]) -> str: ...

    def remember(self, article: Remembered) -> None: ...


class InProcessMemory:
    def __init__(self) -> None:
        self.duplicates = DuplicateIndex()
        self.stories = StoryIndex()

    def find_duplicate(self, article_id: str, digest: str, minhash: list[int]
                       ) -> tuple[str | None, DuplicateKind | None]:
        return self.duplicates.find(article_id, digest, minhash)

    def choose_story(self, article_id: str, entities: set[str], terms: set[str]) -> str:
        return self.stories.choose(article_id, entities, terms)

    def remember(self, article: Remembered) -> None:
        if article.content_hash and article.minhash:
            self.duplicates.add(article.article_id, article.content_hash, article.minhash,
                                original=article.is_original)
        if article.story_id:
            self.stories.add(article.article_id, article.story_id, article.entities, article.terms)
