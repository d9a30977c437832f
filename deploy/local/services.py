"""Runs newsflow's own services in the background for the local demo (and the test suite)."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from deploy.local.processes import ManagedProcess, StackError, wait_until
from shared.contracts.topology import SIDE_SERVICES, TOPOLOGY
from shared.runtime.elasticsearch import make_client
from shared.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
# Start order: the pipeline backwards (from the topology table), so each stage's consumer exists
# before its input arrives; then the services beside the chain.
SERVICES = (*(s.service for s in reversed(TOPOLOGY)), *SIDE_SERVICES)


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class Services:
    """`supervised`: each service runs under deploy/local/supervise.py, which restarts it when it
    crashes (the demo stack); the tests start them bare, to crash and restart them themselves."""

    def __init__(self, settings: Settings, state_dir: Path, env: Mapping[str, str] | None = None,
                 supervised: bool = False):
        self.settings = settings
        self.env = dict(env or {})
        self.supervised = supervised
        self.processes = {name: ManagedProcess(name, state_dir) for name in SERVICES}

    def start(self, name: str, extra_env: Mapping[str, str] | None = None) -> None:
        process = self.processes[name]
        if not process.running():
            module = f"services.{name}"
            command = [sys.executable, "-m", "deploy.local.supervise", module] if self.supervised \
                else [sys.executable, "-m", module]
            process.start(command, env={**self.env, **(extra_env or {})}, cwd=REPO_ROOT)

    def up(self, timeout: float = 120.0) -> None:
        for name in SERVICES:
            self.start(name)
        s = self.settings
        wait_until(lambda: _http_ok(f"http://{s.ingest_host}:{s.ingest_port}/health"),
                   timeout, "the ingest API")
        wait_until(lambda: _http_ok(f"http://{s.search_host}:{s.search_port}/health"),
                   timeout, "the search API")
        wait_until(lambda: _http_ok(f"http://{s.monitor_host}:{s.monitor_port}/health"),
                   timeout, "the monitor")
        dead = [name for name, process in self.processes.items() if not process.running()]
        if dead:
            logs = "\n".join(f"{self.processes[n].log_file}:\n{self.processes[n].tail(15)}" for n in dead)
            raise StackError(f"services exited during start-up: {', '.join(dead)}\n{logs}")

    def down(self) -> list[str]:
        return [name for name, p in reversed(self.processes.items()) if p.stop(timeout=30)]


async def drop_namespace(settings: Settings) -> None:
    """Deletes a namespace's topics and indices (what a test session or a bench made)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t.startswith(f"{settings.namespace}.")]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()
    es = make_client(settings)
    try:
        indices = await es.indices.get(index=f"{settings.index_alias}-v*")
        if indices.body:  # deletes need names, not wildcards, on a default node
            await es.indices.delete(index=",".join(indices.body))
    finally:
        await es.close()
