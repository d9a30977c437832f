"""docker-compose.yml against the Compose specification's schema (vendored) and the topology
table: a service per component running its module, the local stack's versions, ports on
loopback unless opened on purpose, a restart policy on every container, and Prometheus given
the generated config and both rule files."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import yaml

from deploy.local import versions
from shared.contracts.topology import COMPONENTS
from tests.conftest import REPO_ROOT

INFRASTRUCTURE = {"kafka", "elasticsearch", "prometheus", "grafana", "init"}
PUBLISHED = re.compile(r"^\$\{NEWSFLOW_PUBLISH_ADDRESS:-127\.0\.0\.1\}:\d+:\d+$")


def compose() -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


def test_the_file_follows_the_compose_specification() -> None:
    schema = json.loads((REPO_ROOT / "deploy" / "schemas" / "compose-spec.json").read_text())
    jsonschema.Draft7Validator(schema).validate(compose())
    broken = {**compose(), "services": {"x": {"image": "a", "restart": ["always"]}}}
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))


def test_one_service_per_component_named_and_run_as_the_table_says() -> None:
    services = compose()["services"]
    expected = {c.name.replace("_", "-"): c for c in COMPONENTS}
    assert set(services) - INFRASTRUCTURE == set(expected)
    for name, component in expected.items():
        assert services[name]["command"] == ["python", "-m", f"services.{component.service}"], name


def test_versions_are_the_local_stacks() -> None:
    services = compose()["services"]
    assert services["kafka"]["image"] == f"apache/kafka:{versions.KAFKA_VERSION}"
    assert services["elasticsearch"]["image"].endswith(f"/elasticsearch:{versions.ELASTICSEARCH_VERSION}")


def test_ports_are_on_loopback_unless_opened_and_every_container_restarts() -> None:
    services = compose()["services"]
    for name, service in services.items():
        for port in service.get("ports", []):
            assert PUBLISHED.match(port), (name, port)
        assert service.get("restart") == ("on-failure" if name == "init" else "unless-stopped"), name
    assert services["grafana"]["environment"]["GF_AUTH_ANONYMOUS_ENABLED"] == "false"


def test_clients_in_containers_reach_the_apis_by_service_name() -> None:
    services = compose()["services"]
    environment = services["monitor"]["environment"]
    for variable, (service, port) in {"NEWSFLOW_INGEST_URL": ("ingest", 8001),
                                      "NEWSFLOW_SEARCH_URL": ("search-api", 8000),
                                      "NEWSFLOW_MONITOR_URL": ("monitor", 8002)}.items():
        assert environment[variable] == f"http://{service}:{port}"
        assert service in services
        assert next(c.port for c in COMPONENTS if c.name.replace("_", "-") == service) == port


def test_prometheus_gets_the_generated_config_and_both_rule_files() -> None:
    volumes = compose()["services"]["prometheus"]["volumes"]
    assert "./deploy/prometheus/compose.yml:/etc/prometheus/prometheus.yml:ro" in volumes
    for rules in ("rules.yml", "targets.rules.yml"):
        assert f"./deploy/prometheus/{rules}:/etc/prometheus/{rules}:ro" in volumes
