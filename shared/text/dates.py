"""ISO 8601 instants as sources and users write them ("Z" or an offset, or none), as aware UTC-
comparable datetimes. A time without a zone is taken as UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_iso(value: str) -> datetime:
    """Raises ValueError when the text is not an ISO date or date-time."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
