"""Comparing two clusterings of the same items (story ids from two runs)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping
from math import comb


def adjusted_rand_index(first: Mapping[str, Hashable], second: Mapping[str, Hashable]) -> float:
    """Hubert and Arabie's adjusted Rand index over the items both map: 1.0 for the same
    partition (whatever the labels), about 0 for chance agreement."""
    items = sorted(first.keys() & second.keys())
    pairs = Counter((first[i], second[i]) for i in items)
    rows, columns = Counter(first[i] for i in items), Counter(second[i] for i in items)
    together = sum(comb(n, 2) for n in pairs.values())
    in_first, in_second = sum(comb(n, 2) for n in rows.values()), sum(comb(n, 2) for n in columns.values())
    expected = in_first * in_second / comb(len(items), 2) if len(items) > 1 else 0.0
    most = (in_first + in_second) / 2
    return 1.0 if most == expected else (together - expected) / (most - expected)
