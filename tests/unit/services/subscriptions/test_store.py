"""The API's alert timeline: one entry per alert id, later story articles as updates, replays
ignored, resuming by offset, and streams that fall too far behind."""

from __future__ import annotations

from datetime import UTC, datetime

from services.subscriptions.store import LISTENER_QUEUE, AlertLog, Listener
from shared.contracts.alerts import AlertEvent


def event(alert_id: str, article_id: str, owner: str = "k1", sid: str = "s1") -> AlertEvent:
    return AlertEvent(alert_id=alert_id, subscription_id=sid, owner=owner, article_id=article_id,
                      title=article_id, submitted_at=datetime(2026, 11, 24, tzinfo=UTC))


def test_updates_replays_and_resuming() -> None:
    log = AlertLog()
    log.add(event("al_1", "a1"), 0)
    log.add(event("al_1", "a2"), 1)  # the story's next article
    log.add(event("al_1", "a2"), 2)  # a replay
    log.add(event("al_2", "a3"), 3)
    log.add(event("al_9", "a9", owner="k2"), 4)
    alerts = log.of_subscription("k1", "s1")
    assert [a.first.event.alert_id for a in alerts] == ["al_2", "al_1"]
    assert [u.event.article_id for u in alerts[1].updates] == ["a2"]
    assert [(e.kind, e.offset) for e in log.since("k1", 0)] == [("update", 1), ("alert", 3)]
    assert log.since("k2", -1)[0].event.alert_id == "al_9"


def test_listeners_hear_their_owner_and_overflow_instead_of_growing() -> None:
    log = AlertLog()
    mine, other = Listener("k1"), Listener("k2")
    log.listeners |= {mine, other}
    log.add(event("al_1", "a1"), 0)
    assert mine.queue.qsize() == 1 and other.queue.qsize() == 0
    for n in range(LISTENER_QUEUE + 5):
        log.add(event(f"al_x{n}", f"x{n}"), n + 1)
    assert mine.overflowed and mine.queue.qsize() == LISTENER_QUEUE
