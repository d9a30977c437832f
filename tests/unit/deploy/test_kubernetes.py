"""The Kubernetes manifests: both overlays render with kubectl's kustomize, every object
validates against the Kubernetes schemas (kubernetes-validate, strict: an unknown field fails)
or its operator's CRD schema (vendored in deploy/schemas/crds), and what they say agrees with
the topology table, checked here from the table's own facts rather than the generator's."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from shared.contracts.topology import COMPONENTS, SINGLE_PARTITION, Scaling, StageSpec, Topic
from tests.conftest import REPO_ROOT

K8S = REPO_ROOT / "deploy" / "k8s"
CRDS = REPO_ROOT / "deploy" / "schemas" / "crds"
KUBERNETES_VERSION = "1.35.0"
OVERLAYS = ("production", "external")
CRD_SCHEMAS = {
    ("kafka.strimzi.io/v1", "Kafka"): "kafka-kafka-v1.json",
    ("kafka.strimzi.io/v1", "KafkaNodePool"): "kafkanodepool-kafka-v1.json",
    ("kafka.strimzi.io/v1", "KafkaTopic"): "kafkatopic-kafka-v1.json",
    ("kafka.strimzi.io/v1", "KafkaUser"): "kafkauser-kafka-v1.json",
    ("elasticsearch.k8s.elastic.co/v1", "Elasticsearch"): "elasticsearch-elasticsearch-v1.json",
    ("keda.sh/v1alpha1", "ScaledObject"): "scaledobject-keda-v1alpha1.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "triggerauthentication-keda-v1alpha1.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor-monitoring-v1.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheusrule-monitoring-v1.json",
}


@functools.cache
def render(overlay: str) -> tuple[dict[str, Any], ...]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl (with its built-in kustomize) is needed to render deploy/k8s"
    result = subprocess.run([kubectl, "kustomize", str(K8S / "overlays" / overlay)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return tuple(d for d in yaml.safe_load_all(result.stdout) if d)


def by_kind(overlay: str, kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in render(overlay) if d["kind"] == kind}


@functools.cache
def crd_validator(name: str) -> jsonschema.Draft7Validator:
    schema = json.loads((CRDS / name).read_text())
    return jsonschema.Draft7Validator(schema)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates_against_its_schema(overlay: str) -> None:
    documents = render(overlay)
    assert len(documents) > 30
    for document in documents:
        key = (document["apiVersion"], document["kind"])
        where = f"{document['kind']}/{document['metadata']['name']}"
        if key in CRD_SCHEMAS:
            errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
                      for e in crd_validator(CRD_SCHEMAS[key]).iter_errors(document)]
            assert not errors, (where, errors[:5])
        else:
            assert "." not in document["apiVersion"].split("/")[0] or document["apiVersion"].startswith(
                ("networking.k8s.io/", "policy/")), f"{where}: no schema for {key}"
            try:
                kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as exc:
                raise AssertionError(f"{where}: {exc.message} at {list(exc.path)}") from None


def test_a_crd_schema_refuses_a_wrong_object() -> None:
    """The CRD check can fail: a KafkaTopic with partitions as text is refused."""
    topic = next(iter(by_kind("production", "KafkaTopic").values()))
    broken = {**topic, "spec": {**topic["spec"], "partitions": "twelve"}}
    assert list(crd_validator(CRD_SCHEMAS[("kafka.strimzi.io/v1", "KafkaTopic")]).iter_errors(broken))
    with pytest.raises(kubernetes_validate.ValidationError):
        deployment = next(iter(by_kind("production", "Deployment").values()))
        kubernetes_validate.validate({**deployment, "spec": {**deployment["spec"], "replica": 2}},
                                     KUBERNETES_VERSION, strict=True)


def _dns(name: str) -> str:
    return name.replace("_", "-")


def test_one_deployment_per_component_running_its_service_with_probes_on_its_port() -> None:
    deployments = by_kind("production", "Deployment")
    for component in COMPONENTS:
        deployment = deployments[f"newsflow-{_dns(component.name)}"]
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["command"] == ["python", "-m", f"services.{component.service}"]
        assert [p["containerPort"] for p in container["ports"]] == [component.port]
        live, ready = ("/health/live", "/health/ready") if component.api else ("/healthz", "/readyz")
        assert container["livenessProbe"]["httpGet"]["path"] == live
        assert container["readinessProbe"]["httpGet"]["path"] == ready
        assert container["resources"]["requests"]["memory"].endswith("Mi")
        security = deployment["spec"]["template"]["spec"]["securityContext"]
        assert security["runAsNonRoot"] is True
    linker = deployments["newsflow-linking"]["spec"]
    assert linker["replicas"] == 2  # one active, one standby
    assert {"newsflow-toolbox"} | {f"newsflow-{_dns(c.name)}" for c in COMPONENTS} == set(deployments)


def test_scaling_on_lag_stops_at_the_input_partitions() -> None:
    topics = {t["spec"]["topicName"]: t for t in by_kind("production", "KafkaTopic").values()}
    scaled = by_kind("production", "ScaledObject")
    stages = [c for c in COMPONENTS if isinstance(c, StageSpec) and c.reads is not None]
    for stage in stages:
        name = f"newsflow-{_dns(stage.name)}"
        if stage.scaling is not Scaling.PARTITIONS:
            assert name not in scaled  # the linker: one decides, in one order
            continue
        trigger = scaled[name]["spec"]["triggers"][0]["metadata"]
        assert trigger["topic"] == stage.reads.value
        assert trigger["consumerGroup"] == f"newsflow-{stage.name}"
        assert scaled[name]["spec"]["maxReplicaCount"] == topics[stage.reads.value]["spec"]["partitions"]
    assert set(scaled) == {f"newsflow-{_dns(s.name)}" for s in stages if s.scaling is Scaling.PARTITIONS}


def test_a_topic_per_table_topic_with_the_tables_shape() -> None:
    topics = {t["spec"]["topicName"]: t["spec"] for t in by_kind("production", "KafkaTopic").values()}
    assert set(topics) == {t.value for t in Topic}
    for topic in Topic:
        assert (topics[topic.value]["partitions"] == 1) == (topic in SINGLE_PARTITION)
        assert topics[topic.value]["replicas"] == 3
    assert topics["news.subscriptions"]["config"]["cleanup.policy"] == "compact"


def _allowed(user: dict[str, Any], kind: str, name: str, operation: str) -> bool:
    for acl in user["spec"]["authorization"]["acls"]:
        resource = acl["resource"]
        matches = resource["name"] == name if resource["patternType"] == "literal" \
            else name.startswith(resource["name"])
        granted = operation in acl["operations"] or "All" in acl["operations"]
        if resource["type"] == kind and matches and granted:
            return True
    return False


def test_each_user_reads_its_input_and_writes_its_outputs_only() -> None:
    users = by_kind("production", "KafkaUser")
    for stage in (c for c in COMPONENTS if isinstance(c, StageSpec)):
        user = users[f"newsflow-{_dns(stage.name)}"]
        assert user["spec"]["authentication"]["type"] == "scram-sha-512"
        if stage.reads is not None:
            assert _allowed(user, "topic", stage.reads.value, "Read")
            assert _allowed(user, "group", f"newsflow-{stage.name}", "Read")
            assert not _allowed(user, "topic", stage.reads.value, "Write") or stage.reads in stage.outputs()
        for output in stage.outputs():
            if isinstance(output, Topic):
                assert _allowed(user, "topic", output.value, "Write")
        # nobody else's input, and no other group
        for other in (c for c in COMPONENTS if isinstance(c, StageSpec) and c.reads is not None):
            if other.reads not in (stage.reads, *stage.follows):
                assert not _allowed(user, "topic", other.reads.value, "Read"), (stage.name, other.reads)
            if other is not stage:
                assert not _allowed(user, "group", f"newsflow-{other.name}", "Read")


def test_only_the_apis_are_open_beyond_the_namespace() -> None:
    policies = by_kind("production", "NetworkPolicy")
    deny = policies["newsflow-default-deny"]["spec"]
    assert deny["policyTypes"] == ["Ingress"] and "ingress" not in deny
    open_to_all = [p for p in policies.values()
                   if any("from" not in rule for rule in p["spec"].get("ingress", []))]
    assert [p["metadata"]["name"] for p in open_to_all] == ["newsflow-apis"]
    values = open_to_all[0]["spec"]["podSelector"]["matchExpressions"][0]["values"]
    apis = [c for c in COMPONENTS if c.api]
    assert sorted(values) == sorted(_dns(c.name) for c in apis)


def test_the_services_connect_with_tls_and_sasl() -> None:
    config = by_kind("production", "ConfigMap")["newsflow-config"]["data"]
    assert config["NEWSFLOW_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert config["NEWSFLOW_ELASTICSEARCH_URL"].startswith("https://")
    assert config["NEWSFLOW_MANAGE_TOPICS"] == "false"
    kafka = by_kind("production", "Kafka")["newsflow"]["spec"]["kafka"]
    assert [(listener["port"], listener["tls"], listener["authentication"]["type"])
            for listener in kafka["listeners"]] == [(9093, True, "scram-sha-512")]
    assert config["NEWSFLOW_KAFKA_BOOTSTRAP"] == "newsflow-kafka-bootstrap:9093"
    brokers = by_kind("production", "KafkaNodePool")["broker"]["spec"]
    assert brokers["replicas"] == 3
    assert by_kind("production", "Elasticsearch")["newsflow"]["spec"]["nodeSets"][0]["count"] == 3
