"""python -m services.extraction: news.raw → news.extracted.

Extraction runs in a child process under the stage's time budget (shared/runtime/budget.py);
the guard below keeps that process (started with `spawn`) from starting a stage of its own.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from services.extraction.extract import extract_article
from shared.contracts.topology import Stage, spec
from shared.runtime.budget import IsolatedStep
from shared.runtime.stage import TopicSink, run_stage
from shared.settings import get_settings
from shared.text.language import load_model


async def make_sink(producer: Any, _consumer: Any) -> TopicSink:
    settings = get_settings()
    isolated = IsolatedStep(partial(extract_article, max_html_elements=settings.max_html_elements),
                            settings.stage_budget_seconds, warm=load_model, name="extraction")
    await isolated.start()  # the language model loads now, not while the first article waits
    return TopicSink(spec(Stage.EXTRACTION), settings, None, producer, isolated=isolated)


if __name__ == "__main__":
    run_stage(spec(Stage.EXTRACTION), make_sink)
