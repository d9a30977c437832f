"""Kubernetes objects from the table, for the kustomize base (deploy/k8s/base) and the cluster
side (deploy/k8s/cluster): per component a Deployment with probes and measured resources, a
Service, a PodDisruptionBudget, a KEDA ScaledObject on its group's lag (stages that scale by
partitions), a Strimzi KafkaUser whose ACLs let it read what it reads and write what it writes;
per topic a Strimzi KafkaTopic; and the ServiceMonitor and PrometheusRule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from deploy.generate.common import REPO_ROOT, Component, dns_name, dump, module_of, table_settings
from deploy.generate.prometheus import LABEL, target_rule_groups
from shared.contracts.topology import (
    COMPONENTS,
    SINGLE_PARTITION,
    Scaling,
    StageSpec,
    Topic,
    topic_configs,
)

APP = "newsflow"
KAFKA_CLUSTER = "newsflow"  # the Strimzi Kafka resource (deploy/k8s/cluster/kafka.yaml)
PARTITIONS = 12  # per topic in the cluster (a stage scales up to its input's partitions)
REPLICAS = 3  # brokers, and each topic's replicas
ADMIN_USER = "newsflow-admin"  # `newsflow init` and the toolbox's CLI
SECRETS = "/var/run/newsflow"
# Peak RSS (MiB) of each component's processes (VmHWM from /proc; extraction and enrichment
# with the child that runs their NLP and multiprocessing's resource tracker), read after the
# local demo had taken the samples, the BBC corpus and the extraction benchmark's pages
# (2,124 articles) through every stage: docs/kubernetes.md has the commands. A request is the
# figure rounded up to 32 MiB, a limit twice that (the linker's memory grows with a week of
# articles; a batch of long pages grows the NLP child).
PEAK_RSS_MIB = {"ingest": 89, "extraction": 272, "enrichment": 898, "linking": 166, "indexing": 86,
                "alerting": 84, "delivery": 84, "history": 77, "delivery_history": 77,
                "search_api": 96, "monitor": 142}
CPU_REQUEST = {"enrichment": "500m", "extraction": "250m"}


def labels(component: Component | str) -> dict[str, str]:
    name = component if isinstance(component, str) else dns_name(component)
    return {"app.kubernetes.io/name": APP, "app.kubernetes.io/component": name,
            "app.kubernetes.io/part-of": APP}


def selector(component: Component | str) -> dict[str, str]:
    name = component if isinstance(component, str) else dns_name(component)
    return {"app.kubernetes.io/name": APP, "app.kubernetes.io/component": name}


def object_name(component: Component | str) -> str:
    return f"{APP}-{component if isinstance(component, str) else dns_name(component)}"


def _round_up(mib: int, step: int = 32) -> int:
    return -(-mib // step) * step


def _resources(component: Component) -> dict[str, Any]:
    memory = _round_up(PEAK_RSS_MIB[component.name])
    return {"requests": {"cpu": CPU_REQUEST.get(component.name, "100m"), "memory": f"{memory}Mi"},
            "limits": {"memory": f"{memory * 2}Mi"}}


def _port_name(component: Component) -> str:
    return "http" if component.api else "metrics"


def _probes(component: Component) -> dict[str, Any]:
    live, ready = ("/health/live", "/health/ready") if component.api else ("/healthz", "/readyz")
    port = _port_name(component)
    # The NLP model and the tables a worker follows load before it answers: up to 5 minutes.
    return {"startupProbe": {"httpGet": {"path": live, "port": port}, "periodSeconds": 5,
                             "failureThreshold": 60},
            "livenessProbe": {"httpGet": {"path": live, "port": port}, "periodSeconds": 10,
                              "timeoutSeconds": 5, "failureThreshold": 3},
            "readinessProbe": {"httpGet": {"path": ready, "port": port}, "periodSeconds": 10,
                               "timeoutSeconds": 5, "failureThreshold": 3}}


def _secret_volume(name: str, secret: str, items: list[str]) -> dict[str, Any]:
    return {"name": name, "secret": {"secretName": secret, "items": [{"key": k, "path": k} for k in items]}}


def _volumes(kafka_user: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    volumes = [_secret_volume("kafka-user", kafka_user, ["password"]),
               _secret_volume("kafka-ca", f"{KAFKA_CLUSTER}-cluster-ca-cert", ["ca.crt"]),
               _secret_volume("es-user", "newsflow-es-user", ["password"]),
               _secret_volume("es-ca", "newsflow-es-http-certs-public", ["ca.crt"]),
               {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}]
    mounts = [{"name": v["name"], "mountPath": f"{SECRETS}/{v['name']}", "readOnly": True}
              for v in volumes if "secret" in v] + [{"name": "tmp", "mountPath": "/tmp"}]
    return volumes, mounts


SECURITY = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]}}
POD_SECURITY = {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001,
                "seccompProfile": {"type": "RuntimeDefault"}}


def _env(kafka_user: str) -> list[dict[str, Any]]:
    return [{"name": "NEWSFLOW_KAFKA_SASL_USERNAME", "value": kafka_user},
            {"name": "NEWSFLOW_KAFKA_SASL_PASSWORD_FILE", "value": f"{SECRETS}/kafka-user/password"}]


def _pod(name: str, command: list[str], kafka_user: str, component: Component | None,
         restart: str = "Always") -> dict[str, Any]:
    volumes, mounts = _volumes(kafka_user)
    container: dict[str, Any] = {
        "name": name, "image": "newsflow", "imagePullPolicy": "IfNotPresent", "command": command,
        "envFrom": [{"configMapRef": {"name": "newsflow-config"}},
                    {"secretRef": {"name": "newsflow-secrets"}}],
        "env": _env(kafka_user), "volumeMounts": mounts, "securityContext": SECURITY}
    if component is not None:
        container["ports"] = [{"name": _port_name(component), "containerPort": component.port}]
        container |= _probes(component)
        container["resources"] = _resources(component)
    else:
        container["resources"] = {"requests": {"cpu": "100m", "memory": "160Mi"},
                                  "limits": {"memory": "320Mi"}}
    return {"serviceAccountName": APP, "automountServiceAccountToken": False,
            "securityContext": POD_SECURITY, "restartPolicy": restart,
            "terminationGracePeriodSeconds": 30, "containers": [container], "volumes": volumes}


def replicas(component: Component) -> int:
    return {Scaling.STANDBY: 2, Scaling.HTTP: 2, Scaling.SINGLE: 1}.get(component.scaling, 1)


def deployment(component: Component) -> dict[str, Any]:
    name = object_name(component)
    spec: dict[str, Any] = {
        "replicas": replicas(component), "selector": {"matchLabels": selector(component)},
        # One at a time: a monitor keeps its windows alone; others roll without a gap.
        "strategy": {"type": "Recreate"} if component.scaling is Scaling.SINGLE else
        {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        "template": {"metadata": {"labels": labels(component)},
                     "spec": _pod(dns_name(component), ["python", "-m", module_of(component)],
                                  object_name(component), component)}}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": labels(component)}, "spec": spec}


def service(component: Component) -> dict[str, Any]:
    """APIs: a ClusterIP Service; workers: a headless one, for the ServiceMonitor."""
    port = _port_name(component)
    spec: dict[str, Any] = {"selector": selector(component),
                            "ports": [{"name": port, "port": component.port, "targetPort": port}]}
    if not component.api:
        spec["clusterIP"] = "None"
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": object_name(component), "labels": labels(component)}, "spec": spec}


def disruption_budget(component: Component) -> dict[str, Any]:
    budget = {"minAvailable": 1} if component.scaling in (Scaling.STANDBY, Scaling.HTTP) \
        else {"maxUnavailable": 1}
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": object_name(component), "labels": labels(component)},
            "spec": {**budget, "selector": {"matchLabels": selector(component)}}}


def input_partitions(stage: StageSpec) -> int:
    return 1 if stage.reads in SINGLE_PARTITION else PARTITIONS


def scaled_object(stage: StageSpec) -> dict[str, Any]:
    """KEDA: more workers while the group lags, never more than the input has partitions (an
    extra member would hold none)."""
    assert stage.reads is not None
    settings = table_settings()
    metadata = {"bootstrapServers": f"{KAFKA_CLUSTER}-kafka-bootstrap:9093",
                "consumerGroup": stage.consumer_group(settings), "topic": stage.reads.value,
                "lagThreshold": "100", "offsetResetPolicy": "earliest",
                "allowIdleConsumers": "false", "sasl": "scram_sha512", "tls": "enable"}
    return {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
            "metadata": {"name": object_name(stage), "labels": labels(stage)},
            "spec": {"scaleTargetRef": {"name": object_name(stage)}, "minReplicaCount": 1,
                     "maxReplicaCount": input_partitions(stage), "pollingInterval": 30,
                     "cooldownPeriod": 300,
                     "triggers": [{"type": "kafka", "metadata": metadata,
                                   "authenticationRef": {"name": object_name(stage)}}]}}


def trigger_authentication(stage: StageSpec) -> dict[str, Any]:
    """KEDA reads the group's lag as the stage's own Kafka user."""
    return {"apiVersion": "keda.sh/v1alpha1", "kind": "TriggerAuthentication",
            "metadata": {"name": object_name(stage), "labels": labels(stage)},
            "spec": {"secretTargetRef": [
                {"parameter": "password", "name": object_name(stage), "key": "password"},
                {"parameter": "ca", "name": f"{KAFKA_CLUSTER}-cluster-ca-cert", "key": "ca.crt"}],
                "configMapTargetRef": [
                {"parameter": "username", "name": "newsflow-kafka-users", "key": dns_name(stage)}]}}


def scalable() -> list[StageSpec]:
    return [c for c in COMPONENTS if isinstance(c, StageSpec) and c.scaling is Scaling.PARTITIONS]


def init_job() -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "newsflow-init", "labels": labels("init")},
            "spec": {"backoffLimit": 20, "ttlSecondsAfterFinished": 86400,
                     "template": {"metadata": {"labels": labels("init")},
                                  "spec": _pod("init", ["newsflow", "init"], ADMIN_USER, None,
                                               restart="OnFailure")}}}


def toolbox() -> dict[str, Any]:
    """A pod to run the CLI in (`kubectl exec deploy/newsflow-toolbox -- newsflow keys create …`)."""
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "newsflow-toolbox", "labels": labels("toolbox")},
            "spec": {"replicas": 1, "selector": {"matchLabels": selector("toolbox")},
                     "template": {"metadata": {"labels": labels("toolbox")},
                                  "spec": _pod("toolbox", ["sleep", "infinity"], ADMIN_USER, None)}}}


def components() -> str:
    objects: list[dict[str, Any]] = []
    for component in COMPONENTS:
        objects += [deployment(component), service(component), disruption_budget(component)]
    return dump(*objects, init_job(), toolbox())


def scaling() -> str:
    objects: list[dict[str, Any]] = []
    for stage in scalable():
        objects += [scaled_object(stage), trigger_authentication(stage)]
    users = {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "newsflow-kafka-users", "labels": labels("scaling")},
             "data": {dns_name(s): object_name(s) for s in scalable()}}
    return dump(*objects, users)


def service_monitor() -> dict[str, Any]:
    relabel = [{"sourceLabels": ["__meta_kubernetes_service_label_app_kubernetes_io_component"],
                "targetLabel": LABEL, "regex": "(.*)", "replacement": "$1"},
               # the table's names (delivery_history), not the DNS ones (delivery-history)
               {"sourceLabels": [LABEL], "targetLabel": LABEL, "regex": "(.*)-(.*)",
                "replacement": "${1}_${2}"}]
    endpoints = [{"port": port, "path": path, "interval": "15s", "relabelings": relabel}
                 for port, path in (("metrics", "/metrics"), ("http", "/metrics/"))]
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
            "metadata": {"name": APP, "labels": labels("monitoring")},
            "spec": {"selector": {"matchLabels": {"app.kubernetes.io/part-of": APP}},
                     "endpoints": endpoints}}


def prometheus_rule() -> dict[str, Any]:
    """The same rules as deploy/prometheus: the hand-written ones and the table's target rules."""
    written = yaml.safe_load((REPO_ROOT / "deploy" / "prometheus" / "rules.yml").read_text())
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "metadata": {"name": APP, "labels": labels("monitoring")},
            "spec": {"groups": [*written["groups"], *target_rule_groups()]}}


