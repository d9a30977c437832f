"""The `newsflow` command: operations that are not a service of their own."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, cast, get_args

import httpx
import typer
from rich.console import Console
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table as RichTable

from services.admin.file_import import Item, find_files, read_items
from shared.contracts.alerts import DEFAULT_SCOPES, ApiKey, Destination, KeyScope, Subscription
from shared.contracts.messages import utcnow
from shared.contracts.topology import Topic, consuming_stages
from shared.http.api_keys import new_key, revoked
from shared.runtime.elasticsearch import ensure_index, make_client, reindex
from shared.runtime.kafka import consumer_lag, ensure_topics, make_producer
from shared.runtime.preflight import check_connections, exit_on_problem
from shared.runtime.sealing import PREFIX as SEALED
from shared.runtime.sealing import Sealer
from shared.runtime.security import ConnectionProblem
from shared.runtime.tables import Table, write_row
from shared.settings import Settings, get_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
keys_app = typer.Typer(no_args_is_help=True, help="API keys for the subscriptions API.")
app.add_typer(keys_app, name="keys")

@dataclass
class ImportSummary:
    accepted: int = 0
    duplicates: int = 0  # the same article more than once in this import
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (origin, reason)
    seen: set[str] = field(default_factory=set)

    def add_batch(self, client: httpx.Client, url: str, items: list[Item]) -> None:
        readable = [item for item in items if item.submission is not None]
        self.rejected += [(item.origin, item.error or "") for item in items if item.error]
        if not readable:
            return
        response = client.post(url, json=[item.submission for item in readable])
        if response.status_code != 200:
            reason = f"ingest API answered {response.status_code}: {response.text[:300]}"
            self.rejected += [(item.origin, reason) for item in readable]
            return
        for item, result in zip(readable, response.json()["results"], strict=True):
            if result["status"] != "accepted":
                self.rejected.append((item.origin, result["reason"]))
            elif result["article_id"] in self.seen:
                self.duplicates += 1
            else:
                self.seen.add(result["article_id"])
                self.accepted += 1

    def report(self) -> str:
        lines = [f"accepted {self.accepted}, duplicates {self.duplicates}, "
                 f"rejected {len(self.rejected)}"]
        lines += [f"  rejected {origin}: {reason}" for origin, reason in self.rejected]
        return "\n".join(lines)


async def prepare(settings: Settings) -> str:
    """Creates the topics and the index (behind its alias) if missing. Idempotent."""
    await ensure_topics(settings)
    es = make_client(settings)
    try:
        return await ensure_index(es, settings)
    finally:
        await es.close()


@app.command()
def init() -> None:
    """Create the Kafka topics and the Elasticsearch index."""
    settings = connected_settings(kafka=True, elasticsearch=True)
    index = asyncio.run(prepare(settings))
    typer.echo(f"topics ready on {settings.kafka_bootstrap}; index {index} behind "
               f"alias {settings.index_alias}")


@app.command("reindex")
def reindex_command() -> None:
    """Build the next index version from the current one and swap the alias (no downtime)."""
    settings = connected_settings(kafka=False, elasticsearch=True)

    async def run() -> tuple[str, str, int]:
        es = make_client(settings)
        try:
            return await reindex(es, settings)
        finally:
            await es.close()

    old, new, copied = asyncio.run(run())
    typer.echo(f"copied {copied} documents from {old} to {new}; alias {settings.index_alias} "
               f"now points to {new} (delete {old} when you no longer need it)")


@app.command()
def lag() -> None:
    """Messages each stage has not processed yet."""
    settings = connected_settings(kafka=True)
    for stage in consuming_stages():
        behind = asyncio.run(consumer_lag(settings, stage))
        typer.echo(f"{stage.stage.value:11} {settings.topic(str(stage.reads)):30} lag {behind}")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="files or folders (.txt .html .json .jsonl[.gz])")],
    source: Annotated[str, typer.Option(help="source name recorded on every article")] = "",
    batch_size: Annotated[int, typer.Option(min=1, help="articles per request")] = 100,
) -> None:
    """Submit files in bulk through the ingest API; exits 1 if anything was rejected."""
    settings = get_settings()
    files = find_files(paths)
    items = [item for path in files
             for item in read_items(path, {"name": source, "client": "newsflow-cli"})]
    summary = ImportSummary()
    url = f"{settings.client_url('ingest')}/articles:batch"
    with httpx.Client(timeout=60, headers=_auth(settings)) as client, Progress(
        TextColumn("[bold]ingest"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
    ) as progress:
        task = progress.add_task("ingest", total=len(items))
        for start in range(0, len(items), batch_size):
            chunk = items[start:start + batch_size]
            summary.add_batch(client, url, chunk)
            progress.advance(task, len(chunk))
    typer.echo(summary.report())
    raise typer.Exit(1 if summary.rejected else 0)


async def _keys_table(settings: Settings) -> Table[ApiKey]:
    await ensure_topics(settings)
    table = Table(settings, Topic.API_KEYS, ApiKey)
    await table.start()
    await table.wait_caught_up()
    return table


async def write_key(settings: Settings, record: ApiKey) -> None:
    producer = make_producer(settings)
    await producer.start()
    try:
        await write_row(producer, settings, Topic.API_KEYS, record.key_id, record)
    finally:
        await producer.stop()


def connected_settings(kafka: bool, elasticsearch: bool = False) -> Settings:
    """The settings, once Kafka and/or Elasticsearch accept them: else one line and exit 4 (a
    configuration to fix) or 1 (nothing answered), never a traceback."""
    settings = get_settings()
    try:
        asyncio.run(check_connections(settings, kafka, elasticsearch, wait=10.0))
    except ConnectionProblem as problem:
        exit_on_problem(problem)
    return settings


def _auth(settings: Settings) -> dict[str, str]:
    """NEWSFLOW_API_KEY, for the APIs that need one (ingest; replays need an admin key)."""
    key = settings.api_key.get_secret_value() if settings.api_key else None
    return {"Authorization": f"Bearer {key}"} if key else {}


@keys_app.command("create")
def keys_create(name: Annotated[str, typer.Argument(help="who or what the key is for")],
                scope: Annotated[list[str] | None, typer.Option(
                    help="ingest, read, alerts, ops or admin (all of them); repeatable; "
                         "default: read and alerts")] = None) -> None:
    """Create a key and print it: it is shown this once (only its hash is stored)."""
    settings = connected_settings(kafka=True)
    scopes = scope or list(DEFAULT_SCOPES)
    unknown = set(scopes) - set(get_args(KeyScope))
    if unknown:
        typer.echo(f"unknown scope {', '.join(sorted(unknown))}: use {', '.join(get_args(KeyScope))}",
                   err=True)
        raise typer.Exit(2)
    record, plaintext = new_key(name, cast(list[KeyScope], scopes))
    asyncio.run(write_key(settings, record))
    typer.echo(plaintext)
    typer.echo(f"key id {record.key_id} ({name}, {', '.join(record.scopes)}); keep the key: it cannot "
               "be shown again", err=True)


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke a key: it stops working at once on every API instance."""
    settings = connected_settings(kafka=True)

    async def run() -> bool:
        table = await _keys_table(settings)
        await table.stop()
        record = table.get(key_id)
        if record is None:
            return False
        await write_key(settings, revoked(record))
        return True

    if not asyncio.run(run()):
        typer.echo(f"no key {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")


