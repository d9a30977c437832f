"""Pipeline throughput with and without the monitor watching: a burst of BBC articles submitted
in batches, timed until all are searchable, alternating runs with the monitor stopped and
running; prints articles/s per run, the medians and their ratio.

    .venv/bin/python -m bench.pipeline_throughput ../shared/data/bbc [--articles 200 --runs 2]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.data import read_bbc
from bench.local import start_namespace
from deploy.local.services import drop_namespace
from shared.runtime.elasticsearch import make_client
from shared.settings import Settings


async def burst(settings: Settings, ingest: httpx.AsyncClient, records: list[dict[str, Any]],
                count: int) -> float:
    marker = uuid.uuid4().hex
    chosen = random.Random(marker).sample(records, count)
    started = time.perf_counter()
    for start in range(0, count, 100):
        batch = [{"format": "text", "content": f"{r['title']}\n{r['text']}", "source": {"name": "bench"},
                  "url": f"https://throughput.invalid/{marker}/{start + n}"}
                 for n, r in enumerate(chosen[start:start + 100])]
        response = await ingest.post("/articles:batch", json=batch)
        response.raise_for_status()
    es = make_client(settings)
    try:
        while True:
            await es.indices.refresh(index=settings.index_alias)
            found = await es.count(index=settings.index_alias,
                                   query={"prefix": {"url": f"https://throughput.invalid/{marker}/"}})
            if found["count"] >= count or time.perf_counter() - started > 600:
                break
            await asyncio.sleep(0.5)
    finally:
        await es.close()
    return count / (time.perf_counter() - started)


async def run(args: argparse.Namespace) -> None:
    settings, services = await start_namespace("throughput")
    services.up()
    records = read_bbc(args.data_dir)
    rates: dict[str, list[float]] = {"without monitor": [], "with monitor": []}
    try:
        base = f"http://127.0.0.1:{settings.ingest_port}"
        async with httpx.AsyncClient(base_url=base, timeout=60) as ingest:
            await burst(settings, ingest, records, 20)  # warm-up: models loaded, groups joined
            for n in range(args.runs):
                for label in ("without monitor", "with monitor"):
                    if label == "without monitor":
                        services.processes["monitor"].stop()
                    else:
                        services.start("monitor")
                        await asyncio.sleep(8)  # its first polls are part of normal running
                    rate = await burst(settings, ingest, records, args.articles)
                    rates[label].append(rate)
                    print(f"run {n + 1} {label:16}: {rate:6.1f} articles/s")
        without, with_ = (statistics.median(rates[k]) for k in ("without monitor", "with monitor"))
        print(f"median without {without:.1f}, with {with_:.1f} articles/s; "
              f"with/without = {with_ / without:.3f}")
    finally:
        services.down()
        await drop_namespace(settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--runs", type=int, default=2)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
