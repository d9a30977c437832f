"""The `newsflow` command: operations that are not a service of their own.

Every command that lists or reports takes `--json`; exit codes are 0 (done), 1 (done, and
something needs looking at) and 2 (a broker, node or API unreachable, or a command misused)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast, get_args

import httpx
import typer
from aiokafka.errors import KafkaError
from elasticsearch import ApiError as ElasticsearchApiError
from elasticsearch import TransportError
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from services.admin.file_import import Item, find_files, read_items
from services.admin.output import (
    EXIT_ATTENTION,
    EXIT_OK,
    Api,
    console,
    emit,
    errors,
    fail,
    print_json,
    table,
)
from shared.contracts.alerts import DEFAULT_SCOPES, ApiKey, Destination, KeyScope, Subscription
from shared.contracts.messages import utcnow
from shared.contracts.monitor import LetterDetail, LetterPage, Overview, ReplayBatch, ReplayDone
from shared.contracts.topology import Topic, consuming_stages, topic_name
from shared.http.api_keys import new_key, revoked
from shared.runtime.elasticsearch import ensure_index, make_client, reindex
from shared.runtime.kafka import consumer_lag, ensure_topics, make_producer
from shared.runtime.preflight import check_connections
from shared.runtime.sealing import PREFIX as SEALED
from shared.runtime.sealing import Sealer
from shared.runtime.security import ConnectionProblem
from shared.runtime.tables import Table, write_row
from shared.settings import Settings, get_settings

T = TypeVar("T")

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
keys_app = typer.Typer(no_args_is_help=True, help="API keys for every API.")
app.add_typer(keys_app, name="keys")
letters_app = typer.Typer(no_args_is_help=True, help="Dead letters: list, show, replay.")
app.add_typer(letters_app, name="deadletters")

# The options commands share: the same flag means the same thing everywhere.
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
BootstrapOption = Annotated[str | None, typer.Option(
    "--bootstrap-server", metavar="HOST:PORT[,…]", help="Kafka (default: NEWSFLOW_KAFKA_BOOTSTRAP)")]
ElasticsearchOption = Annotated[str | None, typer.Option(
    "--elasticsearch-url", metavar="URL", help="Elasticsearch (default: NEWSFLOW_ELASTICSEARCH_URL)")]
MonitorOption = Annotated[str | None, typer.Option(
    "--url", metavar="URL", help="the monitor (default: NEWSFLOW_MONITOR_URL, else its host and port)")]
IngestOption = Annotated[str | None, typer.Option(
    "--url", metavar="URL", help="the ingest API (default: NEWSFLOW_INGEST_URL, else its host and port)")]


def _version(shown: bool) -> None:
    if shown:
        try:
            typer.echo(f"newsflow {package_version('newsflow')}")
        except PackageNotFoundError:  # run from a checkout that was never installed
            typer.echo("newsflow (not installed)")
        raise typer.Exit(EXIT_OK)


@app.callback()
def main(_version_flag: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="print the version and exit")] = False) -> None:
    """newsflow's operations command."""


def settings_for(bootstrap: str | None = None, elasticsearch_url: str | None = None,
                 ingest_url: str | None = None, monitor_url: str | None = None) -> Settings:
    """The settings model, with what flags name in place of the environment's values."""
    given = {"kafka_bootstrap": bootstrap, "elasticsearch_url": elasticsearch_url,
             "ingest_url": ingest_url, "monitor_url": monitor_url}
    return get_settings().model_copy(update={k: v for k, v in given.items() if v is not None})


def connected_settings(kafka: bool, elasticsearch: bool = False, **flags: str | None) -> Settings:
    """The settings, once Kafka and/or Elasticsearch accept them: else one line and exit 2."""
    settings = settings_for(**flags)
    try:
        asyncio.run(check_connections(settings, kafka, elasticsearch, wait=10.0))
    except ConnectionProblem as problem:
        fail(f"cannot connect: {problem}")
    return settings


