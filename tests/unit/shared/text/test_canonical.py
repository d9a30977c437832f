"""The alias table: variants become one canonical name."""

from __future__ import annotations

import pytest

from shared.text.canonical import canonical_name


@pytest.mark.parametrize(("variant", "canonical"), [
    ("U.N.", "United Nations"), ("UN", "United Nations"), ("the United Nations", "United Nations"),
    ("U.S.", "United States"), ("US", "United States"), ("S. Korean", "South Korean"),
    ("Reuters", "Reuters"), ("Acme Widgets", "Acme Widgets"),
])
def test_alias_table(variant: str, canonical: str) -> None:
    assert canonical_name(variant) == canonical


def test_a_french_elided_article_does_not_hide_a_variant() -> None:
    assert canonical_name("L'Organisation des Nations unies") == "United Nations"
    assert canonical_name("l’ONU") == "United Nations"
    assert canonical_name("L'Oréal") == "L'Oréal"  # no row: the name as written
