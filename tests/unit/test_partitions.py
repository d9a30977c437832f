"""The adjusted Rand index, on the worked examples of scikit-learn's documentation."""

from __future__ import annotations

import pytest

from tests.partitions import adjusted_rand_index


def _labels(values: list[int]) -> dict[str, int]:
    return {f"a{n}": v for n, v in enumerate(values)}


@pytest.mark.parametrize(("first", "second", "expected"), [
    ([0, 0, 1, 1], [0, 0, 1, 1], 1.0),
    ([0, 0, 1, 1], [1, 1, 0, 0], 1.0),  # labels do not matter
    ([0, 0, 1, 2], [0, 0, 1, 1], 0.5714285714285714),
    ([0, 0, 1, 1], [0, 0, 1, 2], 0.5714285714285714),
    ([0, 0, 0, 0], [0, 1, 2, 3], 0.0),
    ([0, 0, 1, 1], [0, 1, 0, 1], -0.5),
])
def test_documented_values(first: list[int], second: list[int], expected: float) -> None:
    assert adjusted_rand_index(_labels(first), _labels(second)) == pytest.approx(expected)