def monitoring() -> str:
    return dump(service_monitor(), prometheus_rule())


# -- the cluster side: topics and users ----------------------------------------------------

def kafka_topic(topic: Topic) -> dict[str, Any]:
    partitions = 1 if topic in SINGLE_PARTITION else PARTITIONS
    config = {**topic_configs(topic), "min.insync.replicas": str(REPLICAS - 1)}
    return {"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaTopic",
            "metadata": {"name": topic.value.replace(".", "-"),
                         "labels": {"strimzi.io/cluster": KAFKA_CLUSTER, **labels("topics")}},
            "spec": {"topicName": topic.value, "partitions": partitions, "replicas": REPLICAS,
                     "config": config}}


def _acl(kind: str, name: str, operations: list[str], pattern: str = "literal") -> dict[str, Any]:
    return {"resource": {"type": kind, "name": name, "patternType": pattern},
            "operations": operations, "host": "*"}


def acls(component: Component) -> list[dict[str, Any]]:
    """Read what it reads, write what it writes; a stage's group to commit in; the monitor
    describes every group (lag) and reads every topic."""
    settings = table_settings()
    read, written = component.topics_read(), component.topics_written()
    rules = [_acl("topic", t.value, ["Describe", "Read", *(["Write"] if t in written else [])])
             for t in read]
    rules += [_acl("topic", t.value, ["Describe", "Write"]) for t in written if t not in read]
    if isinstance(component, StageSpec) and component.reads is not None:
        # A sharded stage's groups are `<group>.shard-<n>`: the prefix covers any shard count.
        rules.append(_acl("group", component.consumer_group(settings), ["Read", "Describe"],
                          pattern="prefix" if component.sharded else "literal"))
    elif getattr(component, "watches_all", False):
        rules.append(_acl("group", "newsflow-", ["Describe"], pattern="prefix"))
    return rules


