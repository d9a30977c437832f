"""People's names in news text: titles stripped, possessives dropped, short forms resolved.

Used by extraction (quote speakers) and enrichment (entities), so both name a person alike.
The role words are data (shared/data/role_words.txt).
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

_POSSESSIVE = re.compile(r"[’']s?$")
_LEADING_ARTICLE = re.compile(r"^(?:(?i:the)\s+|(?:le|la|les|el|los|las|der|die|das)\s+|l['’])")
# What joins the words of a title ("ministre des Affaires étrangères", "Secretary of State").
_TITLE_JOINERS = {"of", "de", "des", "du", "del", "der", "für", "la"}
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
    while words and (is_role(words[0]) or words[0].lower() == "of"
                     or (words[0] in _TITLE_JOINERS and len(words) > 1 and is_role(words[1]))):
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


_PARTICLES = {"von", "van", "der", "den", "de", "del", "della", "di", "da", "du", "la", "le", "bin", "al"}


def complete_name(name: str, text: str) -> str:
    """A name cut after its particle ("Ursula von der", as NER sometimes ends the span) with
    the capitalised word that follows it in the text; any other name as it is."""
    if not name or name.split()[-1] not in _PARTICLES:
        return name
    match = re.search(rf"{re.escape(name)}\s+([A-Z][\w'’-]+)", text)
    return f"{name} {match.group(1)}" if match else name
