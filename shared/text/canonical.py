"""Canonical names: variants of one organisation or place become one name across the index
("U.N.", "UN" → "United Nations"). The table is data (shared/data/aliases.tsv). Enrichment
canonicalises what it finds; the query parser canonicalises what users type."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

_KEY_NOISE = re.compile(r"[.\s]+")


def alias_key(name: str) -> str:
    """What variants have in common: case, dots and spacing ignored ("U.N." → "un")."""
    return _KEY_NOISE.sub(" ", name.replace(".", "")).strip().casefold()


def read_table(filename: str, package: str = "shared") -> list[tuple[str, str]]:
    """Rows of a two-column, tab-separated data file; `#` starts a comment line."""
    text = resources.files(package).joinpath(f"data/{filename}").read_text()
    rows = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            variant, value = line.split("\t")[:2]
            rows.append((variant.strip(), value.strip()))
    return rows


@lru_cache(maxsize=1)
def aliases() -> dict[str, str]:
    return {alias_key(variant): canonical for variant, canonical in read_table("aliases.tsv")}


_ELISION = re.compile(r"^[ld]['’]\s*", re.IGNORECASE)


def canonical_name(name: str) -> str:
    """The name the table gives the variant; a French elided article does not count
    ("L'Organisation des Nations unies" is "Organisation des Nations unies"), unless the table
    has the elided form itself."""
    table = aliases()
    key = alias_key(name)
    if key in table:
        return table[key]
    return table.get(alias_key(_ELISION.sub("", name)), name)
