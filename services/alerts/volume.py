"""Spike alerts (`kind: volume`): the rule, and the bounded windows it reads.

Matching articles are counted by the time they reached newsflow (`submitted_at`, as every
alert fires on arrival), in buckets: 5 minutes for the hour window, 1 hour for the day window.

The rule, for each window: `count` is the matching articles in the last window (the last 12
five-minute buckets, or the last 24 hours); `baseline` is the average count per window over the
windows before it (the 12 hours before the last hour; the 14 days before the last day). The
window spikes when

    count >= max(min_count, factor * baseline)

(defaults: the hour at least 5 and 3 times its baseline, the day at least 20 and twice its
baseline; NEWSFLOW_SPIKE_*). The minimum keeps 1 → 3 from being a spike; the factor keeps a
topic that is always busy from spiking on noise. A spike is one alert: it is told once, when the
rule first holds, and again only after the rule has stopped holding.

Counts older than a window and its baseline are dropped, so each subscription's counts are
bounded (at most 156 + 360 buckets), whatever the history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from shared.settings import Settings


@dataclass(frozen=True)
class Window:
    name: str  # "hour" or "day"
    length: int  # seconds
    step: int  # bucket seconds
    baseline_windows: int
    factor: float
    min_count: int

    @property
    def kept(self) -> int:
        """Seconds of buckets kept: the window and its baseline."""
        return self.length * (self.baseline_windows + 1)

    def bucket(self, at: datetime) -> int:
        return int(at.timestamp()) // self.step * self.step


@dataclass(frozen=True)
class Reading:
    window: Window
    count: int
    baseline: float
    threshold: float

    @property
    def spiking(self) -> bool:
        return self.count >= self.threshold


def windows(settings: Settings) -> tuple[Window, ...]:
    return (Window("hour", 3600, 300, 12, settings.spike_hour_factor, settings.spike_hour_min_count),
            Window("day", 86400, 3600, 14, settings.spike_day_factor, settings.spike_day_min_count))


class Totals:
    """Bucket counts with running sums, so that any run of buckets totals in constant time:
    the preview reads the rule at every bucket of a week, the matcher once an article."""

    def __init__(self, step: int, counts: Mapping[int, int]) -> None:
        self.step = step
        self.first = min(counts, default=0) // step * step
        last = max(counts, default=0) // step * step
        self.running = [0]
        for bucket in range(self.first, last + step, step):
            self.running.append(self.running[-1] + counts.get(bucket, 0))

    def between(self, low: int, high: int) -> int:
        """Articles in the buckets from `low` to `high`, both included."""
        return max(self._before(high + self.step) - self._before(low), 0)

    def _before(self, bucket: int) -> int:
        """Articles in the buckets before `bucket`."""
        return self.running[min(max((bucket - self.first) // self.step, 0), len(self.running) - 1)]


def read(window: Window, counts: Mapping[int, int] | Totals, now: int) -> Reading:
    """The rule at time `now` (epoch seconds) over `counts` (bucket start → articles)."""
    totals = counts if isinstance(counts, Totals) else Totals(window.step, counts)
    current = now // window.step * window.step
    recent_from = current - window.length + window.step  # the window's first bucket
    baseline_from = recent_from - window.length * window.baseline_windows
    count = totals.between(recent_from, current)
    baseline = totals.between(baseline_from, recent_from - window.step) / window.baseline_windows
    return Reading(window, count, baseline, max(float(window.min_count), window.factor * baseline))


def prune(window: Window, counts: dict[int, int], now: int) -> None:
    oldest = now // window.step * window.step - window.kept
    for bucket in [b for b in counts if b <= oldest]:
        del counts[bucket]


def merged(parts: Iterable[Mapping[int, int]]) -> dict[int, int]:
    total: dict[int, int] = {}
    for part in parts:
        for bucket, n in part.items():
            total[bucket] = total.get(bucket, 0) + n
    return total


def simulate(window: Window, counts: Mapping[int, int], start: int, end: int) -> list[tuple[int, Reading]]:
    """The spikes the rule would have told between `start` and `end` (epoch seconds), each with
    the end of the bucket it was told in: the rule is read at each bucket's end (live, the
    matcher reads it at each matching article). The preview's answer."""
    told: list[tuple[int, Reading]] = []
    going = False
    step = window.step
    totals = Totals(step, counts)
    for at in range(start // step * step, end, step):
        reading = read(window, totals, at + step - 1)
        if reading.spiking and not going:
            told.append((at + step - 1, reading))
        going = reading.spiking
    return told
