"""Every language comes out clean: each part runs only on the languages it was made for, and
what it finds in German, French and Spanish joins the English names of the same things."""

from __future__ import annotations

from services.enrichment.enrich import analyse
from services.extraction.extract import extract_article
from services.linking.link import Linker
from shared.contracts.document import to_document
from shared.contracts.messages import EnrichedArticle, RawArticle
from shared.query import Query
from shared.query.article import ArticleView
from tests.multilingual import ENGLISH, FRENCH, GERMAN, SPANISH, UNRELATED_FRENCH


def _analysed(story: tuple[str, str], article_id: str = "a") -> EnrichedArticle:
    title, body = story
    return analyse(extract_article(RawArticle(article_id=article_id, format="fields", title=title,
                                              body=body)))


def _names(entities: list[object]) -> list[str]:
    return [e.name for e in entities]  # type: ignore[attr-defined]


def test_german_gets_no_people_from_a_model_made_for_english() -> None:
    article = _analysed(GERMAN)
    assert article.language == "de"
    # absent, not "Kosten", "Kritik kam von der Opposition" or "Bundeskanzler Friedrich Merz"
    assert article.people == [] and article.organizations == [] and article.keywords == []
    assert "ner" not in article.models and "tone" not in article.models and article.tone is None
    assert article.models["stems"] == "Snowball german (PyStemmer)"
    assert [c.code for c in article.countries] == ["DE", "FR"]  # Berlin; französischen
    assert [t.label for t in article.topics][:1] == ["politics"]
    assert article.dateline is not None and article.dateline.place == "Berlin"


def test_french_runs_the_french_model_and_joins_english_names() -> None:
    article = _analysed(FRENCH)
    assert article.language == "fr" and article.models["ner"] == "fr_core_news_md 3.8.0"
    people = set(_names(article.people))
    assert {"Luiz Inacio Lula da Silva", "Emmanuel Macron", "Ursula von der Leyen"} <= people
    assert {"United Nations", "European Commission"} <= set(_names(article.organizations))
    assert {"BR", "FR", "US"} <= {c.code for c in article.countries}  # brésilien, français, NEW YORK
    assert "New York City" in _names(article.places)
    assert article.tone is None and [t.label for t in article.topics][:1] == ["politics"]


def test_spanish_dateline_dates_and_demonyms() -> None:
    article = _analysed(SPANISH)
    assert article.language == "es"
    assert article.dateline is not None
    assert (article.dateline.place, article.dateline.agency, article.dateline.date_text) == (
        "Madrid", "Reuters", "12 feb")
    published = article.published_at
    assert published is not None and (published.month, published.day) == (2, 12)
    assert {c.code for c in article.countries} == {"ES", "BR", "MX"}  # Madrid; brasileño, mexicano
    assert article.people == [] and article.topics and article.topics[0].label == "politics"


def test_a_query_finds_word_forms_in_each_language() -> None:
    for story, query in [(GERMAN, "Freundschaften"), (FRENCH, "ratifiera"), (SPANISH, "construir")]:
        view = ArticleView.of(to_document(_analysed(story)))
        assert Query.parse(query).root.test(view), query
    # and not in an article that has none of those words
    assert not Query.parse("Freundschaften").root.test(ArticleView.of(to_document(_analysed(SPANISH))))
    # a form matches in its own language only: English "ratify" has the English stem "ratifi",
    # which is also the French stem of "ratifiera"
    english = ArticleView.of(to_document(_analysed(ENGLISH)))
    assert Query.parse("ratify").root.test(english) and not Query.parse("ratifiera").root.test(english)


def test_one_event_in_english_and_french_is_one_story_and_another_is_not() -> None:
    linker = Linker()
    english = linker.linked(_analysed(ENGLISH, "en1"))
    french = linker.linked(_analysed(FRENCH, "fr1"))
    other = linker.linked(_analysed(UNRELATED_FRENCH, "fr2"))
    assert french.story_id == english.story_id
    assert other.story_id not in (english.story_id, None)