def run(work: Coroutine[Any, Any, T], settings: Settings, kafka: bool = True) -> T:
    """Runs a command's async work; a broker or node lost on the way is one line and exit 2
    (`kafka`: whether the work talks to Kafka, which a lost connection is then blamed on)."""
    try:
        return asyncio.run(work)
    except (TransportError, ElasticsearchApiError) as exc:
        fail(f"Elasticsearch at {settings.elasticsearch_url} failed: {exc}")
    except (KafkaError, OSError, TimeoutError) as exc:
        where = (f"Kafka at {settings.kafka_bootstrap}" if kafka
                 else f"Elasticsearch at {settings.elasticsearch_url}")
        fail(f"{where} stopped answering: {exc or type(exc).__name__}")


def _key(settings: Settings) -> str | None:
    """NEWSFLOW_API_KEY, for the APIs that need one (ingest; the monitor's ops and admin routes)."""
    return settings.api_key.get_secret_value() if settings.api_key else None


def monitor(settings: Settings) -> Api:
    return Api("monitor", settings.client_url("monitor"), _key(settings))


# -- topics, index, lag --------------------------------------------------------------------------

async def prepare(settings: Settings) -> str:
    """Creates the topics and the index (behind its alias) if missing. Idempotent."""
    await ensure_topics(settings)
    es = make_client(settings)
    try:
        return await ensure_index(es, settings)
    finally:
        await es.close()


@app.command()
def init(bootstrap: BootstrapOption = None, elasticsearch: ElasticsearchOption = None,
         as_json: JsonOption = False) -> None:
    """Create the Kafka topics and the Elasticsearch index (idempotent)."""
    settings = connected_settings(kafka=True, elasticsearch=True, bootstrap=bootstrap,
                                  elasticsearch_url=elasticsearch)
    index = run(prepare(settings), settings)
    done = {"bootstrap_servers": settings.kafka_bootstrap, "topics": [topic_name(settings, t) for t in Topic],
            "index": index, "alias": settings.index_alias}
    emit(done, as_json, lambda: f"topics ready on {settings.kafka_bootstrap}; index {index} behind "
                                f"alias {settings.index_alias}")


@app.command("reindex")
def reindex_command(elasticsearch: ElasticsearchOption = None, as_json: JsonOption = False) -> None:
    """Build the next index version from the current one and swap the alias (no downtime)."""
    settings = connected_settings(kafka=False, elasticsearch=True, elasticsearch_url=elasticsearch)

    async def work() -> tuple[str, str, int]:
        es = make_client(settings)
        try:
            return await reindex(es, settings)
        finally:
            await es.close()

    old, new, copied = run(work(), settings, kafka=False)
    done = {"from": old, "to": new, "copied": copied, "alias": settings.index_alias}
    emit(done, as_json, lambda: f"copied {copied} documents from {old} to {new}; alias "
                                f"{settings.index_alias} now points to {new} (delete {old} when you no "
                                "longer need it)")


@app.command()
def lag(bootstrap: BootstrapOption = None, as_json: JsonOption = False) -> None:
    """Messages each stage's consumer group has not processed yet."""
    settings = connected_settings(kafka=True, bootstrap=bootstrap)

    async def work() -> list[dict[str, Any]]:
        rows = []
        for stage in consuming_stages():
            assert stage.reads is not None
            for group in stage.consumer_groups(settings):
                rows.append({"stage": stage.name, "topic": topic_name(settings, stage.reads),
                             "group": group, "lag": await consumer_lag(settings, stage, group)})
        return rows

    rows = run(work(), settings)
    emit(rows, as_json, lambda: table(("stage", "topic", "consumer group", "lag"),
                                      ((r["stage"], r["topic"], r["group"], r["lag"]) for r in rows),
                                      right=("lag",)))


