"""Reading the reference data sets from ../shared/data (never copied into the repo)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any


def read_bbc(data_dir: Path) -> list[dict[str, Any]]:
    """The BBC News records: id, category, title, text."""
    with gzip.open(data_dir / "articles.jsonl.gz", "rt") as lines:
        return [json.loads(line) for line in lines]


def enriched_bbc(data_dir: Path, cache_dir: Path | None = None) -> list[dict[str, Any]]:
    """The BBC records enriched and linked by our code, as index documents (plus their category).
    Enriching takes minutes, so the result is cached under `cache_dir` when given."""
    cache = cache_dir / "bbc-enriched.jsonl.gz" if cache_dir else None
    if cache is not None and cache.exists():
        with gzip.open(cache, "rt") as lines:
            return [json.loads(line) for line in lines]
    from datetime import UTC, datetime

    from services.enrichment.enrich import analyse
    from services.linking.link import Linker
    from shared.contracts.document import to_document
    from shared.contracts.messages import ExtractedArticle

    records = read_bbc(data_dir)
    linker, now, docs = Linker(), datetime.now(UTC), []
    for n, r in enumerate(records):
        article = linker.linked(analyse(ExtractedArticle(article_id=f"bbc{n}", title=r["title"],
                                                   body=r["text"], submitted_at=now)))
        docs.append(to_document(article) | {"category": r["category"]})
        if n % 250 == 0:
            print(f"  enriched {n}/{len(records)}", flush=True)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(cache, "wt") as out:
            out.writelines(json.dumps(doc) + "\n" for doc in docs)
    return docs
