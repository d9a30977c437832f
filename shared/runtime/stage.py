"""The one stage runtime: read a batch from the stage's input topic, decode it with the topic's
contract, hand it to the stage's sink, dead-letter what is invalid, commit.

    consume (bounded batch) → decode → sink.write → dead letters → commit

A stage is a row of the topology table plus a sink:
- `TopicSink` runs a pure step (`input model → output model`, in a worker thread so the event
  loop keeps heartbeating) and sends each output to the stage's output topic;
- the indexer's bulk sink (services/indexing/sink.py) writes to Elasticsearch.

Offsets are committed only after every message of the batch was acknowledged by its
destination or dead-lettered, so a crash replays at most one batch; article ids are
deterministic and Elasticsearch writes are keyed by them, so a replay never duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError, MessageSizeTooLargeError
from pydantic import BaseModel, ValidationError

from shared.contracts.catalog import MESSAGE_OF_TOPIC
from shared.contracts.headers import headers_for
from shared.contracts.messages import utcnow
from shared.contracts.ops import WorkerHeartbeat
from shared.contracts.topology import StageSpec, Topic, topic_name
from shared.runtime import tasks
from shared.runtime.dead_letters import (
    DeadLetterLimit,
    DeadLetterPolicy,
    DeadLetterSender,
    InvalidMessage,
    Record,
    StageHalted,
    build_dead_letter,
)
from shared.runtime.kafka import check_kafka, ensure_topics, make_consumer, make_producer
from shared.runtime.logs import configure_logging
from shared.runtime.metrics import BATCH_SECONDS, MESSAGES_DEAD_LETTERED, MESSAGES_PROCESSED, serve_metrics
from shared.runtime.preflight import exit_on_problem
from shared.runtime.probes import Probes, in_group
from shared.runtime.retry import Stopping, until_acknowledged
from shared.runtime.security import ConnectionProblem
from shared.settings import Settings, get_settings

log = logging.getLogger(__name__)

EXIT_HALTED = 3


@dataclass
class Decoded:
    record: Record
    message: Any  # the input topic's contract model


# What a sink says of each message: None when it was delivered, else why it is invalid.
Outcome = InvalidMessage | None


class Sink(Protocol):
    async def write(self, batch: list[Decoded], stop: asyncio.Event) -> list[Outcome]:
        """Delivers the batch; returns one outcome per message, in order. Infrastructure errors
        are retried inside; `Stopping` aborts the batch (nothing is committed)."""
        ...


class Consumer(Protocol):
    async def getmany(self, *partitions: TopicPartition, timeout_ms: int = 0,
                      max_records: int | None = None) -> dict[TopicPartition, list[Any]]: ...

    async def commit(self, offsets: dict[TopicPartition, int] | None = None) -> None: ...


@dataclass
class BatchBounds:
    size: int
    max_seconds: float  # how long to wait for a first message
    linger_seconds: float  # after the first, how long to wait for more (0: take what is there)


def latency_bounds(settings: Settings) -> BatchBounds:
    """For stages whose readers wait (alerts): take what is there, never linger for a fuller batch."""
    return BatchBounds(settings.stage_batch_size, 0.5, 0.0)


def _flat(batches: dict[TopicPartition, list[Any]]) -> list[Record]:
    return [record for partition in batches.values() for record in partition]


class StageRuntime:
    def __init__(self, spec: StageSpec, settings: Settings, consumer: Consumer, sink: Sink,
                 dead_letters: DeadLetterSender, bounds: BatchBounds,
                 policy: DeadLetterPolicy | None = None) -> None:
        if spec.reads is None:
            raise ValueError(f"stage {spec.stage} reads no topic")
        self.spec = spec
        self.settings = settings
        self.consumer = consumer
        self.sink = sink
        self.dead_letters = dead_letters
        self.bounds = bounds
        self.policy = policy or DeadLetterPolicy(DeadLetterLimit.from_settings(settings))
        self.model: type[BaseModel] = MESSAGE_OF_TOPIC[spec.reads]
        self.processed = 0
        self.dead_lettered = 0
        self.heartbeat: Callable[[WorkerHeartbeat], Awaitable[Any]] | None = None
        self.started_at = utcnow()
        self.instance = f"{socket.gethostname()}:{os.getpid()}"
        self.metrics_port: int | None = None
        self._turn = 0  # which partition `_fetch` serves first

    def beat(self, stopping: bool = False) -> WorkerHeartbeat:
        assignment = getattr(self.consumer, "assignment", None)
        partitions = sorted(tp.partition for tp in assignment()) if assignment else []
        return WorkerHeartbeat(stage=self.spec.stage, instance=self.instance,
                               group=self.spec.consumer_group(self.settings), partitions=partitions,
                               processed=self.processed, dead_lettered=self.dead_lettered,
                               started_at=self.started_at, stopping=stopping,
                               metrics_port=self.metrics_port, tasks_down=tasks.down())

    async def _beating(self, stop: asyncio.Event) -> None:
        """Says this worker is alive (and which partitions it holds) every few seconds."""
        assert self.heartbeat is not None
        while not stop.is_set():
            try:
                await self.heartbeat(self.beat())
            except KafkaError as exc:
                log.warning("%s: heartbeat not sent: %s", self.spec.stage, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.heartbeat_seconds)

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set; raises StageHalted when the dead-letter limits are crossed."""
        heartbeat = self.heartbeat
        beating = tasks.supervised(f"{self.spec.stage} heartbeat", lambda: self._beating(stop)) \
            if heartbeat else None
        try:
            await self._run(stop)
        finally:
            if beating is not None and heartbeat is not None:
                beating.cancel()
                with contextlib.suppress(asyncio.CancelledError, KafkaError):
                    await beating
                with contextlib.suppress(KafkaError):
                    await heartbeat(self.beat(stopping=True))

    async def _run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            records = await self.collect(stop)
            if not records:
                continue
            started = time.perf_counter()
            try:
                await self.handle(records, stop)
            except Stopping:
                log.info("%s: stopping with a batch of %d uncommitted (it will be replayed)",
                         self.spec.stage, len(records))
                return
            await self.commit(records)
            BATCH_SECONDS.labels(self.spec.stage.value).observe(time.perf_counter() - started)

    async def collect(self, stop: asyncio.Event) -> list[Record]:
        """Waits for a first message, then lingers briefly for more: a lone article goes at
        once, a burst fills batches."""
        records: list[Record] = []
        deadline = time.monotonic() + self.bounds.max_seconds
        while len(records) < self.bounds.size and not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            wait = remaining if not records else min(remaining, self.bounds.linger_seconds)
            fetched = await self._fetch(wait, self.bounds.size - len(records))
            if records and not fetched:
                break  # nothing more is arriving right now
            records.extend(fetched)
            if fetched and self.bounds.linger_seconds == 0:
                break
        return records

    async def _fetch(self, wait: float, wanted: int) -> list[Record]:
        """Up to `wanted` records, a fair share from each assigned partition. aiokafka serves
        the first partition with buffered records until it is drained, so with a backlog one
        partition would be read to its end before the next is started: the other partitions'
        articles would wait minutes, and the linker's watermark with them."""
        assignment = getattr(self.consumer, "assignment", None)
        partitions = sorted(assignment()) if assignment is not None else []
        if len(partitions) < 2:
            return _flat(await self.consumer.getmany(timeout_ms=int(wait * 1000), max_records=wanted))
        share = max(1, wanted // len(partitions))
        self._turn = (self._turn + 1) % len(partitions)
        fetched: list[Record] = []
        for tp in partitions[self._turn:] + partitions[:self._turn]:  # what is buffered already
            fetched += _flat(await self.consumer.getmany(tp, timeout_ms=0, max_records=share))
        if fetched or wait <= 0:
            return fetched
        return _flat(await self.consumer.getmany(timeout_ms=int(wait * 1000), max_records=share))

    async def handle(self, records: list[Record], stop: asyncio.Event) -> None:
        decoded: list[Decoded] = []
        for record in records:
            try:
                decoded.append(Decoded(record, self.decode(record)))
            except InvalidMessage as exc:
                await self.reject(record, exc, stop=stop)
        outcomes = await self.sink.write(decoded, stop) if decoded else []
        for item, outcome in zip(decoded, outcomes, strict=True):
            if outcome is None:
                self.policy.record_valid()
                self.processed += 1
                MESSAGES_PROCESSED.labels(self.spec.stage.value).inc()
            else:
                await self.reject(item.record, outcome,
                                  getattr(item.message, "article_id", None), stop)

    def decode(self, record: Record) -> BaseModel:
        if not record.value:
            raise InvalidMessage("empty message", "DecodeError")
        stage, _, marker = self.settings.inject_failure.partition(":")
        if stage == self.spec.stage and marker and marker.encode() in record.value:
            raise InvalidMessage(f"injected failure: the message contains {marker!r}", "InjectedFailure")
        try:
            return self.model.model_validate_json(record.value)
        except ValidationError as exc:
            raise InvalidMessage(f"not a valid {self.model.__name__}: {exc}", "DecodeError") from exc

    async def reject(self, record: Record, error: InvalidMessage, article_id: str | None = None,
                     stop: asyncio.Event | None = None) -> None:
        self.policy.record_invalid(error)  # may raise StageHalted: then nothing is committed
        letter = build_dead_letter(record, self.spec.stage, error, article_id)
        await self.dead_letters.send(letter, record.headers, stop)
        self.dead_lettered += 1
        MESSAGES_DEAD_LETTERED.labels(self.spec.stage.value, letter.error_type).inc()

    async def commit(self, records: Sequence[Record]) -> None:
        offsets: dict[TopicPartition, int] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            offsets[tp] = max(offsets.get(tp, 0), record.offset + 1)
        await self.commit_offsets(offsets)

    async def commit_offsets(self, offsets: dict[TopicPartition, int]) -> None:
        """Commits the next offset to read of each partition, for the partitions still ours."""
        assignment = getattr(self.consumer, "assignment", None)
        if assignment is not None:
            # A rebalance during the batch may have given some partitions to another worker:
            # their offsets are not ours to commit any more (the new owner replays from the
            # last commit, rewriting the same outputs under the same ids).
            owned = assignment()
            moved = [tp for tp in offsets if tp not in owned]
            if moved:
                log.info("%s: %d partition(s) moved during the batch; their new owner replays it",
                         self.spec.stage, len(moved))
            offsets = {tp: offset for tp, offset in offsets.items() if tp in owned}
        if not offsets:
            return
        try:
            await self.consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # The group rebalanced while committing: as above, the new owner replays.
            log.warning("%s: offset commit failed after a rebalance: %s", self.spec.stage, exc)


# An output ready to send: key, value, headers.
Encoded = tuple[bytes, bytes, Any]

# A step's output: one message, or several (the matcher: one alert per matching subscription).
Step = Callable[[Any], BaseModel | Sequence[BaseModel]]


def _article_key(output: Any) -> bytes:
    return str(output.article_id).encode()


class TopicSink:
    """Runs a pure step on each message and sends its outputs to the stage's output topic,
    keyed by `key_of(output)` (the article id unless told otherwise).

    `isolated`, when given, runs first, in a child process within the stage's time budget
    (shared/runtime/budget.py): the stage's NLP. `step`, when given, then runs in a worker
    thread, so the event loop keeps heartbeating (extraction has none: its child's result is
    the output). Any exception of either is the message's: they touch no
    broker, no index and no settings, so what fails in them is this input (the policy's limits
    catch a broken step).

    Every output is checked against the broker's message limit before it is sent: one too
    large is trimmed by its contract's rule (`Message.to_bytes_within`) or, when even that
    does not fit, dead-lettered. A broker error while sending is an outage: the send is
    retried until it succeeds.
    """

    def __init__(self, spec: StageSpec, settings: Settings, step: Step | None, producer: Any,
                 key_of: Callable[[Any], bytes] = _article_key,
                 isolated: Callable[[Any], Awaitable[Any]] | None = None) -> None:
        if not isinstance(spec.writes, Topic):
            raise ValueError(f"stage {spec.stage} does not write a topic")
        self.spec = spec
        self.step = step
        self.isolated = isolated
        self.producer = producer
        self.key_of = key_of
        self.topic = topic_name(settings, spec.writes)
        self.max_bytes = settings.max_message_bytes

    async def close(self) -> None:
        close = getattr(self.isolated, "close", None)
        if close is not None:
            await close()

    async def write(self, batch: list[Decoded], stop: asyncio.Event) -> list[Outcome]:
        outcomes: list[Outcome] = []
        sent: list[tuple[int, tuple[Encoded, Awaitable[Any]]]] = []
        for item in batch:
            try:
                encoded = [self._encode(output, item.record.headers) for output in await self.outputs(item)]
            except InvalidMessage as exc:
                outcomes.append(exc)
                continue
            except Exception as exc:  # the message's fault: see the class docstring
                outcomes.append(InvalidMessage(str(exc) or repr(exc), type(exc).__name__))
                continue
            outcomes.append(None)
            for data in encoded:
                sent.append((len(outcomes) - 1, await self._send(data, stop)))
        for index, delivery in sent:
            outcome = await self._acknowledged(delivery, stop)
            outcomes[index] = outcomes[index] or outcome
        return outcomes

    async def outputs(self, item: Decoded) -> list[BaseModel]:
        """What one input gives (a sink whose step needs the record's place overrides this)."""
        prepared = await self.isolated(item.message) if self.isolated else item.message
        result = prepared if self.step is None else await asyncio.to_thread(self.step, prepared)
        return [result] if isinstance(result, BaseModel) else list(result)

    def _encode(self, output: Any, inbound: Any = None) -> Encoded:
        data = output.to_bytes_within(self.max_bytes)
        if data is None:
            raise InvalidMessage(
                f"the {self.spec.stage} output is {len(output.to_bytes())} bytes, over the "
                f"broker message limit of {self.max_bytes} (NEWSFLOW_MAX_MESSAGE_BYTES) even "
                f"without {', '.join(output.TRIMMABLE) or 'anything'}", "MessageSizeTooLarge")
        if getattr(output, "trimmed", None):
            log.warning("%s: article %s trimmed to fit a broker message: %s", self.spec.stage,
                        output.article_id, ", ".join(output.trimmed))
        headers = headers_for(output.article_id, output.submitted_at, self.spec.stage, inbound)
        return self.key_of(output), data, headers

    async def _send(self, encoded: Encoded, stop: asyncio.Event) -> tuple[Encoded, Awaitable[Any]]:
        """Queues the output (the broker's acknowledgement is awaited after the whole batch)."""
        key, data, headers = encoded
        async for attempt in until_acknowledged(f"{self.spec.stage}: send", stop):
            with attempt:
                try:
                    return encoded, await self.producer.send(self.topic, data, key=key, headers=headers)
                except MessageSizeTooLargeError:
                    return encoded, _failed(MessageSizeTooLargeError())
        raise AssertionError("unreachable: the policy retries until it succeeds")

    async def _acknowledged(self, queued: tuple[Encoded, Awaitable[Any]], stop: asyncio.Event) -> Outcome:
        encoded, delivery = queued
        async for attempt in until_acknowledged(f"{self.spec.stage}: delivery", stop):
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    _, delivery = await self._send(encoded, stop)  # sent again
                try:
                    await delivery
                    return None
                except MessageSizeTooLargeError:
                    return InvalidMessage(f"the {self.spec.stage} output is larger than the broker "
                                          f"accepts ({len(encoded[1])} bytes)", "MessageSizeTooLarge")
        raise AssertionError("unreachable: the policy retries until it succeeds")


def _failed(error: BaseException) -> Awaitable[Any]:
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    future.set_exception(error)
    return future


def run_stage(spec: StageSpec, make_sink: Callable[[Any, Any], Awaitable[Sink]],
              bounds: BatchBounds | Callable[[Settings], BatchBounds] | None = None,
              settings: Settings | None = None,
              runtime_class: type[StageRuntime] = StageRuntime) -> None:
    """`python -m services.<stage>`: runs the stage until SIGTERM/SIGINT; exits 3 when halted
    by the dead-letter limits. `make_sink(producer, consumer)` builds the stage's sink (the
    consumer tells which partitions are this worker's); a sink's `close()`, if it has one,
    runs at shutdown. `bounds` (or a function making them from the settings) sizes the batches.
    `runtime_class` replaces the batch loop (the linker's orders its input). The settings are
    read here, when the process starts: a stage module reads none at import."""
    settings = settings or get_settings()
    configure_logging(settings.log_format)
    if callable(bounds):
        bounds = bounds(settings)
    bounds = bounds or BatchBounds(settings.stage_batch_size, 1.0, 0.0)

    async def main() -> None:
        await check_kafka(settings)
        await ensure_topics(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        producer = make_producer(settings)
        consumer = make_consumer(settings, spec)
        # Probes answer from the start: alive while the sink catches up (the linker rebuilds its
        # memory, the deliverer its tables), ready once the consumer is in its group.
        probes = Probes()
        probes.ready_check = lambda: in_group(consumer)
        ticking = tasks.supervised(f"{spec.stage} probes", probes.ticking)
        metrics_port = serve_metrics(settings, spec, probes)
        await producer.start()
        sink: Any = None
        try:
            sink = await make_sink(producer, consumer)
            await consumer.start()
            runtime = runtime_class(spec, settings, consumer, sink,
                                    DeadLetterSender(producer, settings), bounds)
            heartbeats = topic_name(settings, Topic.HEARTBEATS)

            async def heartbeat(beat: WorkerHeartbeat) -> None:
                await producer.send(heartbeats, beat.to_bytes(),
                                    key=f"{beat.stage}/{beat.instance}".encode())

            runtime.heartbeat = heartbeat
            runtime.metrics_port = metrics_port
            log.info("%s: reading %s, writing %s", spec.stage, spec.reads, spec.writes)
            await runtime.run(stop)
        finally:
            probes.stopping = True
            ticking.cancel()
            await consumer.stop()
            if hasattr(sink, "close"):
                await sink.close()
            await producer.stop()

    try:
        asyncio.run(main())
    except ConnectionProblem as problem:
        exit_on_problem(problem)
    except StageHalted as exc:
        log.critical("%s halted by the dead-letter policy: %s", spec.stage, exc)
        sys.exit(EXIT_HALTED)
