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
from shared.contracts.messages import RawArticle
from shared.text import language

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


def timed_pass(extractor: Callable[[str, str], str], pages: list[tuple[str, str, str]]
               ) -> tuple[list[str], float]:
    started = time.perf_counter()
    outputs = [extractor(html, url) for html, url, _gold in pages]
    return outputs, len(pages) / (time.perf_counter() - started)


def scores(outputs: list[str], pages: list[tuple[str, str, str]]) -> tuple[float, float, float]:
    """Mean precision, recall and F1 over the pages."""
    per_page = [prf(output, gold) for output, (_h, _u, gold) in zip(outputs, pages, strict=True)]
    n = len(per_page)
    p, r, f = (sum(s[i] for s in per_page) / n for i in range(3))
    return p, r, f


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
    language.load_model()  # as the extraction worker does at start-up
    for extractor in extractors.values():  # warm up imports and caches
        extractor(pages[0][0], pages[0][1])
    # Passes alternate between the two, so a busy moment of this shared machine hits both.
    speeds: dict[str, list[float]] = {name: [] for name in extractors}
    outputs: dict[str, list[str]] = {}
    for _ in range(args.rounds):
        for name, extractor in extractors.items():
            outputs[name], speed = timed_pass(extractor, pages)
            speeds[name].append(speed)
    medians = {name: statistics.median(values) for name, values in speeds.items()}
    for name in extractors:
        p, r, f = scores(outputs[name], pages)
        print(f"{name:12} precision {p:.3f}  recall {r:.3f}  F1 {f:.3f}  "
              f"{medians[name]:6.1f} pages/s (median of {args.rounds}, {len(pages)} pages)")
    ratios = [ours / theirs for ours, theirs in zip(speeds["newsflow"], speeds["trafilatura"],
                                                      strict=True)]
    print(f"speed ratio newsflow/trafilatura: median {statistics.median(ratios):.2f} "
          f"(per pass: {', '.join(f'{r:.2f}' for r in ratios)})")


if __name__ == "__main__":
    main()
