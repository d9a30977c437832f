"""Word forms for matching: one function, used at enrichment for the index and in the query
parser for searches, so "sanction" finds "sanctions" without a stemmer in Elasticsearch.

Snowball (Porter2) stems from PyStemmer, a C implementation: about 0.1 ms for a news article.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

_WORD = re.compile(r"\w+(?:['’]\w+)?", re.UNICODE)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Lower-cased words, accents kept, possessive endings dropped."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return [re.sub(r"['’]s$", "", w) for w in _WORD.findall(folded)]


def stems(text: str) -> list[str]:
    return stem_words(words(text))


def stem_words(tokens: list[str]) -> list[str]:
    return list(_stemmer().stemWords(tokens))


def join_stems(stem_list: list[str]) -> str:
    """Stems as the index's `stems` fields hold them, and as queries must look to match."""
    return " ".join(stem_list)


def stem_text(text: str) -> str:
    """The text as space-separated stems: the one form both indexing and queries use."""
    return join_stems(stems(text))
