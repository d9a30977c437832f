from __future__ import annotations

import gzip
import json
from pathlib import Path

from services.admin.file_import import as_submission, find_files, read_items

SOURCE = {"name": "archive", "client": "newsflow-cli"}


def test_common_export_shapes_map_to_submissions() -> None:
    assert as_submission({"title": "T", "text": "Body."}, SOURCE) == {
        "format": "fields", "title": "T", "body": "Body.", "source": SOURCE}
    assert as_submission({"html": "<p>x</p>", "url": "https://e.com/a"}, SOURCE)["format"] == "html"
    own = as_submission({"format": "text", "content": "x", "source": {"name": "Wire"}}, {"client": "c"})
    assert own["source"] == {"name": "Wire", "client": "c"}


def test_files_of_every_kind_are_read(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Title\nBody.")
    (tmp_path / "b.html").write_text("<html><p>x</p></html>")
    (tmp_path / "c.json").write_text(json.dumps([{"title": "T", "body": "B"}, {"title": "U", "body": "C"}]))
    (tmp_path / "d.jsonl.gz").write_bytes(gzip.compress(b'{"title": "T", "text": "B"}\n\n{broken\n'))
    (tmp_path / "notes.md").write_text("ignored")
    files = find_files([tmp_path])
    assert [f.name for f in files] == ["a.txt", "b.html", "c.json", "d.jsonl.gz"]
    items = [item for f in files for item in read_items(f, SOURCE)]
    formats = [item.submission["format"] if item.submission else None for item in items]
    assert formats == ["text", "html", "fields", "fields", "fields", None]
    assert items[-1].origin.endswith("d.jsonl.gz:3") and "not JSON" in (items[-1].error or "")


def test_unreadable_files_are_reported_not_raised(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\x00")
    (item,) = read_items(bad, SOURCE)
    assert item.submission is None and "unreadable" in (item.error or "")
