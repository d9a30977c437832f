"""Runs newsflow's own services in the background for the local demo (and the test suite)."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from deploy.local.processes import ManagedProcess, StackError, wait_until
from shared.contracts.topology import SIDE_SERVICES, TOPOLOGY, consuming_stages
from shared.runtime.elasticsearch import make_client
from shared.runtime.kafka import make_admin
from shared.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
# Start order: the pipeline backwards (from the topology table), so each stage's consumer exists
# before its input arrives; then the services beside the chain.
SERVICES = (*(s.service for s in reversed(TOPOLOGY)), *SIDE_SERVICES)
# What can run as several processes on one host: the Kafka consumers (a consumer group shares
# the partitions out). The HTTP services own a port each here; behind a load balancer they
# scale too (docker-compose.yml).
SCALABLE = frozenset(s.service for s in consuming_stages())


def instance_name(service: str, number: int) -> str:
    """`enrichment`, `enrichment-2`, …: the first instance keeps the service's name."""
    return service if number == 1 else f"{service}-{number}"


def service_of(instance: str) -> str:
    return instance.split("-", 1)[0]


def parse_scale(items: list[str]) -> dict[str, int]:
    """`["enrichment=2", "indexing=2"]` → counts; refuses what cannot scale here."""
    counts: dict[str, int] = {}
    for item in items:
        name, _, number = item.partition("=")
        if name not in SERVICES or not number.isdigit() or int(number) < 1:
            raise StackError(f"--scale {item!r}: expected SERVICE=N with N ≥ 1, SERVICE one of "
                             f"{', '.join(sorted(SCALABLE))}")
        if int(number) > 1 and name not in SCALABLE:
            raise StackError(f"--scale {item!r}: {name} serves a fixed port here; run one")
        counts[name] = int(number)
    return counts


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
                 supervised: bool = False, counts: Mapping[str, int] | None = None):
        self.settings = settings
        self.env = dict(env or {})
        self.supervised = supervised
        self.state_dir = state_dir
        counts = counts or {}
        self.processes = {instance_name(name, n): ManagedProcess(instance_name(name, n), state_dir)
                          for name in SERVICES for n in range(1, counts.get(name, 1) + 1)}
        # Instances started earlier with a larger count, so `down` and `status` see them too.
        for pid_file in sorted(state_dir.glob("*-*.pid")) if state_dir.exists() else []:
            if service_of(pid_file.stem) in SCALABLE:
                self.processes.setdefault(pid_file.stem, ManagedProcess(pid_file.stem, state_dir))

    def add(self, service: str, extra_env: Mapping[str, str] | None = None) -> str:
        """Starts one more instance of a service; returns its name."""
        if service not in SCALABLE:
            raise StackError(f"{service} cannot run as several processes on one host")
        number = next(n for n in range(2, 100) if instance_name(service, n) not in self.processes)
        name = instance_name(service, number)
        self.processes[name] = ManagedProcess(name, self.state_dir)
        self.start(name, extra_env)
        return name

    def start(self, name: str, extra_env: Mapping[str, str] | None = None) -> None:
        process = self.processes[name]
        if not process.running():
            module = f"services.{service_of(name)}"
            command = [sys.executable, "-m", "deploy.local.supervise", module] if self.supervised \
                else [sys.executable, "-m", module]
            process.start(command, env={**self.env, **(extra_env or {})}, cwd=REPO_ROOT)

    def up(self, timeout: float = 120.0) -> None:
        for name in self.processes:
            self.start(name)
        s = self.settings
        wait_until(lambda: _http_ok(f"{s.client_url('ingest')}/health/ready"),
                   timeout, "the ingest API")
        wait_until(lambda: _http_ok(f"{s.client_url('search')}/health/ready"),
                   timeout, "the search API")
        wait_until(lambda: _http_ok(f"{s.client_url('monitor')}/health/ready"),
                   timeout, "the monitor")
        dead = [name for name, process in self.processes.items() if not process.running()]
        if dead:
            logs = "\n".join(f"{self.processes[n].log_file}:\n{self.processes[n].tail(15)}" for n in dead)
            raise StackError(f"services exited during start-up: {', '.join(dead)}\n{logs}")

    def down(self) -> list[str]:
        return [name for name, p in reversed(self.processes.items()) if p.stop(timeout=30)]


async def drop_namespace(settings: Settings) -> None:
    """Deletes a namespace's topics and indices (what a test session or a bench made)."""
    admin = make_admin(settings)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t.startswith(f"{settings.namespace}.")]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()
    es = make_client(settings)
    try:
        # The news index versions and the alert history's daily indices.
        indices = await es.indices.get(index=f"{settings.index_alias}-v*,{settings.index_alias}-alerts-*,"
                                             f"{settings.index_alias}-deliveries-*",
                                       ignore_unavailable=True, allow_no_indices=True)
        if indices.body:  # deletes need names, not wildcards, on a default node
            await es.indices.delete(index=",".join(indices.body))
        for template in ("alerts", "deliveries"):
            await es.options(ignore_status=404).indices.delete_index_template(
                name=f"{settings.index_alias}-{template}-template")
    finally:
        await es.close()
