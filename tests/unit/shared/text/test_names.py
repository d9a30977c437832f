"""People's names: titles, possessives, short forms."""

from __future__ import annotations

from shared.text.names import clean_name, full_name_in, person_name


def test_names_lose_titles_possessives_and_articles() -> None:
    assert person_name("Secretary of State Rex Tillerson") == "Rex Tillerson"
    assert person_name("S. Korean Adviser") is None
    assert clean_name("North Korea's") == "North Korea"
    assert clean_name("the UN Security Council") == "UN Security Council"


def test_surnames_resolve_to_the_full_name_in_the_text(seed_004: str) -> None:
    assert full_name_in(seed_004, "Feltman") == "Jeffrey Feltman"
    assert full_name_in(seed_004, "Tillerson") == "Rex Tillerson"
    assert full_name_in(seed_004, "Nobody") == "Nobody"
