"""`newsflow`'s conventions, command by command: `--json` everywhere, one line and exit 2 when
what a command needs does not answer, exit 1 when there is something to look at, and bulk
replays that only list until `--execute`. The commands run as real processes against a real
loopback HTTP server (standing in for the monitor) or against a port nothing listens on."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import typer.main
from aiohttp import web

from services.admin.cli import app
from tests.loopback import serving

COMMANDS = ["init", "reindex", "lag", "ingest", "status", "keys create", "keys revoke", "keys reseal",
            "keys list", "deadletters list", "deadletters show", "deadletters replay"]


def _walk(command: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    subcommands = getattr(command, "commands", None)  # a group (typer ships its own click)
    if subcommands:
        for name, sub in subcommands.items():
            yield from _walk(sub, f"{prefix} {name}".strip())
    else:
        yield prefix, command


def test_every_command_is_known_here_and_takes_json() -> None:
    found = dict(_walk(typer.main.get_command(app)))
    assert sorted(found) == sorted(COMMANDS)  # a new command gets its exit-code test below
    for name, command in found.items():
        assert "--json" in {opt for p in command.params for opt in p.opts}, name


def _dead_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again: nothing listens there


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "services.admin", *args], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "NEWSFLOW_API_KEY": "nf_test_key", **(env or {})})


def _finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


def test_version() -> None:
    code, out, _ = _finish(_cli("--version"))
    assert code == 0 and out.startswith("newsflow ")


def test_what_does_not_answer_is_one_line_naming_it_and_exit_2(tmp_path: Any) -> None:
    kafka = f"127.0.0.1:{_dead_port()}"
    http = f"http://127.0.0.1:{_dead_port()}"
    article = tmp_path / "a.txt"
    article.write_text("Title\nBody of the story.")
    runs = {  # all at once: each waits for its broker the same seconds
        "init": ("init", "--bootstrap-server", kafka),
        "reindex": ("reindex", "--elasticsearch-url", http),
        "lag": ("lag", "--bootstrap-server", kafka),
        "ingest": ("ingest", str(article), "--url", http),
        "status": ("status", "--url", http),
        "keys create": ("keys", "create", "desk", "--bootstrap-server", kafka),
        "keys revoke": ("keys", "revoke", "k123", "--bootstrap-server", kafka),
        "keys reseal": ("keys", "reseal", "--bootstrap-server", kafka),
        "keys list": ("keys", "list", "--bootstrap-server", kafka, "--json"),
        "deadletters list": ("deadletters", "list", "--url", http),
        "deadletters show": ("deadletters", "show", "0-1", "--url", http, "--json"),
        "deadletters replay": ("deadletters", "replay", "0-1", "--url", http),
    }
    assert sorted(runs) == sorted(COMMANDS)
    started = {name: _cli(*args) for name, args in runs.items()}
    for name, process in started.items():
        code, out, err = _finish(process)
        where = http.removeprefix("http://") if "url" in " ".join(runs[name]) else kafka
        assert (code, out) == (2, ""), (name, code, out, err)
        assert err.count("\n") == 1 and err.startswith("error: ") and where in err, (name, err)


def test_misuse_is_exit_2() -> None:
    for args in (("deadletters", "replay"), ("deadletters", "replay", "0-1", "--stage", "x"),
                 ("keys", "create", "desk", "--scope", "everything"), ("status", "--watch", "--json")):
        code, out, err = _finish(_cli(*args))
        assert (code, out) == (2, "") and err.startswith("error: "), (args, err)


def _group(name: str, status: str) -> dict[str, Any]:
    return {"stage": name, "name": name, "group": f"newsflow-{name}", "topic": "news.raw",
            "writes": "news.extracted", "status": status, "lag": 3, "lag_seconds": 1.5,
            "workers": [], "partitions": []}


def _overview(*statuses: str) -> dict[str, Any]:
    return {"at": 0.0, "topics": [], "latency": {},
            "groups": [_group(f"stage{i}", s) for i, s in enumerate(statuses)],
            "deadletters": {"total": 0, "by_stage": {}, "bucket_seconds": 300, "series_start": 0,
                            "series": {}}}


LETTER = {"id": "0-7", "stage": "enrichment", "error_type": "DecodeError", "error": "bad",
          "article_id": "u1", "source_topic": "news.extracted", "partition": 0, "offset": 7,
          "at": "2026-12-02T10:00:00+00:00", "replay_of": None, "replay": None}


class Monitor:
    """Answers as the monitor does, and records what it was asked."""

    def __init__(self) -> None:
        self.overview = _overview("OK", "OK")
        self.asked: list[tuple[str, str, dict[str, str]]] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.asked.append((request.method, request.path, dict(request.query)))
        if request.path == "/ops/overview":
            return web.json_response(self.overview)
        if request.path == "/ops/deadletters:replay":
            dry = request.query.get("dry_run") == "true"
            return web.json_response({"dry_run": dry, "replayed": ["0-7"], "letters": [LETTER],
                                      "refused": [{"id": "0-8", "reason": "replayed before"}]})
        if request.path == "/ops/deadletters/0-9":
            return web.json_response({"error": {"status": 404, "code": "not_found",
                                                "message": "no dead letter 0-9", "details": None}},
                                     status=404)
        if request.path == "/ops/deadletters":
            return web.json_response({"total": 1, "page": 1, "size": 20, "letters": [LETTER]})
        if request.path == "/ops/deadletters/0-5":
            return web.json_response({"unexpected": True})
        return web.json_response({"error": {"message": "boom"}}, status=500)


async def _run(port: int, *args: str) -> tuple[int, str, str]:
    return await asyncio.to_thread(_finish, _cli(*args, "--url", f"http://127.0.0.1:{port}"))


async def test_status_exits_1_when_a_stage_is_not_ok() -> None:
    monitor = Monitor()
    async with serving(monitor.handle, method="*") as port:
        code, out, _ = await _run(port, "status")
        assert code == 0 and "stage0" in out and "status" in out  # the header row
        monitor.overview = _overview("OK", "WARN")
        code, out, _ = await _run(port, "status", "--json")
        assert code == 1 and [g["status"] for g in json.loads(out)["groups"]] == ["OK", "WARN"]
        monitor.overview = _overview("ERR")
        assert (await _run(port, "status"))[0] == 1


async def test_a_filtered_replay_lists_until_execute() -> None:
    monitor = Monitor()
    async with serving(monitor.handle, method="*") as port:
        code, out, _ = await _run(port, "deadletters", "replay", "--stage", "enrichment")
        assert code == 0 and "would replay 1" in out and "0-7" in out and "--execute" in out
        assert monitor.asked[-1][2]["dry_run"] == "true"
        code, out, _ = await _run(port, "deadletters", "replay", "--stage", "enrichment", "--execute",
                                  "--json")
        assert code == 0 and json.loads(out)["dry_run"] is False
        assert monitor.asked[-1][2]["dry_run"] == "false"


async def test_answers_the_cli_cannot_use() -> None:
    monitor = Monitor()
    async with serving(monitor.handle, method="*") as port:
        code, out, err = await _run(port, "deadletters", "list", "--json")
        assert code == 0 and json.loads(out)["letters"][0]["id"] == "0-7"
        code, out, err = await _run(port, "deadletters", "show", "0-9")  # a 4xx: the API's reason
        assert (code, out) == (1, "") and "404: no dead letter 0-9" in err
        code, out, err = await _run(port, "deadletters", "show", "0-5")  # a shape of another release
        assert (code, out) == (2, "") and "another release" in err
        code, out, err = await _run(port, "deadletters", "show", "0-6")  # a 5xx: unavailable
        assert (code, out) == (2, "") and "500: boom" in err
