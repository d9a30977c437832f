"""Reading files for `newsflow ingest`: text, HTML, JSON and JSON Lines (optionally gzipped),
alone or in folders, turned into submissions for the ingest API."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUFFIXES = (".txt", ".html", ".htm", ".json", ".jsonl", ".jsonl.gz", ".json.gz", ".txt.gz")


@dataclass
class Item:
    origin: str  # "path" or "path:line", for the summary
    submission: dict[str, Any] | None
    error: str | None = None  # set when the item could not even be read


def find_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(SUFFIXES)))
        else:
            files.append(path)
    return files


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    return data.decode("utf-8")


def as_submission(record: Any, source: dict[str, str]) -> dict[str, Any]:
    """Our own submission shape passes through; common export shapes are mapped to it:
    {"html": …, "url": …} → html, {"title": …, "text"|"body": …} → fields."""
    if not isinstance(record, dict):
        return {"invalid": record}  # the API rejects it with a reason
    if "format" in record:
        submission = dict(record)
    elif "html" in record:
        submission = {"format": "html", "content": record["html"], "url": record.get("url")}
    elif "text" in record or "body" in record:
        submission = {"format": "fields", "title": record.get("title"),
                      "body": record.get("body") or record.get("text"), "url": record.get("url"),
                      "published_at": record.get("published_at") or record.get("date")}
    else:
        submission = dict(record)
    submission.setdefault("source", {}).update({k: v for k, v in source.items() if v})
    return {k: v for k, v in submission.items() if v is not None}


def read_items(path: Path, source: dict[str, str]) -> Iterator[Item]:
    name = path.name.lower()
    try:
        text = _read_text(path)
    except (OSError, UnicodeDecodeError, EOFError, gzip.BadGzipFile) as exc:
        yield Item(str(path), None, f"unreadable: {exc}")
        return
    if name.endswith((".jsonl", ".jsonl.gz")):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                yield Item(f"{path}:{number}", as_submission(json.loads(line), source))
            except json.JSONDecodeError as exc:
                yield Item(f"{path}:{number}", None, f"not JSON: {exc}")
    elif name.endswith((".json", ".json.gz")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            yield Item(str(path), None, f"not JSON: {exc}")
            return
        records = data if isinstance(data, list) else [data]
        for number, record in enumerate(records):
            yield Item(f"{path}[{number}]", as_submission(record, source))
    elif name.endswith((".html", ".htm")):
        yield Item(str(path), {"format": "html", "content": text, "source": source})
    else:
        yield Item(str(path), {"format": "text", "content": text, "source": source})
