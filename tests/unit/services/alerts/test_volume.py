"""The spike rule: counts against the baseline, the minimum, one alert per spike, bounded
windows, and the preview's simulation over a week."""

from __future__ import annotations

from services.alerts.volume import Window, merged, prune, read, simulate, windows
from shared.settings import Settings

HOUR = Window("hour", 3600, 300, 12, 3.0, 5)
T = 1_800_000_000 // 3600 * 3600  # an hour's start, epoch seconds


def steady(per_bucket: int, hours: int, end: int) -> dict[int, int]:
    """`per_bucket` articles in every 5-minute bucket for `hours` hours before `end`."""
    return {b: per_bucket for b in range(end - hours * 3600, end, 300)}


def test_the_last_hour_against_the_twelve_before_it() -> None:
    counts = steady(1, 12, T)  # 12 an hour for 12 hours
    counts.update({T + 300 * i: 3 for i in range(12)})  # then 36 in the next hour
    reading = read(HOUR, counts, T + 3599)
    assert (reading.count, reading.baseline, reading.threshold) == (36, 12.0, 36.0)
    assert reading.spiking
    counts[T + 300 * 11] = 2  # 35: one short of three times the baseline
    assert not read(HOUR, counts, T + 3599).spiking


def test_the_minimum_keeps_one_to_three_from_being_a_spike() -> None:
    quiet = {T - 7200: 1}  # one article in the twelve hours before
    assert not read(HOUR, {**quiet, T: 3}, T + 60).spiking  # 3 < 5
    assert read(HOUR, {**quiet, T: 5}, T + 60).spiking  # 5 >= max(5, 3 * 1/12)


def test_counts_outside_the_window_and_its_baseline_are_dropped() -> None:
    counts = steady(1, 20, T)
    prune(HOUR, counts, T)
    assert min(counts) > T - 13 * 3600 and len(counts) <= 13 * 12
    day = windows(Settings())[1]
    assert (day.name, day.length, day.step, day.baseline_windows, day.factor, day.min_count) == \
        ("day", 86400, 3600, 14, 2.0, 20)


def test_partitions_add_up() -> None:
    assert merged([{1: 2, 2: 1}, {2: 3}, {}]) == {1: 2, 2: 4}


def test_the_preview_tells_each_spike_once() -> None:
    counts = steady(1, 24, T)  # a steady 12 an hour
    for start in (T + 2 * 3600, T + 8 * 3600):  # two bursts of 40 in 10 minutes
        counts[start] = counts.get(start, 0) + 20
        counts[start + 300] = counts.get(start + 300, 0) + 20
    told = simulate(HOUR, counts, T, T + 12 * 3600)
    assert [at // 300 * 300 for at, _ in told] == [T + 2 * 3600 + 300, T + 8 * 3600 + 300]
    assert all(r.count >= r.threshold for _, r in told)


def test_running_sums_read_what_summing_every_bucket_reads() -> None:
    import random

    rng = random.Random(3)
    for _ in range(300):
        window = windows(Settings())[rng.randint(0, 1)]
        counts = {T + rng.randint(-400, 400) * window.step: rng.randint(1, 9)
                  for _ in range(rng.randint(0, 40))}
        at = T + rng.randint(-500, 500) * window.step + rng.randint(0, window.step - 1)
        current = at // window.step * window.step
        first = current - window.length + window.step
        oldest = first - window.length * window.baseline_windows
        count = sum(n for b, n in counts.items() if first <= b <= current)
        before = sum(n for b, n in counts.items() if oldest <= b < first)
        reading = read(window, counts, at)
        assert (reading.count, reading.baseline) == (count, before / window.baseline_windows)
