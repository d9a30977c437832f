"""newsflow on a secured stack: Kafka on SASL_SSL (SCRAM-SHA-512, a CA of its own) and
Elasticsearch with security and TLS. The seeds go through every stage and are searchable, an
alert is delivered, the monitor reads lag, the CLI works; and each misconfiguration is one
clear line and a non-zero exit at start, never a hang or an endless retry."""

from __future__ import annotations

import hashlib
import os
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from deploy.local.stack import Stack
from services.admin.output import EXIT_UNAVAILABLE
from shared.runtime.security import EXIT_CONNECTION
from tests.conftest import REPO_ROOT
from tests.integration.test_alerts import _article, _marker, _text
from tests.stack import Pipeline, Receiver, create_key, eventually, running_pipeline, subscribe

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def secure(secure_stack: Stack) -> AsyncIterator[Pipeline]:
    async with running_pipeline(secure_stack, "secure") as started:
        yield started


def test_the_secure_stack_refuses_plain_clients(secure_stack: Stack) -> None:
    """Nothing listens in the clear: no plaintext Kafka listener, no plain-HTTP Elasticsearch."""
    env = secure_stack.client_env()
    assert env["NEWSFLOW_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert env["NEWSFLOW_ELASTICSEARCH_URL"].startswith("https://")
    plain = _start("lag", NEWSFLOW_KAFKA_SECURITY_PROTOCOL="PLAINTEXT", stack=secure_stack)
    assert plain.returncode == EXIT_UNAVAILABLE  # the CLI's code for what it cannot reach
    assert "Kafka unreachable" in plain.stderr and "SECURITY_PROTOCOL" in plain.stderr


async def test_the_seeds_go_through_every_stage_and_are_searchable(
        secure: Pipeline, seed_000: str, seed_004: str) -> None:
    ids = [await secure.submit(_text(seed)) for seed in (seed_000, seed_004)]
    articles = [await secure.wait_for_article(i) for i in ids]
    assert {"KP", "KR"} <= {country["code"] for country in articles[0]["countries"]}
    assert {"Antonio Guterres", "Wi Sung-lac"} <= set(articles[0]["people"])
    assert "Jeffrey Feltman" in articles[1]["people"]
    # Every stage left its mark: extraction (title), enrichment (language, entities), linking
    # (a story), indexing (searchable).
    for article in articles:
        assert article["title"] and article["language"] == "en" and article["story_id"]
    response = await secure.search.get("/search", params={"q": "Feltman"})
    assert response.status_code == 200
    body = response.json()
    assert ids[1] in [hit["id"] for hit in body["results"]]
    assert "Jeffrey Feltman" in {bucket["value"] for bucket in body["facets"]["people"]}


async def test_an_alert_is_delivered(secure: Pipeline, receiver: Receiver) -> None:
    key = create_key(secure, "secure desk")
    marker = _marker()

    async def subscribed() -> dict[str, Any] | None:
        response = await secure.search.get("/subscriptions", headers={"Authorization": f"Bearer {key}"})
        return {"ok": True} if response.status_code == 200 else None

    await eventually(subscribed, "the API to know the new key")
    await subscribe(secure, key, name="secure", query=marker, notify_on="article",
                    webhook_url=receiver.url(f"secure-{marker}"))
    await secure.submit(_article(marker))
    await eventually(lambda: _received(receiver, f"secure-{marker}"), "the alert's webhook")


async def _received(receiver: Receiver, path: str) -> bool:
    return bool(receiver.requests.get(path))


async def test_the_monitor_reads_lag(secure: Pipeline) -> None:
    async def every_group() -> list[dict[str, Any]] | None:
        groups = (await secure.monitor.get("/ops/groups")).json()["groups"]
        known = [g for g in groups if g["lag"] is not None and g["workers"]]
        return groups if len(known) == len(groups) and groups else None

    groups = await eventually(every_group, "the monitor to read every group's lag")
    assert {g["stage"] for g in groups} >= {"extraction", "enrichment", "linking", "indexing"}


def test_the_cli_works(secure: Pipeline) -> None:
    result = _start("lag", stack=None, env=secure.services.env)
    assert result.returncode == 0, result.stderr
    assert "extraction" in result.stdout and "lag" in result.stdout


def test_mtls_clients_log_in_with_a_certificate(secure: Pipeline, secure_stack: Stack) -> None:
    """The secure stack's second listener takes a client certificate instead of a password."""
    env = {**secure.services.env, **secure_stack.mtls_env()}
    assert env["NEWSFLOW_KAFKA_SECURITY_PROTOCOL"] == "SSL"
    result = _start("lag", stack=None, env=env)
    assert result.returncode == 0, result.stderr
    assert "extraction" in result.stdout
    refused = _start("lag", stack=None, env=env,
                     NEWSFLOW_KAFKA_SSL_CERT_FILE="", NEWSFLOW_KAFKA_SSL_KEY_FILE="")
    assert refused.returncode == EXIT_UNAVAILABLE  # the CLI's code; a service exits 4
    assert "wants a client certificate" in refused.stderr and "Traceback" not in refused.stderr


def test_elasticsearch_by_its_ca_fingerprint(secure: Pipeline, secure_stack: Stack) -> None:
    """No CA file: the CA's SHA-256, as Elasticsearch prints it, pins the node's chain."""
    der = ssl.PEM_cert_to_DER_cert(secure_stack.material.ca.read_text())
    fingerprint = ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())
    result = _start("init", stack=None, env=secure.services.env, NEWSFLOW_ELASTICSEARCH_CA_FILE="",
                    NEWSFLOW_ELASTICSEARCH_CA_FINGERPRINT=fingerprint)
    assert result.returncode == 0, result.stderr
    assert "index" in result.stdout
    wrong = _start("init", stack=None, env=secure.services.env, NEWSFLOW_ELASTICSEARCH_CA_FILE="",
                   NEWSFLOW_ELASTICSEARCH_CA_FINGERPRINT="00" * 32)
    assert wrong.returncode == EXIT_UNAVAILABLE and "fingerprint" in wrong.stderr, wrong.stderr


