"""What each construct of the query language costs on 100,000 articles: p50 and p95 of the
query alone, sent straight to Elasticsearch (`size: 10`, exact total, no facets), and the disk
the words fields and their indexed prefixes take.

    python -m bench.query_cost [../shared/data/bbc] [--articles 100000] [--repeats 200]

Needs the local stack up (`python -m deploy.local up`). Uses the index of bench/search_load.py
(namespace "bench", loaded the same way when missing). Each query is sent --repeats times in
turn with the others (so no query has the caches to itself), after one warm-up round; prints
per query its total hits, p50 and p95 in ms, and p50 against the plain word's.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

import httpx

from bench.search_load import NAMESPACE, ensure_loaded
from shared.query import Query
from shared.runtime.elasticsearch import http_options
from shared.settings import Settings

QUERIES = [
    ("plain word", "government"),
    ("two words", "government minister"),
    ("phrase", '"prime minister"'),
    ("prefix, 2 letters", "go*"),
    ("prefix, 3 letters", "gov*"),
    ("prefix, 5 letters", "gover*"),
    ("prefix, 8 letters", "governme*"),
    ("phrase prefix", '"prime minis*"'),
    ("phrase prefix, 7 letters", '"prime ministe*"'),
    ("fuzzy, AUTO (2 edits)", "goverment~"),
    ("fuzzy, 1 edit", "goverment~1"),
    ("proximity", '"interest rates"~3'),
    ("NEAR with a prefix", "interest NEAR/3 rat*"),
]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, nargs="?")
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    settings = Settings(namespace=NAMESPACE)
    alias = settings.index_alias
    async with httpx.AsyncClient(**http_options(settings), timeout=120) as es:
        await ensure_loaded(settings, es, args.data_dir, args.articles)
        count = (await es.get(f"/{alias}/_count")).json()["count"]
        bodies = [(name, q, {"query": Query.parse(q).elasticsearch(), "size": 10,
                             "track_total_hits": True, "_source": False}) for name, q in QUERIES]
        times: dict[str, list[float]] = {name: [] for name, _, _ in bodies}
        totals: dict[str, int] = {}
        for round_ in range(args.repeats + 1):
            for name, _, body in bodies:
                started = time.perf_counter()
                response = await es.post(f"/{alias}/_search", json=body)
                elapsed = (time.perf_counter() - started) * 1000
                response.raise_for_status()
                totals[name] = response.json()["hits"]["total"]["value"]
                if round_:  # the first round warms caches and loads the terms
                    times[name].append(elapsed)
        print(f"{count} articles; {args.repeats} rounds, each query once a round")
        plain = statistics.median(times[QUERIES[0][0]])
        print(f"{'construct':26} {'query':24} {'hits':>7} {'p50 ms':>7} {'p95 ms':>7} {'p50/word':>8}")
        for name, q, _ in bodies:
            p50 = statistics.median(times[name])
            p95 = statistics.quantiles(times[name], n=20)[-1]
            print(f"{name:26} {q:24} {totals[name]:>7} {p50:7.1f} {p95:7.1f} {p50 / plain:8.2f}")

        usage = (await es.post(f"/{alias}/_disk_usage", params={"run_expensive_tasks": "true"})).json()
        fields = next(v for k, v in usage.items() if not k.startswith("_"))["fields"]
        total = next(v for k, v in usage.items() if not k.startswith("_"))["store_size_in_bytes"]

        def size(*names: str) -> int:
            return sum(fields.get(n, {}).get("total_in_bytes", 0) for n in names)
        words = size("words", "title_words")
        prefixes = size("words._index_prefix", "title_words._index_prefix")
        stems = size("stems", "title_stems")
        print(f"index {total / 2**20:.0f} MiB: words fields {words / 2**20:.0f} MiB, their indexed "
              f"prefixes {prefixes / 2**20:.0f} MiB, stems fields {stems / 2**20:.0f} MiB "
              f"(words + prefixes: {(words + prefixes) / total:.0%} of the index)")


if __name__ == "__main__":
    asyncio.run(main())
