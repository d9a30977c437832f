"""People's names in news text: titles stripped, possessives dropped, short forms resolved.

Used by extraction (quote speakers) and enrichment (entities), so both name a person alike.
The role words are data (shared/data/role_words.txt).
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

_POSSESSIVE = re.compile(r"[’']s?$")
_LEADING_ARTICLE = re.compile(r"^the\s+", re.IGNORECASE)
_EDGE_PUNCT = " \t\n\"'“”‘’,;:()[]-–—"


@lru_cache(maxsize=1)
def role_words() -> frozenset[str]:
    text = resources.files("shared").joinpath("data/role_words.txt").read_text()
    return frozenset(
        line.strip().lower() for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )


def is_role(word: str) -> bool:
    return word.lower().strip(".,") in role_words()


def clean_name(text: str) -> str:
    name = " ".join(text.split()).strip(_EDGE_PUNCT)
    name = _POSSESSIVE.sub("", name)
    name = _LEADING_ARTICLE.sub("", name)
    return name.strip(_EDGE_PUNCT)


def person_name(text: str) -> str | None:
    """The name left once leading titles are stripped; None if it is not a person's name."""
    words = text.split()
    while words and (is_role(words[0]) or words[0].lower() == "of"):
        words.pop(0)
    if not words or any(is_role(w) for w in words) or not words[0][:1].isupper():
        return None
    return " ".join(words)


def full_name_in(text: str, short: str) -> str:
    """The fullest form of `short` (a surname, say) that `text` mentions, titles stripped:
    "Feltman" → "Jeffrey Feltman" when the text says "Jeffrey Feltman" somewhere."""
    if " " in short:
        return short
    pattern = re.compile(rf"((?:[A-Z][\w.'’-]*\s+){{1,4}}){re.escape(short)}\b")
    for match in pattern.finditer(text):
        candidate = person_name(clean_name(match.group(0)))
        if candidate and candidate != short and candidate.endswith(short):
            return candidate
    return short
