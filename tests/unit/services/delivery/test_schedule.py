"""The retry schedule: jittered waits, exhaustion, and Retry-After."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from services.delivery.schedule import JITTER, MAX_RETRY_AFTER, next_wait, parse_retry_after

SCHEDULE = [0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0]


def test_waits_follow_the_schedule_within_the_jitter() -> None:
    rng = random.Random(7)
    for attempts_made, base in enumerate(SCHEDULE):
        wait = next_wait(attempts_made, SCHEDULE, rng=rng)
        assert wait is not None
        assert base * (1 - JITTER) <= wait <= base * (1 + JITTER)


def test_the_schedule_runs_out() -> None:
    assert next_wait(len(SCHEDULE), SCHEDULE) is None


def test_retry_after_is_honoured_but_capped() -> None:
    wait = next_wait(1, SCHEDULE, retry_after=120.0, rng=random.Random(1))
    assert wait == 120.0
    assert next_wait(1, SCHEDULE, retry_after=10 * MAX_RETRY_AFTER) == MAX_RETRY_AFTER
    later = next_wait(2, SCHEDULE, retry_after=1.0, rng=random.Random(1))
    assert later is not None and later > 200  # a shorter Retry-After does not hurry the schedule


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after("Tue, 24 Nov 2026 12:01:00 GMT", now) == 60.0
    assert parse_retry_after("Tue, 24 Nov 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
