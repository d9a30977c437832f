"""`python -m deploy.local up|down|status|logs|fetch|demo|prometheus` — the local stack, no
Docker needed."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Annotated

import httpx
import typer

from deploy.local.processes import ManagedProcess, StackError, wait_until
from deploy.local.services import REPO_ROOT, Services, parse_scale
from deploy.local.stack import Stack
from services.admin.cli import prepare, write_key
from shared.http.api_keys import new_key
from shared.runtime.elasticsearch import http_options
from shared.settings import Settings, get_settings

cli = typer.Typer(add_completion=False, help=__doc__, no_args_is_help=True)


def _stack() -> Stack:
    return Stack(get_settings())


def _services(settings: Settings, counts: dict[str, int] | None = None) -> Services:
    return Services(settings, settings.cache_dir / "state" / "services", supervised=True,
                    counts=counts)


@cli.command()
def prometheus(stop: bool = False, port: int = 9090) -> None:
    """Opt-in: Debian's Prometheus (apt install prometheus) scraping every local service with
    deploy/prometheus/prometheus.yml and its alerting rules; --stop stops it."""
    settings = get_settings()
    process = ManagedProcess("prometheus", settings.cache_dir / "state" / "prometheus")
    if stop:
        typer.echo("stopped" if process.stop() else "was not running")
        return
    binary = shutil.which("prometheus")
    if binary is None:
        raise StackError("Prometheus is not installed: apt-get install prometheus (Debian's package)")
    if not process.running():
        process.start([binary, f"--config.file={REPO_ROOT / 'deploy' / 'prometheus' / 'prometheus.yml'}",
                       f"--storage.tsdb.path={process.state_dir / 'data'}",
                       f"--web.listen-address=127.0.0.1:{port}"])
    wait_until(lambda: _ready(f"http://127.0.0.1:{port}/-/ready"), 60, "Prometheus")
    typer.echo(f"Prometheus on http://127.0.0.1:{port}/ (targets: /targets, alerts: /alerts)")


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@cli.command()
def fetch() -> None:
    """Download Kafka and Elasticsearch into the cache (done by `up` too)."""
    stack = _stack()
    stack.fetch()
    typer.echo(f"cached under {stack.cache}")


Secure = Annotated[bool, typer.Option(
    "--secure", help="Kafka on SASL_SSL (SCRAM-SHA-512) and Elasticsearch with security, TLS and "
    "a least-privilege user, with a CA made here; its own ports (Kafka +100, Elasticsearch +10) and state")]
Brokers = Annotated[int, typer.Option(
    "--brokers", min=1, help="Kafka nodes in one KRaft quorum; with more than one, topics get "
    "replication factor min(N, 3), on ports of their own (+200)")]


@cli.command()
def up(secure: Secure = False, brokers: Brokers = 1) -> None:
    """Start Kafka and Elasticsearch (no-op when already up) and create topics and index. Then
    prints what a newsflow process needs to use them (export those lines in its shell)."""
    stack = Stack(get_settings(), secure=secure, brokers=brokers)
    seconds = stack.up()
    asyncio.run(prepare(stack.settings))
    typer.echo(f"stack up in {seconds:.1f}s: kafka {stack.settings.kafka_bootstrap}, "
               f"elasticsearch {stack.settings.elasticsearch_url}")
    typer.echo(f"logs: {', '.join(str(k.log_file) for k in stack.kafkas)}, "
               f"{stack.state / 'elasticsearch' / 'logs'}")
    if secure or brokers > 1:
        typer.echo("to use it (secrets are files, readable by their owner only):")
        for name, value in stack.client_env().items():
            typer.echo(f"export {name}={value}")


@cli.command("env")
def env_command(secure: Secure = False, brokers: Brokers = 1, mtls: Annotated[bool, typer.Option(
        "--mtls", help="the secure stack's mTLS listener instead: a client certificate, no password")
        ] = False) -> None:
    """Print the NEWSFLOW_* variables that point a newsflow process at a stack
    (`eval "$(python -m deploy.local env --secure)"`)."""
    stack = Stack(get_settings(), secure=secure or mtls, brokers=brokers)
    for name, value in (stack.mtls_env() if mtls else stack.client_env()).items():
        typer.echo(f"export {name}={value}")


@cli.command()
def down(secure: Secure = False, brokers: Brokers = 1) -> None:
    """Stop the services and the stack that this tool started."""
    stack = Stack(get_settings(), secure=secure, brokers=brokers)
    services = _services(stack.settings).down() if stack.plain else []
    stopped = services + stack.down()
    typer.echo(f"stopped: {', '.join(stopped) or 'nothing was running'}")


@cli.command()
def status(secure: Secure = False, brokers: Brokers = 1) -> None:
    """Show what is running."""
    stack = Stack(get_settings(), secure=secure, brokers=brokers)
    ready = "ready" if stack.kafka_ready() else "not answering"
    rows = [
        *((kafka.name, kafka.pid(), ready) for kafka in stack.kafkas),
        ("elasticsearch", stack.es.pid(),
         f"{stack.es_health()} ({stack.es_running_version()})" if stack.es_health() else "not answering"),
    ]
    rows += [(name, p.pid(), "") for name, p in _services(stack.settings).processes.items()]
    for name, pid, health in rows:
        typer.echo(f"{name:15} {'pid ' + str(pid) if pid else 'stopped':12} {health}")


@cli.command()
def logs(name: str = typer.Argument("all"), lines: int = 40) -> None:
    """Print the last lines of a process's log (kafka, elasticsearch, or a service)."""
    stack = _stack()
    processes = {"kafka": stack.kafka, "elasticsearch": stack.es,
                 **_services(stack.settings).processes}
    for key, process in processes.items():
        if name in ("all", key):
            typer.echo(f"==> {process.log_file} <==\n{process.tail(lines)}\n")


