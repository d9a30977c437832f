"""The history stages' documents: an alert once, later story articles as updates, repeats
nothing (also for alert ids only the history remembers); delivery states newest-first with an
external version; and retention dropping only whole indices past their days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.history.sink import AlertHistorySink, DeliveryHistorySink, drop_expired
from shared.contracts.alerts import AlertEvent, Delivery, DeliveryState
from shared.contracts.history import expired
from shared.runtime.stage import Decoded
from shared.settings import Settings
from tests.fakes import FakeRecord

SETTINGS = Settings(namespace="unit")
AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


class FakeIndices:
    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.deleted: list[str] = []
        self.refreshed = 0

    async def refresh(self, **_: Any) -> None:
        self.refreshed += 1

    async def get_alias(self, **_: Any) -> Any:
        return type("Answer", (), {"body": {name: {} for name in self.names}})()

    async def delete(self, index: str, **_: Any) -> None:
        self.deleted.extend(index.split(","))


class FakeES:
    def __init__(self, history: list[dict[str, Any]] | None = None, names: list[str] | None = None) -> None:
        self.history = history or []
        self.indices = FakeIndices(names or [])
        self.searches = 0

    async def search(self, **body: Any) -> dict[str, Any]:
        self.searches += 1
        wanted = set(body["query"]["terms"]["alert_id"])
        return {"hits": {"hits": [{"_source": e} for e in self.history if e["alert_id"] in wanted]}}


def alert(alert_id: str, article_id: str, offset: int) -> Decoded:
    event = AlertEvent(alert_id=alert_id, subscription_id="s1", owner="k1", article_id=article_id,
                       title=article_id, submitted_at=AT, matched_at=AT)
    return Decoded(FakeRecord("unit.news.alerts", 2, offset, b"k1", event.to_bytes()), event)


async def test_alerts_updates_and_repeats() -> None:
    sink = AlertHistorySink(SETTINGS, FakeES())
    pending = await sink.documents([alert("al_1", "a1", 10), alert("al_1", "a2", 11),
                                    alert("al_1", "a2", 12), alert("al_2", "a3", 13)])
    assert [(p.action["index"]["_id"], p.document["kind"]) for p in pending] == [
        ("al_1", "alert"), ("al_1:a2", "update"), ("al_2", "alert")]
    assert pending[0].action["index"]["_index"] == "unit-news-alerts-2026.12.01"
    assert pending[1].document["partition"] == 2 and pending[1].document["offset"] == 11
    assert [p.position for p in pending] == [0, 1, 3]  # the repeat writes nothing


async def test_an_alert_only_the_history_remembers_is_not_written_again() -> None:
    es = FakeES([{"alert_id": "al_1", "article_id": "a1", "offset": 3}])
    sink = AlertHistorySink(SETTINGS, es)
    pending = await sink.documents([alert("al_1", "a1", 40), alert("al_1", "a9", 41)])
    assert [p.action["index"]["_id"] for p in pending] == ["al_1:a9"]
    assert es.indices.refreshed == 1  # what was written a moment ago is seen
    await sink.documents([alert("al_1", "a10", 42)])
    assert es.searches == 1  # known now: no second look-up


def delivery(state: DeliveryState, at: datetime) -> Decoded:
    row = Delivery(delivery_id="al_1", subscription_id="s1", owner="k1", state=state,
                   created_at=AT, updated_at=at)
    return Decoded(FakeRecord("unit.news.deliveries", 0, 0, b"al_1", row.to_bytes()), row)


async def test_delivery_states_newest_in_the_batch_with_an_external_version() -> None:
    sink = DeliveryHistorySink(SETTINGS, FakeES())
    pending = await sink.documents([delivery(DeliveryState.PENDING, AT),
                                    delivery(DeliveryState.DELIVERED, AT + timedelta(seconds=1))])
    assert len(pending) == 1
    action = pending[0].action["index"]
    assert pending[0].document["state"] == "delivered"
    assert action["version_type"] == "external_gte"
    assert action["version"] == int((AT + timedelta(seconds=1)).timestamp() * 1_000_000)
    assert action["_index"] == "unit-news-deliveries-2026.12.01"


async def test_retention_drops_whole_indices_past_their_days() -> None:
    alias = "unit-news-alerts"
    today = datetime.now(UTC)
    names = [f"{alias}-{(today - timedelta(days=d)):%Y.%m.%d}" for d in (0, 29, 31, 40)]
    es = FakeES(names=[*names, f"{alias}-not-a-day"])
    dropped = await drop_expired(es, alias, 30)
    assert dropped == sorted(names[2:]) and es.indices.deleted == sorted(names[2:])
    assert not expired(f"{alias}-not-a-day", alias, 30, today)
