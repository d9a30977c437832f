"""Seed ingest → searchable latency, against the running services (start them with
`deploy/run.sh demo`). Each run submits both seed documents under a fresh URL, so each is a new
article, and measures from the POST until (a) the search API can fetch it by id (Elasticsearch's
real-time GET) and (b) a search finds it (after the index refresh, as /search sees it).

    python -m bench.ingest_latency [--runs 10]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid
from collections.abc import Callable

import httpx

from shared.runtime.elasticsearch import http_options
from shared.settings import get_settings
from tests.conftest import SEED_000, SEED_004

POLL_SECONDS = 0.01
TIMEOUT_SECONDS = 60.0


def _wait(check: Callable[[], bool], started: float, what: str) -> float:
    while time.perf_counter() - started < TIMEOUT_SECONDS:
        if check():
            return time.perf_counter() - started
        time.sleep(POLL_SECONDS)
    raise TimeoutError(f"{what} after {TIMEOUT_SECONDS}s")


def latencies(ingest: httpx.Client, search: httpx.Client, es: httpx.Client, alias: str,
              content: str) -> tuple[float, float]:
    url = f"https://bench.newsflow.invalid/{uuid.uuid4().hex}"
    started = time.perf_counter()
    response = ingest.post("/articles", json={"format": "text", "content": content, "url": url,
                                              "source": {"name": "bench"}})
    response.raise_for_status()
    article_id = response.json()["article_id"]
    fetchable = _wait(lambda: search.get(f"/articles/{article_id}").status_code == 200,
                      started, f"{article_id} not fetchable")
    query = {"query": {"term": {"article_id": article_id}}}
    found = _wait(lambda: es.post(f"/{alias}/_count", json=query).json().get("count") == 1,
                  started, f"{article_id} not found by search")
    return fetchable, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    settings = get_settings()
    # The demo's admin key (deploy/local demo), unless NEWSFLOW_API_KEY names another.
    key = settings.api_key.get_secret_value() if settings.api_key else \
        (settings.cache_dir / "state" / "demo-key").read_text().strip()
    ingest = httpx.Client(base_url=f"http://{settings.ingest_host}:{settings.ingest_port}",
                          headers={"Authorization": f"Bearer {key}"})
    search = httpx.Client(base_url=f"http://{settings.search_host}:{settings.search_port}")
    es = httpx.Client(**http_options(settings))
    seeds = {"000": SEED_000.read_text(), "004": SEED_004.read_text()}
    samples: dict[str, list[float]] = {"fetchable by id": [], "found by search": []}
    for run in range(args.runs):
        for name, content in seeds.items():
            # A random pause, so submissions do not fall into step with the 1 s index refresh.
            time.sleep(random.uniform(0, 1))
            fetchable, found = latencies(ingest, search, es, settings.index_alias, content)
            samples["fetchable by id"].append(fetchable)
            samples["found by search"].append(found)
            print(f"run {run + 1:2d} seed {name}: fetchable {fetchable * 1000:7.1f} ms, "
                  f"found by search {found * 1000:7.1f} ms")
    for name, values in samples.items():
        print(f"{name:16}: median {statistics.median(values) * 1000:7.1f} ms  "
              f"min {min(values) * 1000:7.1f}  max {max(values) * 1000:7.1f}  (n={len(values)})")


if __name__ == "__main__":
    main()
