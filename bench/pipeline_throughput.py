"""The pipeline end to end, against its ceiling, in one run on the same articles:

(a) the in-process chain, no Kafka and no Elasticsearch: extraction → enrichment → linking →
    index document, one after another in this process (one core: the ceiling of one worker);
(b) the real stack: from the first POST (batches of 100 to /articles:batch) to the last article
    searchable, with 1 enrichment worker, then with 2 (one added, the group rebalanced).

Prints articles/s for each and the ratios (b1/a, b2/b1), where the real stack's time went
(per stage, from the `newsflow-trail` headers of news.enriched), and the peak RSS of every
worker process (parents and their NLP children) during (b).

    .venv/bin/python -m bench.pipeline_throughput ../shared/data/bbc [--articles 300 --runs 2]

With --secure it measures what TLS and SASL cost instead: (b) with 1 enrichment worker on the
plain stack and on the secured one (SASL_SSL with SCRAM-SHA-512, Elasticsearch over HTTPS with
a user), both running, their bursts taking turns; it prints both medians and secure/plain
(goal ≥ 0.85).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import random
import statistics
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

from bench.data import read_bbc
from bench.local import cpu_seconds, rss_mb, start_namespace
from deploy.local.services import Services, drop_namespace
from deploy.local.stack import Stack
from services.enrichment.enrich import analyse, warm
from services.extraction.extract import extract_article
from services.linking.link import Linker
from shared.contracts.document import to_document
from shared.contracts.headers import trail_of
from shared.contracts.messages import RawArticle
from shared.contracts.topology import Stage, Topic, spec
from shared.runtime.elasticsearch import make_client
from shared.runtime.kafka import make_admin
from shared.runtime.tables import TopicFollower
from shared.settings import Settings, get_settings


def _submission(record: dict[str, Any], url: str) -> dict[str, Any]:
    return {"format": "text", "content": f"{record['title']}\n\n{record['text']}",
            "source": {"name": "bench"}, "url": url}


def in_process(records: list[dict[str, Any]]) -> float:
    warm()
    linker = Linker()
    started = time.perf_counter()
    for n, record in enumerate(records):
        raw = RawArticle(article_id=f"a{n}", format="text", url=f"https://x.invalid/{n}",
                         content=_submission(record, "")["content"])
        to_document(linker.linked(analyse(extract_article(raw))))
    return len(records) / (time.perf_counter() - started)


class PeakMemory:
    """Samples the RSS of every service process and its children (and the broker's and the
    node's JVMs) twice a second, and the CPU each used meanwhile: what competes for the cores."""

    def __init__(self, services: Services, servers: dict[str, int | None]) -> None:
        self.services = services
        self.servers = servers
        self.peak: dict[str, float] = defaultdict(float)
        self.cpu_first: dict[str, float] = {}
        self.cpu_last: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            for name, pid in self.servers.items():
                if pid is not None:
                    self._note(name, pid)
            for name, process in list(self.services.processes.items()):
                pid = process.pid()
                if pid is None:
                    continue
                self._note(name, pid)
                try:
                    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
                except OSError:
                    continue
                for child in children:
                    self._note(f"{name} (NLP child)", int(child))

    def _note(self, name: str, pid: int) -> None:
        with contextlib.suppress(OSError):  # the process just ended
            self.peak[name] = max(self.peak[name], rss_mb(pid))
            used = cpu_seconds(pid)
            self.cpu_first.setdefault(name, used)
            self.cpu_last[name] = used

    def cpu_report(self) -> str:
        used = {name: self.cpu_last[name] - self.cpu_first[name] for name in self.cpu_last}
        total = sum(used.values()) or 1.0
        return ", ".join(f"{name} {seconds:.0f} s ({100 * seconds / total:.0f}%)"
                         for name, seconds in sorted(used.items(), key=lambda kv: -kv[1]) if seconds >= 1)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


async def burst(settings: Settings, ingest: httpx.AsyncClient,
                records: list[dict[str, Any]]) -> tuple[float, str]:
    marker = uuid.uuid4().hex
    started = time.perf_counter()
    for start in range(0, len(records), 100):
        batch = [_submission(r, f"https://throughput.invalid/{marker}/{start + n}")
                 for n, r in enumerate(records[start:start + 100])]
        (await ingest.post("/articles:batch", json=batch)).raise_for_status()
    es = make_client(settings)
    try:
        while True:
            found = await es.count(index=settings.index_alias,
                                   query={"prefix": {"url": f"https://throughput.invalid/{marker}/"}})
            if found["count"] >= len(records):
                break
            if time.perf_counter() - started > 1800:
                raise TimeoutError(f"{found['count']} of {len(records)} searchable after 30 min")
            await asyncio.sleep(0.1)  # the index refreshes every second: searchable, not just stored
    finally:
        await es.close()
    return len(records) / (time.perf_counter() - started), marker


class StageTimes:
    """Time between consecutive stages of each article on news.enriched, from its trail."""

    def __init__(self) -> None:
        self.spans: dict[str, list[float]] = defaultdict(list)

    def apply(self, record: Any) -> None:
        steps = trail_of(record.headers)
        for (_, before), (stage, after) in itertools.pairwise(steps):
            self.spans[stage].append(after - before)

    def report(self) -> str:
        return ", ".join(f"{stage} median {statistics.median(v) * 1000:.0f} ms"
                         for stage, v in self.spans.items() if v)


async def group_members(settings: Settings, count: int, timeout: float = 120.0) -> None:
    """Until the enrichment group has `count` members (a new worker joins after its model)."""
    admin = make_admin(settings)
    await admin.start()
    try:
        group, deadline = spec(Stage.ENRICHMENT).consumer_group(settings), time.monotonic() + timeout
        while time.monotonic() < deadline:
            groups = (await admin.describe_consumer_groups([group]))[0].groups
            if groups and groups[0][2] == "Stable" and len(groups[0][5]) >= count:
                return
            await asyncio.sleep(0.5)
        raise TimeoutError(f"the enrichment group did not reach {count} members")
    finally:
        await admin.close()


async def run(args: argparse.Namespace) -> None:
    records = read_bbc(args.data_dir)
    chosen = random.Random(1).sample(records, args.articles)
    print(f"{args.articles} BBC articles, {args.runs} runs each")
    ceilings = [in_process(chosen) for _ in range(args.runs)]
    ceiling = statistics.median(ceilings)
    print(f"(a) in-process chain: {', '.join(f'{r:.1f}' for r in ceilings)} articles/s, "
          f"median {ceiling:.1f}")

    settings, services = await start_namespace("throughput")
    services.up()
    rates: dict[int, list[float]] = {1: [], 2: []}
    try:
        base = f"http://127.0.0.1:{settings.ingest_port}"
        async with httpx.AsyncClient(base_url=base, timeout=120) as ingest:
            await burst(settings, ingest, chosen[:20])  # warm-up: models loaded, groups joined
            stack = Stack(get_settings())
            servers = {"kafka (JVM)": stack.kafka.pid(), "elasticsearch (JVM)": stack.es.pid()}
            with PeakMemory(services, servers) as memory:
                for workers in (1, 2):
                    if workers == 2:
                        services.add("enrichment")
                        await group_members(settings, 2)  # joined, its model loaded
                        await burst(settings, ingest, chosen[:20])
                    for n in range(args.runs):
                        times = StageTimes()
                        follower = TopicFollower(settings, Topic.ENRICHED, times.apply)
                        await follower.start()
                        await follower.caught_up.wait()
                        times.spans.clear()
                        rate, _ = await burst(settings, ingest, chosen)
                        await follower.stop()
                        rates[workers].append(rate)
                        print(f"(b) {workers} enrichment worker(s), run {n + 1}: {rate:.1f} "
                              f"articles/s; {times.report()}")
        one, two = statistics.median(rates[1]), statistics.median(rates[2])
        print(f"\nmedians: (a) {ceiling:.1f}, (b) 1 worker {one:.1f}, 2 workers {two:.1f} articles/s")
        print(f"ratios: (b1)/(a) = {one / ceiling:.2f} (goal ≥ 0.8); "
              f"(b2)/(b1) = {two / one:.2f} (goal ≥ 1.5)")
        print(f"CPU used during (b), by process: {memory.cpu_report()}")
        print("peak RSS during (b):")
        for name, peak in sorted(memory.peak.items()):
            print(f"  {name:28} {peak:6.0f} MB")
    finally:
        services.down()
        await drop_namespace(settings)


async def secure_comparison(args: argparse.Namespace) -> None:
    records = read_bbc(args.data_dir)
    chosen = random.Random(1).sample(records, args.articles)
    print(f"{args.articles} BBC articles, {args.runs} runs on each stack, taking turns")
    stacks = {"plain": Stack(get_settings()), "secure": Stack(get_settings(), secure=True)}
    started = {name: await start_namespace(f"throughput-{name}", stack=stack)
               for name, stack in stacks.items()}
    rates: dict[str, list[float]] = {name: [] for name in stacks}
    try:
        for _, services in started.values():
            services.up()
        clients = {name: httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.ingest_port}", timeout=120)
                   for name, (settings, _) in started.items()}
        for name, (settings, _) in started.items():
            await burst(settings, clients[name], chosen[:20])  # warm-up: models loaded, groups joined
        for n in range(args.runs):
            for name, (settings, _) in started.items():
                rate, _ = await burst(settings, clients[name], chosen)
                rates[name].append(rate)
                print(f"(b) {name}, run {n + 1}: {rate:.1f} articles/s", flush=True)
        for client in clients.values():
            await client.aclose()
        plain, secure = statistics.median(rates["plain"]), statistics.median(rates["secure"])
        print(f"\nmedians: plain {plain:.1f}, secure {secure:.1f} articles/s; "
              f"secure/plain = {secure / plain:.2f} (goal ≥ 0.85)")
    finally:
        for settings, services in started.values():
            services.down()
            await drop_namespace(settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--secure", action="store_true",
                        help="the plain stack against the secured one (TLS + SASL), taking turns")
    args = parser.parse_args()
    asyncio.run(secure_comparison(args) if args.secure else run(args))


if __name__ == "__main__":
    main()