def kafka_user(name: str, rules: list[dict[str, Any]], component: str) -> dict[str, Any]:
    return {"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaUser",
            "metadata": {"name": name, "labels": {"strimzi.io/cluster": KAFKA_CLUSTER, **labels(component)}},
            "spec": {"authentication": {"type": "scram-sha-512"},
                     "authorization": {"type": "simple", "acls": rules}}}


def topics() -> str:
    return dump(*(kafka_topic(t) for t in Topic))


def users() -> str:
    admin = [_acl("topic", "news.", ["All"], pattern="prefix"),
             _acl("group", "newsflow-", ["All"], pattern="prefix")]
    return dump(*(kafka_user(object_name(c), acls(c), dns_name(c)) for c in COMPONENTS),
                kafka_user(ADMIN_USER, admin, "admin"))


FILES: dict[str, Any] = {
    "deploy/k8s/base/generated/components.yaml": components,
    "deploy/k8s/base/generated/scaling.yaml": scaling,
    "deploy/k8s/base/generated/monitoring.yaml": monitoring,
    "deploy/k8s/cluster/generated/topics.yaml": topics,
    "deploy/k8s/cluster/generated/users.yaml": users,
}


def rendered() -> dict[Path, str]:
    return {REPO_ROOT / path: render() for path, render in FILES.items()}
