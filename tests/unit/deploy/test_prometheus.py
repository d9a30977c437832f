"""The shipped Prometheus config and alerting rules: valid, and firing when they should
(promtool, from Debian's prometheus package, which `deploy/run.sh test` installs)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import REPO_ROOT

PROMETHEUS = REPO_ROOT / "deploy" / "prometheus"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    path = shutil.which("promtool")
    assert path, "promtool is missing: `bash deploy/run.sh test` installs Debian's prometheus"
    return subprocess.run([path, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("args", [("check", "rules", "rules.yml"), ("check", "rules", "targets.rules.yml"),
                                  ("check", "config", "prometheus.yml"), ("check", "config", "compose.yml"),
                                  ("test", "rules", "rules_test.yml")])
def test_promtool_accepts(args: tuple[str, ...]) -> None:
    result = promtool(*args)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rules_name_metrics_the_services_export() -> None:
    from shared.runtime import metrics

    exported = {m._name for m in vars(metrics).values() if hasattr(m, "_name")}
    rules = (PROMETHEUS / "rules.yml").read_text()
    for name in ("newsflow_group_status", "newsflow_consumer_lag_seconds", "newsflow_messages_dead_lettered"):
        assert name in rules and name in exported


def test_the_grafana_dashboard_reads_metrics_the_services_export() -> None:
    import json
    import re

    from shared.runtime import metrics

    exported = {m._name for m in vars(metrics).values() if hasattr(m, "_name")}
    dashboard = json.loads((REPO_ROOT / "deploy" / "grafana" / "dashboards" / "newsflow.json").read_text())
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(expressions) >= 10
    for expr in expressions:
        for name in re.findall(r"newsflow_[a-z_]+", expr):
            base = re.sub(r"_(total|bucket|sum|count)$", "", name)
            assert base in exported, (name, expr)


def test_the_dashboard_imports_into_any_grafana_through_a_datasource_input() -> None:
    import json

    dashboard = json.loads((REPO_ROOT / "deploy" / "grafana" / "dashboards" / "newsflow.json").read_text())
    (source,) = dashboard["__inputs"]
    assert source["type"] == "datasource" and source["pluginId"] == "prometheus"
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["current"]["value"] == "${" + source["name"] + "}"
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"])
