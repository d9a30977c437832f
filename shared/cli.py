"""The `newsflow` command: operations that are not a service of their own."""

from __future__ import annotations

import asyncio

import typer

from shared.contracts import Stage, Topic
from shared.kafka import consumer_lag, ensure_topics
from shared.search_index import ensure_index, make_client
from shared.settings import Settings, get_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)

# Which topic each consuming stage reads.
STAGE_INPUTS = {
    Stage.EXTRACTION: Topic.RAW,
    Stage.ENRICHMENT: Topic.EXTRACTED,
    Stage.INDEXING: Topic.ENRICHED,
}


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
    settings = get_settings()
    index = asyncio.run(prepare(settings))
    typer.echo(f"topics ready on {settings.kafka_bootstrap}; index {index} behind "
               f"alias {settings.index_alias}")


@app.command()
def lag() -> None:
    """Messages each stage has not processed yet."""
    settings = get_settings()
    for stage, topic in STAGE_INPUTS.items():
        behind = asyncio.run(consumer_lag(settings, stage, topic))
        typer.echo(f"{stage.value:11} {settings.topic(topic.value):30} lag {behind}")


if __name__ == "__main__":
    app()
