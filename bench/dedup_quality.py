"""Duplicate detection on the BBC News set, which holds 98 pairs of identical articles.

    python -m bench.dedup_quality ../shared/data/bbc

Every article goes through newsflow's enrichment in file order, each under its own id (as if
each had its own URL). Prints how many of the known duplicate pairs were flagged (exact or near),
every other flag (a false flag, or a near duplicate the set does not list), and how the stories
came out (count and largest), as a check that story grouping does not lump unrelated articles.
"""

from __future__ import annotations

import argparse
from collections import Counter
from datetime import UTC, datetime
from difflib import SequenceMatcher
from pathlib import Path

from bench.data import read_bbc
from services.enrichment.enrich import analyse
from services.linking.link import Linker
from shared.contracts.messages import ExtractedArticle

NEAR_COPY = 0.8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    args = parser.parse_args()
    records = read_bbc(args.data_dir)
    # The ground truth: articles with identical title and text.
    first_of: dict[tuple[str, str], str] = {}
    true_pairs: set[tuple[str, str]] = set()
    for r in records:
        key = (r["title"], r["text"])
        if key in first_of:
            true_pairs.add((first_of[key], r["id"]))
        else:
            first_of[key] = r["id"]

    linker = Linker()
    now = datetime.now(UTC)
    flagged: dict[tuple[str, str], str] = {}
    stories: Counter[str] = Counter()
    for r in records:
        article = linker.linked(analyse(ExtractedArticle(
            article_id=r["id"], title=r["title"], body=r["text"], submitted_at=now, language="en")))
        if article.duplicate_of:
            flagged[(article.duplicate_of, r["id"])] = article.duplicate_kind or ""
        stories[article.story_id or ""] += 1

    found = true_pairs & set(flagged)
    extra = {pair: kind for pair, kind in flagged.items() if pair not in true_pairs}
    text = {r["id"]: r["text"] for r in records}
    # A flag outside the listed pairs is a false flag unless the bodies really are near copies
    # (the list only has pairs identical in title *and* text).
    similarity = {pair: SequenceMatcher(None, text[pair[0]], text[pair[1]]).ratio() for pair in extra}
    false_flags = {pair for pair, ratio in similarity.items() if ratio < NEAR_COPY}
    print(f"known duplicate pairs: {len(true_pairs)}; flagged: {len(found)} "
          f"({dict(Counter(flagged[p] for p in found))})")
    print(f"other flags: {len(extra)}, of which bodies are near copies (difflib ratio >= "
          f"{NEAR_COPY}): {len(extra) - len(false_flags)}; false flags: {len(false_flags)}")
    for (original, duplicate), kind in sorted(extra.items()):
        print(f"  {kind:5} {duplicate} duplicates {original} "
              f"(body similarity {similarity[(original, duplicate)]:.2f})")
    sizes = sorted(stories.values(), reverse=True)
    print(f"stories: {len(stories)} for {len(records)} articles; largest {sizes[:5]}; "
          f"singletons {sum(1 for s in sizes if s == 1)}")


if __name__ == "__main__":
    main()
