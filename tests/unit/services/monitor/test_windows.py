"""Percentile windows over the last minutes."""

from __future__ import annotations

from services.monitor.windows import TimeWindow, percentile


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.95), percentile(values, 0.99)) == (50.0, 95.0, 99.0)
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) == 0.0


def test_old_observations_leave_the_window() -> None:
    window = TimeWindow(seconds=60)
    window.add(0.0, 10.0)
    window.add(50.0, 1.0)
    window.add(100.0, 2.0)
    assert window.values(100.0) == [1.0, 2.0]
    summary = window.summary(200.0)
    assert summary["count"] == 0


def test_bounded_by_count() -> None:
    window = TimeWindow(max_items=3)
    for n in range(5):
        window.add(float(n), float(n))
    assert window.values(4.0) == [2.0, 3.0, 4.0]
