"""Alert matching at scale: 100,000 generated subscriptions against the 2,225 BBC articles, on
one core (one Python thread).

Subscriptions are drawn from the articles' own vocabulary, entities and facet values: single
words, two-word ANDs, phrases, OR groups, NOT, title: and entity terms, country/topic terms and
facet filters. Prints the indexed matcher's articles/s (median of passes), candidates and
matches per article, the brute-force rate (every subscription for every article) on a sample,
the ratio, and peak memory. The brute-force sample's matches must equal the indexed ones.

    .venv/bin/python -m bench.alerts_match ../shared/data/bbc
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import time
from pathlib import Path
from typing import Any

from bench.data import enriched_bbc
from services.alerts.candidates import SubscriptionIndex, document_frequencies
from services.alerts.matching import ArticleView, NotExact, SubscriptionQuery
from shared.settings import get_settings

Generated = tuple[str | None, dict[str, list[str]]]


def generate(docs: list[dict[str, Any]], count: int, seed: int = 7) -> list[Generated]:
    rng = random.Random(seed)
    titles = [doc["title"].lower().split() for doc in docs]
    words = sorted({w.strip(".,:;'\"()!?") for t in titles for w in t if len(w) >= 4 and w.isalpha()})
    bigrams = sorted({" ".join(t[i:i + 2]) for t in titles for i in range(len(t) - 1)
                      if all(w.isalpha() for w in t[i:i + 2])})
    people = sorted({p for doc in docs for p in doc["people"]})
    orgs = sorted({o for doc in docs for o in doc["organizations"]})
    countries = sorted({c for doc in docs for c in doc["country_codes"]})
    topics = sorted({t for doc in docs for t in doc["topic_labels"] + doc["subtopic_labels"]})
    word = lambda: rng.choice(words)  # noqa: E731
    shapes = [
        (30, lambda: (word(), {})),
        (15, lambda: (f"{word()} {word()}", {})),
        (10, lambda: (f'"{rng.choice(bigrams)}"', {})),
        (10, lambda: (" OR ".join(word() for _ in range(rng.randint(2, 3))), {})),
        (8, lambda: (f'person:"{rng.choice(people)}"', {})),
        (4, lambda: (f'org:"{rng.choice(orgs)}" {word()}', {})),
        (8, lambda: (f"{word()} -{word()}", {})),
        (5, lambda: (f"title:{word()}", {})),
        (5, lambda: (word(), {"countries": [rng.choice(countries)]})),
        (5, lambda: (f'country:{rng.choice(countries)} topic:"{rng.choice(topics)}"', {})),
    ]
    weights = [w for w, _ in shapes]
    return [rng.choices(shapes, weights)[0][1]() for _ in range(count)]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--brute-sample", type=int, default=20)
    args = parser.parse_args()

    docs = enriched_bbc(args.data_dir, get_settings().cache_dir / "bench")
    print(f"{len(docs)} articles; memory before subscriptions {peak_rss_mb():.0f} MB")
    views = [ArticleView.of(doc) for doc in docs]
    index = SubscriptionIndex(document_frequencies(views))
    started, refused = time.perf_counter(), 0
    for n, (query, filters) in enumerate(generate(docs, args.subscriptions)):
        try:
            index.add(f"s{n}", SubscriptionQuery.compile(query, filters))
        except NotExact:
            refused += 1
    print(f"{len(index.subscriptions)} subscriptions indexed in {time.perf_counter() - started:.1f} s "
          f"({refused} refused); always-checked {len(index.always)}")

    rates, candidates, matches = [], 0, 0
    for _ in range(args.passes):
        candidates = matches = 0
        started = time.perf_counter()
        for doc in docs:
            view = ArticleView.of(doc)  # per-article preparation is part of the cost
            found = index.candidates(view)
            candidates += len(found)
            matches += len(index.matches_among(view, found))
        rates.append(len(docs) / (time.perf_counter() - started))
    rate = statistics.median(rates)
    print(f"indexed: {rate:.0f} articles/s (passes {', '.join(f'{r:.0f}' for r in rates)}); "
          f"{candidates / len(docs):.0f} candidates and {matches / len(docs):.1f} matches per article")

    sample = random.Random(1).sample(views, args.brute_sample)
    started = time.perf_counter()
    brute = [index.brute_force(view) for view in sample]
    brute_rate = len(sample) / (time.perf_counter() - started)
    assert brute == [sorted(index.matches(view)) for view in sample], "indexed and brute force disagree"
    print(f"brute force: {brute_rate:.1f} articles/s on {len(sample)} articles (same matches); "
          f"ratio {rate / brute_rate:.0f}x")
    print(f"peak memory {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
