"""Reading the reference data sets from ../shared/data (never copied into the repo)."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any


def read_bbc(data_dir: Path) -> list[dict[str, Any]]:
    """The BBC News records: id, category, title, text."""
    with gzip.open(data_dir / "articles.jsonl.gz", "rt") as lines:
        return [json.loads(line) for line in lines]


def _enrichment_digest() -> str:
    """SHA-256 (first 12 hex digits) of every file enrichment and linking read: their code,
    the shared text code and the shared and enrichment data."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for folder in ("services/enrichment", "services/linking", "shared/text", "shared/contracts",
                   "shared/data"):
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and path.suffix in {".py", ".tsv", ".txt", ".json"}:
                digest.update(path.relative_to(root).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def enriched_bbc(data_dir: Path, cache_dir: Path | None = None) -> list[dict[str, Any]]:
    """The BBC records enriched and linked by our code, as index documents (plus their category).
    Enriching takes minutes, so the result is cached under `cache_dir` when given, named by a
    digest of the code and data that make it: a change to enrichment makes a new cache."""
    cache = cache_dir / f"bbc-enriched-{_enrichment_digest()}.jsonl.gz" if cache_dir else None
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
        for stale in cache.parent.glob("bbc-enriched*.jsonl.gz"):  # made by older code
            stale.unlink()
        with gzip.open(cache, "wt") as out:
            out.writelines(json.dumps(doc) + "\n" for doc in docs)
    return docs