# -- bulk import ---------------------------------------------------------------------------------

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

    def as_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates,
                "rejected": [{"origin": origin, "reason": reason} for origin, reason in self.rejected]}


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="files or folders (.txt .html .json .jsonl[.gz])")],
    source: Annotated[str, typer.Option(help="source name recorded on every article")] = "",
    batch_size: Annotated[int, typer.Option(min=1, help="articles per request")] = 100,
    url: IngestOption = None,
    as_json: JsonOption = False,
) -> None:
    """Submit files in bulk through the ingest API; exits 1 if anything was rejected."""
    settings = settings_for(ingest_url=url)
    base = settings.client_url("ingest")
    items = [item for path in find_files(paths)
             for item in read_items(path, {"name": source, "client": "newsflow-cli"})]
    summary = ImportSummary()
    api = Api("ingest API", base, _key(settings))
    api.call("GET", "/health/live")  # away: one line, before any progress
    progress = Progress(TextColumn("[bold]ingest"), BarColumn(), MofNCompleteColumn(),
                        TimeRemainingColumn(), console=errors, disable=as_json)
    try:
        with httpx.Client(timeout=60, headers=api.headers) as client, progress:
            task = progress.add_task("ingest", total=len(items))
            for start in range(0, len(items), batch_size):
                chunk = items[start:start + batch_size]
                summary.add_batch(client, f"{base}/articles:batch", chunk)
                progress.advance(task, len(chunk))
    except httpx.HTTPError as exc:
        fail(f"cannot reach the ingest API at {base}: {exc or type(exc).__name__} "
             f"({summary.accepted} accepted before)")
    emit(summary.as_dict(), as_json, summary.report)
    raise typer.Exit(EXIT_ATTENTION if summary.rejected else EXIT_OK)


# -- keys ----------------------------------------------------------------------------------------

async def _keys_table(settings: Settings) -> Table[ApiKey]:
    await ensure_topics(settings)
    keys = Table(settings, Topic.API_KEYS, ApiKey)
    await keys.start()
    await keys.wait_caught_up()
    return keys


async def write_key(settings: Settings, record: ApiKey) -> None:
    producer = make_producer(settings)
    await producer.start()
    try:
        await write_row(producer, settings, Topic.API_KEYS, record.key_id, record)
    finally:
        await producer.stop()


def _key_row(record: ApiKey) -> dict[str, Any]:
    return {"key_id": record.key_id, "name": record.name, "scopes": list(record.scopes),
            "created_at": record.created_at.isoformat(),
            "revoked_at": record.revoked_at.isoformat() if record.revoked_at else None}


@keys_app.command("create")
def keys_create(name: Annotated[str, typer.Argument(help="who or what the key is for")],
                scope: Annotated[list[str] | None, typer.Option(
                    help="ingest, read, alerts, ops or admin (all of them); repeatable; "
                         "default: read and alerts")] = None,
                bootstrap: BootstrapOption = None, as_json: JsonOption = False) -> None:
    """Create a key and print it: it is shown this once (only its hash is stored)."""
    scopes = scope or list(DEFAULT_SCOPES)
    unknown = set(scopes) - set(get_args(KeyScope))
    if unknown:
        fail(f"unknown scope {', '.join(sorted(unknown))}: use {', '.join(get_args(KeyScope))}")
    settings = connected_settings(kafka=True, bootstrap=bootstrap)
    record, plaintext = new_key(name, cast(list[KeyScope], scopes))
    run(write_key(settings, record), settings)
    if as_json:
        print_json({"key": plaintext, **_key_row(record)})
        return
    typer.echo(plaintext)  # alone on stdout, for KEY=$(newsflow keys create …)
    errors.print(f"key id {record.key_id} ({name}, {', '.join(record.scopes)}); keep the key: it cannot "
                 "be shown again", markup=False, highlight=False)


