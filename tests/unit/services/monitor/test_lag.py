"""Lag in seconds by interpolating the end-offset history."""

from __future__ import annotations

import pytest

from services.monitor.lag import OffsetHistory


def test_interpolates_between_the_samples_around_the_committed_offset() -> None:
    history = OffsetHistory()
    for end, at in ((100, 1000.0), (200, 1010.0), (300, 1020.0)):
        history.add(end, at)
    # The message at offset 149 made the end 150: halfway between 1000 and 1010.
    assert history.produced_at(149) == pytest.approx(1005.0)
    assert history.lag_seconds(committed=149, end=300, now=1030.0) == pytest.approx(25.0)


def test_caught_up_is_zero_and_a_quiet_partition_keeps_its_age() -> None:
    history = OffsetHistory()
    history.add(50, 100.0)
    history.add(50, 200.0)  # nothing new: the first sighting stands
    assert history.lag_seconds(committed=50, end=50, now=500.0) == 0.0
    assert history.lag_seconds(committed=49, end=50, now=500.0) == pytest.approx(400.0)


def test_before_the_history_it_extrapolates_from_the_oldest_two() -> None:
    history = OffsetHistory()
    history.add(100, 1000.0)
    history.add(200, 1010.0)
    assert history.produced_at(49) == pytest.approx(995.0)


def test_the_table_is_bounded() -> None:
    history = OffsetHistory(size=3)
    for n in range(10):
        history.add(n * 10, float(n))
    assert [o for o, _ in history.samples] == [70, 80, 90]


def test_no_samples_no_estimate() -> None:
    assert OffsetHistory().lag_seconds(committed=0, end=5, now=10.0) == 0.0
