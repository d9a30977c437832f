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