def _resealed(destination: Destination, sealer: Sealer) -> Destination:
    """A destination's sealed parts (signing secrets, a secret target, the unsubscribe token)
    sealed again; what is not sealed is left as it is."""
    token = destination.unsubscribe_token
    target = destination.target
    return destination.model_copy(update={
        "secrets": [s.model_copy(update={"secret": sealer.reseal(s.secret)}) for s in destination.secrets],
        "target": sealer.reseal(target) if target.startswith(SEALED) else target,
        "unsubscribe_token": sealer.reseal(token) if token else None})


@keys_app.command("reseal")
def keys_reseal() -> None:
    """Seal every subscription's destination secrets and feed token again with the first key of
    NEWSFLOW_SECRETS_KEY (after a new key was put first): then the old key can be dropped."""
    settings = connected_settings(kafka=True)

    async def run() -> int:
        table: Table[Subscription] = Table(settings, Topic.SUBSCRIPTIONS, Subscription)
        await table.start()
        await table.wait_caught_up()
        await table.stop()
        sealer = Sealer(settings)
        producer = make_producer(settings)
        await producer.start()
        try:
            for row in table.values():
                await write_row(producer, settings, Topic.SUBSCRIPTIONS, row.subscription_id,
                                row.model_copy(update={
                                    "destinations": [_resealed(d, sealer) for d in row.destinations],
                                    "feed_token": sealer.reseal(row.feed_token), "updated_at": utcnow()}))
        finally:
            await producer.stop()
        return len(table.values())

    typer.echo(f"resealed {asyncio.run(run())} subscriptions")


@keys_app.command("list")
def keys_list() -> None:
    """Key ids, names, and whether they are revoked (never the keys)."""
    settings = connected_settings(kafka=True)

    async def run() -> list[ApiKey]:
        table = await _keys_table(settings)
        await table.stop()
        return table.values()

    for record in sorted(asyncio.run(run()), key=lambda r: r.created_at):
        state = f"revoked {record.revoked_at:%Y-%m-%d %H:%M}" if record.revoked_at else "active"
        typer.echo(f"{record.key_id}  {record.name:30}  {','.join(record.scopes):22}  "
                   f"created {record.created_at:%Y-%m-%d %H:%M}  {state}")


