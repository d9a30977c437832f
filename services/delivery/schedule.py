"""When to try a webhook again: the schedule's next wait, jittered so that many receivers
coming back at once are not hit all together, and never sooner than the receiver asked."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

JITTER = 0.1
MAX_RETRY_AFTER = 86_400.0  # a receiver cannot park an alert for longer than a day


def next_wait(attempts_made: int, schedule: list[float], retry_after: float | None = None,
              rng: random.Random | None = None) -> float | None:
    """Seconds until the next attempt after `attempts_made` attempts; None when the schedule
    is exhausted. `schedule[i]` is the wait before attempt i (the first is 0: immediately)."""
    if attempts_made >= len(schedule):
        return None
    base = schedule[attempts_made]
    jittered = base * (1 + (rng or random).uniform(-JITTER, JITTER))
    return max(jittered, min(retry_after or 0.0, MAX_RETRY_AFTER))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))) / timedelta(seconds=1), 0.0)
