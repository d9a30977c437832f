"""What the monitor costs: its CPU (share of one core) and memory while it watches a namespace
with every service running and articles flowing, polling every 5 s.

    .venv/bin/python -m bench.monitor_cost ../shared/data/bbc [--seconds 60 --rate 5]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from pathlib import Path

import httpx

from bench.data import read_bbc
from bench.local import cpu_seconds, rss_mb, start_namespace
from deploy.local.services import drop_namespace
from shared.contracts.topology import Topic, consuming_stages


async def run(args: argparse.Namespace) -> None:
    settings, services = await start_namespace("cost", {"NEWSFLOW_MONITOR_POLL_SECONDS": "5"})
    services.up()
    records = read_bbc(args.data_dir)
    rng = random.Random(5)
    monitor = services.processes["monitor"]
    try:
        base = f"http://127.0.0.1:{settings.ingest_port}"
        async with httpx.AsyncClient(base_url=base, timeout=30) as ingest:
            await asyncio.sleep(10)  # past start-up: the first poll, the tail's seek
            cpu_before, started = cpu_seconds(monitor.pid()), time.perf_counter()
            peak = rss_mb(monitor.pid())
            sent = 0
            while time.perf_counter() - started < args.seconds:
                record = rng.choice(records)
                await ingest.post("/articles", json={
                    "format": "text", "content": f"{record['title']}\n{record['text']}",
                    "url": f"https://cost.invalid/{uuid.uuid4().hex}", "source": {"name": "bench"}})
                sent += 1
                peak = max(peak, rss_mb(monitor.pid()))
                await asyncio.sleep(1 / args.rate)
            wall = time.perf_counter() - started
            used = cpu_seconds(monitor.pid()) - cpu_before
        partitions = settings.topic_partitions
        print(f"watching {len(Topic)} topics x {partitions} partitions and {len(consuming_stages())} groups, "
              f"polling every {settings.monitor_poll_seconds:.0f} s; {sent} articles in {wall:.0f} s")
        print(f"monitor CPU {used:.2f} s over {wall:.0f} s = {100 * used / wall:.1f}% of one core; "
              f"peak RSS {peak:.0f} MB")
    finally:
        services.down()
        await drop_namespace(settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=5.0, help="articles per second")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
