"""Alert latency end to end, with 10,000 subscriptions active: from `POST /articles` to the
alert arriving at each channel's local receiver (a signed webhook, an email at a real SMTP
relay, a Slack and a Teams message) and to the Server-Sent Event; and from the article that
crosses a threshold to the spike alert and to the breaking-story alert.

Starts its own namespace on the local stack (Kafka + Elasticsearch are started if needed) with
every service, and a webhook receiver on loopback (allowed by NEWSFLOW_OUTBOUND_ALLOW for the
bench's services only). The background subscriptions are drawn from the BBC titles' words
(single words, two-word ANDs, OR pairs, phrases; stream and feed only unless
--background-webhooks gives each a webhook to the same receiver); one probe
subscription (a made-up word, with a webhook and an open live stream) is what is timed. Each
submitted article is a BBC article with the probe word added, so it also matches its share of
the background subscriptions. Articles go in at a steady rate; prints p50/p95/p99.

Then `--rounds` times each: a volume subscription on a fresh word, and five articles with that
word in a burst (the hour's minimum is 5: the fifth crosses it), timed from the fifth POST to
the spike alert's webhook; and a breaking subscription (3 sources) on a fresh word, with three
reports of one story from three publishers, timed from the third POST to the breaking alert.

    .venv/bin/python -m bench.alerts_latency ../shared/data/bbc [--articles 60 --rate 2 --rounds 10]
        [--shards 2: the subscriptions split over two matchers, each article through both]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from bench.data import read_bbc
from bench.local import cpu_seconds, free_port, start_namespace
from deploy.local.receivers import LOCAL_CHAT_PATTERNS, smtp_server
from deploy.local.services import drop_namespace
from services.subscriptions.destinations import new_webhook_secret
from shared.contracts.alerts import Destination, Subscription, WebhookSecret
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


FIRST = ["Ana", "Maria", "João", "Pedro", "Sofia", "Rui", "Inês", "Carlos", "Marta", "Luís"]
LAST = ["Vidal", "Costa", "Silva", "Pereira", "Almeida", "Ferreira", "Santos", "Rocha", "Lopes"]
# A harbour, its city and country per round: rounds share no places, so no story spans two.
PORTS = [("Tagus", "Lisbon", "Portugal"), ("Biobío", "Valparaíso", "Chile"),
         ("Vistula", "Gdańsk", "Poland"), ("Maas", "Rotterdam", "Netherlands"),
         ("Ligurian", "Genoa", "Italy"), ("Saronic", "Piraeus", "Greece"), ("Likoni", "Mombasa", "Kenya"),
         ("Natal", "Durban", "South Africa"), ("Paulista", "Santos", "Brazil"),
         ("Nakdong", "Busan", "South Korea")]


def fresh_word() -> str:
    return "zq" + uuid.uuid4().hex[:8].translate(str.maketrans("0123456789", "ghijklmnop"))


def report(word: str, source: int, names: tuple[str, str, tuple[str, str, str]]) -> str:
    """One of three reports of one story (shared names and places, different words); each
    round's names are its own, so no report is a near duplicate of another round's."""
    first, last, (port, city, country) = names
    aside = " ".join(fresh_word() for _ in range(20))  # unlike any other report's words
    return [text.replace("Ana Vidal", f"{first} {last}").replace("Tagus", port).replace("Lisbon", city)
            .replace("Portugal", country) + f" {aside}." for text in [
        f"Floods close the {word} harbour in Lisbon\nFloods closed the {word} harbour in Lisbon, "
        "Portugal, on Tuesday, said Ana Vidal, who leads the Tagus Port Authority. Ships waited "
        "offshore as Ana Vidal and the Tagus Port Authority inspected the breakwater.",
        f"Lisbon's {word} harbour shut by flooding\nThe Tagus Port Authority shut the {word} harbour "
        "in Lisbon after floods swept Portugal's coast, Ana Vidal told reporters. Divers from the "
        "Tagus Port Authority were checking the damaged breakwater, Ana Vidal added.",
        f"Portugal: {word} harbour closed after floods\nIn Lisbon, Ana Vidal of the Tagus Port "
        f"Authority said the {word} harbour would stay closed. The floods that hit Portugal damaged "
        "the breakwater, and the Tagus Port Authority asked ships to wait, Ana Vidal said.",
    ]][source]


async def run(args: argparse.Namespace) -> None:
    with smtp_server(Path(tempfile.mkdtemp(prefix="bench-smtp-"))) as mailbox:
        await run_with(args, mailbox)


async def run_with(args: argparse.Namespace, mailbox: Any) -> None:
    # The background subscriptions belong to the bench's key, which then makes the probes too.
    settings, services = await start_namespace("bench", {
        "NEWSFLOW_OUTBOUND_ALLOW": "127.0.0.1", "NEWSFLOW_MAX_SUBSCRIPTIONS_PER_KEY": "10000000",
        "NEWSFLOW_SHARDS": str(args.shards), **mailbox.env(), **LOCAL_CHAT_PATTERNS})

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
        destinations = [Destination(destination_id="dst_bg", channel="webhook", target=background_hook,
                                    secrets=[WebhookSecret(secret=new_webhook_secret())])] \
            if background_hook else []
        subscription = Subscription(subscription_id=f"bg{n}", owner=key.key_id, name=query,
                                    query=query, feed_token=uuid.uuid4().hex,
                                    destinations=destinations, max_alerts_per_hour=100_000)
        await producer.send(settings.topic(Topic.SUBSCRIPTIONS.value), subscription.to_bytes(),
                            key=subscription.subscription_id.encode())
    await producer.flush()
    await producer.stop()
    print(f"{args.subscriptions} background subscriptions written in "
          f"{time.perf_counter() - started:.1f} s")

    services.up()  # the matcher of shard 0; one more per further shard
    for shard in range(1, args.shards):
        services.add("alerts", {"NEWSFLOW_SHARD": str(shard)})
    received: dict[str, float] = {}
    background = [0]
    chats: dict[str, dict[str, float]] = {"slack": {}, "teams": {}}  # article URL → receipt
    urls = re.compile(r"https://bench\.invalid/[0-9a-f]{32}")

    async def hook(request: web.Request) -> web.Response:
        received.setdefault(json.loads(await request.text())["data"]["article_id"], time.perf_counter())
        return web.Response(text="ok")

    async def chat(request: web.Request) -> web.Response:
        kind = "slack" if request.path.startswith("/services/") else "teams"
        for url in set(urls.findall(await request.text())):
            chats[kind].setdefault(url, time.perf_counter())
        return web.Response(text="ok")

    spikes_and_stories: dict[str, float] = {}  # subscription id → first alert received

    async def signal_hook(request: web.Request) -> web.Response:
        spikes_and_stories.setdefault(json.loads(await request.text())["data"]["subscription_id"],
                                      time.perf_counter())
        return web.Response(text="ok")

    async def background_hook_handler(request: web.Request) -> web.Response:
        background[0] += 1
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_post("/signals", signal_hook)
    app.router.add_post("/background", background_hook_handler)
    app.router.add_post("/services/{tail:.*}", chat)
    app.router.add_post("/workflows/{tail:.*}", chat)
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
        local = f"http://127.0.0.1:{port}"
        created = (await search.post("/subscriptions", json={
            "name": "probe", "query": probe, "notify_on": "article", "max_alerts_per_hour": 10_000,
            "destinations": [
                {"channel": "webhook", "target": f"{local}/hook"},
                {"channel": "email", "target": "probe@bench.example"},
                {"channel": "slack", "target": f"{local}/services/TBENCH/BBENCH/probe"},
                {"channel": "teams",
                 "target": f"{local}/workflows/0be4c4/triggers/manual/paths/invoke?sig=b"}]})).json()
        assert len(created.get("destinations", [])) == 4, created
        streamed: dict[str, float] = {}
        stream_task = asyncio.create_task(read_stream(search, created["subscription_id"], streamed))
        await asyncio.sleep(2)  # the stream is open and the matcher has the probe

        # The first article after a start waits for every stage's first batch (models loaded,
        # connections made): timed apart, so the percentiles below are the running pipeline's.
        warm_url = f"https://bench.invalid/{uuid.uuid4().hex}"
        posted = time.perf_counter()
        warm = (await ingest.post("/articles", json={
            "format": "text", "content": f"{records[0]['title']}\n{records[0]['text']}\n{probe}",
            "url": warm_url, "source": {"name": "bench"}})).json()["article_id"]
        while not (warm in received and all(warm_url in c for c in chats.values())) \
                and time.perf_counter() - posted < 120:
            await asyncio.sleep(0.1)
        print(f"first article after the start (warm-up, not in the figures below): "
              f"{received.get(warm, float('nan')) - posted:.1f} s to its webhook")
        mailbox.messages.clear()
        cpu_before = {name: cpu_seconds(p.pid()) for name, p in services.processes.items()}
        wall_before = time.perf_counter()
        sent: dict[str, float] = {}
        sent_urls: dict[str, float] = {}
        rng = random.Random(3)
        timed_records = rng.sample(records[1:], args.articles)  # the first was the warm-up
        for record in timed_records:
            content = f"{record['title']}\n{record['text']}\n{probe}"
            url = f"https://bench.invalid/{uuid.uuid4().hex}"
            posted = time.perf_counter()
            response = await ingest.post("/articles", json={
                "format": "text", "content": content, "url": url, "source": {"name": "bench"}})
            sent[response.json()["article_id"]] = posted
            sent_urls[url] = posted
            await asyncio.sleep(max(0.0, 1 / args.rate - (time.perf_counter() - posted)))
        mailed: dict[str, float] = {}

        def everything_arrived() -> bool:
            for message in mailbox.messages:
                text = message.get_body(("plain",))
                for url in set(urls.findall(text.get_content() if text else "")):
                    mailed.setdefault(url, mailbox.received_at[id(message)])
            by_id = [received, streamed]
            by_url = [mailed, *chats.values()]
            return all(a in seen for seen in by_id for a in sent) and \
                all(u in seen for seen in by_url for u in sent_urls)

        deadline = time.perf_counter() + 120
        while not everything_arrived() and time.perf_counter() < deadline:
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
            # Not one of the timed run's: the same text with another word would be its near
            # duplicate, and duplicates never alert.
            record = rng.choice([r for r in records if r not in timed_records])
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
        for name, arrived in (("email at the relay", mailed), ("Slack message", chats["slack"]),
                              ("Teams message", chats["teams"])):
            times = [arrived[u] - t for u, t in sent_urls.items() if u in arrived]
            print(f"POST → {name + ':':22} {percentiles(times)}; missing {len(sent) - len(times)}")
        print(f"POST → live stream event:      {percentiles(sse)}; missing {len(sent) - len(sse)}")
        print(f"CPU seconds per service over the {wall:.0f} s of the timed run: " + ", ".join(
            f"{name} {seconds:.1f}" for name, seconds in sorted(cpu.items(), key=lambda i: -i[1])))
        new = [received[a] - t for a, t in fresh.items() if a in received]
        print(f"new subscription answered → webhook for an article sent right after: "
              f"{percentiles(new)}; missed {len(fresh) - len(new)}")
        await signals(args, search, ingest, local, spikes_and_stories)
    finally:
        await search.aclose()
        await ingest.aclose()
        await runner.cleanup()
        services.down()
        await drop_namespace(settings)


async def signals(args: argparse.Namespace, search: httpx.AsyncClient, ingest: httpx.AsyncClient,
                  local: str, arrived: dict[str, float]) -> None:
    """Spike and breaking alerts, `--rounds` of each, timed from the crossing article's POST."""
    timed: dict[str, dict[str, float]] = {"spike": {}, "breaking": {}}
    rng = random.Random(7)
    articles: dict[str, list[str]] = {}
    for round_ in range(args.rounds):
        for kind in ("spike", "breaking"):
            word = fresh_word()
            names = (rng.choice(FIRST), rng.choice(LAST), PORTS[round_ % len(PORTS)])
            body: dict[str, Any] = {"name": f"{kind} {word}", "query": word,
                                    "webhook_url": f"{local}/signals"}
            body |= {"kind": "volume"} if kind == "spike" else \
                {"notify_on": "breaking", "breaking_sources": 3}
            sid = (await search.post("/subscriptions", json=body)).json()["subscription_id"]
            await asyncio.sleep(1)  # the matcher has the subscription
            contents = [f"{word} {fresh_word()} {fresh_word()} report\n{word} " + " ".join(
                fresh_word() for _ in range(30)) for _ in range(5)] if kind == "spike" else \
                [report(word, n, names) for n in range(3)]
            for n, content in enumerate(contents):
                posted = time.perf_counter()
                answer = await ingest.post("/articles", json={
                    "format": "text", "content": content, "source": {"name": f"publisher {n}"},
                    "url": f"https://bench.invalid/{uuid.uuid4().hex}"})
                articles.setdefault(sid, []).append(answer.json()["article_id"])
            timed[kind][sid] = posted  # the last one crosses the threshold
    deadline = time.perf_counter() + 60
    while any(s not in arrived for t in timed.values() for s in t) and time.perf_counter() < deadline:
        await asyncio.sleep(0.2)
    for kind, name in (("spike", "spike alert (5th article of a burst)"),
                       ("breaking", "breaking alert (3rd independent source)")):
        times = [arrived[s] - t for s, t in timed[kind].items() if s in arrived]
        print(f"crossing POST → {name}: {percentiles(times) if times else 'none arrived'}; "
              f"missing {len(timed[kind]) - len(times)}")
    for sid in (s for s in timed["breaking"] if s not in arrived):  # why: the story, as linked
        stories = [(await search.get(f"/articles/{a}")).json().get("story_id") for a in articles[sid]]
        print(f"  no breaking alert for {sid}: its reports' stories were {stories}")


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
    parser.add_argument("--rounds", type=int, default=10, help="spike and breaking rounds each")
    parser.add_argument("--shards", type=int, default=1,
                        help="matcher shards (NEWSFLOW_SHARDS), one matcher process each")
    parser.add_argument("--background-webhooks", action="store_true",
                        help="give every background subscription a webhook too (to the same receiver)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
