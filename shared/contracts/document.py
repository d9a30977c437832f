"""The news index document: its fields, mapping, facets, hidden fields, `to_document` and the
summary of a hit. The one owner of the document's shape: every reader imports names from here.

Most of the mapping comes from the `IndexAs` markers on `EnrichedArticle`'s fields (and the
models nested in it); the fields below are the ones the document adds for faceting and sorting.
"""

from __future__ import annotations

import types
import typing
from enum import StrEnum
from typing import Any, Union

from pydantic import BaseModel

from shared.contracts.index_fields import BOOLEAN, DATE, EXACT, WORDS, IndexAs
from shared.contracts.messages import EnrichedArticle, utcnow
from shared.text.languages import stemming_language
from shared.text.wordforms import join_stems, stem_words, words

INDEX_VERSION = 1


class DocField(StrEnum):
    """Fields of the document that code reads or queries by name."""

    ARTICLE_ID = "article_id"
    TITLE = "title"
    SUBTITLE = "subtitle"
    BODY = "body"
    URL = "url"
    LANGUAGE = "language"
    SOURCE_NAME = "source.name"
    PEOPLE = "people"
    ORGANIZATIONS = "organizations"
    PLACES = "places"
    EVENTS = "events"
    KEYWORD_TEXT = "keywords.text"
    KEYWORDS = "keywords"
    CONTENT_HASH = "content_hash"
    MINHASH = "minhash"
    DUPLICATE_OF = "duplicate_of"
    STORY_ID = "story_id"
    STEMS = "stems"
    TITLE_STEMS = "title_stems"
    WORDS = "words"  # title and body as lower-cased words, at the positions of `stems`
    TITLE_WORDS = "title_words"
    STEMS_LANGUAGE = "stems_language"  # whose stemmer made `stems` (shared/text/languages.py)
    MODELS = "models"
    # Added by to_document:
    COUNTRY_CODES = "country_codes"
    TOPIC_LABELS = "topic_labels"
    SUBTOPIC_LABELS = "subtopic_labels"
    IS_DUPLICATE = "is_duplicate"
    DATE = "date"  # publication when known, else receipt: the one date to sort and facet on
    INDEXED_AT = "indexed_at"
    SUBMITTED_AT = "submitted_at"  # when it reached us: what an alert would have fired on


ENTITY_LISTS = (DocField.PEOPLE, DocField.ORGANIZATIONS, DocField.PLACES, DocField.EVENTS)


def entity_text_field(field: DocField) -> str:
    """The analysed sub-field of a keyword field (entities, keywords), for word matching."""
    return f"{field.value}.text"


# Facet name (as the API and page call it) → the keyword field it counts.
FACETS: dict[str, DocField] = {
    "people": DocField.PEOPLE,
    "organizations": DocField.ORGANIZATIONS,
    "places": DocField.PLACES,
    "countries": DocField.COUNTRY_CODES,
    "topics": DocField.TOPIC_LABELS,
    "language": DocField.LANGUAGE,
    "source": DocField.SOURCE_NAME,
}

# The short names the search API's query parameters (and subscriptions' filters) use.
FILTER_PARAMS: dict[str, str] = {
    "person": "people", "org": "organizations", "place": "places", "country": "countries",
    "topic": "topics", "lang": "language", "source": "source",
}

# For matching and enrichment, never shown to readers.
HIDDEN_FIELDS = [DocField.STEMS.value, DocField.TITLE_STEMS.value, DocField.WORDS.value,
                 DocField.TITLE_WORDS.value, DocField.STEMS_LANGUAGE.value, DocField.MINHASH.value]
# What a list of results leaves out on top of the hidden fields: too large for a list.
LIST_EXCLUDES = [DocField.BODY.value, DocField.MODELS.value, *HIDDEN_FIELDS]
# What a list of results fetches: exactly what `summarize_hit` shows. An allow-list, not the
# excludes above, so related items, quotes and dates (which can be large) never travel for a
# list (a 25-hit search used to move 126 MB).
LIST_FIELDS = [field.value for field in (
    DocField.TITLE, DocField.SUBTITLE, DocField.URL, DocField.DATE, DocField.LANGUAGE,
    DocField.SOURCE_NAME, DocField.PEOPLE, DocField.ORGANIZATIONS, DocField.PLACES,
    DocField.COUNTRY_CODES, DocField.TOPIC_LABELS, DocField.STORY_ID, DocField.DUPLICATE_OF)]

