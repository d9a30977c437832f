"""Keywords (YAKE) and tone (VADER): two kept libraries, wrapped to our contracts."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import yake
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from shared.contracts.messages import Keyword, Tone

KEYWORDS = 10
# YAKE costs ~1.5 ms per 100 characters, as much as NER itself on a whole article; a news
# story puts its subject in the title and lead, so those are what it reads.
KEYWORD_SAMPLE_CHARS = 400
# VADER's cost grows faster than a sentence's length (a 2.6-million-character "sentence" took
# 97 s); a real sentence is a few hundred characters, so each is scored on its first 1,000.
TONE_SENTENCE_CHARS = 1_000


@lru_cache(maxsize=1)
def _yake() -> Any:
    return yake.KeywordExtractor(lan="en", n=2, top=KEYWORDS, dedupLim=0.8)


@lru_cache(maxsize=1)
def _vader() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def keywords(title: str, body: str) -> list[Keyword]:
    """Top keyphrases; YAKE scores lower-is-better, so they are turned into 0..1, higher better."""
    found = _yake().extract_keywords(f"{title[:KEYWORD_SAMPLE_CHARS]}.\n{body[:KEYWORD_SAMPLE_CHARS]}")
    return [Keyword(text=text, score=round(1 / (1 + 10 * float(score)), 3)) for text, score in found]


def tone(sentences: list[str]) -> Tone:
    """VADER is made for sentences: score each, then average (a whole article at once
    saturates the compound score)."""
    scores = [_vader().polarity_scores(s[:TONE_SENTENCE_CHARS]) for s in sentences if s.strip()] or [
        {"compound": 0.0, "pos": 0.0, "neg": 0.0, "neu": 1.0}]
    mean = {key: sum(s[key] for s in scores) / len(scores) for key in ("compound", "pos", "neg", "neu")}
    return Tone(compound=round(mean["compound"], 3), positive=round(mean["pos"], 3),
                negative=round(mean["neg"], 3), neutral=round(mean["neu"], 3))
