"""Languages on the real pipeline: stories in German, French, Spanish and English, submitted
through ingest and read back from search, are found by the word forms of their own language,
by the canonical names of what they mention, and an English and a French report of one event
share a story."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.multilingual import ENGLISH, FRENCH, GERMAN, SPANISH, UNRELATED_FRENCH
from tests.stack import Pipeline

pytestmark = pytest.mark.integration

# Submitted in this order: the linker compares each with the ones before.
STORIES = {"en": ENGLISH, "fr": FRENCH, "other-fr": UNRELATED_FRENCH, "de": GERMAN, "es": SPANISH}


@pytest.fixture(scope="module")
async def articles(pipeline: Pipeline) -> AsyncIterator[tuple[str, dict[str, dict[str, Any]]]]:
    source = f"languages-{uuid.uuid4().hex[:8]}"
    ids = {}
    for key, (title, body) in STORIES.items():  # one at a time: the story depends on the order
        ids[key] = await pipeline.submit({"format": "fields", "title": title, "body": body,
                                          "source": {"name": source}})
        await pipeline.wait_for_article(ids[key])
    yield source, {key: await pipeline.wait_for_article(article_id) for key, article_id in ids.items()}


async def _found(pipeline: Pipeline, source: str, query: str) -> set[str]:
    response = await pipeline.search.get("/search", params={"q": query, "source": source, "size": 50})
    assert response.status_code == 200, response.text
    return {hit["title"] for hit in response.json()["results"]}


async def test_each_language_is_read_by_its_own_models(
        articles: tuple[str, dict[str, dict[str, Any]]]) -> None:
    _, found = articles
    assert {key: article["language"] for key, article in found.items()} == {
        "en": "en", "fr": "fr", "other-fr": "fr", "de": "de", "es": "es"}
    assert found["de"]["people"] == [] and found["es"]["people"] == []  # no model: absent
    assert found["de"]["models"]["stems"] == "Snowball german (PyStemmer)"
    assert "ner" not in found["de"]["models"] and found["de"].get("tone") is None
    assert found["fr"]["models"]["ner"] == "fr_core_news_md 3.8.0"
    assert found["en"]["models"]["ner"] == "en_core_web_sm 3.8.0" and found["en"]["tone"]


@pytest.mark.parametrize(("query", "key"), [
    ("Freundschaften", "de"), ("freundschaftlich OR Freundschaften", "de"),
    ("ratifiera", "fr"), ("construir", "es"), ("construirán", "es"),
])
async def test_word_forms_in_each_language(pipeline: Pipeline, articles: tuple[str, Any],
                                           query: str, key: str) -> None:
    source, _ = articles
    assert STORIES[key][0] in await _found(pipeline, source, query)


async def test_filters_find_every_language(pipeline: Pipeline, articles: tuple[str, Any]) -> None:
    source, _ = articles
    titles = {key: story[0] for key, story in STORIES.items()}
    # written "Organisation des Nations unies" and "United Nations"
    assert await _found(pipeline, source, 'org:"United Nations"') == {titles["en"], titles["fr"]}
    # "brésilien", "brasileño", "Brazilian"
    assert await _found(pipeline, source, "country:BR") == {titles["en"], titles["fr"], titles["es"]}
    assert titles["de"] in await _found(pipeline, source, "country:FR")  # "französischen"


async def test_one_event_in_two_languages_is_one_story(
        articles: tuple[str, dict[str, dict[str, Any]]]) -> None:
    _, found = articles
    assert found["fr"]["story_id"] == found["en"]["story_id"]
    assert found["other-fr"]["story_id"] not in (found["en"]["story_id"], None)
