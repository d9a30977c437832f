"""The API's live tail of news.alerts: alerts told from updates and repeats by position (also
when a stream resumes and reads records again), streams that fall too far behind, and streams
closed when their key is revoked."""

from __future__ import annotations

from datetime import UTC, datetime

from services.subscriptions.store import LISTENER_QUEUE, Listener, LiveAlerts
from shared.contracts.alerts import AlertEvent
from shared.contracts.history import Timeline
from tests.fakes import FakeRecord


def event(alert_id: str, article_id: str, owner: str = "k1", sid: str = "s1") -> AlertEvent:
    return AlertEvent(alert_id=alert_id, subscription_id=sid, owner=owner, article_id=article_id,
                      title=article_id, submitted_at=datetime(2026, 11, 24, tzinfo=UTC))


def record(offset: int, alert: AlertEvent) -> FakeRecord:
    return FakeRecord("news.alerts", 0, offset, alert.owner.encode(), alert.to_bytes())


def test_alerts_updates_and_repeats_by_position() -> None:
    timeline = Timeline()
    assert timeline.kind(event("al_1", "a1"), 0) == "alert"
    assert timeline.kind(event("al_1", "a2"), 1) == "update"  # the story's next article
    assert timeline.kind(event("al_1", "a2"), 2) is None  # a replay of a2
    assert timeline.kind(event("al_1", "a1"), 5) is None  # a replay of a1
    # Reading the records again (a stream resuming) tells the same kinds.
    assert timeline.kind(event("al_1", "a1"), 0) == "alert"
    assert timeline.kind(event("al_1", "a2"), 1) == "update"


def test_what_the_history_holds_is_learned() -> None:
    timeline = Timeline()
    timeline.learn("al_1", {"a1": 10})
    assert timeline.kind(event("al_1", "a1"), 20) is None
    assert timeline.kind(event("al_1", "a2"), 21) == "update"


def test_the_timeline_is_bounded() -> None:
    timeline = Timeline(limit=3)
    for n in range(10):
        timeline.kind(event(f"al_{n}", "a"), n)
    assert list(timeline.known) == ["al_7", "al_8", "al_9"]


def test_listeners_hear_their_owner_and_overflow_instead_of_growing() -> None:
    live = LiveAlerts()
    mine, other = Listener("k1"), Listener("k2")
    live.listeners |= {mine, other}
    live.apply_record(record(0, event("al_1", "a1")))
    live.apply_record(record(1, event("al_1", "a1")))  # a repeat: nothing
    assert mine.queue.qsize() == 1 and other.queue.qsize() == 0
    for n in range(LISTENER_QUEUE + 5):
        live.apply_record(record(n + 2, event(f"al_x{n}", f"x{n}")))
    assert mine.overflowed and mine.queue.qsize() == LISTENER_QUEUE


def test_a_revoked_key_closes_its_streams_only() -> None:
    live = LiveAlerts()
    mine, other = Listener("k1"), Listener("k2")
    live.listeners |= {mine, other}
    live.close_streams("k1")
    assert mine.closed and not other.closed


def _store() -> object:
    from cryptography.fernet import Fernet
    from pydantic import SecretStr

    from services.subscriptions.store import AlertStore
    from shared.settings import Settings

    return AlertStore(Settings(namespace="unit", publish_timeout_seconds=0.2,
                               secrets_key=SecretStr(Fernet.generate_key().decode())))


async def test_feeds_are_found_by_the_tokens_hash_and_die_with_their_key() -> None:
    from services.subscriptions.routes import new_feed_token
    from services.subscriptions.store import AlertStore
    from shared.contracts.alerts import Subscription
    from shared.http.api_keys import new_key, revoked

    store = _store()
    assert isinstance(store, AlertStore)
    record, _ = new_key("desk")
    store.keys.apply(record.key_id, record)
    feed = new_feed_token(store)
    assert feed["token"] not in feed["feed_token"]  # sealed
    subscription = Subscription(subscription_id="s1", owner=record.key_id, name="n",
                                feed_token=feed["feed_token"], feed_token_sha256=feed["feed_token_sha256"])
    store.subscriptions.apply("s1", subscription)
    assert store.by_feed_token(feed["token"]) == subscription
    assert store.by_feed_token(feed["token"] + "x") is None
    legacy = Subscription(subscription_id="s2", owner=record.key_id, name="n", feed_token="plain-old")
    store.subscriptions.apply("s2", legacy)  # a row from before hashes: indexed by its hash too
    assert store.by_feed_token("plain-old") == legacy
    store.keys.apply(record.key_id, revoked(record))
    assert store.by_feed_token(feed["token"]) is None
    store.subscriptions.apply("s1", None)
    assert all(sid != "s1" for sid in store.feeds.values())


async def test_a_write_kafka_does_not_acknowledge_is_a_503_within_the_publish_timeout() -> None:
    import asyncio
    import time

    import pytest

    from services.subscriptions.store import AlertStore
    from shared.contracts.alerts import Subscription
    from shared.http.errors import ApiError

    class Hanging:
        async def send_and_wait(self, *_: object, **__: object) -> None:
            await asyncio.Event().wait()

    store = _store()
    assert isinstance(store, AlertStore)
    store.producer = Hanging()
    started = time.monotonic()
    with pytest.raises(ApiError) as refused:
        await store.save(Subscription(subscription_id="s1", owner="k", name="n", feed_token="t"))
    assert refused.value.status == 503 and refused.value.headers == {"Retry-After": "5"}
    assert time.monotonic() - started < 1.0
    assert store.subscriptions.get("s1") is None  # not applied when not acknowledged