_DERIVED: dict[DocField, IndexAs] = {
    DocField.COUNTRY_CODES: EXACT,
    DocField.TOPIC_LABELS: EXACT,
    DocField.SUBTOPIC_LABELS: EXACT,
    DocField.IS_DUPLICATE: BOOLEAN,
    DocField.DATE: DATE,
    DocField.INDEXED_AT: DATE,
    DocField.WORDS: WORDS,
    DocField.TITLE_WORDS: WORDS,
    DocField.STEMS_LANGUAGE: EXACT,
}


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside `Model`, `Model | None` or `list[Model]`, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (list, Union, types.UnionType):
        for argument in typing.get_args(annotation):
            found = _nested_model(argument)
            if found is not None:
                return found
    return None


def _properties(model: type[BaseModel]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        marker = next((m for m in info.metadata if isinstance(m, IndexAs)), None)
        if marker is not None:
            properties[name] = marker.as_dict()
        elif (nested := _nested_model(info.annotation)) is not None:
            inner = _properties(nested)
            if inner:
                properties[name] = {"properties": inner}
    return properties


MAPPINGS: dict[str, Any] = {
    # Unknown fields stay in _source but are not indexed: no mapping explosion from odd input.
    "dynamic": False,
    "properties": _properties(EnrichedArticle) | {f.value: m.as_dict() for f, m in _DERIVED.items()},
}


def to_document(article: EnrichedArticle) -> dict[str, Any]:
    """The Elasticsearch document: entity lists flattened to names for faceting."""
    doc = article.model_dump(mode="json", exclude_none=True)
    for field in ENTITY_LISTS:
        doc[field.value] = [entity.name for entity in getattr(article, field.value)]
    doc[DocField.COUNTRY_CODES] = [country.code for country in article.countries]
    doc[DocField.TOPIC_LABELS] = [t.label for t in article.topics if t.parent is None]
    doc[DocField.SUBTOPIC_LABELS] = [t.label for t in article.topics if t.parent is not None]
    doc[DocField.IS_DUPLICATE] = article.duplicate_of is not None
    doc[DocField.DATE] = (article.published_at or article.submitted_at).isoformat()
    doc[DocField.INDEXED_AT] = utcnow().isoformat()
    # Enrichment stemmed the text in its language already; add_words need not again.
    doc[DocField.STEMS_LANGUAGE] = stemming_language(article.language).code
    return add_words(doc)


def add_words(doc: dict[str, Any]) -> dict[str, Any]:
    """The unstemmed words of title, subtitle and body, tokenised as `stems` is (enrichment
    stems exactly these words), so that a word and its stem share a position. Also fills
    documents indexed before these fields existed when `newsflow reindex` copies them, and
    stems again, in the article's language, those indexed before each language had its own
    stemmer (they have no `stems_language`)."""
    title = words(doc.get(DocField.TITLE) or "")
    body = title + words(f"{doc.get(DocField.SUBTITLE) or ''}\n{doc.get(DocField.BODY) or ''}")
    doc[DocField.TITLE_WORDS], doc[DocField.WORDS] = " ".join(title), " ".join(body)
    if DocField.STEMS_LANGUAGE not in doc:
        language = doc.get(DocField.LANGUAGE)
        doc[DocField.TITLE_STEMS] = join_stems(stem_words(title, language))
        doc[DocField.STEMS] = join_stems(stem_words(body, language))
        doc[DocField.STEMS_LANGUAGE] = stemming_language(language).code
    return doc


def summarize_hit(hit: dict[str, Any]) -> dict[str, Any]:
    """One result in a list: what a reader scans, not the whole article."""
    source = hit["_source"]
    return {
        "id": hit["_id"],
        "score": hit.get("_score"),
        "title": source.get(DocField.TITLE),
        "subtitle": source.get(DocField.SUBTITLE),
        "url": source.get(DocField.URL),
        "date": source.get(DocField.DATE),
        "language": source.get(DocField.LANGUAGE),
        "source": source.get("source", {}).get("name"),
        "people": source.get(DocField.PEOPLE, []),
        "organizations": source.get(DocField.ORGANIZATIONS, []),
        "places": source.get(DocField.PLACES, []),
        "countries": source.get(DocField.COUNTRY_CODES, []),
        "topics": source.get(DocField.TOPIC_LABELS, []),
        "story_id": source.get(DocField.STORY_ID),
        "duplicate_of": source.get(DocField.DUPLICATE_OF),
        "highlights": hit.get("highlight", {}),
    }
