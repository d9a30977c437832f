"""extracted → analysed: entities, countries, keywords, topics, tone and fingerprints.

One pure step, `analyse`: no broker, no index, no settings. It reads one article alone:
entities, countries, keywords, topics, tone, hashes, each with what is made for the article's
language (pipelines.py picks the NER model; docs/languages.md). spaCy's NER is the costly part;
everything else is chosen to add little to it (bench/enrichment_speed.py). Its work is
bounded whatever the input: NER reads at most NER_MAX_CHARS, tone at most
TONE_MAX_SENTENCES, and entity names and lists are capped, so the stage can run it in a child
process under a time budget, and as many workers as there are partitions.

What needs other articles (duplicates and stories) is the linker's (services/linking): it
runs after this stage, alone, so every worker count decides alike.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from typing import Any

import spacy

from services.enrichment import geo, keyphrases, pipelines, tone, topics
from services.enrichment.entities import KINDS, Mention, group_entities
from shared.contracts.messages import Country, EnrichedArticle, Entity, ExtractedArticle, Tone
from shared.text.fingerprint import content_hash, signature
from shared.text.language import detect_language
from shared.text.languages import LANGUAGES, base_code, stemming_language, supported
from shared.text.names import is_role
from shared.text.sentences import split_sentences
from shared.text.wordforms import join_stems, stem_words, words

# NER reads the first 100,000 characters (a long feature is ~30,000): spaCy's memory grows with
# the document (3.4 GB for 950,000 characters), and what an article is about comes first.
NER_MAX_CHARS = 100_000
# spaCy's tokenizer splits affixes off a token one at a time, rescanning the rest: quadratic in
# a token's length (5,000 '"' in a row took 4 s). No name is a 50-character run without a space,
# so such runs are blanked for NER (same length, so character offsets still hold).
_LONG_RUN = re.compile(r"\S{50,}")
TONE_MAX_SENTENCES = 2_000


def analyse(article: ExtractedArticle) -> EnrichedArticle:
    """Everything the article says on its own; duplicates and stories are the linker's. Each
    part runs only where it was made for the article's language (docs/languages.md)."""
    paragraphs = [p for p in article.body.split("\n\n") if p.strip()]
    language = article.language or detect_language(f"{article.title}\n{article.body}")
    # One document, as spaCy is fastest on; a span across a paragraph break is not an
    # entity. Headings repeat the body and related items belong to other articles, so
    # neither is read.
    text = "\n\n".join([t for t in (article.title, article.subtitle) if t] + paragraphs)
    dateline = article.dateline.place if article.dateline else None
    pipeline = pipelines.for_language(language)
    doc = _ner(pipeline, text) if pipeline else None
    ents = [ent for ent in doc.ents if "\n" not in ent.text] if doc is not None else []
    mentions = [Mention(ent.text, ent.label_) for ent in ents]
    entities = group_entities(mentions, pipeline.labels, text) if pipeline else \
        {kind: [] for kind in KINDS}
    keywords = keyphrases.keyphrases(doc, title_chars=len(article.title)) \
        if pipeline and pipeline.keyphrases else []
    own = supported(language)
    if own is not None and own.code == "en":
        # English: the places NER found, looked up in English names and demonyms.
        entities["places"], countries, primary = _english_places(
            entities["places"], mentions, ents, article.title, dateline)
    else:
        # Other languages: places and countries from the language's own names and demonyms.
        countries, primary, entities["places"] = geo.places_in_text(
            article.title, text, own.code, dateline) if own else ([], None, [])
        # A title the model took for an organisation ("ministre des Affaires") is none.
        entities["organizations"] = [e for e in entities["organizations"] if not is_role(e.name.split()[0])]

    # Words and stems once, for topics, the stems field and the MinHash signature.
    title_words, body_words = words(article.title), words(f"{article.subtitle or ''}\n{article.body}")
    title_stems, body_stems = stem_words(title_words, language), stem_words(body_words, language)
    return EnrichedArticle(
        **article.model_dump(exclude={"language"}),
        language=language,
        people=entities["people"], organizations=entities["organizations"],
        places=entities["places"], events=entities["events"], countries=countries,
        primary_country=primary, keywords=keywords,
        topics=topics.classify(title_stems, body_stems, language),
        tone=_tone(paragraphs, language),
        content_hash=content_hash(article.title, article.body),
        minhash=signature(title_words + body_words),
        stems=join_stems(title_stems + body_stems), title_stems=join_stems(title_stems),
        models=model_versions(language),
    )


def _ner(pipeline: pipelines.Pipeline, text: str) -> Any:
    """The language's spaCy document of the text, within NER_MAX_CHARS."""
    readable = _LONG_RUN.sub(lambda run: " " * len(run.group(0)), text[:NER_MAX_CHARS])
    return pipeline.nlp()(readable)


def _english_places(found: list[Entity], mentions: list[Mention], ents: list[Any], title: str,
                    dateline: str | None) -> tuple[list[Entity], list[Country], str | None]:
    """Places (demonyms are none), countries and the primary one from English NER's places and
    nationalities; the dateline's place ("BELEM, Brazil": each part) counts for countries."""
    places = [e for e in found if not geo.is_demonym(e.name)]
    demonyms = Counter(m.text for m in mentions if m.label == "NORP")  # OntoNotes' nationalities
    title_names = {ent.text for ent in ents if ent.end_char <= len(title)}
    place_counts = Counter({e.name: e.mentions for e in found}) + demonyms
    place_counts.update(part.strip() for part in (dateline or "").split(",") if part.strip())
    countries, primary = geo.countries(place_counts, title_names)
    return places, countries, primary


def _has_tone(language: str | None) -> bool:
    """VADER's lexicon is English: other languages get no tone rather than an English score
    (text of no detected language is scored, as it always was)."""
    return language is None or base_code(language) == "en"


def _tone(paragraphs: list[str], language: str | None) -> Tone | None:
    if not _has_tone(language):
        return None
    sentences = [s for p in paragraphs for s in split_sentences(p)][:TONE_MAX_SENTENCES]
    return tone.tone(sentences)


@lru_cache(maxsize=16)
def model_versions(language: str | None) -> dict[str, str]:
    """What ran on an article in the language, for provenance; what did not run is absent."""
    pipeline = pipelines.for_language(language)
    own = supported(language)
    versions = {"spacy": spacy.__version__, "language": "py3langid",
                "stems": f"Snowball {stemming_language(language).snowball} (PyStemmer)"}
    if pipeline:
        versions["ner"] = pipeline.model
    if pipeline and pipeline.keyphrases:
        versions["keywords"] = "newsflow PositionRank over noun phrases"
    if own is None or own.code != "en":
        versions["places"] = f"newsflow gazetteer ({own.code}: names and demonyms, geonames)" \
            if own else "none"
    if own or language is None:
        versions["topics"] = f"newsflow IPTC lexicon ({(own.code if own else 'en')})"
    if _has_tone(language):
        versions["tone"] = "vaderSentiment"
    return versions


def warm() -> None:
    """Loads every model now, not while the first article waits (the stage's child process):
    each language's pipeline, gazetteer and lexicon."""
    for pipeline in pipelines.PIPELINES.values():
        pipeline.nlp()
    for code in LANGUAGES:
        topics.lexicons(code)
        if code != "en":
            geo.gazetteer(code)
    detect_language("warm up")
