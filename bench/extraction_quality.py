"""Body-text extraction quality and speed: newsflow's extractor against plain trafilatura.

    python -m bench.extraction_quality ../shared/data/extraction-benchmark

For each page of the benchmark (HTML + ground-truth body), both extractors run in this one
process on one core, one page at a time, and we print token-level precision, recall and F1 (mean
per page, as the benchmark's authors score it) and pages per second (median of --rounds passes)
for each, and the ratio of the speeds.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import trafilatura

from services.extraction.extract import extract_article
from shared.contracts import RawArticle

_TOKEN = re.compile(r"\w+", re.UNICODE)


def tokens(text: str) -> Counter[str]:
    return Counter(_TOKEN.findall(text.lower()))


def prf(predicted: str, gold: str) -> tuple[float, float, float]:
    got, want = tokens(predicted), tokens(gold)
    overlap = sum((got & want).values())
    precision = overlap / sum(got.values()) if got else 0.0
    recall = overlap / sum(want.values()) if want else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def ours(html: str, url: str) -> str:
    try:
        return extract_article(RawArticle(article_id="bench", format="html", content=html,
                                          url=url)).body
    except ValueError:
        return ""


def plain_trafilatura(html: str, url: str) -> str:
    return trafilatura.extract(html, url=url) or ""


def evaluate(extractor: Callable[[str, str], str], pages: list[tuple[str, str, str]],
             rounds: int) -> tuple[tuple[float, float, float], float]:
    """Mean precision/recall/F1 over pages, and the median pages/s over `rounds` passes."""
    speeds = []
    outputs: list[str] = []
    for _ in range(rounds):
        started = time.perf_counter()
        outputs = [extractor(html, url) for html, url, _gold in pages]
        speeds.append(len(pages) / (time.perf_counter() - started))
    scores = [prf(output, gold) for output, (_h, _u, gold) in zip(outputs, pages, strict=True)]
    n = len(scores)
    p, r, f = (sum(s[i] for s in scores) / n for i in range(3))
    return (p, r, f), statistics.median(speeds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    truth = json.loads((args.data_dir / "ground-truth.json").read_text())
    pages = []
    for page_id, record in sorted(truth.items()):
        html = gzip.decompress((args.data_dir / "html" / f"{page_id}.html.gz").read_bytes())
        pages.append((html.decode("utf-8", errors="replace"), record["url"], record["articleBody"]))
    if args.limit:
        pages = pages[: args.limit]
    extractors = {"trafilatura": plain_trafilatura, "newsflow": ours}
    for extractor in extractors.values():  # warm up imports and caches
        extractor(pages[0][0], pages[0][1])
    speeds = {}
    for name, extractor in extractors.items():
        (p, r, f), speeds[name] = evaluate(extractor, pages, args.rounds)
        print(f"{name:12} precision {p:.3f}  recall {r:.3f}  F1 {f:.3f}  "
              f"{speeds[name]:6.1f} pages/s (median of {args.rounds}, {len(pages)} pages)")
    print(f"speed ratio newsflow/trafilatura: {speeds['newsflow'] / speeds['trafilatura']:.2f}")


if __name__ == "__main__":
    main()