@keys_app.command("revoke")
def keys_revoke(key_id: str, bootstrap: BootstrapOption = None, as_json: JsonOption = False) -> None:
    """Revoke a key: it stops working at once on every API instance."""
    settings = connected_settings(kafka=True, bootstrap=bootstrap)

    async def work() -> bool:
        keys = await _keys_table(settings)
        await keys.stop()
        record = keys.get(key_id)
        if record is None:
            return False
        await write_key(settings, revoked(record))
        return True

    if not run(work(), settings):
        fail(f"no key {key_id}", EXIT_ATTENTION)
    emit({"key_id": key_id, "revoked": True}, as_json, lambda: f"revoked {key_id}")


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
def keys_reseal(bootstrap: BootstrapOption = None, as_json: JsonOption = False) -> None:
    """Seal every subscription's destination secrets and feed token again with the first key of
    NEWSFLOW_SECRETS_KEY (after a new key was put first): then the old key can be dropped."""
    settings = connected_settings(kafka=True, bootstrap=bootstrap)

    async def work() -> int:
        rows: Table[Subscription] = Table(settings, Topic.SUBSCRIPTIONS, Subscription)
        await rows.start()
        await rows.wait_caught_up()
        await rows.stop()
        sealer = Sealer(settings)
        producer = make_producer(settings)
        await producer.start()
        try:
            for row in rows.values():
                await write_row(producer, settings, Topic.SUBSCRIPTIONS, row.subscription_id,
                                row.model_copy(update={
                                    "destinations": [_resealed(d, sealer) for d in row.destinations],
                                    "feed_token": sealer.reseal(row.feed_token), "updated_at": utcnow()}))
        finally:
            await producer.stop()
        return len(rows.values())

    count = run(work(), settings)
    emit({"resealed": count}, as_json, lambda: f"resealed {count} subscriptions")


@keys_app.command("list")
def keys_list(bootstrap: BootstrapOption = None, as_json: JsonOption = False) -> None:
    """Key ids, names, scopes, and whether they are revoked (never the keys)."""
    settings = connected_settings(kafka=True, bootstrap=bootstrap)

    async def work() -> list[ApiKey]:
        keys = await _keys_table(settings)
        await keys.stop()
        return keys.values()

    rows = [_key_row(r) for r in sorted(run(work(), settings), key=lambda r: r.created_at)]
    emit(rows, as_json, lambda: table(
        ("key id", "name", "scopes", "created", "state"),
        ((r["key_id"], r["name"], ", ".join(r["scopes"]), r["created_at"][:16].replace("T", " "),
          f"revoked {r['revoked_at'][:16].replace('T', ' ')}" if r["revoked_at"] else "active")
         for r in rows)))


# -- status --------------------------------------------------------------------------------------

STATUS_STYLE = {"OK": "green", "WARN": "yellow", "ERR": "bold red"}


def status_table(overview: Overview) -> Any:
    rates = {t.topic: t.rate for t in overview.topics}
    letters = overview.deadletters.by_stage
    shown = table(("stage", "status", "workers", "in/s", "lag", "lag s", "p99 s", "dead letters"), [],
                  title="newsflow", right=("workers", "in/s", "lag", "lag s", "p99 s", "dead letters"))
    for group in overview.groups:
        p99 = overview.latency.get(group.name)
        shown.add_row(group.name, f"[{STATUS_STYLE.get(group.status, '')}]{group.status}",
                      str(len(group.workers)), f"{rates.get(group.topic, 0):.1f}", str(group.lag),
                      f"{group.lag_seconds:.1f}", "-" if p99 is None else f"{p99.p99:.2f}",
                      str(sum(letters.get(group.stage, {}).values())))
    end_to_end = overview.latency.get("ingest_to_indexed")
    if end_to_end:
        shown.caption = (f"ingest → indexed p50 {end_to_end.p50:.2f} s, p99 {end_to_end.p99:.2f} s "
                         f"(last 5 min, n={end_to_end.count})")
    return shown


def _health(overview: Overview) -> int:
    return EXIT_OK if all(g.status == "OK" for g in overview.groups) else EXIT_ATTENTION


@app.command()
def status(watch: Annotated[bool, typer.Option(help="refresh every 2 s until Ctrl-C")] = False,
           url: MonitorOption = None, as_json: JsonOption = False) -> None:
    """Every stage: status, workers, rate, lag (messages and seconds), p99, dead letters.
    Exits 1 when any stage is not OK."""
    if watch and as_json:
        fail("--watch redraws a table; --json prints the state once: choose one")
    api = monitor(settings_for(monitor_url=url))

    def look() -> Overview:
        return api.read(Overview, "GET", "/ops/overview")

    overview = look()
    if not watch:
        emit(overview, as_json, lambda: status_table(overview))
        raise typer.Exit(_health(overview))
    try:
        with Live(status_table(overview), console=console, refresh_per_second=1) as live:
            while True:
                time.sleep(2)
                overview = look()
                live.update(status_table(overview))
    except KeyboardInterrupt:
        raise typer.Exit(_health(overview)) from None


