"""What the factories hand to aiokafka and the Elasticsearch client for each security setting."""

from __future__ import annotations

import contextlib
import hashlib
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka.admin import NewTopic

from deploy.local.secrets import Material
from shared.contracts.topology import Topic
from shared.runtime.elasticsearch import client_options as es_options
from shared.runtime.elasticsearch import http_options
from shared.runtime.kafka import client_options, make_admin, make_producer, make_reader, wanted_topic
from shared.runtime.security import ConnectionProblem, elasticsearch_auth_headers, pinned_context
from shared.settings import Settings


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> Material:
    made = Material(tmp_path_factory.mktemp("tls"))
    made.ensure()
    return made


def test_plaintext_by_default() -> None:
    options = client_options(Settings())
    assert options == {"bootstrap_servers": "127.0.0.1:9092", "security_protocol": "PLAINTEXT"}


def test_sasl_ssl_with_scram_and_a_ca(material: Material) -> None:
    settings = Settings(kafka_security_protocol="SASL_SSL", kafka_sasl_username="desk",
                        kafka_sasl_password="pw", kafka_ssl_ca_file=material.ca)
    options = client_options(settings)
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("desk", "pw")
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    assert [c["subject"] for c in context.get_ca_certs()] == \
        [((("organizationName", "newsflow local stack"),), (("commonName", "newsflow local CA"),))]


def test_mtls_loads_the_client_certificate_and_hostname_checks_can_be_turned_off(
        material: Material) -> None:
    settings = Settings(kafka_security_protocol="SSL", kafka_ssl_ca_file=material.ca,
                        kafka_ssl_cert_file=material.cert("client"),
                        kafka_ssl_key_file=material.key("client"),
                        kafka_ssl_verify_hostname=False)
    options = client_options(settings)
    assert "sasl_mechanism" not in options
    assert options["ssl_context"].check_hostname is False  # type: ignore[attr-defined]


def test_a_key_that_does_not_match_its_certificate_is_a_connection_problem(material: Material) -> None:
    settings = Settings(kafka_security_protocol="SSL", kafka_ssl_cert_file=material.cert("client"),
                        kafka_ssl_key_file=material.key("kafka"))
    with pytest.raises(ConnectionProblem, match="Kafka TLS files could not be loaded"):
        client_options(settings)


def test_sasl_without_credentials_names_the_missing_settings() -> None:
    with pytest.raises(ConnectionProblem, match="NEWSFLOW_KAFKA_SASL_USERNAME"):
        client_options(Settings(kafka_security_protocol="SASL_PLAINTEXT"))


async def test_every_kafka_client_gets_the_security_options(material: Material) -> None:
    settings = Settings(kafka_security_protocol="SASL_SSL", kafka_sasl_username="desk",
                        kafka_sasl_password="pw", kafka_ssl_ca_file=material.ca,
                        kafka_sasl_mechanism="SCRAM-SHA-256")
    producer, reader, admin = make_producer(settings), make_reader(settings), make_admin(settings)
    for client in (producer.client, reader._client, admin._client):
        assert client._security_protocol == "SASL_SSL"
        assert client._sasl_mechanism == "SCRAM-SHA-256"
        assert client._ssl_context is not None


def test_topics_get_the_replication_factor_and_min_insync_replicas() -> None:
    for factor, insync in ((1, "1"), (2, "1"), (3, "2"), (5, "4")):
        topic = wanted_topic(Settings(topic_replication_factor=factor), Topic.RAW)
        assert isinstance(topic, NewTopic)
        assert topic.replication_factor == factor
        assert topic.topic_configs["min.insync.replicas"] == insync


def test_elasticsearch_api_key_wins_over_a_user(material: Material) -> None:
    settings = Settings(elasticsearch_url="https://es.example:9200", elasticsearch_api_key="a2V5",
                        elasticsearch_username="u", elasticsearch_password="p",
                        elasticsearch_ca_file=material.ca)
    options = es_options(settings)
    assert options["api_key"] == "a2V5" and "basic_auth" not in options
    assert [c["subject"][1][0][1] for c in options["ssl_context"].get_ca_certs()] == ["newsflow local CA"]
    assert elasticsearch_auth_headers(settings) == {"Authorization": "ApiKey a2V5"}
    assert isinstance(http_options(settings)["verify"], ssl.SSLContext)


def test_elasticsearch_user_and_password() -> None:
    settings = Settings(elasticsearch_username="newsflow", elasticsearch_password="pw")
    options = es_options(settings)
    assert options["basic_auth"] == ("newsflow", "pw") and "ssl_context" not in options
    assert elasticsearch_auth_headers(settings) == {"Authorization": "Basic bmV3c2Zsb3c6cHc="}


@pytest.fixture
def tls_node(material: Material, tmp_path: Path) -> Iterator[int]:
    """A TLS server on loopback that sends the chain Elasticsearch's local node sends (its
    certificate, then the CA), and closes each connection after the handshake."""
    chain = tmp_path / "chain.pem"
    chain.write_text(material.cert("elasticsearch").read_text() + material.ca.read_text())
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(chain), str(material.key("elasticsearch")))
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with contextlib.suppress(ssl.SSLError, OSError), context.wrap_socket(conn, server_side=True):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    server.close()


def _sha256(pem: Path) -> str:
    der = ssl.PEM_cert_to_DER_cert(pem.read_text())
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())  # as Elasticsearch prints it


@pytest.mark.parametrize("pinned", ["ca", "node"])
def test_a_fingerprint_pins_the_ca_or_the_node_certificate(
        material: Material, tls_node: int, pinned: str) -> None:
    url = f"https://127.0.0.1:{tls_node}"
    certificate = material.ca if pinned == "ca" else material.cert("elasticsearch")
    context = pinned_context(url, _sha256(certificate))
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    with socket.create_connection(("127.0.0.1", tls_node)) as raw, \
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        assert tls.getpeercert()["subject"][1][0][1] == "newsflow elasticsearch"
    settings = Settings(elasticsearch_url=url, elasticsearch_ca_fingerprint=_sha256(certificate))
    assert isinstance(es_options(settings)["ssl_context"], ssl.SSLContext)
    assert isinstance(http_options(settings)["verify"], ssl.SSLContext)


def test_a_fingerprint_no_certificate_has_is_a_connection_problem(material: Material, tls_node: int) -> None:
    with pytest.raises(ConnectionProblem, match="no certificate it sends has the SHA-256 fingerprint"):
        pinned_context(f"https://127.0.0.1:{tls_node}", _sha256(material.cert("client")))


def test_the_local_ca_signs_servers_for_loopback(material: Material, tmp_path: Path) -> None:
    context = ssl.create_default_context(cafile=str(material.ca))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(str(material.cert("kafka")), str(material.key("kafka")))
    assert context.get_ca_certs() and server is not None
    text = material.cert("kafka").read_text()
    assert text.startswith("-----BEGIN CERTIFICATE-----")
    assert oct(material.key("kafka").stat().st_mode & 0o777) == "0o600"
