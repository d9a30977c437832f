"""Places, cities and demonyms to countries."""

from __future__ import annotations

from collections import Counter

import pytest

from services.enrichment import geo


@pytest.mark.parametrize(("place", "code"), [
    ("Pyongyang", "KP"), ("Seoul", "KR"), ("Washington", "US"), ("New York", "US"),
    ("Moscow", "RU"), ("South Korean", "KR"), ("S. Korean", "KR"), ("U.S.", "US"),
    ("North Koreans", "KP"), ("California", "US"), ("Narnia", None),
])
def test_places_and_demonyms_to_countries(place: str, code: str | None) -> None:
    assert geo.country_code(place) == code


def test_counter_of_mentions_is_kept() -> None:
    found, primary = geo.countries(Counter({"Seoul": 2, "Pyongyang": 3}), {"Seoul"})
    assert [(c.code, c.mentions) for c in found] == [("KR", 2), ("KP", 3)] and primary == "KR"


@pytest.mark.parametrize(("language", "text", "codes"), [
    # German: the genitive, inflected demonyms, compounds, pycountry's names, a city's German name
    ("de", "Brasiliens Präsident und die brasilianischen Minister", ["BR"]),
    ("de", "die deutsch-französische Freundschaft", ["DE", "FR"]),
    ("de", "Die US-Regierung traf Vertreter aus Nordkorea in München", ["DE", "KP", "US"]),
    # French: elided articles, feminine plurals, multi-word names
    ("fr", "l'Espagne et les autorités brésiliennes, la Corée du Nord", ["BR", "ES", "KP"]),
    ("fr", "Rendez-vous à Genève", ["CH"]),
    # Spanish: demonyms of any gender and number; EEUU
    ("es", "los brasileños y las empresas mexicanas, con EEUU", ["BR", "MX", "US"]),
    # a lone name right before another capitalised word is a person's or a club's
    ("de", "Bildungsministerin Karin Prien kündigte", []),
    ("fr", "Le Paris Saint-Germain a gagné", []),
    ("es", "El papa León XIV llegó", []),
])
def test_other_languages_find_countries_by_their_own_names(language: str, text: str,
                                                           codes: list[str]) -> None:
    countries, _, _ = geo.places_in_text("", text, language)
    assert sorted(c.code for c in countries) == codes


def test_a_shared_city_name_is_the_one_in_a_country_the_text_names() -> None:
    spain = geo.places_in_text("", "Inundaciones en Valencia, en el este de España.", "es")
    assert [c.code for c in spain[0]] == ["ES"]
    alone = geo.places_in_text("", "Inundaciones en Valencia.", "es")
    assert [c.code for c in alone[0]] == ["VE"]  # the most populous Valencia


def test_a_dateline_names_a_town_of_any_size_and_places_show_english_names() -> None:
    countries, primary, places = geo.places_in_text("", "Die Donau stieg.", "de", dateline="Passau")
    assert [c.code for c in countries] == ["DE"] and primary == "DE"
    assert [p.name for p in places] == ["Passau"]
    _, _, places = geo.places_in_text("", "Treffen in Peking und München", "de")
    assert sorted(p.name for p in places) == ["Beijing", "Munich"]
