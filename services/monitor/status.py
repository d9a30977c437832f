"""Consumer group status with Burrow's evaluation rules, over a sliding window of committed
offsets per partition (https://github.com/linkedin/Burrow/wiki/Consumer-Lag-Evaluation-Rules):

- REWIND: the committed offset went backwards.
- OK: any lag in the window is zero, or the window is not full yet.
- STOP: the committed offset did not move over the window while there is lag, and the group
  has no live member: nobody is consuming.
- STALL: the same with members in the group: they are there, but stuck.
- WARN: offsets move, but the lag never decreased between any two samples (falling behind).
- The group is ERR when any partition is STOP, STALL or REWIND; WARN when any is WARN.

Burrow tells STOP from STALL by commit times (commits of an unchanged offset keep arriving from
a stuck consumer); the broker's offset API does not give those, so group membership does.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import pairwise


class Status(StrEnum):
    OK = "OK"
    WARN = "WARN"
    STALL = "STALL"
    STOP = "STOP"
    REWIND = "REWIND"
    ERR = "ERR"


@dataclass(frozen=True)
class Sample:
    offset: int  # committed
    lag: int


@dataclass
class PartitionWindow:
    size: int = 6
    samples: deque[Sample] = field(default_factory=deque)

    def add(self, offset: int, lag: int) -> None:
        self.samples.append(Sample(offset, lag))
        while len(self.samples) > self.size:
            self.samples.popleft()

    def status(self, has_members: bool) -> Status:
        window = list(self.samples)
        if any(b.offset < a.offset for a, b in pairwise(window)):
            return Status.REWIND
        if not window or any(s.lag == 0 for s in window) or len(window) < self.size:
            return Status.OK
        if window[0].offset == window[-1].offset:
            return Status.STALL if has_members else Status.STOP
        if all(b.lag >= a.lag for a, b in pairwise(window)):
            return Status.WARN
        return Status.OK


def group_status(partitions: list[Status]) -> Status:
    if any(s in (Status.STOP, Status.STALL, Status.REWIND) for s in partitions):
        return Status.ERR
    return Status.WARN if Status.WARN in partitions else Status.OK