@pytest.mark.parametrize(("module", "override", "expected"), [
    ("services.extraction", {"NEWSFLOW_KAFKA_SASL_PASSWORD": "not-the-password"},
     "SASL authentication failed for user 'newsflow'"),
    ("services.ingest", {"NEWSFLOW_KAFKA_SSL_CA_FILE": ""}, "certificate not trusted"),
    ("services.indexing", {"NEWSFLOW_ELASTICSEARCH_USERNAME": "", "NEWSFLOW_ELASTICSEARCH_PASSWORD_FILE": ""},
     "wants credentials"),
    ("services.indexing", {"NEWSFLOW_ELASTICSEARCH_PASSWORD": "not-the-password"},
     "refused the credentials"),
    ("services.search_api", {"NEWSFLOW_ELASTICSEARCH_CA_FILE": ""}, "certificate not trusted"),
], ids=["kafka-password", "kafka-ca", "es-credentials", "es-password", "es-ca"])
def test_a_misconfiguration_is_one_clear_line_and_an_exit(
        secure_stack: Stack, module: str, override: dict[str, str], expected: str, tmp_path: Path) -> None:
    env = {**os.environ, **secure_stack.client_env(), "NEWSFLOW_NAMESPACE": f"bad-{tmp_path.name[-8:]}",
           **override}
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", module], env=env, cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120)
    took = time.monotonic() - started
    lines = [line for line in result.stderr.splitlines() if "cannot connect" in line]
    assert result.returncode == EXIT_CONNECTION, result.stderr[-2000:]
    assert len(lines) == 1 and expected in lines[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert "not-the-password" not in result.stderr + result.stdout
    print(f"{module}: {lines[0]} ({took:.1f}s)")


def _start(*args: str, stack: Stack | None, env: dict[str, str] | None = None,
           **override: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **(stack.client_env() if stack else {}), **(env or {}), **override}
    return subprocess.run([sys.executable, "-m", "services.admin", *args], env=environment, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)
