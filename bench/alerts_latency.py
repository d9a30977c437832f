"""Alert latency end to end: from `POST /articles` to the signed webhook arriving at a local
receiver, and to the Server-Sent Event arriving, with 10,000 subscriptions active.

Starts its own namespace on the local stack (Kafka + Elasticsearch are started if needed) with
every service, and a webhook receiver on loopback (allowed by NEWSFLOW_OUTBOUND_ALLOW for the
bench's services only). The background subscriptions are drawn from the BBC titles' words
(single words, two-word ANDs, OR pairs, phrases; stream and feed only unless
--background-webhooks gives each a webhook to the same receiver); one probe
subscription (a made-up word, with a webhook and an open live stream) is what is timed. Each
submitted article is a BBC article with the probe word added, so it also matches its share of
the background subscriptions. Articles go in at a steady rate; prints p50/p95/p99.

    .venv/bin/python -m bench.alerts_latency ../shared/data/bbc [--articles 60 --rate 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
import uuid
from pathlib import Path

import httpx
from aiohttp import web

from bench.data import read_bbc
from bench.local import cpu_seconds, free_port, start_namespace
from deploy.local.services import drop_namespace
from services.subscriptions.routes import new_webhook_secret
from shared.contracts.alerts import Subscription, WebhookSecret
from shared.contracts.topology import Topic
from shared.http.api_keys import new_key
from shared.runtime.kafka import make_producer
from shared.runtime.tables import write_row


def background_queries(titles: list[str], count: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    words = sorted({w.strip(".,:;'\"()!?").lower() for t in titles for w in t.split()
                    if len(w) >= 4 and w.strip(".,:;'\"()!?").isalpha()})
    shapes = [lambda: rng.choice(words), lambda: f"{rng.choice(words)} {rng.choice(words)}",
              lambda: f"{rng.choice(words)} OR {rng.choice(words)}",
              lambda: f'"{rng.choice(titles).split()[0]} {rng.choice(words)}"']
    return [rng.choice(shapes)() for _ in range(count)]


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    at = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return (f"p50 {statistics.median(ordered) * 1000:6.0f} ms  p95 {at(0.95):6.0f} ms  "
            f"p99 {at(0.99):6.0f} ms  max {ordered[-1] * 1000:6.0f} ms  (n={len(ordered)})")


async def run(args: argparse.Namespace) -> None:
    settings, services = await start_namespace("bench", {"NEWSFLOW_OUTBOUND_ALLOW": "127.0.0.1"})

    records = read_bbc(args.data_dir)
    titles = [r["title"] for r in records]
    key, plaintext = new_key("bench")
    port = free_port()
    background_hook = f"http://127.0.0.1:{port}/background" if args.background_webhooks else None
    producer = make_producer(settings)
    await producer.start()
    await write_row(producer, settings, Topic.API_KEYS, key.key_id, key)
    started = time.perf_counter()
    for n, query in enumerate(background_queries(titles, args.subscriptions)):
        subscription = Subscription(subscription_id=f"bg{n}", owner=key.key_id, name=query,
                                    query=query, feed_token=uuid.uuid4().hex,
                                    webhook_url=background_hook, max_alerts_per_hour=100_000,
                                    webhook_secrets=[WebhookSecret(secret=new_webhook_secret())]
                                    if background_hook else [])
        await producer.send(settings.topic(Topic.SUBSCRIPTIONS.value), subscription.to_bytes(),
                            key=subscription.subscription_id.encode())
    await producer.flush()
    await producer.stop()
    print(f"{args.subscriptions} background subscriptions written in "
          f"{time.perf_counter() - started:.1f} s")

    services.up()
    received: dict[str, float] = {}
    background = [0]

    async def hook(request: web.Request) -> web.Response:
        received.setdefault(json.loads(await request.text())["data"]["article_id"], time.perf_counter())
        return web.Response(text="ok")

    async def background_hook_handler(request: web.Request) -> web.Response:
        background[0] += 1
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_post("/background", background_hook_handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()

    probe = "zq" + uuid.uuid4().hex[:8].translate(str.maketrans("0123456789", "ghijklmnop"))
    search = httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.search_port}", timeout=30,
                               headers={"Authorization": f"Bearer {plaintext}"})
    ingest = httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.ingest_port}", timeout=30)
    try:
        while (await search.get("/subscriptions")).status_code != 200:
            await asyncio.sleep(0.5)
        created = (await search.post("/subscriptions", json={
            "name": "probe", "query": probe, "notify_on": "article",
            "webhook_url": f"http://127.0.0.1:{port}/hook", "max_alerts_per_hour": 10_000})).json()
        streamed: dict[str, float] = {}
        stream_task = asyncio.create_task(read_stream(search, created["subscription_id"], streamed))
        await asyncio.sleep(2)  # the stream is open and the matcher has the probe

        cpu_before = {name: cpu_seconds(p.pid()) for name, p in services.processes.items()}
        wall_before = time.perf_counter()
        sent: dict[str, float] = {}
        rng = random.Random(3)
        for record in rng.sample(records, args.articles):
            content = f"{record['title']}\n{record['text']}\n{probe}"
            posted = time.perf_counter()
            response = await ingest.post("/articles", json={
                "format": "text", "content": content, "url": f"https://bench.invalid/{uuid.uuid4().hex}",
                "source": {"name": "bench"}})
            sent[response.json()["article_id"]] = posted
            await asyncio.sleep(max(0.0, 1 / args.rate - (time.perf_counter() - posted)))
        deadline = time.perf_counter() + 120
        while (len(received) < len(sent) or len(streamed) < len(sent)) and time.perf_counter() < deadline:
            await asyncio.sleep(0.2)
        stream_task.cancel()
        wall = time.perf_counter() - wall_before
        cpu = {name: cpu_seconds(p.pid()) - cpu_before[name] for name, p in services.processes.items()}

        # A new subscription must match from its creation on: create one, submit a matching
        # article at once, and see whether (and when) its webhook arrives.
        fresh: dict[str, float] = {}
        for _ in range(args.new_subscriptions):
            word = "zq" + uuid.uuid4().hex[:8].translate(str.maketrans("0123456789", "ghijklmnop"))
            await search.post("/subscriptions", json={
                "name": word, "query": word, "webhook_url": f"http://127.0.0.1:{port}/hook"})
            answered = time.perf_counter()
            record = rng.choice(records)
            response = await ingest.post("/articles", json={
                "format": "text", "content": f"{record['title']}\n{record['text']}\n{word}",
                "url": f"https://bench.invalid/{uuid.uuid4().hex}", "source": {"name": "bench"}})
            fresh[response.json()["article_id"]] = answered
        deadline = time.perf_counter() + 60
        while any(a not in received for a in fresh) and time.perf_counter() < deadline:
            await asyncio.sleep(0.2)
        webhook = [received[a] - t for a, t in sent.items() if a in received]
        sse = [streamed[a] - t for a, t in sent.items() if a in streamed]
        print(f"{len(sent)} articles at {args.rate}/s, {args.subscriptions} + 1 subscriptions; "
              f"background webhooks {'on' if background_hook else 'off'} "
              f"({background[0]} background deliveries received)")
        print(f"POST → signed webhook received: {percentiles(webhook)}; missing {len(sent) - len(webhook)}")
        print(f"POST → live stream event:      {percentiles(sse)}; missing {len(sent) - len(sse)}")
        print(f"CPU seconds per service over the {wall:.0f} s of the timed run: " + ", ".join(
            f"{name} {seconds:.1f}" for name, seconds in sorted(cpu.items(), key=lambda i: -i[1])))
        new = [received[a] - t for a, t in fresh.items() if a in received]
        print(f"new subscription answered → webhook for an article sent right after: "
              f"{percentiles(new)}; missed {len(fresh) - len(new)}")
    finally:
        await search.aclose()
        await ingest.aclose()
        await runner.cleanup()
        services.down()
        await drop_namespace(settings)


async def read_stream(search: httpx.AsyncClient, subscription_id: str, seen: dict[str, float]) -> None:
    async with search.stream("GET", f"/subscriptions/{subscription_id}/stream",
                             timeout=httpx.Timeout(None)) as response:
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                seen.setdefault(json.loads(line[5:])["article_id"], time.perf_counter())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--articles", type=int, default=60)
    parser.add_argument("--rate", type=float, default=2.0, help="articles per second")
    parser.add_argument("--new-subscriptions", type=int, default=20)
    parser.add_argument("--background-webhooks", action="store_true",
                        help="give every background subscription a webhook too (to the same receiver)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
