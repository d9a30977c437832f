"""A namespace of its own on the local stack, with every service, for the end-to-end benches."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import uuid
from pathlib import Path

from deploy.local.services import Services
from deploy.local.stack import Stack
from shared.runtime.kafka import ensure_topics
from shared.settings import Settings, get_settings
from tests.conftest import REPO_ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int | None) -> float:
    if pid is None:
        return 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def start_namespace(prefix: str, extra: dict[str, str] | None = None,
                          supervised: bool = False, stack: Stack | None = None) -> tuple[Settings, Services]:
    """Kafka and Elasticsearch (started if needed; the plain stack unless another is given),
    the topics, and every service, in a fresh namespace on free ports;
    `deploy.local.services.drop_namespace` removes it afterwards."""
    stack = stack or Stack(get_settings())
    env = {**stack.client_env(),
           "NEWSFLOW_NAMESPACE": f"{prefix}-{uuid.uuid4().hex[:6]}",
           "NEWSFLOW_INGEST_PORT": str(free_port()), "NEWSFLOW_SEARCH_PORT": str(free_port()),
           "NEWSFLOW_MONITOR_PORT": str(free_port()), "NEWSFLOW_INDEX_BATCH_SECONDS": "0.2",
           # A bench namespace measures the pipeline, not keys: its ingest and replays are open.
           "NEWSFLOW_REQUIRE_INGEST_KEY": "0", "NEWSFLOW_REQUIRE_ADMIN_KEY": "0",
           **(extra or {})}
    # (list settings are JSON in the environment)
    settings = Settings.model_validate({k.removeprefix("NEWSFLOW_").lower(): json.loads(v)
                                        if v.startswith("[") else v for k, v in env.items()})
    await asyncio.to_thread(stack.up)
    await ensure_topics(settings)
    services = Services(settings, REPO_ROOT / "test-output" / settings.namespace, env, supervised)
    return settings, services
