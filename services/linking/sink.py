"""The linker's sink: each decision recorded in `news.links` before its article goes on, and
the hand-over when the group moves the partition (see `__main__` for why one linker works)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka import ConsumerRebalanceListener
from aiokafka.errors import KafkaError

from services.linking.link import Linker
from services.linking.memory import Memory
from shared.contracts.messages import LinkRecord
from shared.contracts.topology import Stage, Topic, spec, topic_name
from shared.runtime.dead_letters import InvalidMessage
from shared.runtime.retry import backoff, sleep_unless_stopped
from shared.runtime.stage import Decoded, Outcome, TopicSink
from shared.runtime.tables import TopicFollower
from shared.settings import Settings, get_settings

log = logging.getLogger("services.linking")


class CatchUpOnAssignment(ConsumerRebalanceListener):
    """Assigned: catch up with the table first. Revoked: wait for the decisions in flight to
    be recorded and forget what was read but not decided, so that two linkers never decide at
    once (the group gives the partition to the next one only after this returns)."""

    def __init__(self, follower: TopicFollower, sink: LinkSink) -> None:
        self.follower = follower
        self.sink = sink

    async def on_partitions_revoked(self, revoked: Any) -> None:
        if revoked:
            await self.sink.hand_over()

    async def on_partitions_assigned(self, assigned: Any) -> None:
        if assigned:
            await self.follower.catch_up()
            log.info("linking: partition assigned; memory caught up with %s", self.follower.name)


class LinkSink:
    def __init__(self, settings: Settings, producer: Any, linker: Linker,
                 follower: TopicFollower) -> None:
        self.linker = linker
        self.follower = follower
        self.producer = producer
        self.links = topic_name(settings, Topic.LINKS)
        self.out = TopicSink(spec(Stage.LINKING), settings, None, producer)

        # Held while deciding; a revocation takes it, then moves `generation` on, so whatever
        # was read before it is dropped, not decided (services/linking/order.py).
        self.deciding = asyncio.Lock()
        self.generation = 0

    async def hand_over(self) -> None:
        async with self.deciding:
            self.generation += 1
            log.info("linking: partition revoked; what was read and not decided is dropped")

    async def close(self) -> None:
        await self.follower.stop()

    async def write(self, batch: list[Decoded], stop: asyncio.Event) -> list[Outcome]:
        outcomes: list[Outcome] = []
        linked: list[Decoded] = []
        records: list[LinkRecord] = []
        for item in batch:
            try:
                article, record = self.linker.link(item.message)
            except Exception as exc:  # pure code on this message: the message's fault
                outcomes.append(InvalidMessage(str(exc) or repr(exc), type(exc).__name__))
                continue
            outcomes.append(None)
            linked.append(Decoded(item.record, article))
            records.append(record)
        await self._record(records, stop)
        sent = iter(await self.out.write(linked, stop))
        return [outcome if outcome is not None else next(sent) for outcome in outcomes]

    async def _record(self, records: list[LinkRecord], stop: asyncio.Event) -> None:
        """Every decision acknowledged by the table before any article goes on, in decision
        order (a successor replays them in that order); retried through broker outages from
        the first that failed on (the idempotent producer lets none after a failed one land
        before it), while the batch stays uncommitted."""
        pending = records
        attempt = 0
        while pending:
            deliveries = []
            try:
                for record in pending:
                    deliveries.append(await self.producer.send(
                        self.links, record.to_bytes(), key=record.article_id.encode()))
            except KafkaError as exc:
                log.warning("linking: a decision could not be sent (%s); again", exc)
            recorded = 0
            for delivery in deliveries:
                try:
                    await delivery
                except KafkaError as exc:
                    log.warning("linking: a decision was not recorded (%s); again", exc)
                    break
                recorded += 1
            pending = pending[recorded:]
            if pending:
                attempt += 1
                await sleep_unless_stopped(stop, backoff(attempt))


async def make_sink(producer: Any, consumer: Any) -> LinkSink:
    settings = get_settings()
    memory = Memory()

    def apply(record: Any) -> None:
        if record.value is not None:
            memory.remember(LinkRecord.model_validate_json(record.value))

    follower = TopicFollower(settings, Topic.LINKS, apply)
    await follower.start()
    sink = LinkSink(settings, producer, Linker(memory), follower)
    consumer.subscribe([topic_name(settings, Topic.ANALYSED)], listener=CatchUpOnAssignment(follower, sink))
    return sink
