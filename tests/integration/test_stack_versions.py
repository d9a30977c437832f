"""The suite runs against the Elasticsearch the stack chose (9.2.x where a JDK 21+ is found),
spoken to by the 8.x client through its compatibility headers."""

from __future__ import annotations

import pytest

from deploy.local import versions
from deploy.local.stack import Stack
from shared.runtime.elasticsearch import make_client
from tests.stack import Pipeline

pytestmark = pytest.mark.integration


async def test_the_node_is_the_chosen_line_and_the_client_speaks_to_it(
        stack: Stack, pipeline: Pipeline) -> None:
    running = stack.es_running_version()
    print(f"\nElasticsearch {running} on {stack.es_choice[1]}")
    assert running == stack.es_version
    assert running in versions.ELASTICSEARCH_JAVA
    es = make_client(pipeline.settings)
    try:
        response = await es.count(index=pipeline.settings.index_alias)
        # The client asked for 8.x semantics; a 9.x node answers in kind, an 8.x node natively.
        assert response.meta.headers["x-elastic-product"] == "Elasticsearch"
        assert "compatible-with=8" in str(response.meta.headers.get("content-type", ""))
    finally:
        await es.close()
