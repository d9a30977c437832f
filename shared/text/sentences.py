"""Sentence breaks in news prose: after . ! ? (and a closing quote), before a capital (or an
opening quote or parenthesis). Good enough for leads and tone; not a linguistic segmenter."""

from __future__ import annotations

import re

_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\"'”’]?\s+(?=[\"'“‘(]?[A-Z])")


def split_sentences(text: str, maxsplit: int = 0) -> list[str]:
    return _SENTENCE_BREAK.split(text, maxsplit=maxsplit)
