"""Delivery to every destination of a subscription, whatever its channel
(services/delivery/channels/): each alert's state per destination lives in `news.deliveries`
(a table keyed by delivery id: the alert's id and the destination's), written before the
alert's offset is committed, so a restarted deliverer picks up exactly where the last one
was: what is due is sent, what waits for a retry keeps its time.

The same rules for every channel, each destination on its own:
- An alert id seen again (a replay, or a later article of the same story) is never delivered
  again.
- Each attempt runs on its own task, at most `PER_ENDPOINT` at once per destination: a slow or
  dead receiver delays nobody else, not even the subscription's other destinations.
- Delivered: done. Gone (410, an unknown mailbox, an archived Slack channel): the destination
  is disabled. Refused for good (a malformed message): dead-lettered at once. Anything else,
  a timeout or a refused address: retried on the schedule (honouring Retry-After); once the
  schedule is exhausted the alert is dead-lettered, and after `delivery_disable_after` such
  alerts in a row the destination is disabled; its owner sees why on the subscription.
- Digest subscriptions, and alerts over a destination's hourly limit, are queued and go out
  as one delivery when their hour (or day) is over.

Memory holds what is in flight only: rows waiting for an attempt or a digest. A final state
(delivered, failed, digested) leaves memory as it is written (it lives on in the alert history
and, until it expires, on the topic); the ids of the last `RECENT_IDS` alerts are kept to drop
repeats, and the send times of the last hour for the hourly limit. A deleted subscription's
counters go with it, and what it had queued fails at the next digest check.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from services.delivery.channels import Channel, Outcome, Outgoing, make_channels
from services.delivery.schedule import next_wait
from shared.contracts.alerts import (
    DIGEST_SECONDS,
    LEGACY_WEBHOOK,
    AlertEvent,
    ApiKey,
    Delivery,
    DeliveryState,
    Destination,
    EndpointHealth,
    Subscription,
    delivery_key,
    endpoint_key,
    short_hash,
)
from shared.contracts.messages import DeadLetter, utcnow
from shared.contracts.topology import Stage, Topic, topic_name
from shared.runtime.dead_letters import DeadLetterSender
from shared.runtime.retry import until_acknowledged
from shared.runtime.sealing import Sealer
from shared.runtime.tables import Table
from shared.settings import Settings

log = logging.getLogger(__name__)

WAITING = (DeliveryState.PENDING, DeliveryState.RETRYING)
PER_ENDPOINT = 8  # attempts in flight to one destination at once
# States of alerts that went (or go) out on their own: what the hourly limit counts.
SENT_ALONE = (DeliveryState.PENDING, DeliveryState.RETRYING, DeliveryState.DELIVERED,
              DeliveryState.FAILED)
IN_FLIGHT = (*WAITING, DeliveryState.QUEUED)
# Alert ids remembered to drop a repeat (a replay after a restart repeats the last uncommitted
# batches, a later article of a story repeats its alert id within hours).
RECENT_IDS = 200_000


def in_flight(value: Any) -> bool:
    return isinstance(value, Delivery) and value.state in IN_FLIGHT


def endpoint_of(delivery: Delivery) -> str:
    return endpoint_key(delivery.subscription_id, delivery.destination_id)


def unsubscribe_url(settings: Settings, token: str) -> str:
    base = (settings.public_url or settings.client_url("search")).rstrip("/")
    return f"{base}/unsubscribe/{token}"


class Deliverer:
    def __init__(self, settings: Settings, producer: Any, subscriptions: Table[Subscription],
                 deliveries: Table[Delivery], session: aiohttp.ClientSession,
                 owned: Callable[[str], bool] = lambda owner: True,
                 clock: Callable[[], datetime] = utcnow, keys: Table[ApiKey] | None = None,
                 endpoints: Table[EndpointHealth] | None = None,
                 channels: dict[str, Channel] | None = None) -> None:
        self.settings = settings
        self.producer = producer
        self.subscriptions = subscriptions
        self.keys = keys  # a revoked owner's alerts are not delivered
        self.sealer = Sealer(settings)
        self.endpoints = endpoints or Table(settings, Topic.ENDPOINTS, EndpointHealth)
        self.deliveries = deliveries
        self.deliveries.keep = in_flight
        self.session = session
        self.channels = channels or make_channels(settings, session)
        self.owned = owned  # does this worker own the owner's partition (and so its retries)?
        self.clock = clock
        self.dead_letters = DeadLetterSender(producer, settings)
        self.waiting: dict[str, Delivery] = {}
        # (when, id) of waiting rows, earliest first; entries a later change made stale are
        # skipped when they come up.
        self.due: list[tuple[datetime, str]] = []
        self.queued: dict[str, dict[str, Delivery]] = {}  # per destination (endpoint key)
        self.queued_in: dict[str, str] = {}  # delivery id → the endpoint it is queued for
        # subscription → destination → send times of the last hour, oldest first
        self.sent_times: dict[str, dict[str, deque[datetime]]] = {}
        self.recent: OrderedDict[str, None] = OrderedDict()  # alert ids seen, oldest first
        self.in_flight: set[str] = set()
        self.per_endpoint: dict[str, int] = {}  # attempts in flight per destination
        self.wake = asyncio.Event()
        self.slots = asyncio.Semaphore(settings.delivery_concurrency)
        deliveries.listeners.append(self._on_change)
        for key, value in list(deliveries.rows.items()):
            self._on_change(key, value)
        for key in [k for k, v in deliveries.rows.items() if not in_flight(v)]:
            del deliveries.rows[key]
        subscriptions.listeners.append(self._on_subscription)

    # -- the table's indexes -------------------------------------------------------------
    def _on_subscription(self, subscription_id: str, subscription: Subscription | None) -> None:
        if subscription is None:
            self.sent_times.pop(subscription_id, None)
            return
        mine = self.sent_times.get(subscription_id, {})
        for gone in set(mine) - {d.destination_id for d in subscription.destinations}:
            del mine[gone]

    def _remember(self, alert_id: str) -> None:
        if alert_id not in self.recent:
            self.recent[alert_id] = None
            if len(self.recent) > RECENT_IDS:
                self.recent.popitem(last=False)

    def _on_change(self, key: str, value: Any) -> None:
        if isinstance(value, Delivery) and value.alert is not None:
            self._remember(value.message_id)
            # Counted once, when the row is first seen (later states of it are in `waiting`).
            if value.state in SENT_ALONE and value.created_at > self.clock() - timedelta(hours=1) \
                    and key not in self.waiting and key not in self.queued_in:
                self._times(value.subscription_id, value.destination_id).append(value.created_at)
        self.waiting.pop(key, None)
        queued_for = self.queued_in.pop(key, None)
        if queued_for is not None:
            self.queued.get(queued_for, {}).pop(key, None)
        if not isinstance(value, Delivery):
            return
        if value.state in WAITING:
            self.waiting[key] = value
            heapq.heappush(self.due, (value.next_attempt_at or value.created_at, key))
        elif value.state is DeliveryState.QUEUED:
            self.queued_in[key] = endpoint_of(value)
            self.queued.setdefault(endpoint_of(value), {})[key] = value

    def _times(self, subscription_id: str, destination_id: str) -> deque[datetime]:
        return self.sent_times.setdefault(subscription_id, {}).setdefault(destination_id, deque())

    def _sent_in_last_hour(self, subscription_id: str, destination_id: str, now: datetime) -> int:
        times = self._times(subscription_id, destination_id)
        while times and times[0] <= now - timedelta(hours=1):
            times.popleft()
        return len(times)

    # -- accepting alerts (the stage's sink calls this before committing) --------------------
    async def accept_all(self, events: list[AlertEvent], stop: asyncio.Event | None = None) -> None:
        """Records the first state of each new alert at each destination; every row is
        acknowledged by the broker before this returns (so before the offsets are committed).
        Rows are sent together, not one round trip each: one article can match hundreds of
        subscriptions. A broker outage is waited out (Stopping when asked to stop: the batch
        is then replayed)."""
        rows = [row for event in events for row in self.first_states(event)]
        async for attempt in until_acknowledged("delivery: recording alerts", stop):
            with attempt:
                sent = [await self.producer.send(topic_name(self.settings, Topic.DELIVERIES),
                                                 row.to_bytes(), key=row.delivery_id.encode())
                        for row in rows]
                for delivery in sent:
                    await delivery
        if any(row.state is DeliveryState.PENDING for row in rows):
            self.wake.set()

    async def accept(self, event: AlertEvent) -> None:
        await self.accept_all([event])

    def first_states(self, event: AlertEvent) -> list[Delivery]:
        """The new alert's delivery row at each destination, applied to the table at once (a
        repeat in the same batch then sees it); none when there is nothing to deliver."""
        if event.alert_id in self.recent:
            # A replay, or a later article of the story: delivered once. (The API counts the
            # story's updates from news.alerts; a row has one writer at a time, the attempt.)
            return []
        self._remember(event.alert_id)
        subscription = self.subscriptions.get(event.subscription_id)
        if subscription is None or not subscription.active or not subscription.destinations \
                or self.revoked(subscription.owner):
            # Deleted or paused since it matched, or stream and feed only: the alert is in
            # the history, the stream and the feed, with nothing to deliver.
            return []
        now = self.clock()
        rows = []
        for destination in subscription.destinations:
            state, reason = self._first_state(subscription, destination, now)
            row = Delivery(
                delivery_id=delivery_key(event.alert_id, destination.destination_id),
                message_id=event.alert_id, destination_id=destination.destination_id,
                channel=destination.channel, subscription_id=event.subscription_id,
                owner=event.owner, state=state, alert=event, reason=reason,
                generation=destination.generation,
                next_attempt_at=now if state is DeliveryState.PENDING else None, created_at=now,
                updated_at=now)
            self.deliveries.apply(row.delivery_id, row)
            rows.append(row)
        return rows

    def _first_state(self, subscription: Subscription, destination: Destination,
                     now: datetime) -> tuple[DeliveryState, str | None]:
        disabled = self.disabled_reason(subscription, destination)
        if disabled:
            return DeliveryState.FAILED, f"destination disabled: {disabled}"
        if subscription.digest != "immediate":
            return DeliveryState.QUEUED, f"{subscription.digest} digest"
        sent = self._sent_in_last_hour(subscription.subscription_id, destination.destination_id, now)
        if sent >= subscription.max_alerts_per_hour:
            return DeliveryState.QUEUED, (f"over {subscription.max_alerts_per_hour} alerts an hour: "
                                          "rolled into the hourly digest")
        return DeliveryState.PENDING, None

    def revoked(self, owner: str) -> bool:
        if self.keys is None:
            return False
        record = self.keys.get(owner)  # absent: not seen yet (keys are revoked, never deleted)
        return record is not None and record.revoked_at is not None

    def endpoint(self, subscription: Subscription, destination: Destination) -> EndpointHealth:
        """The destination's health in its current generation (a fresh one after re-enabling)."""
        key = endpoint_key(subscription.subscription_id, destination.destination_id)
        found = self.endpoints.get(key)
        if found is None and destination.destination_id == LEGACY_WEBHOOK:
            found = self.endpoints.get(subscription.subscription_id)  # a row from before destinations
        if found is not None and found.generation == destination.generation:
            return found
        return EndpointHealth(subscription_id=subscription.subscription_id,
                              destination_id=destination.destination_id,
                              generation=destination.generation)

    def disabled_reason(self, subscription: Subscription, destination: Destination) -> str | None:
        return self.endpoint(subscription, destination).disabled_reason

    async def save(self, value: Delivery | EndpointHealth) -> None:
        """Applies the row here at once and queues it for the broker without waiting for the
        acknowledgement: an attempt's outcome lost in a crash only means the alert is sent
        again, under the same id, which is what the receiver deduplicates on anyway.
        (The first row of an alert is different: `accept_all` waits for it before the commit.)"""
        if isinstance(value, Delivery):
            key, topic = value.delivery_id, Topic.DELIVERIES
            self.deliveries.apply(key, value)
        else:
            key, topic = endpoint_key(value.subscription_id, value.destination_id), Topic.ENDPOINTS
            self.endpoints.apply(key, value)
        await self.producer.send(topic_name(self.settings, topic), value.to_bytes(), key=key.encode())

    # -- the attempt loop ------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        next_digest_check = parked_until = self.clock()
        parked: list[tuple[datetime, str]] = []
        tasks: set[asyncio.Task[None]] = set()
        while not stop.is_set():
            now = self.clock()
            if now >= next_digest_check:
                await self.send_digests(now)
                next_digest_check = now + timedelta(seconds=self.settings.digest_check_seconds)
            if parked and now >= parked_until:
                for entry in parked:
                    heapq.heappush(self.due, entry)
                parked = []
            while self.due and self.due[0][0] <= now:
                when, key = heapq.heappop(self.due)
                delivery = self.waiting.get(key)
                if delivery is None or key in self.in_flight or \
                        (delivery.next_attempt_at or delivery.created_at) != when:
                    continue  # done, already going, or rescheduled since
                endpoint = endpoint_of(delivery)
                busy = self.per_endpoint.get(endpoint, 0) >= PER_ENDPOINT
                if busy or not self.owned(delivery.owner):
                    # Its destination has enough attempts going (a slow receiver takes no more
                    # than its share of the slots), or its partition is another worker's:
                    # look again in a moment.
                    parked.append((when, key))
                    parked_until = now + timedelta(seconds=0.2 if busy else 1)
                    continue
                self.in_flight.add(key)
                self.per_endpoint[endpoint] = self.per_endpoint.get(endpoint, 0) + 1
                task = asyncio.create_task(self._attempt_in_slot(delivery))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            self.wake.clear()
            upcoming = [next_digest_check, *([self.due[0][0]] if self.due else []),
                        *([parked_until] if parked else [])]
            wait = max((min(upcoming) - self.clock()).total_seconds(), 0.01)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=min(wait, 1.0))
        for task in tasks:
            task.cancel()  # an attempt cut short is attempted again by the next worker

    async def _attempt_in_slot(self, delivery: Delivery) -> None:
        try:
            async with self.slots:
                await self.attempt(delivery)
        except Exception:
            log.exception("delivery %s: unexpected error", delivery.delivery_id)
        finally:
            self.in_flight.discard(delivery.delivery_id)
            self.per_endpoint[endpoint_of(delivery)] -= 1
            self.wake.set()

    def outgoing(self, delivery: Delivery, subscription: Subscription, destination: Destination,
                 channel: Channel, at: datetime) -> Outgoing:
        target = self.sealer.open(destination.target) if channel.target_is_secret else destination.target
        token = destination.unsubscribe_token
        return Outgoing(
            message_id=delivery.message_id, subscription=subscription, destination=destination,
            target=target, at=at, digest=delivery.alert is None,
            alerts=[delivery.alert] if delivery.alert is not None else delivery.digest_alerts,
            unsubscribe_url=unsubscribe_url(self.settings, self.sealer.open(token))
            if channel.unsubscribe_link and token else None)

    async def attempt(self, delivery: Delivery) -> None:
        subscription = self.subscriptions.get(delivery.subscription_id)
        destination = subscription.destination(delivery.destination_id) if subscription else None
        channel = self.channels.get(delivery.channel)
        now = self.clock()
        if subscription is None or destination is None or channel is None:
            await self._finish(delivery, DeliveryState.FAILED, None,
                               "the subscription or this destination was removed")
            return
        if self.revoked(subscription.owner) or not subscription.active:
            await self._finish(delivery, DeliveryState.FAILED, None, "the subscription was paused "
                               "or its API key revoked before the alert went out")
            return
        disabled = self.disabled_reason(subscription, destination)
        if disabled:
            await self._finish(delivery, DeliveryState.FAILED, None, f"destination disabled: {disabled}")
            return
        result = await channel.send(self.outgoing(delivery, subscription, destination, channel, now))
        attempts = delivery.attempts + 1
        if result.outcome is Outcome.DELIVERED:
            await self._finish(delivery, DeliveryState.DELIVERED, result.status, None, attempts)
            health = self.endpoint(subscription, destination)
            if health.consecutive_failures:
                await self.save(health.model_copy(update={"consecutive_failures": 0, "updated_at": now}))
            return
        reason = result.reason or result.outcome.value
        if result.outcome is Outcome.GONE:
            await self._finish(delivery, DeliveryState.FAILED, result.status,
                               f"{reason}: destination disabled", attempts)
            await self._disable(subscription, destination, reason)
            return
        wait = None if result.outcome is Outcome.FAILED else \
            next_wait(attempts, self.settings.delivery_retry_schedule, result.retry_after)
        if wait is None:
            if result.outcome is Outcome.RETRY:
                reason = f"gave up after {attempts} attempts; last: {reason}"
            await self._finish(delivery, DeliveryState.FAILED, result.status, reason, attempts)
            await self._count_failure(subscription, destination, reason)
            return
        await self.save(delivery.model_copy(update={
            "state": DeliveryState.RETRYING, "attempts": attempts, "last_status": result.status,
            "reason": reason, "next_attempt_at": now + timedelta(seconds=wait), "updated_at": now}))

    async def _finish(self, delivery: Delivery, state: DeliveryState, status: int | None,
                      reason: str | None, attempts: int | None = None) -> None:
        final = delivery.model_copy(update={
            "state": state, "last_status": status, "reason": reason, "next_attempt_at": None,
            "attempts": delivery.attempts if attempts is None else attempts, "updated_at": self.clock()})
        await self.save(final)
        if state is DeliveryState.FAILED:
            letter = DeadLetter.for_payload(
                final.to_bytes(), stage=Stage.DELIVERY, error=reason or "failed",
                error_type=f"{delivery.channel.title()}DeliveryFailed",
                article_id=final.alert.article_id if final.alert else None)
            await self.dead_letters.send(letter)

    async def _count_failure(self, subscription: Subscription, destination: Destination,
                             reason: str) -> None:
        health = self.endpoint(subscription, destination)
        failures = health.consecutive_failures + 1
        disabled = None
        if failures >= self.settings.delivery_disable_after:
            disabled = f"{failures} alerts in a row could not be delivered; last: {reason}"
        await self.save(health.model_copy(update={"consecutive_failures": failures,
                                                  "disabled_reason": disabled, "updated_at": self.clock()}))

    async def _disable(self, subscription: Subscription, destination: Destination, reason: str) -> None:
        health = self.endpoint(subscription, destination)
        await self.save(health.model_copy(update={"disabled_reason": reason, "updated_at": self.clock()}))

    # -- digests ---------------------------------------------------------------------------
    async def send_digests(self, now: datetime) -> None:
        """Queued alerts whose hour (or day) is over go out as one delivery per destination.
        The digest's id comes from the subscription, the destination and the period, so a
        restart makes the same one."""
        for endpoint, queue in list(self.queued.items()):
            if not queue:
                del self.queued[endpoint]
                continue
            first = min(queue.values(), key=lambda d: d.created_at)
            subscription = self.subscriptions.get(first.subscription_id)
            destination = subscription.destination(first.destination_id) if subscription else None
            if subscription is None or destination is None:
                what = "the subscription was deleted" if subscription is None else \
                    "this destination was removed"
                for member in list(queue.values()):  # its owner's doing: no dead letter
                    if self.owned(member.owner):
                        await self.save(member.model_copy(update={
                            "state": DeliveryState.FAILED, "updated_at": now,
                            "reason": f"{what} before its digest went out"}))
                continue
            if not self.owned(first.owner):
                continue
            period = DIGEST_SECONDS.get(subscription.digest, 3600)
            start = int(first.created_at.timestamp()) // period * period
            if now.timestamp() < start + period:
                continue
            members = sorted((d for d in queue.values() if d.created_at.timestamp() < start + period),
                             key=lambda d: d.message_id)
            digest_id = "dg_" + short_hash(first.subscription_id, first.destination_id, str(start))
            digest = Delivery(delivery_id=delivery_key(digest_id, first.destination_id),
                              message_id=digest_id, destination_id=first.destination_id,
                              channel=first.channel, subscription_id=first.subscription_id,
                              owner=first.owner, state=DeliveryState.PENDING,
                              digest_of=[m.message_id for m in members],
                              digest_alerts=[m.alert for m in members if m.alert is not None],
                              next_attempt_at=now, generation=destination.generation,
                              created_at=now, updated_at=now)
            await self.save(digest)
            for member in members:
                await self.save(member.model_copy(update={
                    "state": DeliveryState.DIGESTED, "digest_id": digest_id, "updated_at": now}))
            self.wake.set()
