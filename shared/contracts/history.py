"""The alert history in Elasticsearch: where the history stage writes and the subscriptions
API reads (history pages, feeds).

Two aliases over daily indices (`<news alias>-alerts-YYYY.MM.DD`, `...-deliveries-...`), each
with its own template; an index older than `alert_history_days` is dropped whole (the server
core has no delete-by-query, and dropping an index costs nothing however large it is).

- An alert entry is one line of a subscription's timeline: the alert (its first article, id =
  the alert id) or a later article of its story (id = alert id + article id), with its
  position in `news.alerts` (an owner's alerts share one partition: the live stream's event id).
- A delivery state is the last state of one alert's (or digest's) delivery to one destination,
  id = delivery id, written with its `updated_at` as an external version: a replayed older
  state never overwrites a newer one.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from shared.contracts.alerts import AlertEvent, Delivery
from shared.settings import Settings

EntryKind = Literal["alert", "update"]

_KEYWORD = {"type": "keyword"}
_DATE = {"type": "date"}
# Only what is searched or sorted on is indexed; the rest is kept in _source (dynamic: false).
ALERT_MAPPINGS: dict[str, Any] = {"dynamic": False, "properties": {
    "entry_id": _KEYWORD, "alert_id": _KEYWORD, "kind": _KEYWORD, "subscription_id": _KEYWORD,
    "owner": _KEYWORD, "article_id": _KEYWORD, "story_id": _KEYWORD, "matched_at": _DATE,
    "partition": {"type": "integer"}, "offset": {"type": "long"}}}
DELIVERY_MAPPINGS: dict[str, Any] = {"dynamic": False, "properties": {
    "delivery_id": _KEYWORD, "message_id": _KEYWORD, "destination_id": _KEYWORD, "channel": _KEYWORD,
    "subscription_id": _KEYWORD, "owner": _KEYWORD, "state": _KEYWORD,
    "created_at": _DATE, "updated_at": _DATE}}


def alerts_alias(settings: Settings) -> str:
    return f"{settings.index_alias}-alerts"


def deliveries_alias(settings: Settings) -> str:
    return f"{settings.index_alias}-deliveries"


def daily_index(alias: str, at: datetime) -> str:
    return f"{alias}-{at.astimezone(UTC):%Y.%m.%d}"


def day_of(index: str, alias: str) -> datetime | None:
    """The day a daily index holds, None for a name that is not one of the alias's."""
    try:
        return datetime.strptime(index.removeprefix(f"{alias}-"), "%Y.%m.%d").replace(tzinfo=UTC)
    except ValueError:
        return None


def expired(index: str, alias: str, days: int, now: datetime) -> bool:
    day = day_of(index, alias)
    return day is not None and day + timedelta(days=days + 1) <= now


def entry_id(event: AlertEvent, kind: EntryKind) -> str:
    return event.alert_id if kind == "alert" else f"{event.alert_id}:{event.article_id}"


def alert_entry(event: AlertEvent, kind: EntryKind, partition: int, offset: int) -> dict[str, Any]:
    # `kind` is the entry's (alert or update); the alert's own kind (match, volume, breaking)
    # is kept as `alert_kind`.
    return {**event.model_dump(mode="json"), "alert_kind": event.kind, "entry_id": entry_id(event, kind),
            "kind": kind, "partition": partition, "offset": offset}


def delivery_document(delivery: Delivery) -> dict[str, Any]:
    # The digest's alerts are in the history already; the state needs only their ids.
    return delivery.model_dump(mode="json", exclude={"alert", "digest_alerts"})


def delivery_version(delivery: Delivery) -> int:
    return int(delivery.updated_at.timestamp() * 1_000_000)


class Timeline:
    """Tells an alert from an update and from a repeat, by position in `news.alerts`: per
    alert id, the offset where each of its articles first came. The first article of an alert
    id is the alert, another article an update, an article seen at an earlier offset a repeat
    (a replayed record); reading a record again (a stream resuming) gives its kind again.
    At most `limit` alert ids are kept, the least recently seen forgotten first."""

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self.known: OrderedDict[str, dict[str, int]] = OrderedDict()

    def __contains__(self, alert_id: str) -> bool:
        return alert_id in self.known

    def learn(self, alert_id: str, articles: dict[str, int]) -> None:
        """What the history already holds for an alert id (article → offset)."""
        mine = self.known.setdefault(alert_id, {})
        for article, offset in articles.items():
            mine[article] = min(offset, mine.get(article, offset))
        self._touch(alert_id)

    def kind(self, event: AlertEvent, offset: int) -> EntryKind | None:
        articles = self.known.setdefault(event.alert_id, {})
        first = articles.setdefault(event.article_id, offset)
        if offset > first:
            self._touch(event.alert_id)
            return None
        articles[event.article_id] = offset
        self._touch(event.alert_id)
        return "alert" if offset <= min(articles.values()) else "update"

    def _touch(self, alert_id: str) -> None:
        self.known.move_to_end(alert_id)
        while len(self.known) > self.limit:
            self.known.popitem(last=False)
