"""Word forms for matching: one module, used at enrichment for the index and in the query
parser for searches, so "sanction" finds "sanctions" without a stemmer in Elasticsearch.

An article's words are stemmed with its own language's Snowball stemmer (PyStemmer, a C
implementation: about 0.1 ms for a news article), English for a language without one of its
own (shared/text/languages.py). A query does not know the language it will meet, so a query
word stands for its stems in every language (shared/query/fields.py): "Freundschaften" is
"freundschaft" in German and stays "freundschaften" in English, and either matches.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

from shared.text.languages import LANGUAGES, stemming_language

_WORD = re.compile(r"\w+(?:['’]\w+)?", re.UNICODE)


@lru_cache(maxsize=len(LANGUAGES))
def _stemmer(snowball: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(snowball)


def words(text: str) -> list[str]:
    """Lower-cased words, accents kept, possessive endings dropped."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return [re.sub(r"['’]s$", "", w) for w in _WORD.findall(folded)]


def stems(text: str, language: str | None = None) -> list[str]:
    return stem_words(words(text), language)


def stem_words(tokens: list[str], language: str | None = None) -> list[str]:
    """The tokens' stems in the language (English when it has no stemmer of its own)."""
    return list(_stemmer(stemming_language(language).snowball).stemWords(tokens))


def join_stems(stem_list: list[str]) -> str:
    """Stems as the index's `stems` fields hold them, and as queries must look to match."""
    return " ".join(stem_list)


def stem_text(text: str, language: str | None = None) -> str:
    """The text as space-separated stems: the form indexing gives an article's text."""
    return join_stems(stems(text, language))
