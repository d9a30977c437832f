"""Page furniture that survives main-text extraction: newsletter prompts, share and reprint
links, contact lines, bare URLs, and the headline repeated as the first paragraph.

The patterns are data (data/boilerplate.txt), so adding one needs no code change.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from shared.contracts.ids import normalized_text

_MAX_BOILERPLATE_CHARS = 300


@lru_cache(maxsize=1)
def boilerplate_pattern() -> re.Pattern[str]:
    text = resources.files("services.extraction").joinpath("data/boilerplate.txt").read_text()
    patterns = [line.strip() for line in text.splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


def is_boilerplate(paragraph: str) -> bool:
    text = paragraph.strip()
    return len(text) <= _MAX_BOILERPLATE_CHARS and boilerplate_pattern().fullmatch(text) is not None


def clean_paragraphs(paragraphs: list[str], title: str | None) -> list[str]:
    kept = [p for p in paragraphs if p.strip() and not is_boilerplate(p)]
    if kept and title and normalized_text(kept[0]) == normalized_text(title):
        kept = kept[1:]
    return kept
