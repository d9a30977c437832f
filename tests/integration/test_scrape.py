"""The shipped Prometheus config (deploy/prometheus/prometheus.yml) scraping the real stack with
a real Prometheus (Debian's, beside promtool): every target is up, and the component label the
config gives each target is the component that answers there (each process says who it is in
newsflow_component_info, whose own label Prometheus keeps as exported_component). The session's
APIs listen on ports of their own, and a worker whose table port was taken on this machine on
the next one; those targets are moved there, their labels and paths kept as shipped."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from shared.contracts.topology import COMPONENTS
from tests.conftest import REPO_ROOT
from tests.stack import Pipeline, eventually, free_port

pytestmark = pytest.mark.integration


async def _session_ports(pipeline: Pipeline) -> dict[int, int]:
    """Table port → the port this session's process of that component listens on."""
    settings = pipeline.settings
    moved = {8001: settings.ingest_port, 8000: settings.search_port, 8002: settings.monitor_port}

    async def workers() -> dict[str, int] | None:
        groups = (await pipeline.monitor.get("/ops/groups")).json()["groups"]
        ports = {g["stage"]: g["workers"][0]["metrics_port"] for g in groups if g["workers"]}
        return ports if len(ports) == len(groups) and all(ports.values()) else None

    for stage, port in (await eventually(workers, "every worker's metrics port")).items():
        moved[next(c.port for c in COMPONENTS if c.name == stage)] = port
    return moved


def _config(ports: dict[int, int]) -> dict[str, Any]:
    config = yaml.safe_load((REPO_ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config.pop("rule_files")
    for job in config["scrape_configs"]:
        for static in job["static_configs"]:
            static["targets"] = [f"127.0.0.1:{ports[int(t.rsplit(':', 1)[1])]}" for t in static["targets"]]
    return config


async def test_the_shipped_scrape_config_labels_every_component_correctly(
        pipeline: Pipeline, tmp_path: Path) -> None:
    binary = shutil.which("prometheus")
    assert binary, "prometheus is missing: `bash deploy/run.sh test` installs Debian's prometheus"
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(_config(await _session_ports(pipeline))))
    port = free_port()
    server = subprocess.Popen(
        [binary, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            async def query(expr: str) -> list[dict[str, Any]]:
                response = await client.get("/api/v1/query", params={"query": expr})
                return list(response.json()["data"]["result"])

            async def all_up() -> list[dict[str, Any]] | None:
                up = await query("up")
                return up if len(up) == len(COMPONENTS) and all(r["value"][1] == "1" for r in up) else None

            up = await eventually(all_up, "every shipped target scraped and up")
            assert {r["metric"]["component"] for r in up} == {c.name for c in COMPONENTS}

            async def identities() -> list[dict[str, Any]] | None:
                found = await query("newsflow_component_info")
                return found if len(found) == len(COMPONENTS) else None

            for series in await eventually(identities, "every component's identity"):
                labels = series["metric"]
                assert labels["component"] == labels["exported_component"], labels
    finally:
        server.terminate()
        server.wait(timeout=30)


async def test_workers_answer_their_probes_and_apis_theirs(pipeline: Pipeline) -> None:
    ports = await _session_ports(pipeline)
    async with httpx.AsyncClient(timeout=10) as client:
        for component in COMPONENTS:
            base = f"http://127.0.0.1:{ports[component.port]}"
            for path in (("/health/live", "/health/ready") if component.api else ("/healthz", "/readyz")):
                response = await client.get(base + path)
                assert response.status_code == 200, (component.name, path)
                assert response.json()["status"] == "ok", (component.name, path)
