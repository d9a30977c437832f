"""Webhook delivery: every alert's state lives in `news.deliveries` (a table keyed by alert id),
written before the alert's offset is committed, so a restarted deliverer picks up exactly
where the last one was: what is due is sent, what waits for a retry keeps its time.

- An alert id seen again (a replay, or a later article of the same story) is never delivered
  again.
- Each attempt runs on its own task: a slow or dead receiver delays nobody else.
- 2xx: delivered. 410: the receiver is gone: the endpoint is disabled. Anything else, a
  timeout or a refused address: retried on the schedule (honouring Retry-After); once the
  schedule is exhausted the alert is dead-lettered, and after `webhook_disable_after` such
  alerts in a row the endpoint is disabled; its owner sees why on the subscription.
- Digest subscriptions, and alerts over a subscription's hourly limit, are queued and go out
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
import json
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from services.delivery.schedule import next_wait, parse_retry_after
from services.delivery.signing import webhook_headers
from shared.contracts.alerts import (
    DIGEST_SECONDS,
    AlertEvent,
    ApiKey,
    Delivery,
    DeliveryState,
    EndpointHealth,
    Subscription,
    short_hash,
)
from shared.contracts.messages import DeadLetter, utcnow
from shared.contracts.topology import Stage, Topic, topic_name
from shared.http.outbound import OutboundPolicy, RefusedAddress
from shared.runtime.dead_letters import DeadLetterSender
from shared.runtime.metrics import WEBHOOK_ATTEMPTS, WEBHOOK_SECONDS
from shared.runtime.retry import until_acknowledged
from shared.runtime.sealing import Sealer
from shared.runtime.tables import Table
from shared.settings import Settings

log = logging.getLogger(__name__)

WAITING = (DeliveryState.PENDING, DeliveryState.RETRYING)
PER_ENDPOINT = 8  # attempts in flight to one subscription's endpoint at once
# States of alerts that went (or go) out on their own: what the hourly limit counts.
SENT_ALONE = (DeliveryState.PENDING, DeliveryState.RETRYING, DeliveryState.DELIVERED,
              DeliveryState.FAILED)
IN_FLIGHT = (*WAITING, DeliveryState.QUEUED)
# Alert ids remembered to drop a repeat (a replay after a restart repeats the last uncommitted
# batches, a later article of a story repeats its alert id within hours).
RECENT_IDS = 200_000


def in_flight(value: Any) -> bool:
    return isinstance(value, Delivery) and value.state in IN_FLIGHT


class Deliverer:
    def __init__(self, settings: Settings, producer: Any, subscriptions: Table[Subscription],
                 deliveries: Table[Delivery], session: aiohttp.ClientSession,
                 owned: Callable[[str], bool] = lambda owner: True,
                 clock: Callable[[], datetime] = utcnow, keys: Table[ApiKey] | None = None,
                 endpoints: Table[EndpointHealth] | None = None) -> None:
        self.settings = settings
        self.producer = producer
        self.subscriptions = subscriptions
        self.keys = keys  # a revoked owner's alerts are not delivered
        self.sealer = Sealer(settings)
        self.endpoints = endpoints or Table(settings, Topic.ENDPOINTS, EndpointHealth)
        self.deliveries = deliveries
        self.deliveries.keep = in_flight
        self.session = session
        self.owned = owned  # does this worker own the owner's partition (and so its retries)?
        self.clock = clock
        self.policy = OutboundPolicy(settings.outbound_allow, settings.webhook_timeout_seconds)
        self.dead_letters = DeadLetterSender(producer, settings)
        self.waiting: dict[str, Delivery] = {}
        # (when, id) of waiting rows, earliest first; entries a later change made stale are
        # skipped when they come up.
        self.due: list[tuple[datetime, str]] = []
        self.queued: dict[str, dict[str, Delivery]] = {}
        self.queued_in: dict[str, str] = {}  # alert id → the subscription it is queued for
        self.sent_times: dict[str, deque[datetime]] = {}  # per subscription, oldest first
        self.recent: OrderedDict[str, None] = OrderedDict()  # alert ids seen, oldest first
        self.in_flight: set[str] = set()
        self.per_subscription: dict[str, int] = {}  # attempts in flight per endpoint
        self.wake = asyncio.Event()
        self.slots = asyncio.Semaphore(settings.webhook_concurrency)
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

    def _on_change(self, key: str, value: Any) -> None:
        if isinstance(value, Delivery) and value.alert is not None and key not in self.recent:
            self.recent[key] = None
            if len(self.recent) > RECENT_IDS:
                self.recent.popitem(last=False)
            if value.state in SENT_ALONE and value.created_at > self.clock() - timedelta(hours=1):
                self.sent_times.setdefault(value.subscription_id, deque()).append(value.created_at)
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
            self.queued_in[key] = value.subscription_id
            self.queued.setdefault(value.subscription_id, {})[key] = value

    def _sent_in_last_hour(self, subscription_id: str, now: datetime) -> int:
        times = self.sent_times.setdefault(subscription_id, deque())
        while times and times[0] <= now - timedelta(hours=1):
            times.popleft()
        return len(times)

    # -- accepting alerts (the stage's sink calls this before committing) --------------------
    async def accept_all(self, events: list[AlertEvent], stop: asyncio.Event | None = None) -> None:
        """Records the first state of each new alert; every row is acknowledged by the broker
        before this returns (so before the offsets are committed). Rows are sent together,
        not one round trip each: one article can match hundreds of subscriptions. A broker
        outage is waited out (Stopping when asked to stop: the batch is then replayed)."""
        rows = [row for row in map(self.first_state, events) if row is not None]
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

    def first_state(self, event: AlertEvent) -> Delivery | None:
        """The new alert's delivery row, applied to the table at once (a repeat in the same
        batch then sees it); None when there is nothing to deliver."""
        if event.alert_id in self.deliveries.rows or event.alert_id in self.recent:
            # A replay, or a later article of the story: delivered once. (The API counts the
            # story's updates from news.alerts; this row has one writer at a time, the attempt.)
            return None
        subscription = self.subscriptions.get(event.subscription_id)
        if subscription is None or not subscription.active or subscription.webhook_url is None \
                or self.revoked(subscription.owner):
            # Deleted or paused since it matched, or stream and feed only: the alert is in
            # the history, the stream and the feed, with nothing to deliver.
            return None
        now = self.clock()
        state, reason = self._first_state(subscription, now)
        row = Delivery(
            delivery_id=event.alert_id, subscription_id=event.subscription_id, owner=event.owner,
            state=state, alert=event, reason=reason, webhook_generation=subscription.webhook_generation,
            next_attempt_at=now if state is DeliveryState.PENDING else None, created_at=now,
            updated_at=now)
        self.deliveries.apply(row.delivery_id, row)
        return row

    def _first_state(self, subscription: Subscription, now: datetime) -> tuple[DeliveryState, str | None]:
        disabled = self.disabled_reason(subscription)
        if disabled:
            return DeliveryState.FAILED, f"endpoint disabled: {disabled}"
        if subscription.digest != "immediate":
            return DeliveryState.QUEUED, f"{subscription.digest} digest"
        if self._sent_in_last_hour(subscription.subscription_id, now) >= subscription.max_alerts_per_hour:
            return DeliveryState.QUEUED, (f"over {subscription.max_alerts_per_hour} alerts an hour: "
                                          "rolled into the hourly digest")
        return DeliveryState.PENDING, None

    def revoked(self, owner: str) -> bool:
        if self.keys is None:
            return False
        record = self.keys.get(owner)  # absent: not seen yet (keys are revoked, never deleted)
        return record is not None and record.revoked_at is not None

    def endpoint(self, subscription: Subscription) -> EndpointHealth:
        found = self.endpoints.get(subscription.subscription_id)
        if found is not None and found.webhook_generation == subscription.webhook_generation:
            return found
        return EndpointHealth(subscription_id=subscription.subscription_id,
                              webhook_generation=subscription.webhook_generation)

    def disabled_reason(self, subscription: Subscription) -> str | None:
        return self.endpoint(subscription).disabled_reason

    async def save(self, value: Delivery | EndpointHealth) -> None:
        """Applies the row here at once and queues it for the broker without waiting for the
        acknowledgement: an attempt's outcome lost in a crash only means the alert is sent
        again, under the same webhook-id, which is what the receiver deduplicates on anyway.
        (The first row of an alert is different: `accept_all` waits for it before the commit.)"""
        if isinstance(value, Delivery):
            key, topic = value.delivery_id, Topic.DELIVERIES
            self.deliveries.apply(key, value)
        else:
            key, topic = value.subscription_id, Topic.ENDPOINTS
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
                busy = self.per_subscription.get(delivery.subscription_id, 0) >= PER_ENDPOINT
                if busy or not self.owned(delivery.owner):
                    # Its endpoint has enough attempts going (a slow receiver takes no more
                    # than its share of the slots), or its partition is another worker's:
                    # look again in a moment.
                    parked.append((when, key))
                    parked_until = now + timedelta(seconds=0.2 if busy else 1)
                    continue
                self.in_flight.add(key)
                self.per_subscription[delivery.subscription_id] = \
                    self.per_subscription.get(delivery.subscription_id, 0) + 1
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
            self.per_subscription[delivery.subscription_id] -= 1
            self.wake.set()

    def payload(self, delivery: Delivery, subscription: Subscription, at: datetime) -> str:
        about = {"subscription_id": subscription.subscription_id, "subscription_name": subscription.name,
                 "query": subscription.query}
        if delivery.alert is not None:
            data = {**about, **delivery.alert.model_dump(mode="json", exclude={"owner"})}
            kind = "alert.created"
        else:
            data = {**about, "alerts": [a.model_dump(mode="json", exclude={"owner"})
                                        for a in delivery.digest_alerts]}
            kind = "alert.digest"
        return json.dumps({"type": kind, "timestamp": at.isoformat(), "data": data})

    async def attempt(self, delivery: Delivery) -> None:
        subscription = self.subscriptions.get(delivery.subscription_id)
        now = self.clock()
        if subscription is None or subscription.webhook_url is None:
            await self._finish(delivery, DeliveryState.FAILED, None,
                               "the subscription or its webhook was removed")
            return
        if self.revoked(subscription.owner) or not subscription.active:
            await self._finish(delivery, DeliveryState.FAILED, None, "the subscription was paused "
                               "or its API key revoked before the alert went out")
            return
        disabled = self.disabled_reason(subscription)
        if disabled:
            await self._finish(delivery, DeliveryState.FAILED, None, f"endpoint disabled: {disabled}")
            return
        body = self.payload(delivery, subscription, now)
        headers = webhook_headers(subscription.webhook_secrets, delivery.delivery_id, now, body,
                                  self.sealer.open)
        status: int | None = None
        retry_after: float | None = None
        started = time.perf_counter()
        try:
            answer = await self.policy.post(self.session, subscription.webhook_url, body.encode(),
                                            headers)
            status = answer.status
            retry_after = parse_retry_after(answer.headers.get("Retry-After"), now)
            reason = f"receiver answered {status}"
        except RefusedAddress as exc:
            reason = f"refused: {exc}"
            WEBHOOK_ATTEMPTS.labels("refused").inc()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            WEBHOOK_ATTEMPTS.labels("error").inc()
        attempts = delivery.attempts + 1
        WEBHOOK_SECONDS.observe(time.perf_counter() - started)
        if status is not None:
            WEBHOOK_ATTEMPTS.labels("delivered" if 200 <= status < 300 else "failed").inc()
        if status is not None and 200 <= status < 300:
            await self._finish(delivery, DeliveryState.DELIVERED, status, None, attempts)
            health = self.endpoint(subscription)
            if health.consecutive_failures:
                await self.save(health.model_copy(update={"consecutive_failures": 0, "updated_at": now}))
            return
        if status == 410:
            await self._finish(delivery, DeliveryState.FAILED, status, "receiver answered 410 Gone: "
                               "endpoint disabled", attempts)
            await self._disable(subscription, "the receiver answered 410 Gone")
            return
        wait = next_wait(attempts, self.settings.webhook_retry_schedule, retry_after)
        if wait is None:
            reason = f"gave up after {attempts} attempts; last: {reason}"
            await self._finish(delivery, DeliveryState.FAILED, status, reason, attempts)
            await self._count_failure(subscription, reason)
            return
        await self.save(delivery.model_copy(update={
            "state": DeliveryState.RETRYING, "attempts": attempts, "last_status": status,
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
                error_type="WebhookDeliveryFailed",
                article_id=final.alert.article_id if final.alert else None)
            await self.dead_letters.send(letter)

    async def _count_failure(self, subscription: Subscription, reason: str) -> None:
        health = self.endpoint(subscription)
        failures = health.consecutive_failures + 1
        disabled = None
        if failures >= self.settings.webhook_disable_after:
            disabled = f"{failures} alerts in a row could not be delivered; last: {reason}"
        await self.save(health.model_copy(update={"consecutive_failures": failures,
                                                  "disabled_reason": disabled, "updated_at": self.clock()}))

    async def _disable(self, subscription: Subscription, reason: str) -> None:
        health = self.endpoint(subscription)
        await self.save(health.model_copy(update={"disabled_reason": reason, "updated_at": self.clock()}))

    # -- digests ---------------------------------------------------------------------------
    async def send_digests(self, now: datetime) -> None:
        """Queued alerts whose hour (or day) is over go out as one delivery. The digest's id
        comes from the subscription and the period, so a restart makes the same one."""
        for subscription_id, queue in list(self.queued.items()):
            subscription = self.subscriptions.get(subscription_id)
            if not queue:
                del self.queued[subscription_id]
                continue
            if subscription is None:
                for member in list(queue.values()):  # its owner's doing: no dead letter
                    if self.owned(member.owner):
                        await self.save(member.model_copy(update={
                            "state": DeliveryState.FAILED, "updated_at": now,
                            "reason": "the subscription was deleted before its digest went out"}))
                continue
            first = min(queue.values(), key=lambda d: d.created_at)
            if not self.owned(first.owner):
                continue
            period = DIGEST_SECONDS.get(subscription.digest, 3600)
            start = int(first.created_at.timestamp()) // period * period
            if now.timestamp() < start + period:
                continue
            members = sorted(d.delivery_id for d in queue.values()
                             if d.created_at.timestamp() < start + period)
            alerts = [a for a in (queue[m].alert for m in members) if a is not None]
            digest = Delivery(delivery_id="dg_" + short_hash(subscription_id, str(start)),
                              subscription_id=subscription_id, owner=first.owner,
                              state=DeliveryState.PENDING, digest_of=members, digest_alerts=alerts,
                              next_attempt_at=now,
                              webhook_generation=subscription.webhook_generation, created_at=now,
                              updated_at=now)
            await self.save(digest)
            for alert_id in members:
                queued = queue.get(alert_id)
                if queued is not None:
                    await self.save(queued.model_copy(update={
                        "state": DeliveryState.DIGESTED, "digest_id": digest.delivery_id,
                        "updated_at": now}))
            self.wake.set()
