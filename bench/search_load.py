"""Search under load: our API against the same queries sent straight to Elasticsearch.

    python -m bench.search_load [../shared/data/bbc] [--articles 100000] [--clients 20] [--seconds 60]
    python -m bench.search_load [../shared/data/bbc] --open-loop [--start-rate 10] [--seconds 20]

Needs the local stack up (`python -m deploy.local up`). Loads --articles documents into a
dedicated index (namespace "bench"; reused on later runs): with the BBC folder, the 2,225
articles are enriched by our enrichment and linker once, then recombined (paragraphs mixed within a topic,
dates spread over two years, sources varied); without it, synthetic text. Bulk-loaded directly,
not through Kafka. Then starts the search API on that index and runs --clients concurrent
clients for --seconds against (a) the API and (b) Elasticsearch with the naive body (results and
facets in one request, as `build_body` compiles it; the API itself sends results and a cacheable
facet request side by side), one after the other, and prints p50/p95/p99 latency, QPS and the
overhead.

Closed-loop clients wait for each answer before asking again, so they slow down with the
server and hide its queueing. `--open-loop` sends Poisson arrivals at a fixed rate for
--seconds instead (each request on time, however many are still in flight; its latency counted
from when it was due), drawn from a skewed mix (`QueryMix`: popular requests repeat, as in real
traffic), and finds the highest rate at which p99 stays within 100 ms by doubling, then
bisection to within 5%, for the API and for Elasticsearch with the same requests; then holds
the API at the rate Elasticsearch sustained and prints its p99 there.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.data import enriched_bbc
from services.search_api.query import SearchRequest, apply_bounds, bounds_body, build_body
from shared.contracts.document import add_words
from shared.runtime.elasticsearch import ensure_index, http_options, make_client
from shared.settings import Settings
from shared.text.wordforms import stem_text

NAMESPACE = "bench"
SOURCES = ["Reuters", "AP", "AFP", "BBC", "Bloomberg", "The Guardian", "Yonhap", "Kyodo"]
WORDS = ["market", "election", "minister", "shares", "film", "match", "government", "oil",
         "talks", "growth", "music", "court", "technology", "internet", "league", "profit"]
PHRASES = ['"interest rates"', '"prime minister"', '"world cup"', '"chief executive"',
           '"box office"', '"mobile phone"']
Request = dict[str, Any]


def _synthetic(count: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    docs = []
    for _ in range(count):
        words = [rng.choice(WORDS) for _ in range(120)]
        docs.append({"title": " ".join(words[:8]).capitalize(), "body": " ".join(words),
                     "people": [f"Person {rng.randint(1, 300)}"], "organizations": [],
                     "places": [], "country_codes": [rng.choice(["US", "GB", "KR", "FR"])],
                     "topic_labels": [rng.choice(["politics", "sport"])], "language": "en",
                     "category": "synthetic"})
    return docs


def recombine(templates: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    rng = random.Random(42)
    by_category: dict[str, list[dict[str, Any]]] = {}
    for doc in templates:
        by_category.setdefault(doc["category"], []).append(doc)
    now = datetime.now(UTC)
    docs = []
    for n in range(count):
        base = rng.choice(templates)
        other = rng.choice(by_category[base["category"]])
        paragraphs = base["body"].split("\n\n") + rng.sample(other["body"].split("\n\n"), 1)
        body = "\n\n".join(paragraphs)
        date = now - timedelta(minutes=rng.randint(0, 2 * 365 * 24 * 60))
        doc = {k: v for k, v in base.items() if k not in ("minhash", "stems", "category")}
        doc.update(article_id=f"b{n:07d}", body=body, date=date.isoformat(),
                   published_at=date.isoformat(), source={"name": rng.choice(SOURCES)},
                   stems=stem_text(f"{base['title']}\n{body}"),
                   title_stems=stem_text(base["title"]), is_duplicate=False)
        docs.append(add_words(doc))
    return docs


async def load(settings: Settings, docs: list[dict[str, Any]]) -> None:
    es = make_client(settings)
    try:
        await ensure_index(es, settings)
        await es.indices.put_settings(index=settings.index_alias, settings={"refresh_interval": "-1"})
        for start in range(0, len(docs), 2000):
            operations: list[dict[str, Any]] = []
            for doc in docs[start:start + 2000]:
                operations += [{"index": {"_index": settings.index_alias, "_id": doc["article_id"]}}, doc]
            response = await es.options(request_timeout=120).bulk(operations=operations)
            assert not response["errors"], "bulk load failed"
        await es.indices.put_settings(index=settings.index_alias, settings={"refresh_interval": "1s"})
        await es.indices.refresh(index=settings.index_alias)
        await es.options(request_timeout=600).indices.forcemerge(index=settings.index_alias,
                                                            max_num_segments=1)
    finally:
        await es.close()


async def ensure_loaded(settings: Settings, es_client: httpx.AsyncClient, data_dir: Path | None,
                        articles: int) -> None:
    """The bench index with at least `articles` documents: loaded once, reused after."""
    count = (await es_client.get(f"/{settings.index_alias}/_count")).json().get("count", 0)
    if count < articles:
        print(f"loading {articles} articles into {settings.index_alias} ...", flush=True)
        started = time.monotonic()
        templates = enriched_bbc(data_dir, settings.cache_dir / "bench") if data_dir \
            else _synthetic(2000)
        await load(settings, recombine(templates, articles))
        print(f"  loaded in {time.monotonic() - started:.0f}s", flush=True)


def make_requests(facets: dict[str, list[str]], rng: random.Random) -> Request:
    """One request of the mix: free text, phrases, facet filters, date ranges, deep pages."""
    kind = rng.choices(["words", "phrase", "facet", "dates", "deep"], [35, 15, 25, 15, 10])[0]
    params: Request = {"size": 10}
    if kind in ("words", "facet", "dates", "deep"):
        params["q"] = " ".join(rng.sample(WORDS, rng.choice([1, 2])))
    if kind == "phrase":
        params["q"] = rng.choice(PHRASES)
    if kind == "facet":
        name = rng.choice(list(facets))
        params[{"people": "person", "countries": "country", "topics": "topic"}[name]] = \
            rng.choice(facets[name])
    if kind == "dates":
        params["from"] = rng.choice(["now-7d", "now-30d", "now-1y"])
        params["sort"] = "date"
    if kind == "deep":
        params["pages"] = rng.choice([3, 5])
    return params


class QueryMix:
    """Requests as real traffic has them: a pool of distinct requests (drawn from
    `make_requests`), ranked, and each request drawn with probability proportional to
    1 / rank ** `skew` (Zipf's law, which search logs follow: a few queries are asked again and
    again, most only once or twice). With skew 1.0 over 2,000 distinct requests, the top 10
    are 36% of the traffic and the top 100 63%; the bench prints the shares it used."""

    def __init__(self, facets: dict[str, list[str]], distinct: int = 2000, skew: float = 1.0,
                 seed: int = 5) -> None:
        rng = random.Random(seed)
        seen: dict[str, Request] = {}
        for _ in range(distinct * 50):
            if len(seen) >= distinct:
                break
            params = make_requests(facets, rng)
            seen.setdefault(repr(sorted(params.items())), params)
        self.pool = list(seen.values())
        rng.shuffle(self.pool)  # which request is popular is not the generator's order
        total, self.cumulative = 0.0, []
        for rank in range(1, len(self.pool) + 1):
            total += 1 / rank ** skew
            self.cumulative.append(total)

    def draw(self, rng: random.Random) -> Request:
        return rng.choices(self.pool, cum_weights=self.cumulative)[0]

    def share_of_top(self, count: int) -> float:
        return self.cumulative[min(count, len(self.pool)) - 1] / self.cumulative[-1]


def _search_request(params: Request) -> SearchRequest:
    filters = {name: [params[param]] for name, param in
               (("people", "person"), ("countries", "country"), ("topics", "topic")) if param in params}
    return SearchRequest(q=params.get("q"), filters=filters, date_from=params.get("from"),
                         size=params["size"], sort=params.get("sort", "relevance"))


Pages = list[float]  # when each HTTP request of one search (its first page, then each next) ended


async def via_api(client: httpx.AsyncClient, params: Request, pages: Pages | None = None) -> None:
    query = {k: v for k, v in params.items() if k != "pages"}
    response = await client.get("/search", params=query)
    response.raise_for_status()
    _ended(pages)
    for _ in range(params.get("pages", 1) - 1):
        cursor = response.json()["next_cursor"]
        if not cursor:
            break
        response = await client.get("/search", params={**query, "cursor": cursor})
        response.raise_for_status()
        _ended(pages)


def _ended(pages: Pages | None) -> None:
    if pages is not None:
        pages.append(time.perf_counter())


async def via_elasticsearch(client: httpx.AsyncClient, alias: str, bounds: dict[str, Any],
                            params: Request, pages: Pages | None = None) -> None:
    """The naive body (results and facets in one request), index date bounds known, PIT for
    deep pages.
    Responses are parsed only where the next request needs them, so the load generator, which
    shares the machine, does no more work here than when it calls the API."""
    request = _search_request(params)
    apply_bounds(request, bounds)
    response = await client.post(f"/{alias}/_search", json=build_body(request))
    response.raise_for_status()
    _ended(pages)
    pit = None
    for _ in range(params.get("pages", 1) - 1):
        hits = response.json()["hits"]["hits"]
        if len(hits) < request.size:
            break
        if pit is None:
            pit = (await client.post(f"/{alias}/_pit?keep_alive=2m")).json()["id"]
        body = build_body(request)
        body.pop("aggs")
        response = await client.post("/_search", json={
            **body, "search_after": hits[-1]["sort"], "pit": {"id": pit, "keep_alive": "2m"}})
        response.raise_for_status()
        _ended(pages)


async def run_load(call: Callable[[Request], Awaitable[None]], facets: dict[str, list[str]],
                   clients: int, seconds: float) -> tuple[list[float], float]:
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def client_loop(seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < deadline:
            params = make_requests(facets, rng)
            started = time.perf_counter()
            await call(params)
            latencies.append(time.perf_counter() - started)

    started = time.monotonic()
    await asyncio.gather(*(client_loop(seed) for seed in range(clients)))
    return latencies, len(latencies) / (time.monotonic() - started)


async def open_loop(call: Callable[[Request, Pages], Awaitable[None]], mix: QueryMix,
                    rate: float, seconds: float, seed: int) -> tuple[list[float], int]:
    """Poisson arrivals at `rate` per second. One latency per HTTP request: a search's first
    page from its due time (queueing included), each further page of a cursor walk from the
    end of the one before."""
    rng = random.Random(seed)
    latencies: list[float] = []
    failures = 0

    async def one(params: Request, due: float) -> None:
        nonlocal failures
        pages: Pages = []
        try:
            await call(params, pages)
        except httpx.HTTPError:
            failures += 1
            return
        latencies.extend(end - start for start, end in zip([due, *pages], pages, strict=False))

    tasks, due = [], time.perf_counter()
    end = due + seconds
    while due < end:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(one(mix.draw(rng), due)))
        due += rng.expovariate(rate)
    await asyncio.gather(*tasks)
    return latencies, failures


def p99_ms(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=100)[98] * 1000 if len(latencies) > 1 else float("inf")


async def held(name: str, call: Callable[[Request, Pages], Awaitable[None]], mix: QueryMix,
               rate: float, seconds: float) -> tuple[bool, float]:
    """One rate held for `seconds`: within the goal (p99 ≤ 100 ms, no failure), and its p99."""
    latencies, failures = await open_loop(call, mix, rate, seconds, seed=int(rate * 10))
    p99 = p99_ms(latencies)
    ok = p99 <= 100 and not failures
    print(f"{name:24} {rate:7.1f}/s: p50 {statistics.median(latencies) * 1000:7.1f} ms  "
          f"p99 {p99:7.1f} ms  failures {failures}  {'ok' if ok else 'over'}", flush=True)
    return ok, p99


async def sustainable(name: str, call: Callable[[Request, Pages], Awaitable[None]], mix: QueryMix,
                      start: float, seconds: float, precision: float = 0.05) -> float:
    """The highest rate whose p99 is ≤ 100 ms with no failure, to within `precision`: doubled
    from `start` until a rate is over, then bisected between the last rate within and the first
    over until they are `precision` apart."""
    low, high = 0.0, start
    while (await held(name, call, mix, high, seconds))[0]:
        low, high = high, high * 2
    while low == 0.0 or (high - low) / low > precision:
        middle = (low + high) / 2 if low else high / 2
        if (await held(name, call, mix, middle, seconds))[0]:
            low = middle
        else:
            high = middle
        if high < 1:
            return 0.0
    return low


def _metric(text: str, name: str, result: str) -> float:
    """One sample of a Prometheus exposition (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(f'{name}{{result="{result}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def report(name: str, latencies: list[float], qps: float) -> float:
    cuts = statistics.quantiles(latencies, n=100)
    p50, p95, p99 = cuts[49] * 1000, cuts[94] * 1000, cuts[98] * 1000
    print(f"{name:24} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  p99 {p99:7.1f} ms  "
          f"{qps:7.1f} QPS  ({len(latencies)} requests)")
    return p50


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, nargs="?")
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--open-loop", action="store_true")
    parser.add_argument("--start-rate", type=float, default=10.0,
                        help="open loop: the first rate tried; doubled until over, then bisected")
    parser.add_argument("--distinct", type=int, default=2000, help="distinct requests in the mix")
    parser.add_argument("--skew", type=float, default=1.0, help="the mix's Zipf exponent")
    args = parser.parse_args()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(namespace=NAMESPACE, search_port=port)
    es_client = httpx.AsyncClient(**http_options(settings), timeout=60,
                                  limits=httpx.Limits(max_connections=200))
    await ensure_loaded(settings, es_client, args.data_dir, args.articles)
    aggs = {name: {"terms": {"field": field, "size": 50}} for name, field in
            (("people", "people"), ("countries", "country_codes"), ("topics", "topic_labels"))}
    buckets = (await es_client.post(f"/{settings.index_alias}/_search",
                                    json={"size": 0, "aggs": aggs})).json()["aggregations"]
    facets = {name: [b["key"] for b in agg["buckets"]] for name, agg in buckets.items()}

    env = {**os.environ, "NEWSFLOW_NAMESPACE": NAMESPACE, "NEWSFLOW_SEARCH_PORT": str(port)}
    api = subprocess.Popen([sys.executable, "-m", "services.search_api"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    api_client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60,
                                   limits=httpx.Limits(max_connections=max(args.clients, 200)))
    try:
        for _ in range(100):
            try:
                if (await api_client.get("/health")).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
        warm = min(10.0, args.seconds / 4)
        await run_load(lambda p: via_api(api_client, p), facets, args.clients, warm)
        bounds = (await es_client.post(f"/{settings.index_alias}/_search",
                                       json=bounds_body(SearchRequest(hide_duplicates=False)))).json()
        await run_load(lambda p: via_elasticsearch(es_client, settings.index_alias, bounds, p),
                       facets, args.clients, warm)
        total = (await es_client.get(f"/{settings.index_alias}/_count")).json()["count"]
        if args.open_loop:
            mix = QueryMix(facets, args.distinct, args.skew)
            print(f"{total} articles; open loop, Poisson arrivals, each rate held {args.seconds:.0f} s; "
                  f"mix: {len(mix.pool)} distinct requests, Zipf skew {args.skew} (top 10: "
                  f"{mix.share_of_top(10):.0%} of requests, top 100: {mix.share_of_top(100):.0%})")
            direct_call = lambda p, pages: via_elasticsearch(  # noqa: E731
                es_client, settings.index_alias, bounds, p, pages)
            api_call = lambda p, pages: via_api(api_client, p, pages)  # noqa: E731
            direct = await sustainable("(b) Elasticsearch direct", direct_call, mix, args.start_rate,
                                       args.seconds)
            api_rate = await sustainable("(a) newsflow API", api_call, mix, args.start_rate, args.seconds)
            _, at_direct = await held("(a) API at direct's rate", api_call, mix, direct, args.seconds) \
                if direct else (False, float("nan"))
            counts = {result: _metric(metrics.text, "newsflow_search_cache_total", result)
                      for result in ("hit", "miss")
                      for metrics in [await api_client.get("/metrics/")]}
            looked = counts["hit"] + counts["miss"]
            print(f"the API's answer cache: {counts['hit']:.0f} hits of {looked:.0f} first pages "
                  f"({counts['hit'] / looked if looked else 0:.0%}; NEWSFLOW_SEARCH_CACHE_ENTRIES=0: off)")
            print(f"sustainable at p99 ≤ 100 ms (to within 5%): API {api_rate:.1f}/s, Elasticsearch "
                  f"direct {direct:.1f}/s; API/direct = {api_rate / direct if direct else float('nan'):.2f}; "
                  f"the API's p99 at direct's rate: {at_direct:.1f} ms")
            return
        print(f"{total} articles; {args.clients} clients; {args.seconds:.0f} s each")
        raw = await run_load(lambda p: via_elasticsearch(es_client, settings.index_alias, bounds, p),
                             facets, args.clients, args.seconds)
        ours = await run_load(lambda p: via_api(api_client, p), facets, args.clients, args.seconds)
        raw_p50 = report("(b) Elasticsearch direct", *raw)
        our_p50 = report("(a) newsflow API", *ours)
        print(f"overhead: p50 {our_p50 / raw_p50 - 1:+.0%}, QPS {ours[1] / raw[1] - 1:+.0%}")
    finally:
        api.terminate()
        await api_client.aclose()
        await es_client.aclose()


if __name__ == "__main__":
    asyncio.run(main())
