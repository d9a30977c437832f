"""The languages newsflow treats as its own, and what each one's text is normalised with.

A language here has its own word forms (its Snowball stemmer, from PyStemmer), month names,
role words, country names and topic cues; which NER model reads it is enrichment's choice
(services/enrichment/pipelines.py). Text in any other language, or in none detected, keeps the
English stemmer's forms, as every article had before languages were told apart: queries always
include the English forms, so such text is still found by its words, though not by their forms.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1, as py3langid and <html lang> give it
    name: str
    snowball: str  # PyStemmer's name of its stemmer


ENGLISH = Language("en", "English", "english")
LANGUAGES: dict[str, Language] = {lang.code: lang for lang in (
    ENGLISH,
    Language("de", "German", "german"),
    Language("fr", "French", "french"),
    Language("es", "Spanish", "spanish"),
)}


def base_code(language: str | None) -> str | None:
    """"de-AT", "DE", "de_CH" → "de"; None stays None."""
    if not language:
        return None
    return language.replace("_", "-").split("-")[0].strip().lower() or None


def supported(language: str | None) -> Language | None:
    """The language's own treatment, or None: another language, or none detected."""
    code = base_code(language)
    return LANGUAGES.get(code) if code else None


def stemming_language(language: str | None) -> Language:
    """Whose word forms an article's text is stemmed with."""
    return supported(language) or ENGLISH
