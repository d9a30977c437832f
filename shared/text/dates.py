"""ISO 8601 instants as sources and users write them ("Z" or an offset, or none), as aware UTC-
comparable datetimes. A time without a zone is taken as UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def parse_iso(value: str) -> datetime:
    """Raises ValueError when the text is not an ISO date or date-time."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


EARLIEST_PUBLISHED = datetime(1900, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)  # time zones and clocks that run a little fast


def plausible_published_at(value: datetime | None, now: datetime | None = None) -> datetime | None:
    """A publication instant clamped to what can be true: none before 1900 (year 1 is a typo or
    a placeholder: unknown), none later than a day from now (taken as now). One bogus date
    would otherwise stretch every date histogram over millennia."""
    if value is None:
        return None
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    if value < EARLIEST_PUBLISHED:
        return None
    return min(value, now + FUTURE_SLACK)
