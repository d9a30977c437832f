"""The cost of hostile articles: each of issue 11's poison pills through extraction and
enrichment's NLP, in this process (what the stages' child processes run), timed.

    python -m bench.hostile_inputs [--rounds 3]

Prints, per input, its size, the median seconds of extraction and of analysis, the output's
size against the broker limit, and what happened (extracted, refused, trimmed). A row over the
stage budget (NEWSFLOW_STAGE_BUDGET_SECONDS, 30 s) would be dead-lettered by the stage.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from services.enrichment.enrich import analyse, warm
from services.extraction.extract import extract_article
from shared.contracts.messages import RawArticle
from shared.settings import Settings


def _inputs() -> dict[str, RawArticle]:
    now = datetime.now(UTC)

    def text(content: str) -> RawArticle:
        return RawArticle(article_id="x", format="text", content=content, submitted_at=now)

    quote = '"We will talk," Feltman said. '
    return {
        "1.1 million <p> elements": RawArticle(
            article_id="x", format="html", submitted_at=now,
            content="<html><body>" + "<p>x</p>" * 1_100_000 + "</body></html>"),
        "59,000 <p> elements (under the limit)": RawArticle(
            article_id="x", format="html", submitted_at=now,
            content="<html><body>" + "<p>Some words here.</p>" * 59_000 + "</body></html>"),
        '20,000 "Jan 1" dates, 120 KB': text("Dates\n" + "On Jan 1 it rained. " * 20_000),
        "2,000 quotes in 590 KB": text("Quotes\nJeffrey Feltman spoke. " + quote * 2_000
                                       + "x" * (590_000 - 2_000 * len(quote))),
        '2.6 million " characters': text("Quotes\n" + '"' * 2_600_000),
        "950,000-character body": text("Long\n" + "The envoy met officials in Seoul. " * 28_000),
        "4.9 MB single token": text("Token\n" + "a" * 4_900_000),
        "3 MB zalgo run (ingest would cut it)": text("Zalgo\nSe" + "\u0301" * 1_500_000 + "oul is a city."),
    }


def _median_seconds(work: Callable[[], Any], rounds: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    settings = Settings()
    warm()
    print(f"{'input':42} {'MB in':>6} {'extract s':>9} {'analyse s':>9} {'MB out':>7}  outcome")
    for name, raw in _inputs().items():
        size = len(raw.to_bytes()) / 1e6
        try:
            extract_s, extracted = _median_seconds(
                partial(extract_article, raw, settings.max_html_elements), args.rounds)
        except ValueError as exc:
            print(f"{name:42} {size:6.1f} {'-':>9} {'-':>9} {'-':>7}  refused: {str(exc)[:60]}")
            continue
        analyse_s, enriched = _median_seconds(partial(analyse, extracted), args.rounds)
        data = enriched.to_bytes_within(settings.max_message_bytes)
        outcome = "dead-lettered: over the message limit" if data is None else (
            f"trimmed: {', '.join(enriched.trimmed)}" if enriched.trimmed else "enriched")
        out = len(data or enriched.to_bytes()) / 1e6
        print(f"{name:42} {size:6.1f} {extract_s:9.2f} {analyse_s:9.2f} {out:7.1f}  {outcome}")


if __name__ == "__main__":
    main()