def _monitor(path: str, method: str = "GET", **params: str | int | bool | None) -> dict[str, Any]:
    settings = get_settings()
    url = f"{settings.client_url('monitor')}{path}"
    try:
        response = httpx.request(method, url, params={k: v for k, v in params.items() if v is not None},
                                 timeout=30, headers=_auth(settings))
    except httpx.HTTPError as exc:
        typer.echo(f"the monitor at {url} is not reachable ({exc}); is `python -m services.monitor` "
                   "running?", err=True)
        raise typer.Exit(2) from exc
    body = response.json()
    if response.status_code >= 400:
        typer.echo(f"{response.status_code}: {body.get('error', {}).get('message', body)}", err=True)
        raise typer.Exit(1)
    return dict(body)


STATUS_STYLE = {"OK": "green", "WARN": "yellow", "ERR": "bold red"}


def status_table() -> RichTable:
    overview = _monitor("/ops/overview")
    rates = {t["topic"]: t["rate"] for t in overview["topics"]}
    letters = overview["deadletters"]["by_stage"]
    table = RichTable(title="newsflow", box=None)
    for column in ("stage", "status", "workers", "in/s", "lag", "lag s", "p99 s", "dead letters"):
        table.add_column(column, justify="left" if column in ("stage", "status") else "right")
    for group in overview["groups"]:
        stage = group["name"]
        p99 = overview["latency"].get(stage, {}).get("p99")
        table.add_row(stage, f"[{STATUS_STYLE.get(group['status'], '')}]{group['status']}",
                      str(len(group["workers"])), f"{rates.get(group['topic'], 0):.1f}",
                      str(group["lag"]), f"{group['lag_seconds']:.1f}",
                      "-" if p99 is None else f"{p99:.2f}", str(sum(letters.get(stage, {}).values())))
    end_to_end = overview["latency"].get("ingest_to_indexed")
    if end_to_end:
        table.caption = (f"ingest → indexed p50 {end_to_end['p50']:.2f} s, p99 {end_to_end['p99']:.2f} s "
                         f"(last 5 min, n={end_to_end['count']})")
    return table


@app.command()
def status(watch: Annotated[bool, typer.Option(help="refresh every 2 s until Ctrl-C")] = False) -> None:
    """Every stage: status, workers, rate, lag (messages and seconds), p99, dead letters."""
    console = Console()
    if not watch:
        console.print(status_table())
        return
    with Live(status_table(), console=console, refresh_per_second=1) as live:
        while True:
            time.sleep(2)
            live.update(status_table())


letters_app = typer.Typer(no_args_is_help=True, help="Dead letters: list, show, replay.")
app.add_typer(letters_app, name="deadletters")


@letters_app.command("list")
def letters_list(stage: str | None = None, error_type: str | None = None, page: int = 1,
                 size: int = 20) -> None:
    """Newest first, filtered by stage and error type."""
    found = _monitor("/ops/deadletters", stage=stage, error_type=error_type, page=page, size=size)
    for letter in found["letters"]:
        replay = letter["replay"]["state"] if letter["replay"] else "-"
        typer.echo(f"{letter['id']:>10}  {letter['at'][:19]}  {letter['stage']:10}  "
                   f"{letter['error_type']:22}  {letter['article_id'] or '-':34}  replay {replay}")
    typer.echo(f"{found['total']} letters", err=True)


@letters_app.command("show")
def letters_show(letter_id: str) -> None:
    """One letter: error, source, headers and payload."""
    typer.echo(json.dumps(_monitor(f"/ops/deadletters/{letter_id}"), indent=2))


@letters_app.command("replay")
def letters_replay(letter_ids: Annotated[list[str] | None, typer.Argument()] = None,
                   stage: str | None = None, error_type: str | None = None,
                   force: Annotated[bool, typer.Option(help="replay letters replayed before")] = False,
                   ) -> None:
    """Send letters back to their source topic: by id, or every letter of a stage/error type."""
    if letter_ids:
        for letter_id in letter_ids:
            _monitor(f"/ops/deadletters/{letter_id}:replay", "POST", force=force)
            typer.echo(f"replayed {letter_id}")
        return
    if not (stage or error_type):
        typer.echo("name letter ids, or --stage/--error-type to replay a filtered set", err=True)
        raise typer.Exit(2)
    settings = get_settings()
    response = httpx.post(f"{settings.client_url('monitor')}/ops/deadletters:replay",
                          params={"force": force}, json={"stage": stage, "error_type": error_type},
                          timeout=60, headers=_auth(settings))
    body = response.json()
    if response.status_code >= 400:
        typer.echo(f"{response.status_code}: {body.get('error', {}).get('message', body)}", err=True)
        raise typer.Exit(1)
    typer.echo(f"replayed {len(body['replayed'])}, refused {len(body['refused'])}")
    for refusal in body["refused"]:
        typer.echo(f"  {refusal['id']}: {refusal['reason']}")


if __name__ == "__main__":
    app()
