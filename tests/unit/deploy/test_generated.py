"""Every config drawn from the topology table is current (`python -m deploy.generate --check`),
and says what the table says, read back from the files themselves."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import yaml

from deploy.generate.__main__ import differences
from shared.contracts.topology import (
    APIS,
    COMPONENTS,
    SAME_HOST_PORT_STEP,
    TOPOLOGY,
    Topic,
    consuming_stages,
)
from shared.settings import Settings
from tests.conftest import REPO_ROOT

PROMETHEUS = REPO_ROOT / "deploy" / "prometheus"


def test_the_committed_files_are_what_the_table_gives() -> None:
    stale = differences()
    assert not stale, "run `python -m deploy.generate`:\n" + "\n".join(stale.values())


def test_the_check_command_fails_on_a_stale_file(tmp_path: Any, monkeypatch: Any) -> None:
    target = PROMETHEUS / "targets.rules.yml"
    original = target.read_text()
    try:
        target.write_text(original.replace('component="monitor"', 'component="monitr"'))
        result = subprocess.run([sys.executable, "-m", "deploy.generate", "--check"], cwd=REPO_ROOT,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 1 and "monitr" in result.stdout
    finally:
        target.write_text(original)


def _jobs(name: str) -> dict[str, dict[str, Any]]:
    config = yaml.safe_load((PROMETHEUS / name).read_text())
    assert config["rule_files"] == ["rules.yml", "targets.rules.yml"]
    return {job["job_name"]: job for job in config["scrape_configs"]}


def test_the_local_scrape_config_labels_each_component_at_its_port() -> None:
    jobs = _jobs("prometheus.yml")
    seen = {}
    for job in jobs.values():
        for static in job["static_configs"]:
            for target in static["targets"]:
                seen[static["labels"]["component"]] = (target, job["metrics_path"])
    for component in COMPONENTS:
        path = "/metrics/" if component.api else "/metrics"
        assert seen[component.name] == (f"127.0.0.1:{component.port}", path), component.name
    assert len(seen) == len(COMPONENTS)


def test_compose_scrapes_every_replica_found_by_service_name() -> None:
    jobs = _jobs("compose.yml")
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())["services"]
    for component in COMPONENTS:
        job = jobs[f"newsflow-{component.name.replace('_', '-')}"]
        (discovery,) = job["dns_sd_configs"]
        assert discovery["port"] == component.port
        assert all(name in compose for name in discovery["names"])
        assert job["relabel_configs"][0]["replacement"] == component.name


def test_rules_cover_every_component_and_every_stage_lag() -> None:
    rules = yaml.safe_load((PROMETHEUS / "targets.rules.yml").read_text())["groups"][0]["rules"]
    absent = {r["labels"]["component"] for r in rules if r["alert"] == "NewsflowComponentAbsent"}
    assert absent == {c.name for c in COMPONENTS}
    lag = {r["labels"]["stage"] for r in rules if r["alert"] == "NewsflowLagAbsent"}
    assert lag == {s.name for s in consuming_stages()}
    assert any(r["alert"] == "NewsflowTargetDown" and "== 0" in r["expr"] for r in rules)


@pytest.mark.parametrize("page", ["README.md", "docs/index.md", "docs/architecture.md"])
def test_each_diagram_has_every_stage_and_topic(page: str) -> None:
    text = (REPO_ROOT / page).read_text()
    diagram = text.split("```mermaid", 1)[1].split("```", 1)[0]
    for stage in TOPOLOGY:
        assert f"{stage.name}(\"{stage.service} :{stage.port}\")" in diagram
        if stage.reads is not None:
            assert f'[["{stage.reads.value}"]] --> {stage.name}\n' in diagram, stage.name
        for output in stage.outputs():
            node = output.value.replace(".", "_").replace("-", "_")
            label = f'[["{output.value}"]]' if isinstance(output, Topic) else ""
            assert f"  {stage.name} --> {node}{label}" in diagram, (stage.name, output)


def test_ports_are_distinct_and_the_settings_defaults_are_the_tables() -> None:
    ports = [c.port for c in COMPONENTS]
    assert len(set(ports)) == len(ports)
    # a second worker on one host must not land on another component's port
    assert not {p + SAME_HOST_PORT_STEP for p in ports} & set(ports)
    settings = Settings()
    by_name = {c.name: c.port for c in COMPONENTS}
    assert (settings.ingest_port, settings.search_port, settings.monitor_port) == (
        by_name["ingest"], by_name["search_api"], by_name["monitor"])
    assert {a.name for a in APIS} == {"search_api", "monitor"}


def test_the_architecture_table_has_a_row_per_component_with_its_port() -> None:
    page = (REPO_ROOT / "docs" / "architecture.md").read_text()
    rows = [line for line in page.splitlines() if line.startswith("| ") and "`services." in line]
    for component in COMPONENTS:
        (row,) = [r for r in rows if r.startswith(f"| {component.name} ")]
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1] == f"`services.{component.service}`" and cells[6] == str(component.port)
