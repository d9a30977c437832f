"""Freshness under a steady load: how long after its POST is an article fetchable by id, and
searchable? Open loop: Poisson arrivals at a fixed rate (half the capacity measured by a burst
first, unless --rate is given), each POST sent on time whether or not the ones before were
answered, for --seconds. Prints p50/p95/p99 of ingest→fetchable-by-id and ingest→searchable,
and the time spent in each stage (from the `newsflow-trail` headers on news.enriched; the
indexer's share is fetchable minus the linker's send time).

Fetchable and searchable are polled every 50 ms (an `mget` and an `ids` search of the pending
articles), so each figure may be up to 50 ms late.

    .venv/bin/python -m bench.freshness ../shared/data/bbc [--seconds 120 --rate R]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

from bench.data import read_bbc
from bench.local import start_namespace
from bench.pipeline_throughput import burst
from deploy.local.services import drop_namespace
from shared.contracts.headers import trail_of
from shared.contracts.topology import Topic
from shared.runtime.elasticsearch import make_client
from shared.runtime.tables import TopicFollower
from shared.settings import Settings


def percentiles(values: list[float]) -> str:
    if not values:
        return "none"
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return (f"p50 {statistics.median(values):.2f} s, p95 {cuts[94]:.2f} s, p99 {cuts[98]:.2f} s "
            f"(n={len(values)})")


class Watch:
    def __init__(self) -> None:
        self.posted: dict[str, float] = {}
        self.fetchable: dict[str, float] = {}
        self.searchable: dict[str, float] = {}
        self.trails: dict[str, list[tuple[str, float]]] = {}

    def apply(self, record: Any) -> None:
        article_id = record.key.decode() if record.key else None
        if article_id is not None:
            self.trails.setdefault(article_id, trail_of(record.headers))

    def pending(self, seen: dict[str, float]) -> list[str]:
        return [a for a in self.posted if a not in seen]


async def poll(settings: Settings, watch: Watch, done: asyncio.Event) -> None:
    es = make_client(settings)
    try:
        while not (done.is_set() and not watch.pending(watch.searchable)):
            for seen, find in ((watch.fetchable, _fetchable), (watch.searchable, _searchable)):
                pending = watch.pending(seen)
                if pending:
                    found = await find(es, settings, pending)
                    now = time.time()
                    for article_id in found:
                        seen.setdefault(article_id, now)
            await asyncio.sleep(0.05)
    finally:
        await es.close()


async def _fetchable(es: Any, settings: Settings, ids: list[str]) -> list[str]:
    response = await es.mget(index=settings.index_alias, ids=ids, source=False)
    return [doc["_id"] for doc in response["docs"] if doc.get("found")]


async def _searchable(es: Any, settings: Settings, ids: list[str]) -> list[str]:
    response = await es.search(index=settings.index_alias, query={"ids": {"values": ids}},
                               size=len(ids), source=False)
    return [hit["_id"] for hit in response["hits"]["hits"]]


async def run(args: argparse.Namespace) -> None:
    records = read_bbc(args.data_dir)
    settings, services = await start_namespace("freshness")
    services.up()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.ingest_port}",
                                     timeout=60) as ingest:
            await burst(settings, ingest, records[:20])  # warm-up
            rate = args.rate
            if rate is None:
                capacity, _ = await burst(settings, ingest, random.Random(2).sample(records, 200))
                rate = capacity / 2
                print(f"capacity (a burst of 200): {capacity:.1f} articles/s; arrivals at {rate:.2f}/s")
            watch = Watch()
            follower = TopicFollower(settings, Topic.ENRICHED, watch.apply)
            await follower.start()
            done = asyncio.Event()
            poller = asyncio.create_task(poll(settings, watch, done))
            marker, rng = uuid.uuid4().hex, random.Random(3)

            async def submit(n: int, record: dict[str, Any]) -> None:
                posted = time.time()
                response = await ingest.post("/articles", json={
                    "format": "text", "content": f"{record['title']}\n\n{record['text']}",
                    "source": {"name": "bench"}, "url": f"https://fresh.invalid/{marker}/{n}"})
                response.raise_for_status()
                watch.posted[response.json()["article_id"]] = posted

            sending, started, n = [], time.monotonic(), 0
            next_at = started
            while next_at - started < args.seconds:
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                sending.append(asyncio.create_task(submit(n, rng.choice(records))))
                n += 1
                next_at += rng.expovariate(rate)
            await asyncio.gather(*sending)
            done.set()
            await asyncio.wait_for(poller, 300)
            await follower.stop()

        print(f"{n} articles over {args.seconds:.0f} s at {rate:.2f}/s (open loop, Poisson)")
        fetch = [watch.fetchable[a] - at for a, at in watch.posted.items()]
        search = [watch.searchable[a] - at for a, at in watch.posted.items()]
        print(f"ingest → fetchable by id: {percentiles(fetch)}  (goal p50 ≤ 1.5 s, p99 ≤ 3 s)")
        print(f"ingest → searchable:      {percentiles(search)}")
        spans: dict[str, list[float]] = defaultdict(list)
        for article_id, posted in watch.posted.items():
            trail = watch.trails.get(article_id, [])
            previous = ("POST", posted)
            for stage, at in trail:
                spans[f"{previous[0]} → {stage}"].append(at - previous[1])
                previous = (stage, at)
            if trail:
                indexing = watch.fetchable[article_id] - previous[1]
                spans[f"{previous[0]} → fetchable (indexing)"].append(indexing)
        print("time in each step:")
        for step, values in spans.items():
            print(f"  {step:36} {percentiles(values)}")
    finally:
        services.down()
        await drop_namespace(settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--rate", type=float, default=None, help="arrivals per second")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
