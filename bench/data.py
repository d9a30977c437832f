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
