"""Percentiles over the last few minutes: what the latency views and sparklines read."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (q in 0..1)."""
    if not sorted_values:
        return 0.0
    rank = max(1, -(-int(q * 1000) * len(sorted_values) // 1000))  # ceil(q * n), at least 1
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass
class TimeWindow:
    """(time, value) observations kept for `seconds`; at most `max_items` (oldest dropped)."""

    seconds: float = 300.0
    max_items: int = 50_000
    items: deque[tuple[float, float]] = field(default_factory=deque)

    def add(self, at: float, value: float) -> None:
        self.items.append((at, value))
        while len(self.items) > self.max_items:
            self.items.popleft()

    def values(self, now: float) -> list[float]:
        while self.items and self.items[0][0] < now - self.seconds:
            self.items.popleft()
        return [v for _, v in self.items]

    def summary(self, now: float) -> dict[str, float | int]:
        values = sorted(self.values(now))
        return {"count": len(values), "p50": percentile(values, 0.5),
                "p95": percentile(values, 0.95), "p99": percentile(values, 0.99)}