# -- dead letters --------------------------------------------------------------------------------

def _letters_table(page: LetterPage) -> Any:
    return table(("id", "at", "stage", "error type", "article", "replay"),
                 ((letter.id, letter.at[:19], letter.stage, letter.error_type, letter.article_id,
                   letter.replay.state if letter.replay else None) for letter in page.letters),
                 caption=f"{len(page.letters)} of {page.total} letters (page {page.page})")


@letters_app.command("list")
def letters_list(stage: str | None = None, error_type: str | None = None, page: int = 1,
                 size: int = 20, url: MonitorOption = None, as_json: JsonOption = False) -> None:
    """Newest first, filtered by stage and error type."""
    found = monitor(settings_for(monitor_url=url)).read(
        LetterPage, "GET", "/ops/deadletters", stage=stage, error_type=error_type, page=page, size=size)
    emit(found, as_json, lambda: _letters_table(found))


@letters_app.command("show")
def letters_show(letter_id: str, url: MonitorOption = None, as_json: JsonOption = False) -> None:
    """One letter: error, source, headers and payload."""
    letter = monitor(settings_for(monitor_url=url)).read(LetterDetail, "GET", f"/ops/deadletters/{letter_id}")

    def render() -> None:
        facts = [("id", letter.id), ("at", letter.at), ("stage", letter.stage),
                 ("error type", letter.error_type), ("article", letter.article_id),
                 ("source", f"{letter.source_topic} partition {letter.partition} offset {letter.offset}"),
                 ("replay", letter.replay.state if letter.replay else None)]
        console.print(table(("field", "value"), facts))
        console.print(table(("header", "value"), sorted(letter.headers.items())))
        console.print(f"error:\n{letter.error}", markup=False, highlight=False)
        console.print(f"payload ({letter.payload_encoding}):\n{letter.payload}", markup=False,
                      highlight=False, soft_wrap=True)

    emit(letter, as_json, render)


@letters_app.command("replay")
def letters_replay(letter_ids: Annotated[list[str] | None, typer.Argument(
                       help="letters to replay now (none: use --stage/--error-type)")] = None,
                   stage: str | None = None, error_type: str | None = None,
                   execute: Annotated[bool, typer.Option(
                       help="replay the letters a filter selects (without it: list them only)")] = False,
                   force: Annotated[bool, typer.Option(help="replay letters replayed before")] = False,
                   url: MonitorOption = None, as_json: JsonOption = False) -> None:
    """Send letters back to their source topic: the ones named, at once; or every letter of a
    stage and/or error type, listed first and replayed only with --execute."""
    api = monitor(settings_for(monitor_url=url))
    if letter_ids:
        if stage or error_type:
            fail("name letter ids or a filter (--stage/--error-type), not both")
        done = [api.read(ReplayDone, "POST", f"/ops/deadletters/{letter_id}:replay", force=force)
                for letter_id in letter_ids]
        emit(done, as_json, lambda: table(("id", "source topic", "article", "replays"),
                                          ((d.letter_id, d.source_topic, d.article_id, d.replays)
                                           for d in done), right=("replays",)))
        return
    if not (stage or error_type):
        fail("name letter ids, or --stage/--error-type to replay a filtered set")
    batch = api.read(ReplayBatch, "POST", "/ops/deadletters:replay",
                     {"stage": stage, "error_type": error_type}, force=force, dry_run=not execute)

    def render() -> None:
        verb = "would replay" if batch.dry_run else "replayed"
        console.print(table(("id", "stage", "error type", "article"),
                            ((letter.id, letter.stage, letter.error_type, letter.article_id)
                             for letter in batch.letters), title=f"{verb} {len(batch.replayed)}"))
        if batch.refused:
            console.print(table(("id", "refused because"), ((r.id, r.reason) for r in batch.refused)))
        if batch.dry_run and batch.replayed:
            console.print("nothing was sent: add --execute to replay these letters", style="bold")

    emit(batch, as_json, render)


if __name__ == "__main__":
    app()
