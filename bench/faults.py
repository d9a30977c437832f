"""The fault suite: a steady load of distinct articles while, in turn, each worker is killed with
SIGKILL (its supervisor restarts it), the broker is restarted, the broker is SIGKILLed and held
down, Elasticsearch is stopped, and the index is write-blocked. With --brokers 3 (a three-node
KRaft cluster, topics with RF 3 and min.insync.replicas 2), the broker faults are instead: one
broker of three SIGKILLed and held down, and a rolling restart of all three, one at a time.

    .venv/bin/python -m bench.faults [--brokers 3] [--rate 4] [--hold 60] [--block 40] [--only NAME ...]

Runs every service supervised (deploy/local/supervise.py) in a namespace of its own. For each
fault prints: articles accepted, lost (accepted but never indexed), extra rewrites (index
versions beyond the first), dead-lettered, the longest gap between two indexed articles, and the
drain time (from the end of the load until the last article is indexed), and the services that
did not come back (halted). Goal: 0 lost, 0 dead-lettered and 0 halted for every fault.

It stops and starts the shared local broker and node: run it alone on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.local import start_namespace
from deploy.local.processes import StackError, wait_until
from deploy.local.services import Services, drop_namespace
from deploy.local.stack import Stack
from shared.contracts.topology import Topic, topic_name
from shared.runtime.elasticsearch import make_client
from shared.runtime.kafka import make_reader
from shared.settings import Settings, get_settings
from shared.text.dates import parse_iso

WORKERS = ("extraction", "enrichment", "linking", "indexing", "alerts", "delivery")


@dataclass
class Outcome:
    fault: str
    accepted: int
    lost: int
    rewrites: int
    dead_lettered: int
    longest_gap: float
    drain: float
    halted: list[str] = field(default_factory=list)


async def load(ingest: httpx.AsyncClient, prefix: str, rate: float, stop: asyncio.Event) -> list[str]:
    """Distinct articles at `rate` a second until `stop`; each is retried until accepted (a
    503 while the broker is down is the API doing its job), so what is lost is the pipeline's."""
    accepted: list[str] = []
    n = 0
    while not stop.is_set():
        started = time.monotonic()
        payload = {"format": "text", "url": f"{prefix}{n}", "source": {"name": "faults"},
                   "content": f"Fault drill {n}\nArticle {n} of the drill in Faultville, "
                              f"filed at {time.time():.3f} by the fault suite."}
        while True:
            try:
                response = await ingest.post("/articles", json=payload)
                if response.status_code == 202:
                    accepted.append(response.json()["article_id"])
                    break
            except httpx.HTTPError:
                pass
            await asyncio.sleep(1.0)
        n += 1
        await asyncio.sleep(max(0.0, 1 / rate - (time.monotonic() - started)))
    return accepted


async def indexed(settings: Settings, prefix: str) -> list[dict[str, Any]]:
    es = make_client(settings)
    try:
        await es.indices.refresh(index=settings.index_alias)
        response = await es.search(index=settings.index_alias, size=10_000, version=True,
                                   query={"prefix": {"url": prefix}},
                                   source_includes=["indexed_at", "article_id"])
        return [{"id": h["_id"], "version": h["_version"], "at": h["_source"].get("indexed_at")}
                for h in response["hits"]["hits"]]
    finally:
        await es.close()


async def dead_lettered(settings: Settings, ids: set[str]) -> int:
    consumer = make_reader(settings, topic_name(settings, Topic.DEAD_LETTER), auto_offset_reset="earliest")
    await consumer.start()
    count = 0
    try:
        while batch := await consumer.getmany(timeout_ms=2000):
            for records in batch.values():
                count += sum(1 for r in records if r.value and json.loads(r.value).get("article_id") in ids)
    finally:
        await consumer.stop()
    return count


def _seconds(at: str) -> float:
    return parse_iso(at).timestamp()


async def run_fault(settings: Settings, name: str, inject: Callable[[], Awaitable[None]],
                    rate: float) -> Outcome:
    prefix = f"https://faults.invalid/{uuid.uuid4().hex[:8]}/"
    stop = asyncio.Event()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.ingest_port}",
                                 timeout=30) as ingest:
        loading = asyncio.create_task(load(ingest, prefix, rate, stop))
        await asyncio.sleep(10)
        await inject()
        await asyncio.sleep(10)
        stop.set()
        accepted = set(await loading)
    ended = time.monotonic()
    docs: list[dict[str, Any]] = []
    while time.monotonic() - ended < 300:
        with contextlib.suppress(Exception):
            docs = await indexed(settings, prefix)
        if len({d["id"] for d in docs} & accepted) >= len(accepted):
            break
        await asyncio.sleep(1.0)
    drain = time.monotonic() - ended
    times = sorted(_seconds(d["at"]) for d in docs if d["at"])
    gaps = [b - a for a, b in itertools.pairwise(times)]
    return Outcome(name, len(accepted), len(accepted - {d["id"] for d in docs}),
                   sum(d["version"] - 1 for d in docs), await dead_lettered(settings, accepted),
                   max(gaps, default=0.0), drain)


