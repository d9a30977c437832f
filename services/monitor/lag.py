"""Lag in seconds, estimated as kafka-lag-exporter does: every poll records each partition's
end offset with the time it was seen, in a bounded table; the time at which the committed
offset was produced is interpolated between the two samples around it, and the lag in
seconds is the age of that time.

Why interpolation rather than reading the message timestamp at the committed offset: it needs
no fetch per partition per poll (the monitor stays cheap however many groups it watches), and
it measures when the broker *had* the message, which is what "how far behind" means; its error
is bounded by the poll interval. Before the table covers the committed offset (a monitor that
just started), the oldest two samples are extrapolated backwards, and failing that the age of
the oldest sample is a lower bound.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from dataclasses import dataclass, field


@dataclass
class OffsetHistory:
    """(end offset, seen at) samples of one partition, oldest first, at most `size`."""

    size: int = 120
    samples: deque[tuple[int, float]] = field(default_factory=deque)

    def add(self, end_offset: int, at: float) -> None:
        if self.samples and self.samples[-1][0] == end_offset:
            # No new messages: keep the first time this end was seen, so a quiet partition's
            # last message keeps its age.
            return
        self.samples.append((end_offset, at))
        while len(self.samples) > self.size:
            self.samples.popleft()

    def produced_at(self, offset: int) -> float | None:
        """When the message at `offset` was (about to be) produced; None with no samples."""
        if not self.samples:
            return None
        offsets = [o for o, _ in self.samples]
        index = bisect_left(offsets, offset + 1)  # the first sample whose end is past `offset`
        if index == 0:
            if len(self.samples) >= 2:
                return _line(self.samples[0], self.samples[1], offset + 1)
            return self.samples[0][1]
        if index >= len(self.samples):
            return self.samples[-1][1]
        return _line(self.samples[index - 1], self.samples[index], offset + 1)

    def lag_seconds(self, committed: int, end: int, now: float) -> float:
        """Age of the oldest unprocessed message (0 when the group is caught up)."""
        if committed >= end:
            return 0.0
        produced = self.produced_at(committed)
        return 0.0 if produced is None else max(0.0, now - produced)


def _line(a: tuple[int, float], b: tuple[int, float], offset: int) -> float:
    (o1, t1), (o2, t2) = a, b
    if o2 == o1:
        return t1
    return t1 + (t2 - t1) * (offset - o1) / (o2 - o1)
