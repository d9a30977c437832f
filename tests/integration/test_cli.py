"""`newsflow ingest` against the running ingest API: summary and exit code."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.stack import Pipeline, eventually, newsflow

pytestmark = pytest.mark.integration


def _run(pipeline: Pipeline, *paths: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NEWSFLOW_INGEST_PORT": str(pipeline.settings.ingest_port),
           "NEWSFLOW_API_KEY": pipeline.admin_key}
    return subprocess.run(
        [sys.executable, "-m", "services.admin", "ingest", "--source", "cli-test", *map(str, paths)],
        capture_output=True, text=True, env=env, timeout=120,
    )


def _story(word: str) -> str:
    return f"Ferry service resumes in {word}\nFerries to {word} sailed again on Monday after the storm."


async def test_import_reports_accepted_duplicates_and_rejections(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    marker = uuid.uuid4().hex[:6]
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "a.txt").write_text(_story(f"Isle{marker}"))
    (folder / "a-copy.txt").write_text(_story(f"Isle{marker}"))
    lines = [
        json.dumps({"title": f"Harbour {marker}", "text": "The harbour reopened on Tuesday."}),
        "{not json",
        json.dumps({"format": "fields", "title": "No body"}),
    ]
    (folder / "export.jsonl.gz").write_bytes(gzip.compress("\n".join(lines).encode()))

    result = _run(pipeline, folder)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "accepted 2, duplicates 1, rejected 2" in result.stdout
    assert "export.jsonl.gz:2: not JSON" in result.stdout
    assert "export.jsonl.gz:3" in result.stdout and "needs a non-empty 'body'" in result.stdout

    async def imported_article_found() -> bool:
        response = await pipeline.search.get("/search", params={"q": f"harbour {marker}"})
        return response.json()["total"] == 1

    await eventually(imported_article_found, "the imported JSON Lines article")


async def test_clean_import_exits_zero(pipeline: Pipeline, tmp_path: Path) -> None:
    path = tmp_path / "one.txt"
    path.write_text(_story(f"Port{uuid.uuid4().hex[:6]}"))
    result = _run(pipeline, path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "accepted 1, duplicates 0, rejected 0" in result.stdout


def test_keys_and_lag_as_json_on_the_real_broker(pipeline: Pipeline) -> None:
    made = newsflow(pipeline, "keys", "create", "json desk", "--scope", "read", "--json")
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)
    assert key["key"].startswith(f"nf_{key['key_id']}_") and key["scopes"] == ["read"]
    listed = newsflow(pipeline, "keys", "list", "--json")
    mine = [k for k in json.loads(listed.stdout) if k["key_id"] == key["key_id"]]
    assert listed.returncode == 0 and mine == [{k: v for k, v in key.items() if k != "key"}]
    revoked = newsflow(pipeline, "keys", "revoke", key["key_id"], "--json")
    assert revoked.returncode == 0
    assert json.loads(revoked.stdout) == {"key_id": key["key_id"], "revoked": True}
    unknown = newsflow(pipeline, "keys", "revoke", "knothere")
    assert (unknown.returncode, unknown.stdout) == (1, "") and "no key knothere" in unknown.stderr
    table = newsflow(pipeline, "keys", "list")
    assert table.returncode == 0 and "key id" in table.stdout and "revoked" in table.stdout

    lag = newsflow(pipeline, "lag", "--json")
    rows = json.loads(lag.stdout)
    assert lag.returncode == 0 and {r["stage"] for r in rows} >= {"extraction", "enrichment", "linking"}
    assert all(isinstance(r["lag"], int) and r["lag"] >= 0 for r in rows)
    assert all(r["group"].startswith(pipeline.settings.namespace) for r in rows)


def test_ingest_as_json(pipeline: Pipeline, tmp_path: Path) -> None:
    path = tmp_path / "one.txt"
    path.write_text(_story(f"Quay{uuid.uuid4().hex[:6]}"))
    result = newsflow(pipeline, "ingest", str(path), "--json",
                      "--url", f"http://127.0.0.1:{pipeline.settings.ingest_port}")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"accepted": 1, "duplicates": 0, "rejected": []}