def faults(settings: Settings, services: Services, stack: Stack, hold: float,
           block: float) -> list[tuple[str, Callable[[], Awaitable[None]]]]:
    def crash(worker: str) -> Callable[[], Awaitable[None]]:
        async def inject() -> None:
            if services.processes[worker].crash() is None:
                raise RuntimeError(f"{worker} is not running under its supervisor")
        return inject

    async def restart_broker() -> None:
        await asyncio.to_thread(stack.kafka.stop)
        await asyncio.to_thread(stack.up)

    async def kill_broker() -> None:
        await asyncio.to_thread(stack.kafka.kill)
        await asyncio.sleep(hold)
        await asyncio.to_thread(stack.up)

    async def kill_one_broker() -> None:
        victim = stack.kafkas[-1]
        await asyncio.to_thread(victim.kill)
        await asyncio.sleep(hold)
        await asyncio.to_thread(stack.up)

    async def rolling_restart() -> None:
        for node in stack.kafkas:  # each back in the cluster's metadata before the next goes
            await asyncio.to_thread(node.stop)
            await asyncio.to_thread(stack.up)

    async def stop_es() -> None:
        await asyncio.to_thread(stack.es.stop)
        await asyncio.sleep(hold)
        await asyncio.to_thread(stack.up)

    async def write_block() -> None:
        es = make_client(settings)
        try:
            await es.indices.put_settings(index=settings.index_alias,
                                          settings={"index.blocks.write": True})
            await asyncio.sleep(block)
            await es.indices.put_settings(index=settings.index_alias,
                                          settings={"index.blocks.write": False})
        finally:
            await es.close()

    count = len(stack.kafkas)
    brokers = [("broker restarted", restart_broker), (f"broker SIGKILLed, down {hold:.0f}s", kill_broker)] \
        if count == 1 else [(f"1 of {count} brokers SIGKILLed, down {hold:.0f}s", kill_one_broker),
                            (f"rolling restart of {count} brokers", rolling_restart)]
    return [*((f"SIGKILL {w}", crash(w)) for w in WORKERS), *brokers,
            (f"Elasticsearch stopped {hold:.0f}s", stop_es), (f"index write block {block:.0f}s", write_block)]


async def run(args: argparse.Namespace) -> None:
    stack = Stack(get_settings(), brokers=args.brokers)
    settings, services = await start_namespace("faults", supervised=True, stack=stack)
    services.up()
    results: list[Outcome] = []
    try:
        for name, inject in faults(settings, services, stack, args.hold, args.block):
            if args.only and not any(word in name for word in args.only):
                continue
            outcome = await run_fault(settings, name, inject, args.rate)
            outcome.halted = await asyncio.to_thread(_not_back, services)
            results.append(outcome)
            print(f"{name}: {outcome}", flush=True)
    finally:
        services.down()
        await drop_namespace(settings)
    print(f"\n{'fault':36} {'accepted':>8} {'lost':>5} {'rewrites':>8} {'dead':>5} "
          f"{'longest gap s':>13} {'drain s':>8} halted")
    for o in results:
        print(f"{o.fault:36} {o.accepted:8} {o.lost:5} {o.rewrites:8} {o.dead_lettered:5} "
              f"{o.longest_gap:13.1f} {o.drain:8.1f} {', '.join(o.halted) or 0}")


def _not_back(services: Services, timeout: float = 120.0) -> list[str]:
    """The services not running again `timeout` seconds after a fault (none, we hope)."""
    with contextlib.suppress(StackError):
        wait_until(lambda: all(p.running() for p in services.processes.values()), timeout, "services")
    return [name for name, p in services.processes.items() if not p.running()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", type=int, default=1,
                        help="Kafka nodes (3: the one-of-three and rolling-restart faults)")
    parser.add_argument("--rate", type=float, default=4.0, help="articles a second")
    parser.add_argument("--hold", type=float, default=60.0, help="seconds a server stays down")
    parser.add_argument("--block", type=float, default=40.0, help="seconds of the write block")
    parser.add_argument("--only", nargs="*", help="run only the faults whose name has these words")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
