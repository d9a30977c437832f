"""The local stack's shapes: what each node is configured with and what a client is told."""

from __future__ import annotations

from pathlib import Path

from deploy.local.stack import ES_ROLE, Stack
from shared.settings import Settings


def _properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def test_plain_stays_as_it_was(tmp_path: Path) -> None:
    stack = Stack(Settings(cache_dir=tmp_path))
    assert stack.client_env() == {"NEWSFLOW_KAFKA_BOOTSTRAP": "127.0.0.1:9092",
                                  "NEWSFLOW_ELASTICSEARCH_URL": "http://127.0.0.1:9200"}
    props = _properties(stack._kafka_properties(1))
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert props["offsets.topic.replication.factor"] == "1"
    assert stack._quorum_arguments() == ["--standalone"] and stack._scram_arguments() == []


def test_three_brokers_form_one_quorum_with_replicated_internal_topics(tmp_path: Path) -> None:
    stack = Stack(Settings(cache_dir=tmp_path), brokers=3)
    stack.kafka_state.mkdir(parents=True)
    assert stack.client_env()["NEWSFLOW_KAFKA_BOOTSTRAP"] == "127.0.0.1:9292,127.0.0.1:9294,127.0.0.1:9296"
    assert stack.client_env()["NEWSFLOW_TOPIC_REPLICATION_FACTOR"] == "3"
    nodes = [_properties(stack._kafka_properties(n)) for n in (1, 2, 3)]
    assert [n["node.id"] for n in nodes] == ["1", "2", "3"]
    assert {n["controller.quorum.bootstrap.servers"] for n in nodes} == \
        {"127.0.0.1:9293,127.0.0.1:9295,127.0.0.1:9297"}
    assert len({n["log.dirs"] for n in nodes}) == 3
    assert nodes[0]["transaction.state.log.min.isr"] == "2"
    voters = stack._quorum_arguments()
    assert voters[0] == "--initial-controllers"
    assert [v.split("@")[0] for v in voters[1].split(",")] == ["1", "2", "3"]
    assert stack._quorum_arguments() == voters  # every node is formatted with the same voters


def test_secure_kafka_listens_on_sasl_ssl_and_mtls_only_and_elasticsearch_over_https(tmp_path: Path) -> None:
    stack = Stack(Settings(cache_dir=tmp_path), secure=True)
    stack.kafka_state.mkdir(parents=True)
    env = stack.client_env()
    assert env["NEWSFLOW_KAFKA_BOOTSTRAP"] == "127.0.0.1:9192"
    assert env["NEWSFLOW_ELASTICSEARCH_URL"] == "https://127.0.0.1:9210"
    password = Path(env["NEWSFLOW_KAFKA_SASL_PASSWORD_FILE"]).read_text().strip()
    assert len(password) >= 24 and password not in "".join(env.values())
    props = _properties(stack._kafka_properties(1))
    assert props["listeners"] == \
        "SASL_SSL://127.0.0.1:9192,MTLS://127.0.0.1:9242,CONTROLLER://127.0.0.1:9193"
    assert props["listener.security.protocol.map"] == "SASL_SSL:SASL_SSL,MTLS:SSL,CONTROLLER:PLAINTEXT"
    assert props["listener.name.mtls.ssl.client.auth"] == "required"  # a certificate is the login
    assert props["inter.broker.listener.name"] == "SASL_SSL"
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert "ScramLoginModule required" in props["listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config"]
    keystore = Path(props["ssl.keystore.location"]).read_text()
    assert "PRIVATE KEY" in keystore and "CERTIFICATE" in keystore
    scram = stack._scram_arguments()
    assert scram[::2] == ["--add-scram", "--add-scram"]
    assert f"SCRAM-SHA-512=[name=newsflow,password={password}]" in scram
    config = tmp_path / "es-config"
    config.mkdir()
    lines = stack._es_security(config)
    assert "xpack.security.enabled: true" in lines and "xpack.security.http.ssl.enabled: true" in lines
    assert (config / "users").read_text().startswith("newsflow:$2a$10$")
    assert (config / "roles.yml").read_text() == ES_ROLE


def test_a_shell_with_the_secure_variables_exported_still_finds_each_shape(tmp_path: Path) -> None:
    secure_env = Stack(Settings(cache_dir=tmp_path), secure=True).client_env()
    exported = Settings(cache_dir=tmp_path,
                        **{k.removeprefix("NEWSFLOW_").lower(): v for k, v in secure_env.items()})
    assert Stack(exported, secure=True).client_env()["NEWSFLOW_KAFKA_BOOTSTRAP"] == "127.0.0.1:9192"
    three = Stack(exported, brokers=3)
    assert three.settings.kafka_security_protocol == "PLAINTEXT"
    assert three.settings.kafka_bootstrap.startswith("127.0.0.1:9292")
