"""Alert matching at scale: 100,000 generated subscriptions against the 2,225 BBC articles, on
one core (one Python thread), for two mixes in one run.

Subscriptions are drawn from the articles' own vocabulary, entities and facet values. The plain
mix: single words, two-word ANDs, phrases, OR groups, NOT, title: and entity terms,
country/topic terms and facet filters. The full mix keeps those shapes for 70% and adds:
- prefixes, 20%: alone, with a word, with a country, or ending a phrase of two title words of
  four letters or more; 4 to 7 letters;
- fuzzy words, 5%: a title word with a letter dropped, swapped or changed, alone or with a word;
- proximity, 5%: two words of five letters or more from one article's body, within 0 to 8
  others, as "a b"~N or a NEAR/N b.
Prints per mix the indexed matcher's articles/s (median of passes), candidates and matches per
article, the brute-force rate (every subscription for every article) on a sample, the ratio,
and peak memory. The brute-force sample's matches must equal the indexed ones.

With --shards N the subscriptions are split as the matcher splits them (`shard_of` their ids)
and each shard runs in a process of its own, one after the other (one core each, as one matcher
per shard would): per shard, its subscriptions, distinct queries, articles/s, peak memory and
memory per subscription (peak less the memory before the first subscription). Every article
reaches every shard, so the deployment's rate is its slowest shard's.

    .venv/bin/python -m bench.alerts_match ../shared/data/bbc [--mix plain|full|both]
    .venv/bin/python -m bench.alerts_match ../shared/data/bbc --subscriptions 1000000 --shards 4
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.data import enriched_bbc
from bench.local import rss_mb
from services.alerts.candidates import SubscriptionIndex, document_frequencies
from shared.contracts.alerts import shard_of
from shared.query import ArticleView, NotExact, SubscriptionQuery
from shared.settings import get_settings

Generated = tuple[str | None, dict[str, list[str]]]


def generate(docs: list[dict[str, Any]], count: int, seed: int = 7, mix: str = "plain"
             ) -> list[Generated]:
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
    if mix == "full":
        bodies = [re.findall(r"[a-z]{5,}", doc["body"].lower()) for doc in docs]  # content words
        content_bigrams = [b for b in bigrams if all(len(w) >= 4 for w in b.split())]
        prefix = lambda: (lambda w: w[:rng.randint(4, min(7, len(w)))])(word()) + "*"  # noqa: E731

        def near(phrase: bool) -> Generated:
            body = rng.choice([b for b in bodies[:200] if len(b) > 12])
            start, gap = rng.randrange(len(body) - 10), rng.randint(1, 9)
            first, second, distance = body[start], body[start + gap], rng.randint(max(0, gap - 2), 8)
            return (f'"{first} {second}"~{distance}' if phrase else f"{first} NEAR/{distance} {second}"), {}

        def misspelled() -> str:
            w = word()
            i = rng.randrange(1, len(w) - 1)
            return rng.choice([w[:i] + w[i + 1:], w[:i] + w[i + 1] + w[i] + w[i + 2:],
                               w[:i] + rng.choice("aeiou") + w[i + 1:]])
        shapes = [(weight * 0.7, shape) for weight, shape in shapes] + [
            (8, lambda: (prefix(), {})),
            (6, lambda: (f"{prefix()} {word()}", {})),
            (3, lambda: (f"{prefix()} country:{rng.choice(countries)}", {})),
            (3, lambda: (f'"{rng.choice(content_bigrams)}*"', {})),
            (2, lambda: (f"{misspelled()}~", {})),
            (3, lambda: (f"{misspelled()}~1 {word()}", {})),
            (3, lambda: near(True)),
            (2, lambda: near(False)),
        ]
    weights = [w for w, _ in shapes]
    return [rng.choices(shapes, weights)[0][1]() for _ in range(count)]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_mix(docs: list[dict[str, Any]], views: list[ArticleView], args: argparse.Namespace,
            mix: str) -> float:
    index = SubscriptionIndex(document_frequencies(views))
    before = rss_mb(os.getpid())
    generated = [(f"s{n}", query, filters)
                 for n, (query, filters) in enumerate(generate(docs, args.subscriptions, mix=mix))]
    if args.shard is not None:
        generated = [row for row in generated if shard_of(row[0], args.shards) == args.shard]
    started, refused = time.perf_counter(), 0
    for sid, query, filters in generated:
        try:
            # As the matcher does: a query some subscription already asks is not compiled again.
            index.add(sid, index.compiled(query, filters) or SubscriptionQuery.compile(query, filters))
        except NotExact:
            refused += 1
    took = time.perf_counter() - started
    del generated
    gc.collect()
    # What the index holds: resident memory now (the generated list let go) less before it was
    # made; memory the allocator keeps from the list counts against the index.
    held = rss_mb(os.getpid()) - before
    print(f"[{mix}] {len(index)} subscriptions ({len(index.queries)} distinct queries) indexed in "
          f"{took:.1f} s ({refused} refused); always-checked {len(index.always)}; "
          f"{held:.0f} MB held, {held * 1024 / max(len(index), 1):.2f} KB per subscription")

    rates, matches = [], 0
    for _ in range(args.passes):
        matches = 0
        started = time.perf_counter()
        for doc in docs:
            view = ArticleView.of(doc)  # per-article preparation is part of the cost
            matches += len(index.matches(view))
        rates.append(len(docs) / (time.perf_counter() - started))
    rate = statistics.median(rates)
    # Again after matching: a query's predicate is built the first time it is evaluated.
    held = rss_mb(os.getpid()) - before
    print(f"[{mix}] after matching: {held:.0f} MB held, {held * 1024 / max(len(index), 1):.2f} KB "
          "per subscription")
    candidates = sum(len(index.candidates(view)) for view in views[:200]) / 200
    print(f"[{mix}] indexed: {rate:.0f} articles/s (passes {', '.join(f'{r:.0f}' for r in rates)}); "
          f"{candidates:.0f} candidates and {matches / len(docs):.1f} matches per article")

    sample = random.Random(1).sample(views, args.brute_sample)
    started = time.perf_counter()
    brute = [index.brute_force(view) for view in sample]
    brute_rate = len(sample) / (time.perf_counter() - started)
    assert brute == [sorted(index.matches(view)) for view in sample], "indexed and brute force disagree"
    print(f"[{mix}] brute force: {brute_rate:.1f} articles/s on {len(sample)} articles (same "
          f"matches); ratio {rate / brute_rate:.0f}x; peak memory so far {peak_rss_mb():.0f} MB")
    if args.shard is not None:
        print(f"SHARD {args.shard} {len(index)} {len(index.queries)} {rate:.1f} {peak_rss_mb():.1f} "
              f"{held * 1024 / max(len(index), 1):.3f}")
    return rate


def run_shards(args: argparse.Namespace) -> None:
    """Each shard in its own process, one at a time; then the table."""
    rows = []
    for shard in range(args.shards):
        command = [sys.executable, "-m", "bench.alerts_match", str(args.data_dir), "--subscriptions",
                   str(args.subscriptions), "--shards", str(args.shards), "--shard", str(shard),
                   "--passes", str(args.passes), "--brute-sample", str(args.brute_sample), "--mix", args.mix]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        print(output, end="", flush=True)
        rows += [line.split()[1:] for line in output.splitlines() if line.startswith("SHARD ")]
    table = Table(title=f"{args.subscriptions} subscriptions in {args.shards} shards ({args.mix} mix), "
                        "one core each")
    for column in ("shard", "subscriptions", "distinct queries", "articles/s", "peak MB", "KB/subscription"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(*row)
    Console(width=120).print(table)
    print(f"the deployment's rate (its slowest shard): {min(float(r[3]) for r in rows):.1f} articles/s; "
          f"memory per subscription, median of shards: {statistics.median(float(r[5]) for r in rows):.2f} KB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--brute-sample", type=int, default=20)
    parser.add_argument("--mix", choices=["plain", "full", "both"], default="both")
    parser.add_argument("--shards", type=int, default=1, help="split the subscriptions as the matcher does")
    parser.add_argument("--shard", type=int, help=argparse.SUPPRESS)  # one shard's process
    args = parser.parse_args()
    if args.shards > 1 and args.shard is None:
        if args.mix == "both":
            args.mix = "full"
        run_shards(args)
        return

    docs = enriched_bbc(args.data_dir, get_settings().cache_dir / "bench")
    print(f"{len(docs)} articles; memory before subscriptions {peak_rss_mb():.0f} MB")
    views = [ArticleView.of(doc) for doc in docs]
    rates = {mix: run_mix(docs, views, args, mix)
             for mix in (["plain", "full"] if args.mix == "both" else [args.mix])}
    if len(rates) == 2:
        print(f"full mix / plain mix: {rates['full'] / rates['plain']:.2f}")


if __name__ == "__main__":
    main()
