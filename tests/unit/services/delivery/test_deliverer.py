"""The deliverer with a fake broker and a real loopback receiver: states, retries, 410, giving
up, disabling, the hourly limit, digests and the attempt loop, per destination."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from aiohttp import web
from standardwebhooks.webhooks import Webhook

from services.delivery.deliverer import Deliverer
from shared.contracts.alerts import (
    AlertEvent,
    Delivery,
    DeliveryState,
    Destination,
    Subscription,
    WebhookSecret,
)
from shared.contracts.topology import Topic
from shared.runtime.tables import Table
from shared.settings import Settings
from tests.fakes import FakeProducer, FakeRecord
from tests.loopback import serving

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: str


@dataclass
class Receiver:
    """A webhook receiver on loopback; `answer(path)` decides each response."""

    port: int
    answer: Callable[[str], Awaitable[web.Response]]
    seen: list[Seen] = field(default_factory=list)
    sessions: list[aiohttp.ClientSession] = field(default_factory=list)  # closed at teardown

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(Seen(request.path, {k.lower(): v for k, v in request.headers.items()},
                              await request.text()))
        return await self.answer(request.path)


def status(code: int, **headers: str) -> Callable[[str], Awaitable[web.Response]]:
    async def answer(path: str) -> web.Response:
        return web.Response(status=code, headers=headers)
    return answer


@pytest.fixture
async def hooks() -> AsyncIterator[Receiver]:
    receiver = Receiver(0, status(200))
    async with serving(receiver.handle, "/{path}") as port:
        receiver.port = port
        yield receiver
        for session in receiver.sessions:
            await session.close()


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def make(hooks: Receiver, settings: Settings | None = None, **sub: object
         ) -> tuple[Deliverer, FakeProducer, list[Seen], Clock]:
    settings = settings or Settings(outbound_allow="127.0.0.1", delivery_retry_schedule=[0, 5, 300],
                                    delivery_disable_after=2)
    subscriptions = Table(settings, Topic.SUBSCRIPTIONS, Subscription)
    subscriptions.apply("s1", Subscription(
        subscription_id="s1", owner="k1", name="n", query="q", destinations=[hook(hooks.url())],
        feed_token="t", **sub))  # type: ignore[arg-type]
    deliveries = Table(settings, Topic.DELIVERIES, Delivery)
    producer = FakeProducer()
    clock = Clock()
    hooks.sessions.append(aiohttp.ClientSession())
    deliverer = Deliverer(settings, producer, subscriptions, deliveries, hooks.sessions[-1], clock=clock)
    return deliverer, producer, hooks.seen, clock


def hook(url: str, destination_id: str = "d1") -> Destination:
    return Destination(destination_id=destination_id, channel="webhook", target=url,
                       secrets=[WebhookSecret(secret=SECRET)])


def alert(n: int = 1) -> AlertEvent:
    return AlertEvent(alert_id=f"al_{n}", subscription_id="s1", owner="k1", article_id=f"a{n}",
                      title=f"Title {n}", submitted_at=datetime(2026, 11, 24, tzinfo=UTC))


def state(deliverer: Deliverer, alert_id: str, destination_id: str = "d1") -> Delivery:
    """In memory while in flight, else the last row written for it."""
    key = f"{alert_id}.{destination_id}"
    found = deliverer.deliveries.get(key)
    if found is None:
        written = [Delivery.model_validate_json(s.value) for s in deliverer.producer.sent
                   if s.topic == "news.deliveries" and s.key == key.encode()]
        found = written[-1] if written else None
    assert found is not None
    return found


async def test_delivered_signed_once_and_a_repeat_is_ignored(hooks: Receiver) -> None:
    hooks.answer = status(204)
    deliverer, producer, seen, _ = make(hooks)
    await deliverer.accept(alert())
    assert state(deliverer, "al_1").state is DeliveryState.PENDING
    await deliverer.attempt(state(deliverer, "al_1"))
    assert state(deliverer, "al_1").state is DeliveryState.DELIVERED
    request = seen[0]
    assert request.headers["webhook-id"] == "al_1"
    assert request.headers["host"] == f"127.0.0.1:{hooks.port}"
    payload = Webhook(SECRET).verify(request.body, request.headers)
    assert payload["data"]["title"] == "Title 1" and payload["type"] == "alert.created"
    writes = len(producer.sent)
    await deliverer.accept(alert())  # replayed, or a later article of the story
    assert len(producer.sent) == writes


async def test_failures_are_retried_on_the_schedule_then_given_up_and_dead_lettered(
        hooks: Receiver) -> None:
    hooks.answer = status(500)
    deliverer, producer, seen, clock = make(hooks)
    await deliverer.accept(alert())
    for expected_wait in (5, 300):
        await deliverer.attempt(state(deliverer, "al_1"))
        record = state(deliverer, "al_1")
        assert record.state is DeliveryState.RETRYING and record.last_status == 500
        assert record.next_attempt_at is not None
        wait = (record.next_attempt_at - clock.now).total_seconds()
        assert expected_wait * 0.9 <= wait <= expected_wait * 1.1
    await deliverer.attempt(state(deliverer, "al_1"))
    record = state(deliverer, "al_1")
    assert record.state is DeliveryState.FAILED and record.attempts == 3
    assert "gave up after 3 attempts" in (record.reason or "")
    letters = [json.loads(s.value) for s in producer.to("news.deadletter")]
    assert letters and letters[0]["stage"] == "delivery" and letters[0]["article_id"] == "a1"
    assert len(seen) == 3 and {r.headers["webhook-id"] for r in seen} == {"al_1"}


async def test_retry_after_pushes_the_next_attempt(hooks: Receiver) -> None:
    hooks.answer = status(503, **{"Retry-After": "120"})
    deliverer, _, _, clock = make(hooks)
    await deliverer.accept(alert())
    await deliverer.attempt(state(deliverer, "al_1"))
    record = state(deliverer, "al_1")
    assert record.next_attempt_at == clock.now + timedelta(seconds=120)


async def test_gone_disables_the_endpoint_and_later_alerts_fail_with_the_reason(
        hooks: Receiver) -> None:
    hooks.answer = status(410)
    deliverer, _, seen, _ = make(hooks)
    await deliverer.accept(alert(1))
    await deliverer.attempt(state(deliverer, "al_1"))
    assert state(deliverer, "al_1").state is DeliveryState.FAILED
    await deliverer.accept(alert(2))
    later = state(deliverer, "al_2")
    assert later.state is DeliveryState.FAILED and "410" in (later.reason or "")
    assert len(seen) == 1


async def test_consecutive_failed_alerts_disable_the_endpoint(hooks: Receiver) -> None:
    hooks.answer = status(500)
    deliverer, _, _, _ = make(hooks)
    for n in (1, 2):
        await deliverer.accept(alert(n))
        for _ in range(3):
            await deliverer.attempt(state(deliverer, f"al_{n}"))
    subscription = deliverer.subscriptions.get("s1")
    assert subscription is not None
    reason = deliverer.disabled_reason(subscription, subscription.destinations[0])
    assert "2 alerts in a row" in (reason or "")


async def test_a_refused_address_is_a_failed_attempt_not_a_request(hooks: Receiver) -> None:
    deliverer, _, seen, _ = make(hooks)
    deliverer.channels["webhook"].policy.allowed_networks.clear()
    await deliverer.accept(alert())
    await deliverer.attempt(state(deliverer, "al_1"))
    record = state(deliverer, "al_1")
    assert record.state is DeliveryState.RETRYING and "loopback" in (record.reason or "")
    assert seen == []


async def test_over_the_hourly_limit_alerts_roll_into_one_digest(hooks: Receiver) -> None:
    deliverer, _, seen, clock = make(hooks, max_alerts_per_hour=2)
    for n in (1, 2, 3, 4):
        await deliverer.accept(alert(n))
    states = [state(deliverer, f"al_{n}").state for n in (1, 2, 3, 4)]
    assert states == [DeliveryState.PENDING] * 2 + [DeliveryState.QUEUED] * 2
    await deliverer.send_digests(clock.now)  # the hour is not over: nothing yet
    assert not [d for d in deliverer.deliveries.values() if d.digest_of]
    clock.now += timedelta(hours=1)
    await deliverer.send_digests(clock.now)
    digest = next(d for d in deliverer.deliveries.values() if d.digest_of)
    assert digest.digest_of == ["al_3", "al_4"] and digest.state is DeliveryState.PENDING
    assert digest.message_id.startswith("dg_") and digest.delivery_id == f"{digest.message_id}.d1"
    assert {state(deliverer, f"al_{n}").state for n in (3, 4)} == {DeliveryState.DIGESTED}
    await deliverer.attempt(digest)
    body = json.loads(seen[-1].body)
    assert body["type"] == "alert.digest"
    assert [a["alert_id"] for a in body["data"]["alerts"]] == ["al_3", "al_4"]


async def test_digest_subscriptions_queue_everything(hooks: Receiver) -> None:
    deliverer, _, _, _ = make(hooks, digest="daily")
    await deliverer.accept(alert())
    assert state(deliverer, "al_1").state is DeliveryState.QUEUED


async def test_the_attempt_loop_delivers_what_is_due_and_only_for_owned_partitions(
        hooks: Receiver) -> None:
    deliverer, _, seen, _ = make(hooks)
    deliverer.clock = lambda: datetime.now(UTC)
    mine = {"k1": False}
    deliverer.owned = lambda owner: mine[owner]
    stop = asyncio.Event()
    loop = asyncio.create_task(deliverer.run(stop))
    await deliverer.accept(alert(1))
    await asyncio.sleep(0.3)
    assert seen == []  # the partition is another worker's
    mine["k1"] = True
    async with asyncio.timeout(5):
        while state(deliverer, "al_1").state is not DeliveryState.DELIVERED:
            await asyncio.sleep(0.02)
    await deliverer.accept(alert(2))
    async with asyncio.timeout(5):
        while state(deliverer, "al_2").state is not DeliveryState.DELIVERED:
            await asyncio.sleep(0.02)
    stop.set()
    await loop
    assert [r.headers["webhook-id"] for r in seen] == ["al_1", "al_2"]


async def test_a_hanging_receiver_does_not_hold_up_other_subscriptions(hooks: Receiver) -> None:
    release = asyncio.Event()

    async def answer(path: str) -> web.Response:
        if path == "/slow":
            await release.wait()
        return web.Response(status=200)

    hooks.answer = answer
    settings = Settings(outbound_allow="127.0.0.1", delivery_concurrency=10)
    deliverer, _, _, _ = make(hooks, settings)
    deliverer.clock = lambda: datetime.now(UTC)
    for sid, path in (("slow", "/slow"), ("fast", "/fast")):
        deliverer.subscriptions.apply(sid, Subscription(
            subscription_id=sid, owner="k1", name=sid, query="q", destinations=[hook(hooks.url(path))],
            feed_token=sid))
    stop = asyncio.Event()
    loop = asyncio.create_task(deliverer.run(stop))
    await deliverer.accept_all([alert(n).model_copy(update={"subscription_id": "slow"}) for n in range(30)])
    await deliverer.accept(alert(99).model_copy(update={"subscription_id": "fast"}))
    async with asyncio.timeout(5):
        while state(deliverer, "al_99").state is not DeliveryState.DELIVERED:
            await asyncio.sleep(0.02)
    assert deliverer.per_endpoint["slow/d1"] <= 8  # the slow endpoint holds at most its share
    release.set()
    stop.set()
    await loop


async def test_memory_holds_only_what_is_in_flight_and_repeats_are_still_dropped(hooks: Receiver) -> None:
    deliverer, producer, seen, _ = make(hooks)
    await deliverer.accept(alert(1))
    assert "al_1.d1" in deliverer.deliveries.rows  # pending
    await deliverer.attempt(state(deliverer, "al_1"))
    assert "al_1.d1" not in deliverer.deliveries.rows  # delivered: on the topic, not in memory
    writes = len(producer.sent)
    await deliverer.accept(alert(1))  # a replay of the topic
    assert len(producer.sent) == writes and len(seen) == 1


async def test_a_deleted_subscription_takes_its_counters_and_its_queue_with_it(hooks: Receiver) -> None:
    deliverer, _, seen, clock = make(hooks, digest="hourly")
    await deliverer.accept(alert(1))
    assert not deliverer.sent_times.get("s1", {}).get("d1")
    deliverer.sent_times["s1"] = {"d1": deque([clock.now])}
    deliverer.subscriptions.apply("s1", None)
    assert "s1" not in deliverer.sent_times
    clock.now += timedelta(hours=1)
    await deliverer.send_digests(clock.now)
    gone = state(deliverer, "al_1")
    assert gone.state is DeliveryState.FAILED and "deleted" in (gone.reason or "")
    await deliverer.send_digests(clock.now)
    assert deliverer.queued == {} and seen == []


async def test_a_revoked_owner_gets_nothing_delivered(hooks: Receiver) -> None:
    from shared.contracts.alerts import ApiKey
    from shared.http.api_keys import new_key, revoked

    deliverer, _, seen, _ = make(hooks)
    record, _ = new_key("desk")
    keys: Table[ApiKey] = Table(deliverer.settings, Topic.API_KEYS, ApiKey)
    keys.apply("k1", record.model_copy(update={"key_id": "k1"}))
    deliverer.keys = keys
    await deliverer.accept(alert(1))
    keys.apply("k1", revoked(record.model_copy(update={"key_id": "k1"})))
    await deliverer.attempt(state(deliverer, "al_1"))  # queued before the revocation
    assert state(deliverer, "al_1").state is DeliveryState.FAILED and seen == []
    await deliverer.accept(alert(2))  # after it: not even recorded
    assert "al_2.d1" not in deliverer.deliveries.rows


async def test_the_echo_of_an_earlier_state_does_not_bring_a_delivered_alert_back(hooks: Receiver) -> None:
    """The topic echoes the pending row after the delivered one has left memory."""
    deliverer, producer, seen, _ = make(hooks)
    await deliverer.accept(alert(1))
    pending = producer.sent[-1]
    await deliverer.attempt(state(deliverer, "al_1"))
    echo = FakeRecord("news.deliveries", 0, 0, pending.key, pending.value)
    deliverer.deliveries._apply_record(echo)
    assert "al_1.d1" not in deliverer.deliveries.rows and "al_1.d1" not in deliverer.waiting
    assert len(seen) == 1


async def test_a_removed_destination_takes_its_counters_with_it(hooks: Receiver) -> None:
    deliverer, _, _, clock = make(hooks)
    deliverer.sent_times["s1"] = {"d1": deque([clock.now]), "d2": deque([clock.now])}
    subscription = deliverer.subscriptions.get("s1")
    assert subscription is not None
    deliverer.subscriptions.apply("s1", subscription.model_copy(update={
        "destinations": [hook(hooks.url(), "d2")]}))
    assert set(deliverer.sent_times["s1"]) == {"d2"}