def _post_json(url: str, payload: dict[str, object], key: str) -> dict[str, object]:
    """POST, retried while the API is still loading its keys (503)."""
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return dict(json.load(response))
        except urllib.error.HTTPError as exc:
            if exc.code != 503 or time.monotonic() > deadline:
                raise StackError(f"POST {url}: {exc.code} {exc.read().decode()[:300]}") from exc
            time.sleep(0.5)


def demo_key(settings: Settings) -> str:
    """The demo's admin key (ingest and replays), made once and kept beside the broker's data
    (`<cache>/state/demo-key`, readable by its owner only)."""
    path = settings.cache_dir / "state" / "demo-key"
    if path.exists():
        return path.read_text().strip()
    record, plaintext = new_key("deploy.local demo", ["admin"])
    asyncio.run(write_key(settings, record))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(plaintext + "\n")
    return plaintext


def _get_json(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return dict(json.load(response))


@cli.command()
def demo(samples: Path = REPO_ROOT / "samples", scale: Annotated[list[str] | None, typer.Option(
        help="SERVICE=N: run N processes of a Kafka consumer, e.g. --scale enrichment=2")] = None,
         ) -> None:
    """Everything: the stack, all services, the sample articles ingested and searchable."""
    counts = parse_scale(scale or [])
    started = time.monotonic()
    stack = _stack()
    stack.up()
    settings = stack.settings
    asyncio.run(prepare(settings))
    key = demo_key(settings)
    _services(settings, counts).up()
    ingest = settings.client_url("ingest")
    search = settings.client_url("search")
    ids = []
    for path in sorted(samples.glob("*.txt")):
        answer = _post_json(f"{ingest}/articles", {
            "format": "text", "content": path.read_text(),
            "source": {"name": "newsflow samples", "client": "deploy.local demo"},
        }, key)
        ids.append(str(answer["article_id"]))
        typer.echo(f"ingested {path.name} as {answer['article_id']}")
    wait_until(lambda: all(_article_found(search, i) for i in ids), 120,
               "the samples to become searchable")
    # Fetching by id is real-time; make them visible to search too before saying "ready".
    with httpx.Client(**http_options(settings), timeout=30) as es:
        es.post(f"/{settings.index_alias}/_refresh").raise_for_status()
    query = urllib.parse.urlencode({"q": "Guterres"})
    typer.echo(f"\nready in {time.monotonic() - started:.1f}s")
    typer.echo(f"search page:     {search}/")
    typer.echo(f"alerts page:     {search}/alerts (key: .venv/bin/newsflow keys create NAME)")
    typer.echo(f"admin key:       {settings.cache_dir / 'state' / 'demo-key'} (ingest and replays: "
               "NEWSFLOW_API_KEY=$(cat that file) .venv/bin/newsflow ingest FILES)")
    typer.echo(f"ops page:        {settings.client_url('monitor')}/ "
               "(or .venv/bin/newsflow status)")
    typer.echo(f"API docs:        {search}/docs (search, subscriptions), {ingest}/docs (ingest)")
    typer.echo(f"example:         curl '{search}/search?{query}'")
    typer.echo("stop everything: python -m deploy.local down")


def _article_found(search: str, article_id: str) -> bool:
    try:
        _get_json(f"{search}/articles/{article_id}")
        return True
    except OSError:
        return False


def main() -> None:
    try:
        cli()
    except StackError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise SystemExit(1) from exc


if __name__ == "__main__":
    main()
