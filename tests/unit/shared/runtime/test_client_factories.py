"""Every Kafka and Elasticsearch client is built by the two factories (shared/runtime/kafka.py,
shared/runtime/elasticsearch.py), so the deployment's security settings reach all of them."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO_ROOT

# The settings model parses the addresses (ports) it defines; security.py makes the factories'
# TLS contexts (pinning a fingerprint reads the node's certificates).
FACTORIES = {"shared/runtime/kafka.py", "shared/runtime/elasticsearch.py", "shared/runtime/security.py",
             "shared/settings.py"}
CLIENT_CLASSES = {"AIOKafkaProducer", "AIOKafkaConsumer", "AIOKafkaAdminClient", "AIOKafkaClient",
                  "AsyncElasticsearch", "Elasticsearch", "KafkaProducer", "KafkaConsumer",
                  "KafkaAdminClient", "create_conn"}
ADDRESSES = {"kafka_bootstrap", "elasticsearch_url"}
DISPLAY = {"echo", "secho", "print", "emit", "fail", "info", "warning", "error", "debug", "critical"}
THIS = Path(__file__).resolve()


def _sources() -> list[Path]:
    return [path for folder in ("shared", "services", "deploy", "bench", "tests")
            for path in (REPO_ROOT / folder).rglob("*.py") if path.resolve() != THIS]


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def violations(tree: ast.AST) -> list[str]:
    """Client constructors, `bootstrap_servers=`, and the servers' addresses handed to any call
    but a message (the factories read the addresses; nothing else connects by them)."""
    found: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        called = _name(node.func)
        if called in CLIENT_CLASSES:
            found.append(f"line {node.lineno}: {called}(...)")
        if any(keyword.arg == "bootstrap_servers" for keyword in node.keywords):
            found.append(f"line {node.lineno}: bootstrap_servers=")
        if called in DISPLAY:
            continue
        for argument in [*node.args, *(k.value for k in node.keywords)]:
            for inner in ast.walk(argument):
                if isinstance(inner, ast.Attribute) and inner.attr in ADDRESSES:
                    found.append(f"line {node.lineno}: {called}(... .{inner.attr} ...)")
    return found


def test_no_module_builds_a_client_but_the_factories() -> None:
    offenders = {}
    for path in _sources():
        relative = path.relative_to(REPO_ROOT).as_posix()
        if relative in FACTORIES:
            continue
        found = violations(ast.parse(path.read_text(), filename=relative))
        if found:
            offenders[relative] = found
    assert offenders == {}


def test_the_check_finds_each_way_around_the_factories() -> None:
    """The scan itself can fail: each of these is one way to build a client by hand."""
    cases = [
        "AIOKafkaConsumer('t', bootstrap_servers=s.kafka_bootstrap)",
        "aiokafka.AIOKafkaProducer()",
        "AsyncElasticsearch(settings.elasticsearch_url)",
        "httpx.Client(base_url=settings.elasticsearch_url)",
        "urllib.request.urlopen(f'{settings.elasticsearch_url}/_refresh')",
        "make_thing(bootstrap_servers='127.0.0.1:9092')",
    ]
    for case in cases:
        assert violations(ast.parse(case)), case
    assert violations(ast.parse("typer.echo(f'kafka {settings.kafka_bootstrap}')")) == []
    assert violations(ast.parse("make_reader(settings, topic)")) == []
