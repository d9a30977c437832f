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
