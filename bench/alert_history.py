"""Does the search API's start grow with the alert history? Its resident memory and its time
from start to ready (the subscriptions routes answering 200, not 503) with 0, 100,000 and
1,000,000 alerts on news.alerts, each case in a fresh namespace on the local stack. Goal: flat,
within 50 MB and 5 s of the empty case.

    .venv/bin/python -m bench.alert_history [--sizes 0 100000 1000000 --rounds 3 --owners 1000]

The alerts are written straight to news.alerts (as the matcher would), spread over `--owners`
keys; only the search API is started, so what is measured is what it reads at start.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime

import httpx

from bench.local import rss_mb, start_namespace
from deploy.local.services import Services, drop_namespace
from services.admin.cli import write_key
from shared.contracts.alerts import AlertEvent
from shared.contracts.topology import Topic, topic_name
from shared.http.api_keys import new_key
from shared.runtime.kafka import make_producer
from shared.settings import Settings


def peak_mb(pid: int | None) -> float:
    if pid is None:
        return 0.0
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def fill(settings: Settings, count: int, owners: int) -> float:
    """`count` alert events on news.alerts; returns the seconds it took."""
    started = time.perf_counter()
    producer = make_producer(settings, linger_ms=50, max_batch_size=1_000_000)
    await producer.start()
    topic = topic_name(settings, Topic.ALERTS)
    at = datetime(2026, 11, 1, tzinfo=UTC)
    try:
        pending = []
        for n in range(count):
            owner = f"kbench{n % owners:05d}"
            event = AlertEvent(alert_id=f"al_bench{n:08d}", subscription_id=f"sub_{n % (owners * 3):06d}",
                               owner=owner, article_id=f"a{n:08d}", title=f"Bench alert number {n}",
                               url=f"https://example.org/news/{n}", source="Bench", language="en",
                               summary="A paragraph of the article, as the matcher puts in every alert. " * 3,
                               submitted_at=at, matched_at=at)
            pending.append(await producer.send(topic, event.to_bytes(), key=owner.encode()))
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def start_once(settings: Settings, services: Services, key: str) -> tuple[float, float, float]:
    """Seconds from start to ready, RSS and peak RSS (MB) once ready; the API is stopped after."""
    api = services.processes["search_api"]
    started = time.perf_counter()
    services.start("search_api")
    url = f"http://127.0.0.1:{settings.search_port}/subscriptions"
    async with httpx.AsyncClient(timeout=10) as client:
        while True:
            try:
                if (await client.get(url, headers={"Authorization": f"Bearer {key}"})).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.perf_counter() - started > 600:
                raise TimeoutError(f"the search API was not ready in 600 s:\n{api.tail(30)}")
            await asyncio.sleep(0.1)
    ready = time.perf_counter() - started
    pid = api.pid()
    memory, peak = rss_mb(pid), peak_mb(pid)
    api.stop()
    return ready, memory, peak


async def run(args: argparse.Namespace) -> None:
    rows = []
    for size in args.sizes:
        settings, services = await start_namespace("history")
        try:
            record, key = new_key("bench", ["alerts"])
            await write_key(settings, record)
            filled = await fill(settings, size, args.owners)
            print(f"{size:>9,} alerts written in {filled:.1f} s", flush=True)
            runs = [await start_once(settings, services, key) for _ in range(args.rounds)]
            rows.append((size, *(statistics.median(column) for column in zip(*runs, strict=True))))
        finally:
            services.down()
            await drop_namespace(settings)
    base = rows[0]
    print(f"\n{'alerts in history':>18} {'start→ready s':>14} {'RSS MB':>8} {'peak MB':>8} "
          f"{'Δ ready s':>10} {'Δ RSS MB':>9}   (medians of {args.rounds} starts)")
    for size, ready, memory, peak in rows:
        print(f"{size:>18,} {ready:>14.2f} {memory:>8.0f} {peak:>8.0f} {ready - base[1]:>+10.2f} "
              f"{memory - base[2]:>+9.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--owners", type=int, default=1000)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
