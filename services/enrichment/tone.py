"""Tone (VADER): a kept library, wrapped to our contract."""

from __future__ import annotations

from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from shared.contracts.messages import Tone

# VADER's cost grows faster than a sentence's length (a 2.6-million-character "sentence" took
# 97 s); a real sentence is a few hundred characters, so each is scored on its first 1,000.
TONE_SENTENCE_CHARS = 1_000


@lru_cache(maxsize=1)
def _vader() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def tone(sentences: list[str]) -> Tone:
    """VADER is made for sentences: score each, then average (a whole article at once
    saturates the compound score)."""
    scores = [_vader().polarity_scores(s[:TONE_SENTENCE_CHARS]) for s in sentences if s.strip()] or [
        {"compound": 0.0, "pos": 0.0, "neg": 0.0, "neu": 1.0}]
    mean = {key: sum(s[key] for s in scores) / len(scores) for key in ("compound", "pos", "neg", "neu")}
    return Tone(compound=round(mean["compound"], 3), positive=round(mean["pos"], 3),
                negative=round(mean["neg"], 3), neutral=round(mean["neu"], 3))
