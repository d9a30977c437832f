"""IPTC Media Topics from a lexicon of cue words, matched on word stems.

No model is trained: each topic's score is the weighted count of its cues in the title (three
times) and body, and its confidence is its share of all topics' scores. Cheap (well under a
millisecond an article) and explainable: a topic was chosen because these words were there.

Each supported language has its own cues, stemmed with its own stemmer: English in
data/topics.json (with subtopics), the others in data/topics/<language>.json (the top-level
topics only). A language with no cues gets no topics.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from shared.contracts.messages import TopicScore
from shared.text.languages import LANGUAGES, stemming_language, supported
from shared.text.wordforms import stems

STRONG, WEAK = 3.0, 1.0
TITLE_WEIGHT = 3
MIN_SHARE = 0.2  # a topic needs this share of all topic evidence to be reported
MIN_EVIDENCE = 4.0  # and this much evidence in total
SUBTOPIC_MIN_SHARE = 0.3
SUBTOPIC_MIN_EVIDENCE = 6.0


@dataclass(frozen=True)
class Lexicon:
    label: str
    code: str | None
    cues: dict[tuple[str, ...], float]
    subtopics: tuple[Lexicon, ...] = ()

    def evidence(self, counts: Counter[tuple[str, ...]]) -> float:
        return sum(weight * counts[cue] for cue, weight in self.cues.items() if cue in counts)


def _cues(entry: dict[str, list[str]], language: str = "en") -> dict[tuple[str, ...], float]:
    cues: dict[tuple[str, ...], float] = {}
    for weight, key in ((WEAK, "cues"), (STRONG, "strong")):  # strong wins when listed twice
        for phrase in entry.get(key, []):
            cues[tuple(stems(phrase, language))] = weight
    return cues


def _read(path: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(resources.files("services.enrichment").joinpath(path).read_text())
    return data


@lru_cache(maxsize=len(LANGUAGES))
def lexicons(language: str = "en") -> tuple[Lexicon, ...]:
    """The topics' lexicons in the language (its code as shared/text/languages.py has it)."""
    topics = _read("data/topics.json")["topics"]
    if language == "en":
        return tuple(
            Lexicon(topic["label"], topic["code"], _cues(topic),
                    tuple(Lexicon(sub["label"], None, _cues(sub)) for sub in topic.get("subtopics", [])))
            for topic in topics
        )
    cues = _read(f"data/topics/{language}.json")["topics"]
    return tuple(Lexicon(topic["label"], topic["code"], _cues(cues[topic["label"]], language))
                 for topic in topics if topic["label"] in cues)


def count_terms(title_stems: list[str], body_stems: list[str]) -> Counter[tuple[str, ...]]:
    """Unigram and bigram counts, the title counting TITLE_WEIGHT times."""
    counts: Counter[tuple[str, ...]] = Counter()
    for tokens, weight in ((title_stems, TITLE_WEIGHT), (body_stems, 1)):
        for i, token in enumerate(tokens):
            counts[(token,)] += weight
            if i + 1 < len(tokens):
                counts[(token, tokens[i + 1])] += weight
    return counts


def topic_evidence(counts: Counter[tuple[str, ...]], language: str = "en") -> dict[str, float]:
    return {lexicon.label: lexicon.evidence(counts) for lexicon in lexicons(language)}


def classify(title_stems: list[str], body_stems: list[str], language: str | None = "en"
             ) -> list[TopicScore]:
    """Topics of stems in the language; none for a language without cues of its own (text
    whose language is unknown is read as English, as it is stemmed)."""
    lang = stemming_language(language) if language is None else supported(language)
    if lang is None:
        return []
    counts = count_terms(title_stems, body_stems)
    evidence = topic_evidence(counts, lang.code)
    total = sum(evidence.values())
    if total < MIN_EVIDENCE:
        return []
    chosen: list[TopicScore] = []
    best = max(evidence, key=lambda label: evidence[label])
    for lexicon in lexicons(lang.code):
        share = evidence[lexicon.label] / total
        if share < MIN_SHARE and lexicon.label != best:
            continue
        chosen.append(TopicScore(label=lexicon.label, code=lexicon.code, score=round(share, 3)))
        sub_evidence = {sub.label: sub.evidence(counts) for sub in lexicon.subtopics}
        sub_total = sum(sub_evidence.values())
        for label, value in sub_evidence.items():
            if value >= SUBTOPIC_MIN_EVIDENCE and value / sub_total >= SUBTOPIC_MIN_SHARE:
                chosen.append(TopicScore(label=label, parent=lexicon.label,
                                         score=round(share * value / sub_total, 3)))
    return sorted(chosen, key=lambda t: (t.parent is not None, -t.score))
